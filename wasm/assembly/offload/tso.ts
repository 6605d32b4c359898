// TUN read side with offloads: a tunRx slot of kind 1 is a virtio_net_hdr + IPv4 packet. With
// gso_type TCPV4 the packet is a TCP super-packet (up to 64 KiB) that the kernel left for us to cut
// into gso_size segments (TSO); with NEEDS_CSUM alone its L4 checksum is only the pseudo-header sum.
//
// The cutting is an iterator the ring loop drives (worker/poll.ts): tsoStart() checks the slot and
// says how many packets it yields, tsoPacket(i) makes packet i and each goes through the normal
// outbound path (forward/outbound.ts) before the next is made. So this layer never calls upward.
// Segmentation is in place: segment i's headers are written just before its payload, over the tail
// of segment i-1, which outbound() has already copied into nbmaTx. The slot is ours until released.
// Per segment (as the kernel's tcp_gso_segment): IP total length, id = id0 + i, header checksum; TCP
// seq = seq0 + offset; FIN/PSH only on the last segment, CWR only on the first; full TCP checksum.
import {
  scratch, tunRx, slotDataMax, RING_TAIL, SCRATCH_PROD_NBMA_TX, SCRATCH_TSO_HEADER, SLOT_LEN, SLOT_KIND, SLOT_DATA, TUN_KIND_VNET,
  COUNTER_TSO_SUPER, COUNTER_TSO_SEGMENTS, COUNTER_CSUM_COMPLETED, COUNTER_DROP_BAD_VNET,
} from '../core/layout';
import { prodSpace, prodCount, slotAt, ringNonEmpty } from '../io/ring';
import { copyBytes } from '../core/mem';
import { count } from '../core/counters';
import { ipv4Check, ipHl, ipProto, ipFragField, ipId, setHeaderChecksum, setIpTotLen, setIpId, csumFold } from '../net/ipv4';
import { csumAddFast, tcpChecksumSet } from '../net/checksum';
import { tcpHl } from '../net/mss';
import { IP_MF, IP_OFFMASK, IPPROTO_TCP, IPPROTO_UDP, IPV4_HDR_LEN, TCP_HDR_LEN, TCP_SEQ, TCP_FLAGS, TCP_FIN, TCP_PSH, TCP_CWR } from '../net/defs';
import {
  VNET_HDR_LEN, VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_GSO_ECN, vnetFlags, vnetGsoType,
  vnetGsoSize, vnetCsumStart, vnetCsumOffset, offloadScratchOk,
} from './vnet';

// Back-pressure: one super-packet becomes up to ~45 nbmaTx slots, so a batch of them can overrun
// nbmaTx. worker/poll.ts drain() asks tsoRoom() first and leaves the slot queued when its segments do not fit;
// the worker then sleeps (prepareSleep sees tsoStalled()) until the raw-tx pump frees nbmaTx slots
// and rings the worker's doorbell (nbmaTx's producer doorbell).
let stalled: bool = false;

// The slot being cut (one at a time): its IPv4 packet, header lengths, sizes and first-segment fields.
let cutPkt: usize = 0;
let cutLen: u32 = 0; // the whole packet when it yields one; else the payload to cut
let cutHl: u32 = 0;
let cutHdr: u32 = 0;
let cutGso: u32 = 0;
let cutId0: u32 = 0;
let cutSeq0: u32 = 0;
let cutFlags0: u32 = 0;
let cutSegments: u32 = 0;
/** Length of the packet tsoPacket() returned last. */
export let tsoLen: u32 = 0;

/** Segments the slot will make (1 if it is not a well-formed super-packet). */
function slotsNeeded(p: usize, len: u32): u32 {
  if (len < VNET_HDR_LEN + IPV4_HDR_LEN + TCP_HDR_LEN || (vnetGsoType(p) & ~VNET_GSO_ECN) != VNET_GSO_TCPV4) return 1;
  const gso = vnetGsoSize(p);
  const pkt = p + VNET_HDR_LEN;
  const hl = ipHl(pkt);
  if (gso == 0 || hl + TCP_HDR_LEN > len - VNET_HDR_LEN) return 1;
  const hdr = hl + tcpHl(pkt + hl);
  if (hdr >= len - VNET_HDR_LEN) return 1;
  return (len - VNET_HDR_LEN - hdr + gso - 1) / gso;
}

/** True if nbmaTx can take every segment of this kind-1 slot (or never could: then go ahead). */
export function tsoRoom(p: usize, len: u32): bool {
  const need = slotsNeeded(p, len);
  const st = scratch + SCRATCH_PROD_NBMA_TX;
  if (need <= 1 || need > prodCount(st) || prodSpace(st) >= need) { stalled = false; return true; }
  stalled = true;
  return false;
}

/** For prepareSleep(): true while the oldest tunRx slot still waits for nbmaTx room. */
export function tsoStalled(): bool {
  if (!stalled) return false;
  const r = tunRx;
  if (!ringNonEmpty(r)) { stalled = false; return false; }
  const s = slotAt(r, atomic.load<u32>(r, RING_TAIL));
  const len = load<u32>(s, SLOT_LEN);
  if (load<u32>(s, SLOT_KIND) != TUN_KIND_VNET || len > slotDataMax(r)) {
    stalled = false; // not what drain() stopped at: let it look
    return false;
  }
  return !tsoRoom(s + SLOT_DATA, len);
}

/** One packet: the slot's packet as it is. */
@inline function single(pkt: usize, len: u32): u32 { cutPkt = pkt; cutLen = len; cutSegments = 0; return 1; }

/**
 * Starts a kind-1 tunRx slot (`len` bytes at `p`, starting with the virtio_net_hdr). Returns how many
 * packets tsoPacket() will make of it, 0 if it was dropped (counted).
 */
export function tsoStart(p: usize, len: u32): u32 {
  if (len < VNET_HDR_LEN || !offloadScratchOk()) { count(COUNTER_DROP_BAD_VNET); return 0; }
  const pkt = p + VNET_HDR_LEN;
  const plen = len - VNET_HDR_LEN;
  const gt = vnetGsoType(p) & ~VNET_GSO_ECN;
  if (gt == VNET_GSO_NONE) {
    if ((vnetFlags(p) & VNET_F_NEEDS_CSUM) != 0) {
      const tot = ipv4Check(pkt, plen, false);
      // Not IPv4 (or malformed): outbound() counts and drops it; nothing to complete.
      if (tot != 0 && !completeCsum(pkt, tot, vnetCsumStart(p), vnetCsumOffset(p))) {
        count(COUNTER_DROP_BAD_VNET);
        return 0;
      }
    }
    return single(pkt, plen);
  }
  if (gt != VNET_GSO_TCPV4) { count(COUNTER_DROP_BAD_VNET); return 0; } // we only offer TSO4 for IPv4
  const gso = vnetGsoSize(p);
  const tot = ipv4Check(pkt, plen, false);
  if (tot == 0 || ipProto(pkt) != IPPROTO_TCP || (ipFragField(pkt) & (IP_MF | IP_OFFMASK)) != 0 || gso == 0) {
    count(COUNTER_DROP_BAD_VNET);
    return 0;
  }
  const hl = ipHl(pkt);
  if (tot < hl + TCP_HDR_LEN) { count(COUNTER_DROP_BAD_VNET); return 0; }
  const thl = tcpHl(pkt + hl);
  const hdr = hl + thl;
  if (thl < TCP_HDR_LEN || hdr > tot) { count(COUNTER_DROP_BAD_VNET); return 0; }
  const payload = tot - hdr;
  count(COUNTER_TSO_SUPER);
  if (payload <= gso) { // nothing to cut: only the checksum is left to us
    tcpChecksumSet(pkt, hl, tot);
    count(COUNTER_TSO_SEGMENTS);
    return single(pkt, tot);
  }
  copyBytes(scratch + SCRATCH_TSO_HEADER, pkt, hdr); // hdr <= 60 + 60 <= 128
  cutPkt = pkt; cutLen = payload; cutHl = hl; cutHdr = hdr; cutGso = gso;
  cutId0 = ipId(pkt);
  cutSeq0 = bswap<u32>(load<u32>(pkt + hl, TCP_SEQ));
  cutFlags0 = <u32>load<u8>(pkt + hl, TCP_FLAGS);
  cutSegments = (payload + gso - 1) / gso;
  return cutSegments;
}

/** Packet `i` of the slot tsoStart() began (i = 0, 1, ... in order, each once); its length in tsoLen. */
export function tsoPacket(i: u32): usize {
  if (cutSegments == 0) { tsoLen = cutLen; return cutPkt; }
  const off = i * cutGso;
  const rest = cutLen - off;
  const chunk = rest < cutGso ? rest : cutGso;
  const last = chunk == rest;
  const hl = cutHl, hdr = cutHdr;
  const seg = cutPkt + off; // its payload is at pkt + hdr + off
  if (i != 0) copyBytes(seg, scratch + SCRATCH_TSO_HEADER, hdr);
  const stot = hdr + chunk;
  setIpTotLen(seg, stot);
  setIpId(seg, cutId0 + i);
  setHeaderChecksum(seg, hl);
  const t = seg + hl;
  store<u32>(t, bswap<u32>(cutSeq0 + off), TCP_SEQ);
  let f = cutFlags0;
  if (!last) f &= ~(TCP_FIN | TCP_PSH);
  if (i != 0) f &= ~TCP_CWR;
  store<u8>(t, <u8>f, TCP_FLAGS);
  tcpChecksumSet(seg, hl, stot);
  count(COUNTER_TSO_SEGMENTS);
  tsoLen = stot;
  return seg;
}

/**
 * Finishes a CHECKSUM_PARTIAL packet: the field at start+offset holds the pseudo-header sum; the
 * checksum covers [start, tot). False if the offsets do not fit the packet.
 */
function completeCsum(pkt: usize, tot: u32, start: u32, off: u32): bool {
  if (start < IPV4_HDR_LEN || start >= tot || off > tot - start || tot - start - off < 2) return false;
  let c = ~csumFold(csumAddFast(pkt + start, tot - start, 0)) & 0xffff;
  if (c == 0 && ipProto(pkt) == IPPROTO_UDP) c = 0xffff; // UDP: 0 means "no checksum"
  store<u16>(pkt + start + off, <u16>c);
  count(COUNTER_CSUM_COMPLETED);
  return true;
}
