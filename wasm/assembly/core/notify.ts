// Rate limiting of the notices the worker sends the supervisor about traffic (NO_ENTRY, SA_NEEDED,
// TRAFFIC_INDICATION): a direct-mapped table of NOTICE_SLOTS entries {k0, k1, lastMs} in scratch per
// notice kind. A hash collision only ever lets an extra notice through; a notice that could not be
// sent (ctlRx full) is not stamped, so the next packet tries again. The tables are worker 0's
// (noticeScratch) and every worker reads and stamps them (*Every core forwards*): the limit holds for
// the appliance, not per worker. The stores are plain: two workers racing on one entry may both send
// (one extra notice), and a torn entry can only match a key no packet has, so nothing is held back
// for longer than one interval.
import { hashTop } from './hash';
import { nowMs } from './clock';

export const NOTICE_SLOTS: u32 = 256;
const NOTICE_ENTRY: usize = 16;
export const NOTICE_TABLE_BYTES: usize = <usize>NOTICE_SLOTS * NOTICE_ENTRY;
const K0: usize = 0;
const K1: usize = 4;
const LAST_MS: usize = 8;

/** The entry to stamp once a notice about (k0, k1) is sent, or 0 if one went out < intervalMs ago. */
@inline export function noticeDue(table: usize, k0: u32, k1: u32, intervalMs: u32): usize {
  const e = table + (<usize>hashTop(k0 ^ hashTop(k1, 0), 24) * NOTICE_ENTRY);
  if (load<u32>(e, K0) == k0 && load<u32>(e, K1) == k1 && nowMs - load<u32>(e, LAST_MS) < intervalMs) return 0;
  return e;
}

@inline export function noticeStamp(e: usize, k0: u32, k1: u32): void {
  store<u32>(e, k0, K0);
  store<u32>(e, k1, K1);
  store<u32>(e, nowMs, LAST_MS);
}

export function noticeReset(table: usize): void { memory.fill(table, 0, NOTICE_TABLE_BYTES); }
