// `ip nhrp map multicast dynamic|<nbma>`: multicast and broadcast sent into the tunnel (routing
// protocol hellos, mostly) are replicated to every NBMA address on the multicast list, one GRE copy
// each. The list is kept compact (swap-delete) so replication touches only its members.
import {
  layoutField, LB_SCRATCH, SCRATCH_MCAST, SCRATCH_MCAST_MAX, COUNTER_MCAST_TX, COUNTER_DROP_MCAST_NO_LIST, COUNTER_DROP_TOO_BIG,
} from '../core/layout';
import { count } from '../core/counters';
import { Packet } from '../core/packet';
import * as cfg from '../core/config';
import { encapSend } from './xmit';

const LIST_COUNT: usize = 0;
const LIST_MEMBERS: usize = 4;

// The list lives in worker 0's scratch (it applies MCAST_*); every worker replicates from it. A copy
// sent while worker 0 swap-deletes a member may go to the member just removed or miss the one moved:
// at most one packet, of traffic (routing hellos) that tolerates a loss.
@inline function list(): usize { return layoutField(LB_SCRATCH) + SCRATCH_MCAST; }
@inline function listCount(): u32 { return atomic.load<u32>(list(), LIST_COUNT); }
@inline function setListCount(n: u32): void { atomic.store<u32>(list(), n, LIST_COUNT); }
@inline function member(i: u32): usize { return list() + LIST_MEMBERS + (<usize>i << 2); }

/** 224.0.0.0/4, limited broadcast, or the tunnel subnet's directed broadcast. */
export function isMulticastOrBroadcast(dst: u32): bool {
  if ((dst >>> 28) == 0xe || dst == 0xffffffff) return true;
  if (cfg.prefixLen == 0 || cfg.prefixLen >= 31) return false;
  const host = (<u32>0xffffffff) >>> cfg.prefixLen;
  return (dst & host) == host && ((dst ^ cfg.tunnelIp) & ~host) == 0;
}

/** Sends pk (pk.len bytes) to every member of the list. */
export function replicate(pk: Packet): void {
  const n = listCount();
  if (n == 0) { count(COUNTER_DROP_MCAST_NO_LIST); return; }
  if (pk.len > cfg.effMtu) { count(COUNTER_DROP_TOO_BIG); return; }
  pk.peer = 0;
  for (let i: u32 = 0; i < n; i++) {
    pk.nbma = load<u32>(member(i));
    encapSend(pk);
    count(COUNTER_MCAST_TX);
  }
}

/** MCAST_ADD: idempotent. Returns false when the list is full. */
export function mcastAdd(nbma: u32): bool {
  const n = listCount();
  for (let i: u32 = 0; i < n; i++) if (load<u32>(member(i)) == nbma) return true;
  if (n >= SCRATCH_MCAST_MAX || nbma == 0) return false;
  store<u32>(member(n), nbma);
  setListCount(n + 1);
  return true;
}

export function mcastDel(nbma: u32): void {
  const n = listCount();
  for (let i: u32 = 0; i < n; i++) {
    if (load<u32>(member(i)) != nbma) continue;
    store<u32>(member(i), load<u32>(member(n - 1)));
    setListCount(n - 1);
    return;
  }
}

export function mcastFlush(): void { setListCount(0); }
