// Anti-replay (RFC 4303 3.4.3 and Appendix A2), ESN-aware: a window of SA_ENTRY_WINDOW bits in the SA
// entry (SA_ENTRY_BITMAP) below the highest authenticated number T (SA_ENTRY_SEQ).
//
// Several workers may decrypt packets of one SA at once (docs/dataplane.md "ESP across workers"), as
// wireguard-go does: the check before decryption (replayCheck) takes no lock and is only a pre-filter
// that spares the crypto for what is surely a replay or too old; after authentication, replayUpdate
// checks again and marks the number under the SA's spin lock (SA_ENTRY_REPLAY_LOCK), so of two copies
// of one packet decrypted at the same time exactly one is accepted.
// Why the lock-free pre-filter never drops a packet the locked check would accept: T only grows, and
// replayUpdate clears the bits it slides over and sets the new number's bit before it publishes the
// new T (atomic store), so a reader that loads the new T (atomic load) sees the bits that go with it.
// A reader still on the old T can only find set a bit that stands for a newer number n at the
// position of n - W, which is below n's window: too old under the new T either way.
import {
  workerIndex, SA_ENTRY_FLAGS, SA_ENTRY_SEQ, SA_ENTRY_WINDOW, SA_ENTRY_BITMAP, SA_ENTRY_REPLAY_LOCK,
  SA_ENTRY_DROP_REPLAY, SA_ENTRY_DROP_TOO_OLD, SA_FLAG_ESN, SA_FLAG_NO_REPLAY, COUNTER_DROP_ESP_REPLAY,
} from '../core/layout';
import { count, countAt } from '../core/counters';

@inline function bitWord(bm: usize, b: u32): usize { return bm + (<usize>(b >> 5) << 2); }

const UNLOCKED: u32 = 0;

/**
 * Before decryption: the full 64-bit sequence number for the received low 32 bits (ESN: the high
 * half is inferred per Appendix A2.2), or 0 if the packet is a replay or too old (counted).
 */
export function replayCheck(e: usize, seql: u32): u64 {
  const fl = load<u32>(e, SA_ENTRY_FLAGS);
  const T = atomic.load<u64>(e, SA_ENTRY_SEQ);
  const W = <u64>load<u32>(e, SA_ENTRY_WINDOW);
  let s: u64;
  if ((fl & SA_FLAG_ESN) != 0) {
    const tl = <u32>T;
    let th = <u32>(T >> 32);
    const bottom = tl - <u32>W + 1; // mod 2^32
    if (<u64>tl >= W - 1) {
      if (seql < bottom) th++; // A2.2 case A: the packet is in the next subspace
    } else if (seql >= bottom && th != 0) th--; // case B: previous subspace (none before subspace 0)
    s = (<u64>th << 32) | <u64>seql;
  } else s = <u64>seql;
  if ((fl & SA_FLAG_NO_REPLAY) != 0) return s == 0 ? 1 : s;
  if (s == 0) { tooOld(e); return 0; }
  if (s > T) return s;
  if (T - s >= W) { tooOld(e); return 0; }
  if (bitSet(e + SA_ENTRY_BITMAP, <u32>(s % W))) { replayed(e); return 0; }
  return s;
}

@inline function bitSet(bm: usize, b: u32): bool { return (load<u32>(bitWord(bm, b)) & (<u32>1 << (b & 31))) != 0; }
function tooOld(e: usize): void { countAt(e, SA_ENTRY_DROP_TOO_OLD); count(COUNTER_DROP_ESP_REPLAY); }
function replayed(e: usize): void { countAt(e, SA_ENTRY_DROP_REPLAY); count(COUNTER_DROP_ESP_REPLAY); }

/**
 * The SA's replay lock: a test-and-test-and-set spin lock whose word says who holds it (worker
 * index + 1), so a restarted worker can release what its dead predecessor held (releaseReplayLock).
 * It is held for a few loads and stores (a slide of d numbers clears d bits, at most W / 32 words).
 */
@inline function lock(e: usize): void {
  const me = workerIndex + 1;
  while (atomic.cmpxchg<u32>(e + SA_ENTRY_REPLAY_LOCK, UNLOCKED, me) != UNLOCKED) {
    while (atomic.load<u32>(e, SA_ENTRY_REPLAY_LOCK) != UNLOCKED) {} // read-only while it is held
  }
}
@inline function unlock(e: usize): void { atomic.store<u32>(e, UNLOCKED, SA_ENTRY_REPLAY_LOCK); }

/** Setup of a restarted worker: frees SA entry `e`'s replay lock if this worker index held it. */
export function releaseReplayLock(e: usize): void {
  atomic.cmpxchg<u32>(e + SA_ENTRY_REPLAY_LOCK, workerIndex + 1, UNLOCKED);
}

/** Clears the bits of the numbers T + 1 .. s - 1 (s > T): the window slides over them. */
function slide(bm: usize, T: u64, s: u64, W: u64): void {
  if (s - T >= W) { memory.fill(bm, 0, <usize>(W >> 3)); return; }
  for (let x = T + 1; x < s; x++) {
    const b = <u32>(x % W);
    const a = bitWord(bm, b);
    store<u32>(a, load<u32>(a) & ~(<u32>1 << (b & 31)));
  }
}

/**
 * After successful authentication: true if `s` is still fresh, then the window slides to it and it
 * is marked, atomically with respect to every other worker; false (counted as a replay, or as too
 * old if the window moved past it meanwhile) if another worker accepted it or slid past it first.
 */
export function replayUpdate(e: usize, s: u64): bool {
  if ((load<u32>(e, SA_ENTRY_FLAGS) & SA_FLAG_NO_REPLAY) != 0) { // T only rises (the highest seen)
    let T = atomic.load<u64>(e, SA_ENTRY_SEQ);
    while (s > T) {
      const seen = atomic.cmpxchg<u64>(e + SA_ENTRY_SEQ, T, s);
      if (seen == T) break;
      T = seen;
    }
    return true;
  }
  const W = <u64>load<u32>(e, SA_ENTRY_WINDOW);
  const bm = e + SA_ENTRY_BITMAP;
  const b = <u32>(s % W);
  const a = bitWord(bm, b);
  const bit = <u32>1 << (b & 31);
  lock(e);
  const T = atomic.load<u64>(e, SA_ENTRY_SEQ);
  let fresh = true;
  if (s > T) {
    slide(bm, T, s, W);
    store<u32>(a, load<u32>(a) | bit);
    atomic.store<u64>(e, s, SA_ENTRY_SEQ); // after the bits: see the note at the top
  } else if (T - s >= W) fresh = false;
  else if ((load<u32>(a) & bit) != 0) fresh = false;
  else store<u32>(a, load<u32>(a) | bit);
  unlock(e);
  if (!fresh) { if (T - s >= W) tooOld(e); else replayed(e); }
  return fresh;
}
