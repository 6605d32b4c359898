// SPSC rings and doorbells (docs/dataplane.md, "Rings", "Doorbells").
// Consumer side: read head once per batch, process slots, store tail once, ring the producer's doorbell.
// Producer side: a 32-byte producer state in scratch (ring, head, cached tail, published head, mask,
// slot size); slots are filled and committed locally, and published with one head store per batch.
import {
  RING_HEAD, RING_TAIL, RING_SLOT_COUNT, RING_SLOT_SIZE, RING_CONSUMER_DOORBELL, RING_PRODUCER_DOORBELL,
  RING_FULL_DROPS, RING_FULL_WAITS, RING_HEADER_SIZE, SLOT_LEN, SLOT_KIND, SLOT_ADDR, SLOT_AUX, DOORBELL_SLEEPING,
  COUNTER_DROP_RING_FULL,
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

/** A producer's private state (32 bytes in the worker's scratch, SCRATCH_PROD_*). */
@final @unmanaged class Producer {
  ring: u32;
  /** next slot to fill */
  head: u32;
  /** last tail seen (refreshed only when the ring looks full) */
  tail: u32;
  /** head as last published to the ring */
  published: u32;
  mask: u32;
  size: u32;
  count: u32;
}

@inline function producer(st: usize): Producer { return changetype<Producer>(st); }

export function prodInit(st: usize, r: usize): void {
  const p = producer(st);
  p.ring = <u32>r;
  const h = atomic.load<u32>(r, RING_HEAD);
  p.head = h;
  p.published = h;
  p.tail = atomic.load<u32>(r, RING_TAIL);
  p.mask = load<u32>(r, RING_SLOT_COUNT) - 1;
  p.size = load<u32>(r, RING_SLOT_SIZE);
  p.count = load<u32>(r, RING_SLOT_COUNT);
}

/** Address of the next free slot (its data is at SLOT_DATA), or 0 if the ring is full (counted). */
export function prodReserve(st: usize): usize {
  const p = producer(st);
  const r = <usize>p.ring;
  const head = p.head;
  const n = p.count;
  if (head - p.tail >= n) {
    const t = atomic.load<u32>(r, RING_TAIL);
    p.tail = t;
    if (head - t >= n) {
      store<u32>(r, load<u32>(r, RING_FULL_DROPS) + 1, RING_FULL_DROPS);
      count(COUNTER_DROP_RING_FULL);
      return 0;
    }
  }
  return r + RING_HEADER_SIZE + <usize>((head & p.mask) * p.size);
}

/** Fills the slot header of `slot` (from prodReserve) and commits it locally (published later). */
export function prodCommit(st: usize, slot: usize, len: u32, kind: u32, addr: u32, aux: u32): void {
  store<u32>(slot, len, SLOT_LEN);
  store<u32>(slot, kind, SLOT_KIND);
  store<u32>(slot, addr, SLOT_ADDR);
  store<u32>(slot, aux, SLOT_AUX);
  const p = producer(st);
  p.head = p.head + 1;
}

/** Slots in the producer's ring. */
@inline export function prodCount(st: usize): u32 { return producer(st).count; }

/** Slots committed so far (benchmarks count outputs by it). */
@inline export function prodHead(st: usize): u32 { return producer(st).head; }

/** Slots the producer can still reserve (refreshes its cached tail). */
export function prodSpace(st: usize): u32 {
  const p = producer(st);
  const t = atomic.load<u32>(<usize>p.ring, RING_TAIL);
  p.tail = t;
  return p.count - (p.head - t);
}

/** True if the producer can reserve a slot now (refreshes its cached tail only when it looks full). */
@inline export function prodHasRoom(st: usize): bool {
  const p = producer(st);
  if (p.head - p.tail < p.count) return true;
  return prodSpace(st) != 0;
}

/** Counts, in the ring's header, that its producer found it full and waits instead of dropping. */
export function prodCountWait(st: usize): void {
  const r = <usize>producer(st).ring;
  store<u32>(r, load<u32>(r, RING_FULL_WAITS) + 1, RING_FULL_WAITS);
}

/** Publishes every committed slot with one head store and rings the consumer once. */
export function prodPublish(st: usize): void {
  const p = producer(st);
  const head = p.head;
  if (head == p.published) return;
  const r = <usize>p.ring;
  atomic.store<u32>(r, head, RING_HEAD);
  p.published = head;
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
