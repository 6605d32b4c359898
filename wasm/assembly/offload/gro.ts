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
import { scratch, tunTx, slotDataMax, SCR_PROD_TUNTX, SLOT_HEADER } from '../core/layout';
import { copyBytes } from '../core/mem';
import { prodReserve, prodCommit } from '../io/ring';
import { ipHl, ipProto, ipFragField, setHeaderChecksum, IP_MF, IP_OFFMASK } from '../net/ipv4';
import { tcpChecksumOk, tcpChecksumPartial } from '../net/checksum';
import {
  VNET_HDR_LEN, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, TUN_KIND_VNET, vnetWrite, vnetWriteNone, ringTakesVnet,
} from './vnet';
import { SCR_GRO_TABLE, GRO_FLOWS, offloadScratchOk } from './scratch';
import { peerCountRx } from '../forward/peers';
import { count, countPkt, TUN_TX_PACKETS } from '../core/counters';
import { GRO_SUPER, GRO_MERGED } from './counters';

const TCP_ACK: u32 = 0x10;
const TCP_PSH: u32 = 0x08;

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
  if (ipProto(p) != 6 || !ringTakesVnet(tunTx) || !offloadScratchOk()) return false;
  const hl = ipHl(p);
  if ((ipFragField(p) & (IP_MF | IP_OFFMASK)) != 0 || tot < hl + 20) return false;
  if (!tableReady) { memory.fill(scratch + SCR_GRO_TABLE, 0, <usize>GRO_FLOWS * 32); used = 0; tableReady = true; }
  const t = p + hl;
  const src = load<u32>(p, 12);
  const dst = load<u32>(p, 16);
  const ports = load<u32>(t);
  const e = scratch + SCR_GRO_TABLE + (<usize>(((src ^ dst ^ ports) * 0x9e3779b1) >>> 26) << 5);
  const busy = load<u32>(e, E_SLOT) != 0;
  const hit = busy && load<u32>(e, E_SRC) == src && load<u32>(e, E_DST) == dst && load<u32>(e, E_PORTS) == ports;

  const thl = (<u32>load<u8>(t, 12) >> 4) << 2;
  const flags = <u32>load<u8>(t, 13);
  if (hl != 20 || thl < 20 || hl + thl >= tot || (flags != TCP_ACK && flags != (TCP_ACK | TCP_PSH)) ||
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
  const slot = prodReserve(scratch + SCR_PROD_TUNTX);
  if (slot == 0) return true; // ring full: dropped and counted by prodReserve
  const d = slot + SLOT_HEADER;
  vnetWriteNone(d); // correct as is if nothing gets merged
  copyBytes(d + VNET_HDR_LEN, p, tot);
  prodCommit(scratch + SCR_PROD_TUNTX, slot, VNET_HDR_LEN + tot, TUN_KIND_VNET, 0, 0);
  store<u32>(e, src, E_SRC);
  store<u32>(e, dst, E_DST);
  store<u32>(e, ports, E_PORTS);
  store<u32>(e, <u32>slot, E_SLOT);
  store<u32>(e, bswap<u32>(load<u32>(t, 4)) + payload, E_NEXT_SEQ);
  store<u32>(e, payload, E_GSO);
  store<u32>(e, 1, E_SEGS);
  store<u32>(e, 0, E_SHORT);
  used++;
  countIn(tot, peer);
  return true;
}

@inline function countIn(tot: u32, peer: usize): void {
  countPkt(TUN_TX_PACKETS, tot);
  if (peer != 0) peerCountRx(peer, tot);
}

function canAppend(e: usize, p: usize, thl: u32, payload: u32): bool {
  if (load<u32>(e, E_SHORT) != 0 || payload > load<u32>(e, E_GSO)) return false;
  const t = p + 20;
  if (bswap<u32>(load<u32>(t, 4)) != load<u32>(e, E_NEXT_SEQ)) return false;
  const slot = <usize>load<u32>(e, E_SLOT);
  const q = slot + SLOT_HEADER + VNET_HDR_LEN; // the item's IPv4 header
  const cur = load<u32>(slot) - VNET_HDR_LEN;  // its current total length
  if (cur + payload > 65535 || VNET_HDR_LEN + cur + payload > slotDataMax(tunTx)) return false;
  // TOS; DF/reserved bits; TTL
  if (load<u8>(p, 1) != load<u8>(q, 1) || (load<u8>(p, 6) >> 5) != (load<u8>(q, 6) >> 5) ||
      load<u8>(p, 8) != load<u8>(q, 8)) return false;
  const u = q + 20;
  if (load<u32>(t, 8) != load<u32>(u, 8)) return false; // ACK number
  // doff, flags, window (LE word: flags in bits 8-15); PSH may differ (only ever on the newcomer)
  if (((load<u32>(t, 12) ^ load<u32>(u, 12)) & ~(TCP_PSH << 8)) != 0) return false;
  for (let i: u32 = 20; i < thl; i += 4) { // options (thl is a multiple of 4; doff equal above)
    if (load<u32>(t + i) != load<u32>(u + i)) return false;
  }
  return true;
}

function append(e: usize, p: usize, thl: u32, payload: u32, flags: u32): void {
  const slot = <usize>load<u32>(e, E_SLOT);
  const q = slot + SLOT_HEADER + VNET_HDR_LEN;
  const len = load<u32>(slot);
  copyBytes(slot + SLOT_HEADER + len, p + 20 + thl, payload);
  store<u32>(slot, len + payload); // still unpublished: the slot header is ours to rewrite
  store<u32>(e, load<u32>(e, E_NEXT_SEQ) + payload, E_NEXT_SEQ);
  store<u32>(e, load<u32>(e, E_SEGS) + 1, E_SEGS);
  count(GRO_MERGED);
  if (payload < load<u32>(e, E_GSO)) store<u32>(e, 1, E_SHORT);
  if ((flags & TCP_PSH) != 0) {
    store<u8>(q + 20, load<u8>(q + 20, 13) | <u8>TCP_PSH, 13);
    close(e);
  }
}

/** Finishes the entry's item (if it merged anything) and empties the entry. */
function close(e: usize): void {
  const slot = <usize>load<u32>(e, E_SLOT);
  store<u32>(e, 0, E_SLOT);
  used--;
  if (load<u32>(e, E_SEGS) < 2) return; // a single packet: zero vnet header, checksums intact
  const q = slot + SLOT_HEADER + VNET_HDR_LEN;
  const tot = load<u32>(slot) - VNET_HDR_LEN;
  const thl = (<u32>load<u8>(q + 20, 12) >> 4) << 2;
  store<u16>(q, bswap<u16>(<u16>tot), 2);
  setHeaderChecksum(q, 20);
  tcpChecksumPartial(q, 20, tot);
  vnetWrite(slot + SLOT_HEADER, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 20 + thl, load<u32>(e, E_GSO), 20, 16);
  count(GRO_SUPER);
}

/** Closes every open item; called once per poll, before tunTx is published. */
export function groFlush(): void {
  if (used == 0) return;
  const base = scratch + SCR_GRO_TABLE;
  for (let i: u32 = 0; i < GRO_FLOWS && used != 0; i++) {
    const e = base + (<usize>i << 5);
    if (load<u32>(e, E_SLOT) != 0) close(e);
  }
}
