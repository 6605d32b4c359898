// TUN read side with offloads: a tunRx slot of kind 1 is a virtio_net_hdr + IPv4 packet. With
// gso_type TCPV4 the packet is a TCP super-packet (up to 64 KiB) that the kernel left for us to cut
// into gso_size segments (TSO); with NEEDS_CSUM alone its L4 checksum is only the pseudo-header sum.
// Each resulting packet goes through the normal outbound path (FIB, peer, GRE encap -> nbmaTx).
//
// Segmentation is in place: segment i's headers are written just before its payload, over the tail
// of segment i-1, which outbound() has already copied into nbmaTx. The slot is ours until released.
// Per segment (as the kernel's tcp_gso_segment): IP total length, id = id0 + i, header checksum; TCP
// seq = seq0 + offset; FIN/PSH only on the last segment, CWR only on the first; full TCP checksum.
import {
  scratch, tunRx, SCR_PROD_NBMATX, RING_TAIL, RING_HEAD, RING_HEADER, RING_SLOT_COUNT, RING_SLOT_SIZE, SLOT_HEADER,
} from '../core/layout';
import { prodSpace, prodCount } from '../io/ring';
import { copyBytes } from '../core/mem';
import { ipv4Check, ipHl, ipProto, ipFragField, setHeaderChecksum, IP_MF, IP_OFFMASK, csumFold } from '../net/ipv4';
import { csumAddFast, tcpChecksumSet } from '../net/checksum';
import {
  VNET_HDR_LEN, VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_GSO_ECN, vnetFlags, vnetGsoType,
  vnetGsoSize, vnetCsumStart, vnetCsumOffset, TUN_KIND_VNET,
} from './vnet';
import { SCR_TSO_HDR, offloadScratchOk } from './scratch';
import { outbound } from '../forward/outbound';
import { count } from '../core/counters';
import { TSO_SUPER, TSO_SEGMENTS, CSUM_COMPLETED, DROP_BAD_VNET } from './counters';

const TCP_FIN: u32 = 0x01;
const TCP_PSH: u32 = 0x08;
const TCP_CWR: u32 = 0x80;

// Back-pressure: one super-packet becomes up to ~45 nbmaTx slots, so a batch of them can overrun
// nbmaTx. drainTunRx() asks tsoRoom() first and leaves the slot queued when its segments do not fit;
// the worker then sleeps (prepareSleep sees tsoStalled()) until the raw-tx pump frees nbmaTx slots
// and rings the worker's doorbell (nbmaTx's producer doorbell).
let stalled: bool = false;

/** Segments segment() will make of this slot (1 if it is not a well-formed super-packet). */
function slotsNeeded(p: usize, len: u32): u32 {
  if (len < VNET_HDR_LEN + 40 || (vnetGsoType(p) & ~VNET_GSO_ECN) != VNET_GSO_TCPV4) return 1;
  const gso = vnetGsoSize(p);
  const pkt = p + VNET_HDR_LEN;
  const hl = ipHl(pkt);
  if (gso == 0 || hl + 20 > len - VNET_HDR_LEN) return 1;
  const hdr = hl + ((<u32>load<u8>(pkt + hl, 12) >> 4) << 2);
  if (hdr >= len - VNET_HDR_LEN) return 1;
  return (len - VNET_HDR_LEN - hdr + gso - 1) / gso;
}

/** True if nbmaTx can take every segment of this kind-1 slot (or never could: then go ahead). */
export function tsoRoom(p: usize, len: u32): bool {
  const need = slotsNeeded(p, len);
  const st = scratch + SCR_PROD_NBMATX;
  if (need <= 1 || need > prodCount(st) || prodSpace(st) >= need) { stalled = false; return true; }
  stalled = true;
  return false;
}

/** For prepareSleep(): true while the oldest tunRx slot still waits for nbmaTx room. */
export function tsoStalled(): bool {
  if (!stalled) return false;
  const r = tunRx;
  const t = atomic.load<u32>(r, RING_TAIL);
  if (atomic.load<u32>(r, RING_HEAD) == t) { stalled = false; return false; }
  const s = r + RING_HEADER + <usize>((t & (load<u32>(r, RING_SLOT_COUNT) - 1)) * load<u32>(r, RING_SLOT_SIZE));
  const len = load<u32>(s);
  if (load<u32>(s, 4) != TUN_KIND_VNET || len > load<u32>(r, RING_SLOT_SIZE) - <u32>SLOT_HEADER) {
    stalled = false; // not what drainTunRx stopped at: let it look
    return false;
  }
  return !tsoRoom(s + SLOT_HEADER, len);
}

/** Handles a kind-1 tunRx slot: `len` bytes at `p`, starting with the virtio_net_hdr. */
export function tunRxVnet(p: usize, len: u32): void {
  if (len < VNET_HDR_LEN || !offloadScratchOk()) { count(DROP_BAD_VNET); return; }
  const pkt = p + VNET_HDR_LEN;
  const plen = len - VNET_HDR_LEN;
  const gt = vnetGsoType(p) & ~VNET_GSO_ECN;
  if (gt == VNET_GSO_NONE) {
    if ((vnetFlags(p) & VNET_F_NEEDS_CSUM) != 0) {
      const tot = ipv4Check(pkt, plen, false);
      // Not IPv4 (or malformed): outbound() counts and drops it; nothing to complete.
      if (tot != 0 && !completeCsum(pkt, tot, vnetCsumStart(p), vnetCsumOffset(p))) {
        count(DROP_BAD_VNET);
        return;
      }
    }
    outbound(pkt, plen);
    return;
  }
  if (gt != VNET_GSO_TCPV4) { count(DROP_BAD_VNET); return; } // we only offer TSO4 for IPv4
  segment(pkt, plen, vnetGsoSize(p));
}

/**
 * Finishes a CHECKSUM_PARTIAL packet: the field at start+offset holds the pseudo-header sum; the
 * checksum covers [start, tot). False if the offsets do not fit the packet.
 */
function completeCsum(pkt: usize, tot: u32, start: u32, off: u32): bool {
  if (start < 20 || start >= tot || off > tot - start || tot - start - off < 2) return false;
  let c = ~csumFold(csumAddFast(pkt + start, tot - start, 0)) & 0xffff;
  if (c == 0 && ipProto(pkt) == 17) c = 0xffff; // UDP: 0 means "no checksum"
  store<u16>(pkt + start + off, <u16>c);
  count(CSUM_COMPLETED);
  return true;
}

function segment(pkt: usize, plen: u32, gso: u32): void {
  const tot = ipv4Check(pkt, plen, false);
  if (tot == 0 || ipProto(pkt) != 6 || (ipFragField(pkt) & (IP_MF | IP_OFFMASK)) != 0 || gso == 0) {
    count(DROP_BAD_VNET);
    return;
  }
  const hl = ipHl(pkt);
  if (tot < hl + 20) { count(DROP_BAD_VNET); return; }
  const thl = (<u32>load<u8>(pkt + hl, 12) >> 4) << 2;
  const hdr = hl + thl;
  if (thl < 20 || hdr > tot) { count(DROP_BAD_VNET); return; }
  const payload = tot - hdr;
  count(TSO_SUPER);
  if (payload <= gso) { // nothing to cut: only the checksum is left to us
    tcpChecksumSet(pkt, hl, tot);
    count(TSO_SEGMENTS);
    outbound(pkt, tot);
    return;
  }
  const tmpl = scratch + SCR_TSO_HDR; // hdr <= 60 + 60 <= 128
  copyBytes(tmpl, pkt, hdr);
  const id0 = <u32>bswap<u16>(load<u16>(pkt, 4));
  const seq0 = bswap<u32>(load<u32>(pkt + hl, 4));
  const flags0 = <u32>load<u8>(pkt + hl, 13);
  let off: u32 = 0;
  let i: u32 = 0;
  while (off < payload) {
    const rest = payload - off;
    const chunk = rest < gso ? rest : gso;
    const last = chunk == rest;
    const seg = pkt + off; // its payload is at pkt + hdr + off
    if (i != 0) copyBytes(seg, tmpl, hdr);
    const stot = hdr + chunk;
    store<u16>(seg, bswap<u16>(<u16>stot), 2);
    store<u16>(seg, bswap<u16>(<u16>(id0 + i)), 4);
    setHeaderChecksum(seg, hl);
    const t = seg + hl;
    store<u32>(t, bswap<u32>(seq0 + off), 4);
    let f = flags0;
    if (!last) f &= ~(TCP_FIN | TCP_PSH);
    if (i != 0) f &= ~TCP_CWR;
    store<u8>(t, <u8>f, 13);
    tcpChecksumSet(seg, hl, stot);
    count(TSO_SEGMENTS);
    outbound(seg, stot);
    off += chunk;
    i++;
  }
}
