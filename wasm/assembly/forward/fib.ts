// FIB: longest-prefix match over one open-addressing hash table per prefix length 0..32
// (docs/dataplane.md "FIB"). A 33-bit bitmap at the front of the region lists the lengths in use
// (u32 at +0: lengths 0..31, bit0 of the u32 at +4: length 32), so a lookup probes only those,
// longest first. Entries: {prefix, len (255 = empty), nextHop, flags}. Deletion is backward-shift
// (no tombstones). Each length table holds at most 7/8 of its capacity.
import { fib, fibCapacity, tunnelState } from '../core/layout';
import { TS_ROUTE_COUNT, TS_ROUTES_PER_LEN } from '../core/config';

export const NO_ROUTE: u32 = 0xffffffff;
const BITMAP_BYTES: usize = 64;
const ENTRY: usize = 16;
const EMPTY_LEN: u32 = 255;
const HASH_MUL: u32 = 0x9e3779b1;

let shift: u32 = 32;
let mask: u32 = 0;

export function fibInit(): void {
  shift = 32 - (31 - clz<u32>(fibCapacity));
  mask = fibCapacity - 1;
}

@inline export function prefixMask(len: u32): u32 { return len == 0 ? 0 : 0xffffffff << (32 - len); }
@inline function hash(x: u32): u32 { return (x * HASH_MUL) >>> shift; }
@inline function table(len: u32): usize { return fib + BITMAP_BYTES + <usize>len * <usize>fibCapacity * ENTRY; }

/** Next hop for `prefix` (already masked) in the table of length `len`, or NO_ROUTE. */
@inline function get(len: u32, prefix: u32): u32 {
  const t = table(len);
  let i = hash(prefix);
  while (true) {
    const e = t + <usize>i * ENTRY;
    const l = load<u32>(e, 4);
    if (l == EMPTY_LEN) return NO_ROUTE;
    if (load<u32>(e) == prefix) return load<u32>(e, 8);
    i = (i + 1) & mask;
  }
  return NO_ROUTE;
}

/** Longest-prefix match: the route's nextHop (0 = on-link) or NO_ROUTE. */
export function fibLookup(dst: u32): u32 {
  if ((load<u32>(fib, 4) & 1) != 0) {
    const r = get(32, dst);
    if (r != NO_ROUTE) return r;
  }
  let bm = load<u32>(fib);
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
    if (load<u32>(e, 4) == EMPTY_LEN) return 0;
    if (load<u32>(e) == prefix) return e;
    i = (i + 1) & mask;
  }
  return 0;
}

@inline function lenCount(len: u32): u32 { return load<u32>(tunnelState + TS_ROUTES_PER_LEN + (<usize>len << 2)); }
function addCount(len: u32, d: i32): void {
  const a = tunnelState + TS_ROUTES_PER_LEN + (<usize>len << 2);
  const c = <u32>(<i32>load<u32>(a) + d);
  store<u32>(a, c);
  store<u32>(tunnelState, <u32>(<i32>load<u32>(tunnelState, TS_ROUTE_COUNT) + d), TS_ROUTE_COUNT);
  const word = fib + (len == 32 ? 4 : 0);
  const bit: u32 = 1 << (len & 31);
  if (c == 0) store<u32>(word, load<u32>(word) & ~bit);
  else store<u32>(word, load<u32>(word) | bit);
}

/** Adds or replaces a route. Returns false if invalid or the length table is full. */
export function fibAdd(prefix: u32, len: u32, nextHop: u32, fl: u32): bool {
  if (len > 32 || nextHop == NO_ROUTE) return false;
  prefix &= prefixMask(len);
  const e0 = find(len, prefix);
  if (e0 != 0) { store<u32>(e0, fl, 12); store<u32>(e0, nextHop, 8); return true; }
  if (lenCount(len) >= fibCapacity - (fibCapacity >> 3)) return false;
  const t = table(len);
  let i = hash(prefix);
  while (load<u32>(t + <usize>i * ENTRY, 4) != EMPTY_LEN) i = (i + 1) & mask;
  const e = t + <usize>i * ENTRY;
  store<u32>(e, nextHop, 8);
  store<u32>(e, fl, 12);
  store<u32>(e, prefix, 0);
  atomic.store<u32>(e, len, 4);
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
    if (load<u32>(ej, 4) == EMPTY_LEN) break;
    const h = hash(load<u32>(ej));
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
  store<u32>(x, 0xffffffff, 0); store<u32>(x, EMPTY_LEN, 4); store<u32>(x, 0, 8); store<u32>(x, 0, 12);
}

export function fibFlush(): void {
  for (let len: u32 = 0; len <= 32; len++) {
    const t = table(len);
    for (let i: u32 = 0; i < fibCapacity; i++) {
      const e = t + <usize>i * ENTRY;
      empty(e);
    }
    store<u32>(tunnelState + TS_ROUTES_PER_LEN + (<usize>len << 2), 0);
  }
  store<u32>(fib, 0, 0);
  store<u32>(fib, 0, 4);
  store<u32>(tunnelState, 0, TS_ROUTE_COUNT);
}
