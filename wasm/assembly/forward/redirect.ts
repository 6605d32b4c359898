// Phase 3 hub side: a packet that arrived on the tunnel and will leave through the tunnel again
// (its destination has a route in the overlay FIB, which only holds routes via the tunnel) is
// hairpinning through the hub. The supervisor is told, rate-limited per (source NBMA, destination),
// so it can send the source spoke an NHRP Traffic Indication (Cisco "redirect").
import { copyBytes } from '../core/mem';
import { scratch, SCR_PROD_CTLRX } from '../core/layout';
import { prodReserve, prodCommit } from '../io/ring';
import { fibLookup, NO_ROUTE } from './fib';
import { ipDst } from '../net/ipv4';
import { nowMs } from './outbound';
import * as cfg from '../core/config';
import { count, REDIRECT_NOTICE } from '../core/counters';

const CTL_TRAFFIC_INDICATION: u32 = 3;
/** IOS rate-limits redirects per destination; one notice per pair per second keeps the hub quiet. */
const REDIRECT_INTERVAL_MS: u32 = 1000;
/** 256 x {srcNbma u32, dst u32, lastMs u32, pad u32}, far from the other scratch users. */
export const SCR_REDIRECT: usize = 131072;
export const SCR_REDIRECT_END: usize = SCR_REDIRECT + 256 * 16;

/** `p`/`tot`: the decapsulated inner IPv4 packet; `srcNbma`: the outer source it came from. */
export function maybeRedirect(srcNbma: u32, p: usize, tot: u32): void {
  if ((cfg.flags & cfg.FLAG_REDIRECT) == 0) return;
  const dst = ipDst(p);
  if (dst == cfg.tunnelIp || fibLookup(dst) == NO_ROUTE) return;
  const h = ((srcNbma ^ (dst * 0x9e3779b1)) * 0x85ebca6b) >>> 24;
  const e = scratch + SCR_REDIRECT + (<usize>h << 4);
  if (load<u32>(e) == srcNbma && load<u32>(e, 4) == dst && nowMs - load<u32>(e, 8) < REDIRECT_INTERVAL_MS) return;
  const st = scratch + SCR_PROD_CTLRX;
  const slot = prodReserve(st);
  if (slot == 0) return;
  store<u32>(e, srcNbma); store<u32>(e, dst, 4); store<u32>(e, nowMs, 8);
  const n = tot < 64 ? tot : 64;
  copyBytes(slot + 16, p, n);
  prodCommit(st, slot, n, CTL_TRAFFIC_INDICATION, srcNbma, dst);
  count(REDIRECT_NOTICE);
}
