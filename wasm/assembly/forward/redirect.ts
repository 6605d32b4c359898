// Phase 3 hub side: a packet that arrived on the tunnel and will leave through the tunnel again
// (its destination has a route in the overlay FIB, which only holds routes via the tunnel) is
// hairpinning through the hub. The supervisor is told, rate-limited per (source NBMA, destination),
// so it can send the source spoke an NHRP Traffic Indication (Cisco "redirect").
import {
  noticeScratch, SCRATCH_REDIRECT, TUNNEL_FLAG_REDIRECT, CTL_IN_TRAFFIC_INDICATION, TRAFFIC_INDICATION_PACKET_MAX, COUNTER_REDIRECT_NOTICE,
} from '../core/layout';
import { count } from '../core/counters';
import * as cfg from '../core/config';
import { notice } from '../io/ctl';
import { ipDst } from '../net/ipv4';
import { fibLookup, NO_ROUTE } from './fib';

/** IOS rate-limits redirects per destination; one notice per pair per second keeps the hub quiet. */
const REDIRECT_INTERVAL_MS: u32 = 1000;

/** `p`/`tot`: the decapsulated inner IPv4 packet; `srcNbma`: the outer source it came from. */
export function maybeRedirect(srcNbma: u32, p: usize, tot: u32): void {
  if ((cfg.flags & TUNNEL_FLAG_REDIRECT) == 0) return;
  const dst = ipDst(p);
  if (dst == cfg.tunnelIp || fibLookup(dst) == NO_ROUTE) return;
  const n = tot < TRAFFIC_INDICATION_PACKET_MAX ? tot : TRAFFIC_INDICATION_PACKET_MAX;
  if (notice(noticeScratch + SCRATCH_REDIRECT, srcNbma, dst, REDIRECT_INTERVAL_MS, CTL_IN_TRAFFIC_INDICATION, srcNbma, dst, p, n)) {
    count(COUNTER_REDIRECT_NOTICE);
  }
}
