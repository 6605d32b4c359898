// FIB: longest-prefix match over one open-addressing hash table per prefix length 0..32
// (docs/dataplane.md "FIB"). A 33-bit bitmap at the front of the region lists the lengths in use
// (u32 at +0: lengths 0..31, bit0 of the u32 at +4: length 32), so a lookup probes only those,
// longest first. Entries: {prefix, len (255 = empty), nextHop, flags}. Deletion is backward-shift
// (no tombstones). Each length table holds at most 7/8 of its capacity.
import {
  fib, fibCapacity, tunnelState, TUNNEL_STATE_ROUTE_COUNT, TUNNEL_STATE_ROUTES_PER_LEN, FIB_BITMAP_BYTES,
  FIB_ENTRY_SIZE, FIB_ENTRY_PREFIX, FIB_ENTRY_LEN, FIB_ENTRY_NEXT_HOP, FIB_ENTRY_FLAGS, FIB_EMPTY_LEN,
} from '../core/layout';
import { hashTop, hashShift } from '../core/hash';
import { tablesRead, sharedReader } from '../core/tables';

export const NO_ROUTE: u32 = 0xffffffff;
const BITMAP_BYTES = FIB_BITMAP_BYTES;
const ENTRY = FIB_ENTRY_SIZE;
const EMPTY_LEN = FIB_EMPTY_LEN;
/** bitmap words: lengths 0..31 at +0, length 32 in bit0 of +4 */
const BITMAP_LOW: usize = 0;
const BITMAP_32: usize = 4;

let shift: u32 = 32;
let mask: u32 = 0;

export function fibInit(): void {
  shift = hashShift(fibCapacity);
  mask = fibCapacity - 1;
}

@inline export function prefixMask(len: u32): u32 { return len == 0 ? 0 : 0xffffffff << (32 - len); }
@inline function hash(x: u32): u32 { return hashTop(x, shift); }
@inline function table(len: u32): usize { return fib + BITMAP_BYTES + <usize>len * <usize>fibCapacity * ENTRY; }

/** Next hop for `prefix` (already masked) in the table of length `len`, or NO_ROUTE. */
@inline function get(len: u32, prefix: u32): u32 {
  const t = table(len);
  let i = hash(prefix);
  while (true) {
    const e = t + <usize>i * ENTRY;
    const l = load<u32>(e, FIB_ENTRY_LEN);
    if (l == EMPTY_LEN) return NO_ROUTE;
    if (load<u32>(e, FIB_ENTRY_PREFIX) == prefix) return load<u32>(e, FIB_ENTRY_NEXT_HOP);
    i = (i + 1) & mask;
  }
  return NO_ROUTE;
}

/**
 * Longest-prefix match: the route's nextHop (0 = on-link) or NO_ROUTE. A worker other than worker 0
 * (the writer) repeats the match while a command moves entries (core/tables.ts).
 */
export function fibLookup(dst: u32): u32 {
  return sharedReader() ? tablesRead<u32>(match, dst, NO_ROUTE) : match(dst); // worker 0: a direct call
}

function match(dst: u32): u32 {
  if ((load<u32>(fib, BITMAP_32) & 1) != 0) {
    const r = get(32, dst);
    if (r != NO_ROUTE) return r;
  }
  let bm = load<u32>(fib, BITMAP_LOW);
  while (bm != 0) {
    const len = 31 - clz<u32>(bm);
    bm ^= 1 << len;
    const r = get(len, dst & prefixMask(len));
    if (r != NO_ROUTE) return r;
  }
  return NO_ROUTE;
}

function find(len: u32, prefix: u32): usize {
  const t = table(len);
  let i = hash(prefix);
  for (let n: u32 = 0; n < fibCapacity; n++) {
    const e = t + <usize>i * ENTRY;
    if (load<u32>(e, FIB_ENTRY_LEN) == EMPTY_LEN) return 0;
    if (load<u32>(e, FIB_ENTRY_PREFIX) == prefix) return e;
    i = (i + 1) & mask;
  }
  return 0;
}

@inline function lenCount(len: u32): u32 { return load<u32>(tunnelState + TUNNEL_STATE_ROUTES_PER_LEN + (<usize>len << 2)); }
function addCount(len: u32, d: i32): void {
  const a = tunnelState + TUNNEL_STATE_ROUTES_PER_LEN + (<usize>len << 2);
  const c = <u32>(<i32>load<u32>(a) + d);
  store<u32>(a, c);
  store<u32>(tunnelState, <u32>(<i32>load<u32>(tunnelState, TUNNEL_STATE_ROUTE_COUNT) + d), TUNNEL_STATE_ROUTE_COUNT);
  const word = fib + (len == 32 ? BITMAP_32 : BITMAP_LOW);
  const bit: u32 = 1 << (len & 31);
  if (c == 0) store<u32>(word, load<u32>(word) & ~bit);
  else store<u32>(word, load<u32>(word) | bit);
}

/** Adds or replaces a route. Returns false if invalid or the length table is full. */
export function fibAdd(prefix: u32, len: u32, nextHop: u32, fl: u32): bool {
  if (len > 32 || nextHop == NO_ROUTE) return false;
  prefix &= prefixMask(len);
  const e0 = find(len, prefix);
  if (e0 != 0) { store<u32>(e0, fl, FIB_ENTRY_FLAGS); store<u32>(e0, nextHop, FIB_ENTRY_NEXT_HOP); return true; }
  if (lenCount(len) >= fibCapacity - (fibCapacity >> 3)) return false;
  const t = table(len);
  let i = hash(prefix);
  while (load<u32>(t + <usize>i * ENTRY, FIB_ENTRY_LEN) != EMPTY_LEN) i = (i + 1) & mask;
  const e = t + <usize>i * ENTRY;
  store<u32>(e, nextHop, FIB_ENTRY_NEXT_HOP);
  store<u32>(e, fl, FIB_ENTRY_FLAGS);
  store<u32>(e, prefix, FIB_ENTRY_PREFIX);
  atomic.store<u32>(e, len, FIB_ENTRY_LEN); // last: readers see the entry only once it is whole
  addCount(len, 1);
  return true;
}

/** Deletes a route; returns false if absent. */
export function fibDel(prefix: u32, len: u32): bool {
  if (len > 32) return false;
  prefix &= prefixMask(len);
  const e0 = find(len, prefix);
  if (e0 == 0) return false;
  const t = table(len);
  let i = <u32>((e0 - t) / ENTRY);
  empty(e0);
  let j = i;
  for (let n: u32 = 0; n < fibCapacity; n++) {
    j = (j + 1) & mask;
    const ej = t + <usize>j * ENTRY;
    if (load<u32>(ej, FIB_ENTRY_LEN) == EMPTY_LEN) break;
    const h = hash(load<u32>(ej, FIB_ENTRY_PREFIX));
    const stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    const ei = t + <usize>i * ENTRY;
    memory.copy(ei, ej, ENTRY);
    empty(ej);
    i = j;
  }
  addCount(len, -1);
  return true;
}

@inline function empty(x: usize): void {
  store<u32>(x, 0xffffffff, FIB_ENTRY_PREFIX); store<u32>(x, EMPTY_LEN, FIB_ENTRY_LEN);
  store<u32>(x, 0, FIB_ENTRY_NEXT_HOP); store<u32>(x, 0, FIB_ENTRY_FLAGS);
}

export function fibFlush(): void {
  for (let len: u32 = 0; len <= 32; len++) {
    const t = table(len);
    for (let i: u32 = 0; i < fibCapacity; i++) {
      const e = t + <usize>i * ENTRY;
      empty(e);
    }
    store<u32>(tunnelState + TUNNEL_STATE_ROUTES_PER_LEN + (<usize>len << 2), 0);
  }
  store<u32>(fib, 0, BITMAP_LOW);
  store<u32>(fib, 0, BITMAP_32);
  store<u32>(tunnelState, 0, TUNNEL_STATE_ROUTE_COUNT);
}
