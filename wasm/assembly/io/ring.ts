// SPSC rings and doorbells (docs/dataplane.md, "Rings", "Doorbells").
// Consumer side: read head once per batch, process slots, store tail once, ring the producer's doorbell.
// Producer side: a 32-byte producer state in scratch (ring, head, cached tail, published head, mask,
// slot size); slots are filled and committed locally, and published with one head store per batch.
import {
  RING_HEAD, RING_TAIL, RING_SLOT_COUNT, RING_SLOT_SIZE, RING_CONSUMER_DOORBELL, RING_PRODUCER_DOORBELL,
  RING_FULL_DROPS, RING_HEADER_SIZE, SLOT_LEN, SLOT_KIND, SLOT_ADDR, SLOT_AUX, DOORBELL_SLEEPING, scratch,
  SCRATCH_BENCH_OUT, COUNTER_DROP_RING_FULL,
} from '../core/layout';
import { count } from '../core/counters';

@external('env', 'wake') declare function wake(doorbell: u32): void;

/** Rings a doorbell: seq += 1, and wake the consumer only if it said it is sleeping. */
export function doorbellRing(db: usize): void {
  atomic.add<u32>(db, 1);
  if (atomic.load<u32>(db, DOORBELL_SLEEPING) != 0) wake(<u32>db);
}

// ---- consumer ----

@inline export function ringPending(r: usize): u32 {
  return atomic.load<u32>(r, RING_HEAD) - load<u32>(r, RING_TAIL);
}

@inline export function slotAt(r: usize, i: u32): usize {
  return r + RING_HEADER_SIZE + <usize>((i & (load<u32>(r, RING_SLOT_COUNT) - 1)) * load<u32>(r, RING_SLOT_SIZE));
}

/** Frees every slot up to `tail` and rings the producer's doorbell if there is one. */
export function ringRelease(r: usize, tail: u32): void {
  atomic.store<u32>(r, tail, RING_TAIL);
  const pd = load<u32>(r, RING_PRODUCER_DOORBELL);
  if (pd != 0) doorbellRing(pd);
}

// ---- producer ----

const P_RING: usize = 0;
const P_HEAD: usize = 4;
const P_TAIL: usize = 8;
const P_PUBLISHED: usize = 12;
const P_MASK: usize = 16;
const P_SIZE: usize = 20;
const P_COUNT: usize = 24;

/** When set, reserve() hands out one scratch buffer and commit() does nothing (benchmarks). */
let benchMode: bool = false;
let benchCommits: u32 = 0;
export function setBenchMode(on: bool): void { benchMode = on; benchCommits = 0; }
export function benchCommitCount(): u32 { return benchCommits; }

export function prodInit(st: usize, r: usize): void {
  store<u32>(st, <u32>r, P_RING);
  const h = atomic.load<u32>(r, RING_HEAD);
  store<u32>(st, h, P_HEAD);
  store<u32>(st, h, P_PUBLISHED);
  store<u32>(st, atomic.load<u32>(r, RING_TAIL), P_TAIL);
  store<u32>(st, load<u32>(r, RING_SLOT_COUNT) - 1, P_MASK);
  store<u32>(st, load<u32>(r, RING_SLOT_SIZE), P_SIZE);
  store<u32>(st, load<u32>(r, RING_SLOT_COUNT), P_COUNT);
}

/** Address of the next free slot (its data is at SLOT_DATA), or 0 if the ring is full (counted). */
export function prodReserve(st: usize): usize {
  if (benchMode) return scratch + SCRATCH_BENCH_OUT;
  const r = <usize>load<u32>(st, P_RING);
  const head = load<u32>(st, P_HEAD);
  const n = load<u32>(st, P_COUNT);
  if (head - load<u32>(st, P_TAIL) >= n) {
    const t = atomic.load<u32>(r, RING_TAIL);
    store<u32>(st, t, P_TAIL);
    if (head - t >= n) {
      store<u32>(r, load<u32>(r, RING_FULL_DROPS) + 1, RING_FULL_DROPS);
      count(COUNTER_DROP_RING_FULL);
      return 0;
    }
  }
  return r + RING_HEADER_SIZE + <usize>((head & load<u32>(st, P_MASK)) * load<u32>(st, P_SIZE));
}

/** Fills the slot header of a reserved slot and makes it part of the next publish. */
export function prodCommit(st: usize, slot: usize, len: u32, kind: u32, addr: u32, aux: u32): void {
  if (benchMode) { benchCommits++; return; }
  store<u32>(slot, len, SLOT_LEN);
  store<u32>(slot, kind, SLOT_KIND);
  store<u32>(slot, addr, SLOT_ADDR);
  store<u32>(slot, aux, SLOT_AUX);
  store<u32>(st, load<u32>(st, P_HEAD) + 1, P_HEAD);
}

/** Slots in the producer's ring. */
@inline export function prodCount(st: usize): u32 { return load<u32>(st, P_COUNT); }

/** Slots the producer can still reserve (refreshes its cached tail). */
export function prodSpace(st: usize): u32 {
  const t = atomic.load<u32>(<usize>load<u32>(st, P_RING), RING_TAIL);
  store<u32>(st, t, P_TAIL);
  return load<u32>(st, P_COUNT) - (load<u32>(st, P_HEAD) - t);
}

/** Publishes every committed slot with one head store and rings the consumer once. */
export function prodPublish(st: usize): void {
  const head = load<u32>(st, P_HEAD);
  if (head == load<u32>(st, P_PUBLISHED)) return;
  const r = <usize>load<u32>(st, P_RING);
  atomic.store<u32>(r, head, RING_HEAD);
  store<u32>(st, head, P_PUBLISHED);
  const db = load<u32>(r, RING_CONSUMER_DOORBELL);
  if (db != 0) doorbellRing(db);
}


/** Slots a consumer takes from ring `r` in this batch: what is pending, at most `budget`. */
@inline export function ringBatch(r: usize, budget: u32): u32 {
  const n = ringPending(r);
  return n < budget ? n : budget;
}

/** True if ring `r` has unconsumed slots (sleep check). */
@inline export function ringNonEmpty(r: usize): bool {
  return atomic.load<u32>(r, RING_HEAD) != atomic.load<u32>(r, RING_TAIL);
}
