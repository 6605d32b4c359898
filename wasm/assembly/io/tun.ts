// Writing a plain IPv4 packet to tunTx (kind 0), for every path that delivers one to the LAN side.
import { scratch, SCRATCH_PROD_TUN_TX, SLOT_DATA, TUN_KIND_PLAIN, COUNTER_TUN_TX_PACKETS } from '../core/layout';
import { countPkt } from '../core/counters';
import { copyBytes } from '../core/mem';
import { prodReserve, prodCommit } from './ring';

/** Copies `n` bytes at `p` into a tunTx slot and counts it. False if tunTx is full (counted). */
@inline export function tunSend(p: usize, n: u32): bool {
  const st = scratch + SCRATCH_PROD_TUN_TX;
  const slot = prodReserve(st);
  if (slot == 0) return false;
  copyBytes(slot + SLOT_DATA, p, n);
  prodCommit(st, slot, n, TUN_KIND_PLAIN, 0, 0);
  countPkt(COUNTER_TUN_TX_PACKETS, n);
  return true;
}
