// Counting into the global counter array and a peer entry's counters (indices and fields in
// core/layout.ts). Only the worker writes them (plain stores: one writer); the supervisor reads u64s.
import {
  counters, PEER_ENTRY_TX_PACKETS, PEER_ENTRY_TX_BYTES, PEER_ENTRY_RX_PACKETS, PEER_ENTRY_RX_BYTES,
} from './layout';

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
@inline export function countAt(e: usize, off: usize, n: u64 = 1): void {
  store<u64>(e + off, load<u64>(e + off) + n);
}

/** Adds one packet of `bytes` (inner bytes) to peer entry `e`'s tx counters. */
@inline export function peerCountTx(e: usize, bytes: u32): void {
  store<u64>(e, load<u64>(e, PEER_ENTRY_TX_PACKETS) + 1, PEER_ENTRY_TX_PACKETS);
  store<u64>(e, load<u64>(e, PEER_ENTRY_TX_BYTES) + <u64>bytes, PEER_ENTRY_TX_BYTES);
}

@inline export function peerCountRx(e: usize, bytes: u32): void {
  store<u64>(e, load<u64>(e, PEER_ENTRY_RX_PACKETS) + 1, PEER_ENTRY_RX_PACKETS);
  store<u64>(e, load<u64>(e, PEER_ENTRY_RX_BYTES) + <u64>bytes, PEER_ENTRY_RX_BYTES);
}
