// Sending a GRE packet to an NBMA address: encapsulation into an nbmaTx slot (encapSend), RFC 791
// fragmentation for packets over the tunnel MTU (fragmentSend), and the commit that every GRE packet
// goes through (greCommit: NHRP too), which picks the outbound SA and hands the packet to ESP.
import {
  scratch, noticeScratch, SCRATCH_PROD_NBMA_TX, SCRATCH_FRAG_HEADER, SCRATCH_ESP_NEEDED, SCRATCH_ESP_IV, SLOT_DATA, NBMA_KIND_GRE, CTL_IN_SA_NEEDED,
  TUNNEL_FLAG_PROTECTED, PEER_ENTRY_FLAGS, PEER_SA_SHIFT, SA_ENTRY_STATE, SA_ENTRY_DIR, SA_ENTRY_PEER,
  SA_STATE_FREE, SA_DIR_OUT, SA_NEEDED_SIZE, COUNTER_GRE_TX_PACKETS, COUNTER_FRAG_TX, COUNTER_DROP_NO_SA,
  COUNTER_SA_NEEDED_SENT,
} from '../core/layout';
import { count, countPkt, peerCountTx } from '../core/counters';
import { copyBytes } from '../core/mem';
import { Packet } from '../core/packet';
import * as cfg from '../core/config';
import { prodReserve, prodCommit } from '../io/ring';
import { notice } from '../io/ctl';
import { ipTos, ipFragField } from '../net/ipv4';
import { IP_DF, IP_MF, IP_OFFMASK, IPV4_HDR_LEN } from '../net/defs';
import { fragTemplate, fragWrite } from '../net/fragment';
import { greEncap } from '../gre/gre';
import { GRE_PROTO_IPV4 } from '../gre/defs';
import { espReady, saCap, saEntry, saLookup, outIndex } from '../esp/sa';
import { espSend } from '../esp/output';
import { SA_NEEDED_INTERVAL_MS } from '../esp/defs';

/** The outbound SA hint of a peer entry (SA index + 1 from PEER_SET flags; 0 = none). */
@inline function peerSa(peer: usize): u32 { return peer != 0 ? load<u32>(peer, PEER_ENTRY_FLAGS) >>> PEER_SA_SHIFT : 0; }

/**
 * Commits a GRE packet (outer IPv4 of `outer` bytes at slot + SLOT_DATA, reserved in nbmaTx with
 * producer state `st`) to NBMA `nbma`, through ESP if it has an outbound SA. False = dropped (counted).
 */
export function greCommit(st: usize, slot: usize, outer: u32, nbma: u32, sa: u32): bool {
  let v: u32 = 0;
  if (espReady) {
    // `sa` (outbound SA index + 1, from the peer entry or NHRP_OUT aux) picks the SA of one tunnel
    // peer when several share an NBMA address (spokes behind one NAT); else the newest SA for nbma.
    if (sa != 0 && sa <= saCap) {
      const e = saEntry(sa - 1);
      if (load<u32>(e, SA_ENTRY_STATE) != SA_STATE_FREE && load<u32>(e, SA_ENTRY_DIR) == SA_DIR_OUT &&
          load<u32>(e, SA_ENTRY_PEER) == nbma) v = sa;
    }
    if (v == 0) v = saLookup(outIndex, nbma);
  }
  if (v == 0) {
    if ((cfg.flags & TUNNEL_FLAG_PROTECTED) != 0) { count(COUNTER_DROP_NO_SA); saNeeded(nbma); return false; }
    prodCommit(st, slot, outer, NBMA_KIND_GRE, nbma, 0);
    return true;
  }
  return espSend(saEntry(v - 1), st, slot, outer, nbma);
}

/** SA_NEEDED (addr = NBMA), at most once per NBMA per second. */
function saNeeded(nbma: u32): void {
  const b = scratch + SCRATCH_ESP_IV; // the record, 4 bytes
  store<u32>(b, nbma);
  if (notice(noticeScratch + SCRATCH_ESP_NEEDED, nbma, 0, SA_NEEDED_INTERVAL_MS, CTL_IN_SA_NEEDED, nbma, 0, b, SA_NEEDED_SIZE)) {
    count(COUNTER_SA_NEEDED_SENT);
  }
}

/** Copies the inner packet pk.data (pk.len bytes) into an nbmaTx slot behind outer IPv4 + GRE to pk.nbma. */
@inline export function encapSend(pk: Packet): void {
  const st = scratch + SCRATCH_PROD_NBMA_TX;
  const slot = prodReserve(st);
  if (slot == 0) return;
  const d = slot + SLOT_DATA;
  const p = pk.data, tot = pk.len, nbma = pk.nbma, peer = pk.peer;
  copyBytes(d + IPV4_HDR_LEN + cfg.greLen, p, tot);
  const outer = greEncap(d, tot, GRE_PROTO_IPV4, nbma, ipTos(p), (ipFragField(p) & IP_DF) != 0);
  if (!greCommit(st, slot, outer, nbma, peerSa(peer))) return; // ESP / protected tunnel
  countPkt(COUNTER_GRE_TX_PACKETS, outer);
  if (peer != 0) peerCountTx(peer, tot);
}

/**
 * RFC 791 fragmentation of pk (header `hl`) into effMtu-sized fragments (data in multiples of 8
 * bytes), each sent like encapSend. An incoming fragment is re-fragmented (offsets continue from its
 * own, its MF is kept on the last piece).
 */
export function fragmentSend(pk: Packet, hl: u32): void {
  const p = pk.data, tot = pk.len, nbma = pk.nbma, peer = pk.peer;
  const ff = ipFragField(p);
  const baseOff = (ff & IP_OFFMASK) << 3;
  const lastMf = ff & IP_MF;
  const tmpl = scratch + SCRATCH_FRAG_HEADER;
  const hl2 = fragTemplate(tmpl, p, hl);
  const dataLen = tot - hl;
  const st = scratch + SCRATCH_PROD_NBMA_TX;
  const hdr: u32 = IPV4_HDR_LEN + cfg.greLen;
  let off: u32 = 0;
  while (off < dataLen) {
    const h = off == 0 ? hl : hl2;
    const maxData = (cfg.effMtu - h) & ~7;
    const rest = dataLen - off;
    const chunk = rest < maxData ? rest : maxData;
    const last = off + chunk == dataLen;
    const slot = prodReserve(st);
    if (slot == 0) return;
    const flen = fragWrite(slot + SLOT_DATA + hdr, off == 0 ? p : tmpl, h, p + hl + off, chunk, baseOff + off, last ? lastMf : IP_MF);
    const outer = greEncap(slot + SLOT_DATA, flen, GRE_PROTO_IPV4, nbma, ipTos(p), false);
    if (!greCommit(st, slot, outer, nbma, peerSa(peer))) return;
    count(COUNTER_FRAG_TX);
    countPkt(COUNTER_GRE_TX_PACKETS, outer);
    if (peer != 0) peerCountTx(peer, flen);
    off += chunk;
  }
}
