// Outbound: an IPv4 packet from TUN -> FIB -> peer -> GRE + outer IPv4 -> nbmaTx (kind 47).
//
//   validate -> next hop (FIB, or p2p destination) -> peer (NBMA) / NO_ENTRY -> MSS clamp
//   -> fits ip mtu ? encapSend : (DF ? ICMP frag-needed : fragmentSend)        (xmit.ts)
//
// The outer header copies the inner TOS and DF bit (Cisco's defaults), TTL = tunnel ttl, IP id from a
// per-worker counter. Peer tx counters count inner bytes.
import {
  TUNNEL_FLAG_P2P, COUNTER_TUN_RX_PACKETS, COUNTER_DROP_BAD_IP, COUNTER_DROP_NO_TUNNEL, COUNTER_DROP_LOCAL,
  COUNTER_DROP_TTL, COUNTER_DROP_NO_ROUTE, COUNTER_DROP_NO_ENTRY, COUNTER_NO_ENTRY, COUNTER_DROP_TOO_BIG,
} from '../core/layout';
import { count, countPkt } from '../core/counters';
import { nowMs } from '../core/clock';
import { Packet } from '../core/packet';
import * as cfg from '../core/config';
import { ipv4Check, ipHl, ipDst, ipTtl, ipFragField } from '../net/ipv4';
import { IP_DF } from '../net/defs';
import { mssClamp } from '../net/mss';
import { sendFragNeeded } from '../net/icmp';
import { fibLookup, NO_ROUTE } from './fib';
import { peerFind, foundNbma } from './peers';
import { isMulticastOrBroadcast, replicate } from './multicast';
import { notifyNoEntry } from './no-entry';
import { encapSend, fragmentSend } from './xmit';

/** Handles the packet pk.data (pk.len bytes) read from TUN. */
export function outbound(pk: Packet): void {
  const p = pk.data;
  countPkt(COUNTER_TUN_RX_PACKETS, pk.len);
  if (!cfg.configured) { count(COUNTER_DROP_NO_TUNNEL); return; }
  const tot = ipv4Check(p, pk.len, false);
  if (tot == 0) { count(COUNTER_DROP_BAD_IP); return; }
  pk.len = tot;
  const dst = ipDst(p);
  if (dst == cfg.tunnelIp) { count(COUNTER_DROP_LOCAL); return; }
  if (ipTtl(p) == 0) { count(COUNTER_DROP_TTL); return; }
  if (isMulticastOrBroadcast(dst)) { replicate(pk); return; }

  let peer: usize = 0;
  if ((cfg.flags & TUNNEL_FLAG_P2P) != 0) {
    pk.nbma = cfg.p2pDestination;
  } else {
    const route = fibLookup(dst);
    if (route == NO_ROUTE) { count(COUNTER_DROP_NO_ROUTE); return; }
    const nh = route == 0 ? dst : route; // 0: on-link, the destination is the next hop
    peer = peerFind(nh);
    if (peer != 0) {
      pk.nbma = foundNbma; // read with the entry, in one consistent view of the table
    } else {
      notifyNoEntry(nh, dst, p, tot);
      if (cfg.nhsFallback == 0) { count(COUNTER_DROP_NO_ENTRY); return; }
      count(COUNTER_NO_ENTRY);
      pk.nbma = cfg.nhsFallback;
    }
  }
  pk.peer = peer;

  const hl = ipHl(p);
  if (cfg.tcpMss != 0) mssClamp(p, hl, tot, cfg.tcpMss);
  if (tot > cfg.effMtu) {
    if ((ipFragField(p) & IP_DF) != 0) {
      count(COUNTER_DROP_TOO_BIG);
      sendFragNeeded(p, hl, tot, cfg.effMtu, nowMs);
      return;
    }
    fragmentSend(pk, hl);
    return;
  }
  encapSend(pk);
}
