// `ip nhrp map multicast dynamic|<nbma>`: multicast and broadcast sent into the tunnel (routing
// protocol hellos, mostly) are replicated to every NBMA address on the multicast list, one GRE copy
// each. The list is kept compact (swap-delete) so replication touches only its members.
import { scratch } from '../core/layout';
import { encapSend } from './outbound';
import * as cfg from '../core/config';
import { count, MCAST_TX, DROP_MCAST_NO_LIST, DROP_TOO_BIG } from '../core/counters';

/** u32 count, then up to MCAST_MAX u32 NBMA addresses; far from the other scratch users. */
export const SCR_MCAST: usize = 139264;
export const MCAST_MAX: u32 = 8192;
export const SCR_MCAST_END: usize = SCR_MCAST + 4 + <usize>MCAST_MAX * 4;

@inline function listCount(): u32 { return load<u32>(scratch + SCR_MCAST); }
@inline function member(i: u32): usize { return scratch + SCR_MCAST + 4 + (<usize>i << 2); }

/** 224.0.0.0/4, limited broadcast, or the tunnel subnet's directed broadcast. */
export function isMulticastOrBroadcast(dst: u32): bool {
  if ((dst >>> 28) == 0xe || dst == 0xffffffff) return true;
  if (cfg.prefixLen == 0 || cfg.prefixLen >= 31) return false;
  const host = (<u32>0xffffffff) >>> cfg.prefixLen;
  return (dst & host) == host && ((dst ^ cfg.tunnelIp) & ~host) == 0;
}

export function replicate(p: usize, tot: u32): void {
  const n = listCount();
  if (n == 0) { count(DROP_MCAST_NO_LIST); return; }
  if (tot > cfg.effMtu) { count(DROP_TOO_BIG); return; }
  for (let i: u32 = 0; i < n; i++) {
    encapSend(p, tot, load<u32>(member(i)), 0);
    count(MCAST_TX);
  }
}

/** MCAST_ADD: idempotent. Returns false when the list is full. */
export function mcastAdd(nbma: u32): bool {
  const n = listCount();
  for (let i: u32 = 0; i < n; i++) if (load<u32>(member(i)) == nbma) return true;
  if (n >= MCAST_MAX || nbma == 0) return false;
  store<u32>(member(n), nbma);
  store<u32>(scratch + SCR_MCAST, n + 1);
  return true;
}

export function mcastDel(nbma: u32): void {
  const n = listCount();
  for (let i: u32 = 0; i < n; i++) {
    if (load<u32>(member(i)) != nbma) continue;
    store<u32>(member(i), load<u32>(member(n - 1)));
    store<u32>(scratch + SCR_MCAST, n - 1);
    return;
  }
}

export function mcastFlush(): void { store<u32>(scratch + SCR_MCAST, 0); }
