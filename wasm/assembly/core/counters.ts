// Counting into the global counter array and a peer or SA entry's counters (indices and fields in
// core/layout.ts). The global counters are per worker (`counters` is this worker's own array; the
// readers sum them): one writer each, plain stores, no cache line shared between cores. Peer and SA
// entries are shared by every worker: their counters take an atomic add when several workers run (a
// plain load/add/store from two cores loses counts) and a plain one when there is one.
import {
  counters, workerCount, PEER_ENTRY_TX_PACKETS, PEER_ENTRY_TX_BYTES, PEER_ENTRY_RX_PACKETS, PEER_ENTRY_RX_BYTES,
} from './layout';

/** Adds `n` to the u64 at `a` in a table every worker writes; returns the new value. */
@inline export function sharedAdd(a: usize, n: u64): u64 {
  if (workerCount > 1) return atomic.add<u64>(a, n) + n;
  const v = load<u64>(a) + n;
  store<u64>(a, v);
  return v;
}

/** Adds `n` (default 1) to global counter `i`. */
@inline export function count(i: u32, n: u64 = 1): void {
  const a = counters + (<usize>i << 3);
  store<u64>(a, load<u64>(a) + n);
}

/** Counts one packet of `bytes` bytes into the pair (packets at i, bytes at i+1). */
@inline export function countPkt(i: u32, bytes: u32): void {
  const a = counters + (<usize>i << 3);
  store<u64>(a, load<u64>(a) + 1);
  store<u64>(a, load<u64>(a, 8) + <u64>bytes, 8);
}

/** Stores a value (not a count) in counter slot `i`: the LAST_DROP_SOURCE_SLOT_* words. */
@inline export function recordSource(i: u32, src: u32): void { store<u64>(counters + (<usize>i << 3), <u64>src); }

/** Adds `n` to the u64 at `e + off` (per-SA counters). */
@inline export function countAt(e: usize, off: usize, n: u64 = 1): void { sharedAdd(e + off, n); }

/** Adds one packet of `bytes` (inner bytes) to peer entry `e`'s tx counters. */
@inline export function peerCountTx(e: usize, bytes: u32): void {
  sharedAdd(e + PEER_ENTRY_TX_PACKETS, 1);
  sharedAdd(e + PEER_ENTRY_TX_BYTES, <u64>bytes);
}

@inline export function peerCountRx(e: usize, bytes: u32): void {
  sharedAdd(e + PEER_ENTRY_RX_PACKETS, 1);
  sharedAdd(e + PEER_ENTRY_RX_BYTES, <u64>bytes);
}
