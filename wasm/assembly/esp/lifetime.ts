// SA lifetimes and events: per-SA packet/byte accounting against the soft and hard limits (RFC 4301
// 4.4.2.1), and the SA_EVENT records that ask the supervisor for a rekey, each sent once per SA.
// Several workers may send or receive on one SA: the packet and byte counts are atomic adds (a lost
// update would let an SA run past its hard limit), each worker compares the total its own add
// returned, so exactly the packet that crosses a limit sees it crossed first; an event's bit is
// claimed with an atomic or before the record is written, so one worker sends it; the state word is
// stored atomically (EXPIRED is final until SA_ADD rewrites the entry).
import {
  SA_ENTRY_STATE, SA_ENTRY_SPI, SA_ENTRY_DIR, SA_ENTRY_EVENTS, SA_ENTRY_PACKETS, SA_ENTRY_BYTES, SA_ENTRY_LAST_MS,
  SA_ENTRY_HARD_PACKETS, SA_ENTRY_HARD_BYTES, SA_ENTRY_SOFT_PACKETS, SA_ENTRY_SOFT_BYTES, SA_ENTRY_DROP_LIFETIME,
  SA_STATE_EXPIRED, SA_EVENT_REASON_SOFT_LIFETIME, SA_EVENT_REASON_HARD_LIFETIME, SA_EVENT_REASON_SEQ_EXHAUSTED,
  CTL_IN_SA_EVENT, SA_EVENT_INDEX, SA_EVENT_REASON, SA_EVENT_SPI, SA_EVENT_DIR, SA_EVENT_SIZE, SLOT_DATA,
  COUNTER_SA_EVENTS_SENT, COUNTER_DROP_SA_EXPIRED,
} from '../core/layout';
import { nowMs } from '../core/clock';
import { count, countAt, sharedAdd } from '../core/counters';
import { ctlReserve, ctlCommit } from '../io/ctl';
import { saIndexOf } from './sa';

@inline function eventBit(reason: u32): u32 { return <u32>1 << (reason - 1); }

/** SA_EVENT to ctlRx: addr = index, aux = reason. False if ctlRx is full. */
function saEvent(e: usize, reason: u32): bool {
  const slot = ctlReserve();
  if (slot == 0) return false;
  const idx = saIndexOf(e);
  const p = slot + SLOT_DATA;
  store<u32>(p, idx, SA_EVENT_INDEX);
  store<u32>(p, reason, SA_EVENT_REASON);
  store<u32>(p, load<u32>(e, SA_ENTRY_SPI), SA_EVENT_SPI);
  store<u32>(p, load<u32>(e, SA_ENTRY_DIR), SA_EVENT_DIR);
  ctlCommit(slot, SA_EVENT_SIZE, CTL_IN_SA_EVENT, idx, reason);
  count(COUNTER_SA_EVENTS_SENT);
  return true;
}

/**
 * Sends event `reason` once per SA (its bit in SA_ENTRY_EVENTS): the worker whose atomic or set the
 * bit sends it; if ctlRx is full it clears the bit again, so a later packet retries.
 */
export function saEventOnce(e: usize, reason: u32): void {
  const bit = eventBit(reason);
  if ((atomic.load<u32>(e, SA_ENTRY_EVENTS) & bit) != 0) return; // the common case: no write to the line
  if ((atomic.or<u32>(e + SA_ENTRY_EVENTS, bit) & bit) != 0) return; // another worker claimed it
  if (!saEvent(e, reason)) atomic.and<u32>(e + SA_ENTRY_EVENTS, ~bit);
}

/** The SA stops (hard lifetime, or its sequence numbers are used up) and asks for a rekey. */
export function saExpire(e: usize, reason: u32): void {
  atomic.store<u32>(e, SA_STATE_EXPIRED, SA_ENTRY_STATE);
  saEventOnce(e, reason);
}

/** Counts a packet of `bytes` on the SA and applies the soft/hard lifetimes. */
export function saAccount(e: usize, bytes: u32): void {
  const pk = sharedAdd(e + SA_ENTRY_PACKETS, 1);
  const by = sharedAdd(e + SA_ENTRY_BYTES, <u64>bytes);
  if (load<u32>(e, SA_ENTRY_LAST_MS) != nowMs) atomic.store<u32>(e, nowMs, SA_ENTRY_LAST_MS); // idle time only: any worker's now
  const hp = load<u64>(e, SA_ENTRY_HARD_PACKETS), hb = load<u64>(e, SA_ENTRY_HARD_BYTES);
  if ((hp != 0 && pk >= hp) || (hb != 0 && by >= hb)) { saExpire(e, SA_EVENT_REASON_HARD_LIFETIME); return; }
  const sp = load<u64>(e, SA_ENTRY_SOFT_PACKETS), sb = load<u64>(e, SA_ENTRY_SOFT_BYTES);
  if ((sp != 0 && pk >= sp) || (sb != 0 && by >= sb)) saEventOnce(e, SA_EVENT_REASON_SOFT_LIFETIME);
}

/** A packet hit an expired SA: counted; the pending event is retried (ctlRx may have been full). */
export function saExpiredDrop(e: usize): void {
  countAt(e, SA_ENTRY_DROP_LIFETIME);
  count(COUNTER_DROP_SA_EXPIRED);
  const sent = eventBit(SA_EVENT_REASON_HARD_LIFETIME) | eventBit(SA_EVENT_REASON_SEQ_EXHAUSTED);
  if ((atomic.load<u32>(e, SA_ENTRY_EVENTS) & sent) == 0) saEventOnce(e, SA_EVENT_REASON_HARD_LIFETIME);
}
