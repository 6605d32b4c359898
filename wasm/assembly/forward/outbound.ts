// Outbound: an IPv4 packet from TUN -> FIB -> peer -> GRE + outer IPv4 -> nbmaTx (kind 47).
//
//   validate -> next hop (FIB, or p2p destination) -> peer (NBMA) / NO_ENTRY -> MSS clamp
//   -> fits ip mtu ? encap : (DF ? ICMP frag-needed : fragment + encap each)
//
// The outer header copies the inner TOS and DF bit (Cisco's defaults), TTL = tunnel ttl, IP id from a
// per-worker counter. Peer tx counters count inner bytes.
import { isMulticastOrBroadcast, replicate } from './multicast';
import { copyBytes } from '../core/mem';
import { scratch, SCR_PROD_NBMATX, SCR_PROD_CTLRX, SCR_FRAG_HDR, SCR_NOENTRY, SCR_NOENTRY_SLOTS } from '../core/layout';
import { prodReserve, prodCommit } from '../io/ring';
import {
  ipv4Check, ipHl, ipDst, ipTtl, ipTos, ipFragField, setHeaderChecksum, IP_DF, IP_MF, IP_OFFMASK,
} from '../net/ipv4';
import { greEncap, GRE_PROTO_IPV4 } from '../gre/gre';
import { fibLookup, NO_ROUTE } from './fib';
import { peerFind, peerCountTx } from './peers';
import { mssClamp } from '../net/mss';
import { greCommit } from '../esp/input';
import { sendFragNeeded } from '../net/icmp';
import * as cfg from '../core/config';
import {
  count, countPkt, TUN_RX_PACKETS, GRE_TX_PACKETS, DROP_BAD_IP, DROP_NO_TUNNEL, DROP_LOCAL, DROP_TTL,
  DROP_NO_ROUTE, DROP_NO_ENTRY, NO_ENTRY, DROP_TOO_BIG, FRAG_TX,
} from '../core/counters';

const NO_ENTRY_INTERVAL_MS: u32 = 100;
const CTL_NO_ENTRY: u32 = 2;

export let nowMs: u32 = 0;
export function setNow(now: u32): void { nowMs = now; }

/** Handles one packet of `len` bytes at `p` read from TUN. */
export function outbound(p: usize, len: u32): void {
  countPkt(TUN_RX_PACKETS, len);
  if (!cfg.configured) { count(DROP_NO_TUNNEL); return; }
  const tot = ipv4Check(p, len, false);
  if (tot == 0) { count(DROP_BAD_IP); return; }
  const dst = ipDst(p);
  if (dst == cfg.tunnelIp) { count(DROP_LOCAL); return; }
  if (ipTtl(p) == 0) { count(DROP_TTL); return; }
  if (isMulticastOrBroadcast(dst)) { replicate(p, tot); return; }

  let nbma: u32;
  let peer: usize = 0;
  if ((cfg.flags & cfg.FLAG_P2P) != 0) {
    nbma = cfg.p2pDestination;
  } else {
    const route = fibLookup(dst);
    if (route == NO_ROUTE) { count(DROP_NO_ROUTE); return; }
    const nh = route == 0 ? dst : route;
    peer = peerFind(nh);
    if (peer != 0) {
      nbma = load<u32>(peer, 4);
    } else {
      notifyNoEntry(nh, dst, p, tot);
      if (cfg.nhsFallback == 0) { count(DROP_NO_ENTRY); return; }
      count(NO_ENTRY);
      nbma = cfg.nhsFallback;
    }
  }

  const hl = ipHl(p);
  if (cfg.tcpMss != 0) mssClamp(p, hl, tot, cfg.tcpMss);
  if (tot > cfg.effMtu) {
    if ((ipFragField(p) & IP_DF) != 0) {
      count(DROP_TOO_BIG);
      sendFragNeeded(p, hl, tot, cfg.effMtu, nowMs);
      return;
    }
    fragment(p, hl, tot, nbma, peer);
    return;
  }
  encapSend(p, tot, nbma, peer);
}

/** Copies the inner packet into an nbmaTx slot behind outer IPv4 + GRE and commits it. */
@inline export function encapSend(p: usize, tot: u32, nbma: u32, peer: usize): void {
  const st = scratch + SCR_PROD_NBMATX;
  const slot = prodReserve(st);
  if (slot == 0) return;
  const d = slot + 16;
  copyBytes(d + 20 + cfg.greLen, p, tot);
  const outer = greEncap(d, tot, GRE_PROTO_IPV4, nbma, ipTos(p), (ipFragField(p) & IP_DF) != 0);
  if (!greCommit(st, slot, outer, nbma, peer != 0 ? load<u32>(peer, 8) >>> 16 : 0)) return; // ESP / protected tunnel (esp/esp.ts)
  countPkt(GRE_TX_PACKETS, outer);
  if (peer != 0) peerCountTx(peer, tot);
}

/**
 * RFC 791 fragmentation into effMtu-sized fragments (data in multiples of 8 bytes); non-first
 * fragments carry only the options with the copied flag. An incoming fragment is re-fragmented
 * (offsets continue from its own, its MF is kept on the last piece).
 */
function fragment(p: usize, hl: u32, tot: u32, nbma: u32, peer: usize): void {
  const ff = ipFragField(p);
  const baseOff = (ff & IP_OFFMASK) << 3;
  const lastMf = ff & IP_MF;
  // header template for non-first fragments
  const tmpl = scratch + SCR_FRAG_HDR;
  copyBytes(tmpl, p, 20);
  let hl2: u32 = 20;
  let i: u32 = 20;
  while (i < hl) {
    const t = <u32>load<u8>(p + i);
    if (t == 0) break;
    if (t == 1) { i++; continue; }
    if (i + 1 >= hl) break;
    const olen = <u32>load<u8>(p + i, 1);
    if (olen < 2 || i + olen > hl) break;
    if ((t & 0x80) != 0) { copyBytes(tmpl + hl2, p + i, olen); hl2 += olen; }
    i += olen;
  }
  while ((hl2 & 3) != 0) { store<u8>(tmpl + hl2, 0); hl2++; }
  store<u8>(tmpl, <u8>(0x40 | (hl2 >> 2)));

  const dataLen = tot - hl;
  const st = scratch + SCR_PROD_NBMATX;
  const hdr: u32 = 20 + cfg.greLen;
  let off: u32 = 0;
  while (off < dataLen) {
    const h = off == 0 ? hl : hl2;
    const maxData = (cfg.effMtu - h) & ~7;
    const rest = dataLen - off;
    const chunk = rest < maxData ? rest : maxData;
    const last = off + chunk == dataLen;
    const slot = prodReserve(st);
    if (slot == 0) return;
    const inner = slot + 16 + hdr;
    copyBytes(inner, off == 0 ? p : tmpl, h);
    copyBytes(inner + h, p + hl + off, chunk);
    const flen = h + chunk;
    store<u16>(inner, bswap<u16>(<u16>flen), 2);
    const nff = (((baseOff + off) >> 3) & IP_OFFMASK) | (last ? lastMf : IP_MF);
    store<u16>(inner, bswap<u16>(<u16>nff), 6);
    setHeaderChecksum(inner, h);
    const outer = greEncap(slot + 16, flen, GRE_PROTO_IPV4, nbma, ipTos(p), false);
    if (!greCommit(st, slot, outer, nbma, peer != 0 ? load<u32>(peer, 8) >>> 16 : 0)) return;
    count(FRAG_TX);
    countPkt(GRE_TX_PACKETS, outer);
    if (peer != 0) peerCountTx(peer, flen);
    off += chunk;
  }
}

/** NO_ENTRY to the supervisor, at most once per next hop per 100 ms (direct-mapped table in scratch). */
function notifyNoEntry(nh: u32, dst: u32, p: usize, tot: u32): void {
  const e = scratch + SCR_NOENTRY + (<usize>((nh * 0x9e3779b1) >>> 24) << 3);
  if (load<u32>(e) == nh && nowMs - load<u32>(e, 4) < NO_ENTRY_INTERVAL_MS) return;
  const st = scratch + SCR_PROD_CTLRX;
  const slot = prodReserve(st);
  if (slot == 0) return;
  store<u32>(e, nh);
  store<u32>(e, nowMs, 4);
  const n = tot < 64 ? tot : 64;
  copyBytes(slot + 16, p, n);
  prodCommit(st, slot, n, CTL_NO_ENTRY, nh, dst);
}

export { SCR_NOENTRY_SLOTS };
