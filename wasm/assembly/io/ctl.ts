// Control records the worker writes into ctlRx for the supervisor (kinds CTL_IN_*, record fields in
// core/layout.ts), and the rate-limited notices about traffic built on them.
//
// Notices are about data packets, so data decides how many there are: each is rate limited per key,
// but a flood to many keys (destinations without an entry, hairpinned destinations) could still fill
// ctlRx and crowd out what the peers send us (NHRP_IN, IKE_IN). So notices stop while less than a
// quarter of ctlRx is free (counted as `noticeShed`; the limiter is not stamped, so the next packet
// for that key tries again): the rest of the ring stays for the control plane.
import {
  scratch, ctlRx, slotDataMax, SCRATCH_PROD_CTL_RX, SLOT_DATA, COUNTER_DROP_CTL_TOO_BIG, COUNTER_NOTICE_SHED,
} from '../core/layout';
import { count } from '../core/counters';
import { copyBytes } from '../core/mem';
import { noticeDue, noticeStamp } from '../core/notify';
import { prodReserve, prodCommit, prodSpace, prodCount } from './ring';

/** A ctlRx slot to fill (its data at + SLOT_DATA), or 0 if ctlRx is full (counted). */
@inline export function ctlReserve(): usize { return prodReserve(scratch + SCRATCH_PROD_CTL_RX); }

@inline export function ctlCommit(slot: usize, len: u32, kind: u32, addr: u32, aux: u32): void {
  prodCommit(scratch + SCRATCH_PROD_CTL_RX, slot, len, kind, addr, aux);
}

/** One record of `n` bytes copied from `p`. False if it does not fit a slot (counted) or ctlRx is full. */
export function ctlSend(kind: u32, addr: u32, aux: u32, p: usize, n: u32): bool {
  if (n > slotDataMax(ctlRx)) { count(COUNTER_DROP_CTL_TOO_BIG); return false; }
  const slot = ctlReserve();
  if (slot == 0) return false;
  copyBytes(slot + SLOT_DATA, p, n);
  ctlCommit(slot, n, kind, addr, aux);
  return true;
}

/**
 * A notice about (k0, k1) unless one went out less than `intervalMs` ago (limiter `table`, see
 * core/notify.ts): record `kind` quoting `n` bytes at `p`. True if it was sent.
 */
export function notice(table: usize, k0: u32, k1: u32, intervalMs: u32, kind: u32, addr: u32, aux: u32, p: usize, n: u32): bool {
  const e = noticeDue(table, k0, k1, intervalMs);
  if (e == 0) return false;
  const st = scratch + SCRATCH_PROD_CTL_RX;
  if (prodSpace(st) < prodCount(st) >> 2) { count(COUNTER_NOTICE_SHED); return false; }
  if (!ctlSend(kind, addr, aux, p, n)) return false;
  noticeStamp(e, k0, k1);
  return true;
}
