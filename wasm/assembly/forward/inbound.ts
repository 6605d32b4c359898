// Inbound: an nbmaRx slot of kind 47 (whole IPv4 packet from the raw GRE socket)
//
//   outer IPv4 checks -> GRE checks -> 0x0800: inner IPv4 checks -> MSS clamp -> tunTx
//                                   -> 0x2001: ctlRx NHRP_IN (addr = outer src, aux = outer dst)
//
// Per-peer rx counters (inner bytes) are found through the nbma -> peer reverse index. With the
// tunnel's STRICT flag (set by the supervisor on every multipoint tunnel), IPv4 from an NBMA address
// with no peer entry is dropped (dropUnknownPeer): otherwise any underlay host could inject packets
// into the LAN. NHRP is always handed up (registration and resolution come from new addresses; the
// NHRP engine decides what to believe). A protected tunnel takes GRE only out of ESP (dropCleartext).
import { copyBytes } from '../core/mem';
import { scratch, SCR_PROD_TUNTX, SCR_PROD_CTLRX } from '../core/layout';
import { prodReserve, prodCommit, SLOT_HEADER } from '../io/ring';
import { ipv4Check, ipHl, ipSrc, ipDst, ipProto, ipFragField, IP_MF, IP_OFFMASK } from '../net/ipv4';
import {
  greDecap, greProto, GRE_PROTO_IPV4, GRE_PROTO_NHRP, GRE_E_TRUNCATED, GRE_E_VERSION, GRE_E_FLAGS,
} from '../gre/gre';
import { peerByNbma, peerCountRx } from './peers';
import { mssClamp } from '../net/mss';
import { maybeRedirect } from './redirect';
import { groOffer } from '../offload/gro';
import { espInput } from '../esp/input';
import { espInner, espInSa, FLAG_PROTECTED, DROP_CLEARTEXT, LAST_SRC_CLEARTEXT, LAST_SRC_UNKNOWN_PEER, cnt, lastSource,
} from '../esp/defs';
import { ctlRx, slotDataMax } from '../core/layout';
import * as cfg from '../core/config';
import {
  count, countPkt, GRE_RX_PACKETS, TUN_TX_PACKETS, NHRP_IN, DROP_BAD_IP, DROP_OUTER_FRAGMENT,
  DROP_NOT_FOR_US, DROP_GRE_TRUNCATED, DROP_GRE_VERSION, DROP_GRE_FLAGS, DROP_GRE_KEY, DROP_GRE_PROTO,
  DROP_UNKNOWN_PEER, DROP_NO_TUNNEL, DROP_CTL_TOO_BIG, DROP_BAD_KIND,
} from '../core/counters';

const CTL_NHRP_IN: u32 = 1;

/** Handles one nbmaRx slot: `kind`, source `addr`, `len` data bytes at `p`. */
export function inbound(kind: u32, addr: u32, p: usize, len: u32): void {
  if (kind != 47) { // ESP: raw (50) or UDP-encapsulated (17); aux is in the slot header (esp/esp.ts)
    if (kind == 50 || kind == 17) espInput(kind, addr, load<u32>(p - 4), p, len); else count(DROP_BAD_KIND);
    return;
  }
  countPkt(GRE_RX_PACKETS, len);
  if (!cfg.configured) { count(DROP_NO_TUNNEL); return; }
  if ((cfg.flags & FLAG_PROTECTED) != 0 && !espInner) { // protected: GRE only via ESP, from anyone
    cnt(DROP_CLEARTEXT); lastSource(LAST_SRC_CLEARTEXT, addr); return;
  }
  const tot = ipv4Check(p, len, false); // the kernel verified the outer header checksum
  if (tot == 0 || ipProto(p) != 47) { count(DROP_BAD_IP); return; }
  if ((ipFragField(p) & (IP_MF | IP_OFFMASK)) != 0) { count(DROP_OUTER_FRAGMENT); return; }
  const src = ipSrc(p);
  const dst = ipDst(p);
  if (dst != cfg.source) { count(DROP_NOT_FOR_US); return; }
  if ((cfg.flags & cfg.FLAG_P2P) != 0 && src != cfg.p2pDestination) { count(DROP_NOT_FOR_US); return; }

  const hl = ipHl(p);
  const g = p + hl;
  const glen = tot - hl;
  const gh = greDecap(g, glen);
  if (gh < 0) {
    if (gh == GRE_E_TRUNCATED) count(DROP_GRE_TRUNCATED);
    else if (gh == GRE_E_VERSION) count(DROP_GRE_VERSION);
    else if (gh == GRE_E_FLAGS) count(DROP_GRE_FLAGS);
    else count(DROP_GRE_KEY);
    return;
  }
  const payload = g + <usize>gh;
  const plen = glen - <u32>gh;
  const proto = greProto;

  if (proto == GRE_PROTO_IPV4) {
    const itot = ipv4Check(payload, plen, true);
    if (itot == 0) { count(DROP_BAD_IP); return; }
    const peer = peerByNbma(src);
    if (peer == 0 && (cfg.flags & cfg.FLAG_STRICT) != 0) { count(DROP_UNKNOWN_PEER); lastSource(LAST_SRC_UNKNOWN_PEER, src); return; }
    if (cfg.tcpMss != 0) mssClamp(payload, ipHl(payload), itot, cfg.tcpMss);
    maybeRedirect(src, payload, itot);
    if (groOffer(payload, itot, peer)) return; // TCP coalesced into a tunTx super-packet (gro.ts)
    const st = scratch + SCR_PROD_TUNTX;
    const slot = prodReserve(st);
    if (slot == 0) return;
    copyBytes(slot + SLOT_HEADER, payload, itot);
    prodCommit(st, slot, itot, 0, 0, 0);
    countPkt(TUN_TX_PACKETS, itot);
    if (peer != 0) peerCountRx(peer, itot);
    return;
  }
  if (proto == GRE_PROTO_NHRP) {
    if (plen > slotDataMax(ctlRx)) { count(DROP_CTL_TOO_BIG); return; }
    const st = scratch + SCR_PROD_CTLRX;
    const slot = prodReserve(st);
    if (slot == 0) return;
    copyBytes(slot + SLOT_HEADER, payload, plen);
    // through ESP: kind bits 16.. = the inbound SA index + 1 (which tunnel peer behind a shared NBMA)
    prodCommit(st, slot, plen, CTL_NHRP_IN | (espInner ? espInSa << 16 : 0), src, dst);
    count(NHRP_IN);
    return;
  }
  count(DROP_GRE_PROTO);
}
