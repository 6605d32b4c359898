// Peer table (tunnel address -> NBMA, docs/dataplane.md "Peer table") and the nbma -> peer reverse
// index used to attribute received GRE to a peer. Only the worker writes either.
//
// Peer table: open addressing, linear probing, 48-byte entries, tombstones (0xFFFFFFFF) so that an
// entry never moves (the reverse index stores entry numbers). A delete whose next slot is empty turns
// itself and the tombstones before it back into empty slots. At most 7/8 of the entries are live.
// `gen` is a seqlock: odd while the entry is being written.
//
// Reverse index: capacity entries of 8 bytes {nbma u32 (0 = empty), entry number u32}, same hash,
// linear probing with backward-shift deletion (no tombstones). When two peers share an NBMA address
// the most recently set one owns the index entry.
import { peerTable, peerCapacity, nbmaIndex, tunnelState } from '../core/layout';
import { TS_PEER_COUNT } from '../core/config';

export const PEER_SIZE: usize = 48;
const EMPTY: u32 = 0;
const DELETED: u32 = 0xffffffff;
const HASH_MUL: u32 = 0x9e3779b1;

let shift: u32 = 32;
let mask: u32 = 0;

export function peersInit(): void {
  shift = 32 - (31 - clz<u32>(peerCapacity));
  mask = peerCapacity - 1;
}

@inline function hash(x: u32): u32 { return (x * HASH_MUL) >>> shift; }
@inline function entry(i: u32): usize { return peerTable + <usize>i * PEER_SIZE; }

/** Address of the live entry for `ip`, or 0. */
export function peerFind(ip: u32): usize {
  let i = hash(ip);
  for (let n: u32 = 0; n < peerCapacity; n++) {
    const e = entry(i);
    const k = load<u32>(e);
    if (k == ip) return e;
    if (k == EMPTY) return 0;
    i = (i + 1) & mask;
  }
  return 0;
}

@inline function peerCount(): u32 { return load<u32>(tunnelState, TS_PEER_COUNT); }
@inline function setPeerCount(v: u32): void { store<u32>(tunnelState, v, TS_PEER_COUNT); }

@inline function genBegin(e: usize): void { atomic.store<u32>(e, load<u32>(e, 12) + 1, 12); }
@inline function genEnd(e: usize): void { atomic.store<u32>(e, load<u32>(e, 12) + 1, 12); }

/** Inserts or updates. Returns false if ip is invalid or the table is full. */
export function peerSet(ip: u32, nbma: u32, fl: u32): bool {
  if (ip == EMPTY || ip == DELETED || nbma == 0) return false;
  let i = hash(ip);
  let free: usize = 0;
  let e: usize = 0;
  for (let n: u32 = 0; n < peerCapacity; n++) {
    const c = entry(i);
    const k = load<u32>(c);
    if (k == ip) { e = c; break; }
    if (k == DELETED) { if (free == 0) free = c; }
    else if (k == EMPTY) { if (free == 0) free = c; break; }
    i = (i + 1) & mask;
  }
  if (e != 0) {
    const old = load<u32>(e, 4);
    genBegin(e);
    store<u32>(e, nbma, 4);
    store<u32>(e, fl, 8);
    genEnd(e);
    if (old != nbma) {
      idxDel(old, <u32>((e - peerTable) / PEER_SIZE));
    }
    idxSet(nbma, <u32>((e - peerTable) / PEER_SIZE));
    return true;
  }
  if (free == 0 || peerCount() >= peerCapacity - (peerCapacity >> 3)) return false;
  e = free;
  genBegin(e);
  store<u32>(e, nbma, 4);
  store<u32>(e, fl, 8);
  store<u64>(e, 0, 16);
  store<u64>(e, 0, 24);
  store<u64>(e, 0, 32);
  store<u64>(e, 0, 40);
  store<u32>(e, ip, 0);
  genEnd(e);
  setPeerCount(peerCount() + 1);
  idxSet(nbma, <u32>((e - peerTable) / PEER_SIZE));
  return true;
}

/** Deletes; returns false if absent. */
export function peerDel(ip: u32): bool {
  const e = peerFind(ip);
  if (e == 0) return false;
  const num = <u32>((e - peerTable) / PEER_SIZE);
  idxDel(load<u32>(e, 4), num);
  genBegin(e);
  store<u32>(e, DELETED, 0);
  genEnd(e);
  setPeerCount(peerCount() - 1);
  // If the next slot is empty no probe sequence runs through us: reclaim this and earlier tombstones.
  let j = (num + 1) & mask;
  if (load<u32>(entry(j)) == EMPTY) {
    let k = num;
    while (load<u32>(entry(k)) == DELETED) {
      store<u32>(entry(k), EMPTY, 0);
      k = (k - 1) & mask;
    }
  }
  return true;
}

export function peerFlush(): void {
  for (let i: u32 = 0; i < peerCapacity; i++) {
    const e = entry(i);
    if (load<u32>(e) != EMPTY) {
      genBegin(e);
      store<u32>(e, EMPTY, 0);
      genEnd(e);
    }
  }
  memory.fill(nbmaIndex, 0, <usize>peerCapacity * 8);
  setPeerCount(0);
}

/** Adds one packet of `bytes` to a peer's tx counters. */
@inline export function peerCountTx(e: usize, bytes: u32): void {
  store<u64>(e, load<u64>(e, 16) + 1, 16);
  store<u64>(e, load<u64>(e, 24) + <u64>bytes, 24);
}

@inline export function peerCountRx(e: usize, bytes: u32): void {
  store<u64>(e, load<u64>(e, 32) + 1, 32);
  store<u64>(e, load<u64>(e, 40) + <u64>bytes, 40);
}

// ---- nbma -> peer reverse index ----

@inline function idxEntry(i: u32): usize { return nbmaIndex + (<usize>i << 3); }

/** Peer entry address for an NBMA address, or 0. */
export function peerByNbma(nbma: u32): usize {
  let i = hash(nbma);
  for (let n: u32 = 0; n < peerCapacity; n++) {
    const x = idxEntry(i);
    const k = load<u32>(x);
    if (k == nbma) {
      const e = entry(load<u32>(x, 4));
      return load<u32>(e, 4) == nbma && load<u32>(e) != DELETED && load<u32>(e) != EMPTY ? e : 0;
    }
    if (k == 0) return 0;
    i = (i + 1) & mask;
  }
  return 0;
}

function idxSet(nbma: u32, num: u32): void {
  let i = hash(nbma);
  for (let n: u32 = 0; n < peerCapacity; n++) {
    const x = idxEntry(i);
    const k = load<u32>(x);
    if (k == nbma || k == 0) {
      store<u32>(x, num, 4);
      store<u32>(x, nbma, 0);
      return;
    }
    i = (i + 1) & mask;
  }
}

/** Removes nbma's index entry if it points at peer entry `num` (backward-shift deletion). */
function idxDel(nbma: u32, num: u32): void {
  let i = hash(nbma);
  let found = false;
  for (let n: u32 = 0; n < peerCapacity; n++) {
    const k = load<u32>(idxEntry(i));
    if (k == 0) return;
    if (k == nbma) { found = true; break; }
    i = (i + 1) & mask;
  }
  if (!found || load<u32>(idxEntry(i), 4) != num) return;
  store<u32>(idxEntry(i), 0, 0);
  let j = i;
  for (let n: u32 = 0; n < peerCapacity; n++) {
    j = (j + 1) & mask;
    const k = load<u32>(idxEntry(j));
    if (k == 0) return;
    const h = hash(k);
    // entry j stays if its home h lies cyclically in (i, j]
    const stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    store<u64>(idxEntry(i), load<u64>(idxEntry(j)));
    store<u32>(idxEntry(j), 0, 0);
    i = j;
  }
}

/** Rebuilds the reverse index from the peer table (worker restart: the index may be torn). */
export function peerIndexRebuild(): void {
  memory.fill(nbmaIndex, 0, <usize>peerCapacity * 8);
  for (let i: u32 = 0; i < peerCapacity; i++) {
    const k = load<u32>(entry(i));
    if (k != EMPTY && k != DELETED) idxSet(load<u32>(entry(i), 4), i);
  }
}
