// TUN write side with offloads (GRO): consecutive TCP segments of one flow decapsulated in the same
// poll batch are coalesced into one tunTx slot of kind 1 (virtio_net_hdr + super-packet) so the
// tun-tx pump writes up to 64 KiB per write() and the kernel re-segments only if it must.
//
// Only when the tunTx consumer takes vnet headers (ring flags bit0, set by the tun-tx pump).
// Coalescing rules follow the kernel's tcp_gro_receive / wireguard-go:
//   - IPv4 without options, not a fragment; TCP flags exactly ACK or ACK|PSH; payload > 0;
//     a valid TCP checksum (the merged packet gets a fresh one, so a bad segment must stay alone)
//   - same 4-tuple, ACK number, header length and option bytes (timestamps included), doff/flags/
//     window word (PSH aside), TOS, TTL, DF bits
//   - seq contiguous; every earlier segment full-size (gso_size = the first payload); a segment
//     shorter than gso_size, or with PSH, ends the super-packet; total IPv4 length <= 65535
// One open item per flow (direct-mapped table, collisions just close the older item), and any TCP
// packet of the flow that is not merged closes its item first: segments of a flow never overtake
// each other. Items are committed slots not yet published: groFlush() finishes them (IP length and
// checksum, vnet header GSO_TCPV4 + NEEDS_CSUM, pseudo-header sum in the TCP checksum field) before
// pipeline.ts publishes tunTx.
import {
  scratch, tunTx, slotDataMax, SCRATCH_PROD_TUN_TX, SCRATCH_GRO_TABLE, SCRATCH_GRO_FLOWS, SLOT_LEN, SLOT_DATA,
  TUN_KIND_VNET, COUNTER_TUN_TX_PACKETS, COUNTER_GRO_SUPER, COUNTER_GRO_MERGED,
} from '../core/layout';
import { copyBytes } from '../core/mem';
import { prodReserve, prodCommit } from '../io/ring';
import { ipHl, ipProto, ipFragField, setHeaderChecksum, setIpTotLen } from '../net/ipv4';
import { tcpChecksumOk, tcpChecksumPartial } from '../net/checksum';
import { tcpHl } from '../net/mss';
import {
  IP_MF, IP_OFFMASK, IPPROTO_TCP, IPV4_HDR_LEN, IPV4_TOS, IPV4_FRAG, IPV4_TTL, IPV4_SRC, IPV4_DST, IPV4_MAX_LEN,
  TCP_HDR_LEN, TCP_PORTS, TCP_SEQ, TCP_ACK_SEQ, TCP_DOFF, TCP_FLAGS, TCP_CSUM, TCP_ACK, TCP_PSH,
} from '../net/defs';
import {
  VNET_HDR_LEN, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, vnetWrite, vnetWriteNone, ringTakesVnet, offloadScratchOk,
} from './vnet';
import { count, countPkt, peerCountRx } from '../core/counters';

// Table entry, 32 bytes. src/dst/ports are raw wire words (compared, never interpreted).
const E_SRC: usize = 0;
const E_DST: usize = 4;
const E_PORTS: usize = 8;
const E_SLOT: usize = 12;     // tunTx slot holding the item; 0 = entry empty
const E_NEXT_SEQ: usize = 16; // seq the next segment must have
const E_GSO: usize = 20;      // payload size of the first segment
const E_SEGS: usize = 24;
const E_SHORT: usize = 28;    // 1: the last segment was short, nothing may follow

let used: u32 = 0;            // non-empty entries (groFlush scans only when > 0)
let tableReady: bool = false; // the table is cleared once per module instance

/**
 * Offers one decapsulated IPv4 packet (`tot` bytes at `p`, header checksum already verified) for
 * the tunnel interface. True if it was taken (opened a GRO item, or merged into one; counted as
 * tunTx); false if the caller should write it to tunTx as usual.
 */
export function groOffer(p: usize, tot: u32, peer: usize): bool {
  if (ipProto(p) != IPPROTO_TCP || !ringTakesVnet(tunTx) || !offloadScratchOk()) return false;
  const hl = ipHl(p);
  if ((ipFragField(p) & (IP_MF | IP_OFFMASK)) != 0 || tot < hl + TCP_HDR_LEN) return false;
  if (!tableReady) { memory.fill(scratch + SCRATCH_GRO_TABLE, 0, <usize>SCRATCH_GRO_FLOWS * 32); used = 0; tableReady = true; }
  const t = p + hl;
  const src = load<u32>(p, IPV4_SRC);
  const dst = load<u32>(p, IPV4_DST);
  const ports = load<u32>(t, TCP_PORTS);
  const e = scratch + SCRATCH_GRO_TABLE + (<usize>(((src ^ dst ^ ports) * 0x9e3779b1) >>> 26) << 5);
  const busy = load<u32>(e, E_SLOT) != 0;
  const hit = busy && load<u32>(e, E_SRC) == src && load<u32>(e, E_DST) == dst && load<u32>(e, E_PORTS) == ports;

  const thl = tcpHl(t);
  const flags = <u32>load<u8>(t, TCP_FLAGS);
  if (hl != IPV4_HDR_LEN || thl < TCP_HDR_LEN || hl + thl >= tot || (flags != TCP_ACK && flags != (TCP_ACK | TCP_PSH)) ||
      !tcpChecksumOk(p, hl, tot)) {
    if (hit) close(e); // it goes out alone, after what the flow already has
    return false;
  }
  const payload = tot - hl - thl;
  if (hit) {
    if (canAppend(e, p, thl, payload)) { append(e, p, thl, payload, flags); countIn(tot, peer); return true; }
    close(e);
  } else if (busy) {
    close(e); // another flow in this entry: finish it, the new one takes over
  }
  if ((flags & TCP_PSH) != 0) return false; // nothing may follow a PSH: no item to open
  const slot = prodReserve(scratch + SCRATCH_PROD_TUN_TX);
  if (slot == 0) return true; // ring full: dropped and counted by prodReserve
  const d = slot + SLOT_DATA;
  vnetWriteNone(d); // correct as is if nothing gets merged
  copyBytes(d + VNET_HDR_LEN, p, tot);
  prodCommit(scratch + SCRATCH_PROD_TUN_TX, slot, VNET_HDR_LEN + tot, TUN_KIND_VNET, 0, 0);
  store<u32>(e, src, E_SRC);
  store<u32>(e, dst, E_DST);
  store<u32>(e, ports, E_PORTS);
  store<u32>(e, <u32>slot, E_SLOT);
  store<u32>(e, bswap<u32>(load<u32>(t, TCP_SEQ)) + payload, E_NEXT_SEQ);
  store<u32>(e, payload, E_GSO);
  store<u32>(e, 1, E_SEGS);
  store<u32>(e, 0, E_SHORT);
  used++;
  countIn(tot, peer);
  return true;
}

@inline function countIn(tot: u32, peer: usize): void {
  countPkt(COUNTER_TUN_TX_PACKETS, tot);
  if (peer != 0) peerCountRx(peer, tot);
}

function canAppend(e: usize, p: usize, thl: u32, payload: u32): bool {
  if (load<u32>(e, E_SHORT) != 0 || payload > load<u32>(e, E_GSO)) return false;
  const t = p + IPV4_HDR_LEN;
  if (bswap<u32>(load<u32>(t, TCP_SEQ)) != load<u32>(e, E_NEXT_SEQ)) return false;
  const slot = <usize>load<u32>(e, E_SLOT);
  const q = slot + SLOT_DATA + VNET_HDR_LEN; // the item's IPv4 header
  const cur = load<u32>(slot, SLOT_LEN) - VNET_HDR_LEN;  // its current total length
  if (cur + payload > IPV4_MAX_LEN || VNET_HDR_LEN + cur + payload > slotDataMax(tunTx)) return false;
  // TOS; DF/reserved bits; TTL
  if (load<u8>(p, IPV4_TOS) != load<u8>(q, IPV4_TOS) || (load<u8>(p, IPV4_FRAG) >> 5) != (load<u8>(q, IPV4_FRAG) >> 5) ||
      load<u8>(p, IPV4_TTL) != load<u8>(q, IPV4_TTL)) return false;
  const u = q + IPV4_HDR_LEN;
  if (load<u32>(t, TCP_ACK_SEQ) != load<u32>(u, TCP_ACK_SEQ)) return false; // ACK number
  // doff, flags, window (LE word: flags in bits 8-15); PSH may differ (only ever on the newcomer)
  if (((load<u32>(t, TCP_DOFF) ^ load<u32>(u, TCP_DOFF)) & ~(TCP_PSH << 8)) != 0) return false;
  for (let i: u32 = TCP_HDR_LEN; i < thl; i += 4) { // options (thl is a multiple of 4; doff equal above)
    if (load<u32>(t + i) != load<u32>(u + i)) return false;
  }
  return true;
}

function append(e: usize, p: usize, thl: u32, payload: u32, flags: u32): void {
  const slot = <usize>load<u32>(e, E_SLOT);
  const q = slot + SLOT_DATA + VNET_HDR_LEN;
  const len = load<u32>(slot, SLOT_LEN);
  copyBytes(slot + SLOT_DATA + len, p + IPV4_HDR_LEN + thl, payload);
  store<u32>(slot, len + payload, SLOT_LEN); // still unpublished: the slot header is ours to rewrite
  store<u32>(e, load<u32>(e, E_NEXT_SEQ) + payload, E_NEXT_SEQ);
  store<u32>(e, load<u32>(e, E_SEGS) + 1, E_SEGS);
  count(COUNTER_GRO_MERGED);
  if (payload < load<u32>(e, E_GSO)) store<u32>(e, 1, E_SHORT);
  if ((flags & TCP_PSH) != 0) {
    store<u8>(q + IPV4_HDR_LEN, load<u8>(q + IPV4_HDR_LEN, TCP_FLAGS) | <u8>TCP_PSH, TCP_FLAGS);
    close(e);
  }
}

/** Finishes the entry's item (if it merged anything) and empties the entry. */
function close(e: usize): void {
  const slot = <usize>load<u32>(e, E_SLOT);
  store<u32>(e, 0, E_SLOT);
  used--;
  if (load<u32>(e, E_SEGS) < 2) return; // a single packet: zero vnet header, checksums intact
  const q = slot + SLOT_DATA + VNET_HDR_LEN;
  const tot = load<u32>(slot, SLOT_LEN) - VNET_HDR_LEN;
  const thl = tcpHl(q + IPV4_HDR_LEN);
  setIpTotLen(q, tot);
  setHeaderChecksum(q, IPV4_HDR_LEN);
  tcpChecksumPartial(q, IPV4_HDR_LEN, tot);
  vnetWrite(slot + SLOT_DATA, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, IPV4_HDR_LEN + thl, load<u32>(e, E_GSO), IPV4_HDR_LEN, <u32>TCP_CSUM);
  count(COUNTER_GRO_SUPER);
}

/** Closes every open item; called once per poll, before tunTx is published. */
export function groFlush(): void {
  if (used == 0) return;
  const base = scratch + SCRATCH_GRO_TABLE;
  for (let i: u32 = 0; i < SCRATCH_GRO_FLOWS && used != 0; i++) {
    const e = base + (<usize>i << 5);
    if (load<u32>(e, E_SLOT) != 0) close(e);
  }
}
