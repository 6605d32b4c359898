// Inbound: a received nbma slot.
//
//   kind 50 / 17 (ESP, ESP in UDP) -> espInput (esp/input.ts) -> the GRE packet it decrypted, or done
//   kind 47 (whole IPv4 packet from the raw GRE socket, or out of ESP):
//     outer IPv4 checks -> GRE checks -> 0x0800: inner IPv4 checks -> MSS clamp -> (GRO) -> tunTx
//                                     -> 0x2001: ctlRx NHRP_IN (addr = outer src, aux = outer dst)
//
// Per-peer rx counters (inner bytes) are found through the nbma -> peer reverse index. With the
// tunnel's STRICT flag (set by the supervisor on every multipoint tunnel), IPv4 from an NBMA address
// with no peer entry is dropped (dropUnknownPeer): otherwise any underlay host could inject packets
// into the LAN. NHRP is always handed up (registration and resolution come from new addresses; the
// NHRP engine decides what to believe). A protected tunnel takes GRE only out of ESP (dropCleartext).
import {
  NBMA_KIND_GRE, NBMA_KIND_ESP, NBMA_KIND_UDP, CTL_IN_NHRP_IN, CTL_KIND_WORD_SA_SHIFT, TUNNEL_FLAG_PROTECTED,
  TUNNEL_FLAG_P2P, TUNNEL_FLAG_STRICT, LAST_DROP_SOURCE_SLOT_CLEARTEXT, LAST_DROP_SOURCE_SLOT_UNKNOWN_PEER,
  COUNTER_GRE_RX_PACKETS, COUNTER_NHRP_IN, COUNTER_DROP_BAD_IP, COUNTER_DROP_OUTER_FRAGMENT,
  COUNTER_DROP_NOT_FOR_US, COUNTER_DROP_GRE_TRUNCATED, COUNTER_DROP_GRE_VERSION, COUNTER_DROP_GRE_FLAGS,
  COUNTER_DROP_GRE_KEY, COUNTER_DROP_GRE_PROTO, COUNTER_DROP_UNKNOWN_PEER, COUNTER_DROP_NO_TUNNEL,
  COUNTER_DROP_BAD_KIND, COUNTER_DROP_CLEARTEXT, COUNTER_NHRP_IN_DROPPED,
} from '../core/layout';
import { count, countPkt, peerCountRx, recordSource } from '../core/counters';
import { Packet } from '../core/packet';
import * as cfg from '../core/config';
import { tunSend } from '../io/tun';
import { ctlSend } from '../io/ctl';
import { ipv4Check, ipHl, ipSrc, ipDst, ipProto, ipFragField } from '../net/ipv4';
import { IP_MF, IP_OFFMASK, IPPROTO_GRE } from '../net/defs';
import { mssClamp } from '../net/mss';
import { groOffer } from '../offload/gro';
import { greDecap } from '../gre/gre';
import {
  GRE_PROTO_IPV4, GRE_PROTO_NHRP, GRE_E_TRUNCATED, GRE_E_VERSION, GRE_E_FLAGS,
} from '../gre/defs';
import { espInput } from '../esp/input';
import { ESP_IN_GRE } from '../esp/defs';
import { peerByNbma } from './peers';
import { maybeRedirect } from './redirect';

/** Handles one received slot: pk.kind, pk.nbma (source), pk.aux, pk.data (pk.len bytes). */
export function inbound(pk: Packet): void {
  pk.sa = 0;
  const kind = pk.kind;
  if (kind == NBMA_KIND_ESP || kind == NBMA_KIND_UDP) {
    if (espInput(pk) != ESP_IN_GRE) return;
    // else: pk is now the GRE packet that came out of SA pk.sa - 1; on as if it had come in clear
  } else if (kind != NBMA_KIND_GRE) { count(COUNTER_DROP_BAD_KIND); return; }
  inboundGre(pk);
}

/** A GRE-in-IPv4 packet at pk.data from pk.nbma (pk.sa != 0: it came out of ESP). */
export function inboundGre(pk: Packet): void {
  const p = pk.data;
  countPkt(COUNTER_GRE_RX_PACKETS, pk.len);
  if (!cfg.configured) { count(COUNTER_DROP_NO_TUNNEL); return; }
  if ((cfg.flags & TUNNEL_FLAG_PROTECTED) != 0 && pk.sa == 0) { // protected: GRE only via ESP, from anyone
    count(COUNTER_DROP_CLEARTEXT); recordSource(LAST_DROP_SOURCE_SLOT_CLEARTEXT, pk.nbma); return;
  }
  const tot = ipv4Check(p, pk.len, false); // the kernel verified the outer header checksum
  if (tot == 0 || ipProto(p) != IPPROTO_GRE) { count(COUNTER_DROP_BAD_IP); return; }
  if ((ipFragField(p) & (IP_MF | IP_OFFMASK)) != 0) { count(COUNTER_DROP_OUTER_FRAGMENT); return; }
  const src = ipSrc(p);
  const dst = ipDst(p);
  if (dst != cfg.source) { count(COUNTER_DROP_NOT_FOR_US); return; }
  if ((cfg.flags & TUNNEL_FLAG_P2P) != 0 && src != cfg.p2pDestination) { count(COUNTER_DROP_NOT_FOR_US); return; }

  const hl = ipHl(p);
  const g = p + hl;
  const glen = tot - hl;
  const gh = greDecap(pk, g, glen);
  if (gh < 0) {
    if (gh == GRE_E_TRUNCATED) count(COUNTER_DROP_GRE_TRUNCATED);
    else if (gh == GRE_E_VERSION) count(COUNTER_DROP_GRE_VERSION);
    else if (gh == GRE_E_FLAGS) count(COUNTER_DROP_GRE_FLAGS);
    else count(COUNTER_DROP_GRE_KEY);
    return;
  }
  const payload = g + <usize>gh;
  const plen = glen - <u32>gh;
  const proto = pk.greProto;

  if (proto == GRE_PROTO_IPV4) {
    const itot = ipv4Check(payload, plen, true);
    if (itot == 0) { count(COUNTER_DROP_BAD_IP); return; }
    const peer = peerByNbma(src);
    if (peer == 0 && (cfg.flags & TUNNEL_FLAG_STRICT) != 0) {
      count(COUNTER_DROP_UNKNOWN_PEER); recordSource(LAST_DROP_SOURCE_SLOT_UNKNOWN_PEER, src); return;
    }
    if (cfg.tcpMss != 0) mssClamp(payload, ipHl(payload), itot, cfg.tcpMss);
    maybeRedirect(src, payload, itot);
    if (groOffer(payload, itot, peer)) return; // TCP coalesced into a tunTx super-packet (offload/gro.ts)
    if (tunSend(payload, itot) && peer != 0) peerCountRx(peer, itot);
    return;
  }
  if (proto == GRE_PROTO_NHRP) {
    // through ESP: kind bits 16.. = the inbound SA index + 1 (which tunnel peer behind a shared NBMA)
    if (ctlSend(CTL_IN_NHRP_IN | (pk.sa << CTL_KIND_WORD_SA_SHIFT), src, dst, payload, plen)) count(COUNTER_NHRP_IN);
    else count(COUNTER_NHRP_IN_DROPPED); // ctlRx full (or too big, also dropCtlTooBig): never silent
    return;
  }
  count(COUNTER_DROP_GRE_PROTO);
}
