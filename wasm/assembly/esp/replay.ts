// Anti-replay (RFC 4303 3.4.3 and Appendix A2), ESN-aware: a window of SA_ENTRY_WINDOW bits in the SA
// entry (SA_ENTRY_BITMAP) below the highest authenticated number T (SA_ENTRY_SEQ).
import {
  SA_ENTRY_FLAGS, SA_ENTRY_SEQ, SA_ENTRY_WINDOW, SA_ENTRY_BITMAP, SA_ENTRY_DROP_REPLAY, SA_ENTRY_DROP_TOO_OLD,
  SA_FLAG_ESN, SA_FLAG_NO_REPLAY, COUNTER_DROP_ESP_REPLAY,
} from '../core/layout';
import { count, countAt } from '../core/counters';

@inline function bitWord(bm: usize, b: u32): usize { return bm + (<usize>(b >> 5) << 2); }

/**
 * Before decryption: the full 64-bit sequence number for the received low 32 bits (ESN: the high
 * half is inferred per Appendix A2.2), or 0 if the packet is a replay or too old (counted).
 */
export function replayCheck(e: usize, seql: u32): u64 {
  const fl = load<u32>(e, SA_ENTRY_FLAGS);
  const T = load<u64>(e, SA_ENTRY_SEQ);
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
  const bit = <u32>(s % W);
  if ((load<u32>(bitWord(e + SA_ENTRY_BITMAP, bit)) & (1 << (bit & 31))) != 0) {
    countAt(e, SA_ENTRY_DROP_REPLAY); count(COUNTER_DROP_ESP_REPLAY);
    return 0;
  }
  return s;
}

function tooOld(e: usize): void { countAt(e, SA_ENTRY_DROP_TOO_OLD); count(COUNTER_DROP_ESP_REPLAY); }

/** After successful authentication: slide the window to `s` if it is new and mark it. */
export function replayUpdate(e: usize, s: u64): void {
  if ((load<u32>(e, SA_ENTRY_FLAGS) & SA_FLAG_NO_REPLAY) != 0) {
    if (s > load<u64>(e, SA_ENTRY_SEQ)) store<u64>(e, s, SA_ENTRY_SEQ);
    return;
  }
  const T = load<u64>(e, SA_ENTRY_SEQ);
  const W = <u64>load<u32>(e, SA_ENTRY_WINDOW);
  const bm = e + SA_ENTRY_BITMAP;
  if (s > T) {
    const d = s - T;
    if (d >= W) memory.fill(bm, 0, <usize>(W >> 3));
    else for (let x = T + 1; x < s; x++) {
      const b = <u32>(x % W);
      const a = bitWord(bm, b);
      store<u32>(a, load<u32>(a) & ~(<u32>1 << (b & 31)));
    }
    store<u64>(e, s, SA_ENTRY_SEQ);
  }
  const b = <u32>(s % W);
  const a = bitWord(bm, b);
  store<u32>(a, load<u32>(a) | (<u32>1 << (b & 31)));
}
