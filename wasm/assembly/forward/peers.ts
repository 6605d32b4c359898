// Peer table (tunnel address -> NBMA, docs/dataplane.md "Peer table") and the nbma -> peer reverse
// index used to attribute received GRE to a peer. Only the worker writes either.
//
// Peer table: open addressing, linear probing, PEER_ENTRY_SIZE-byte entries, tombstones (PEER_DELETED)
// so that an entry never moves (the reverse index stores entry numbers). A delete whose next slot is
// empty turns itself and the tombstones before it back into empty slots. At most 7/8 of the entries
// are live. `gen` is a seqlock: odd while the entry is being written.
//
// Reverse index: the shared hash index (core/hash-index.ts) over peerCapacity entries {nbma, entry
// number}. When two peers share an NBMA address the most recently set one owns the index entry.
import {
  peerTable, peerCapacity, nbmaIndex, tunnelState, TUNNEL_STATE_PEER_COUNT, PEER_ENTRY_SIZE, PEER_ENTRY_TUNNEL_IP,
  PEER_ENTRY_NBMA, PEER_ENTRY_FLAGS, PEER_ENTRY_GEN, PEER_ENTRY_TX_PACKETS, PEER_EMPTY, PEER_DELETED,
  NBMA_INDEX_ENTRY_SIZE, NBMA_INDEX_ENTRY_PEER,
} from '../core/layout';
import { hashTop, hashShift } from '../core/hash';
import { indexFind, indexSet, indexDeleteAt } from '../core/hash-index';
import { tablesRead, sharedReader } from '../core/tables';

let shift: u32 = 32;
let mask: u32 = 0;

export function peersInit(): void {
  shift = hashShift(peerCapacity);
  mask = peerCapacity - 1;
}

@inline function hash(x: u32): u32 { return hashTop(x, shift); }
@inline function entry(i: u32): usize { return peerTable + <usize>i * PEER_ENTRY_SIZE; }
@inline function entryNumber(e: usize): u32 { return <u32>((e - peerTable) / PEER_ENTRY_SIZE); }
@inline function live(k: u32): bool { return k != PEER_EMPTY && k != PEER_DELETED; }

/** The NBMA address of the entry the last peerFind() returned, read in the same consistent view. */
export let foundNbma: u32 = 0;

/**
 * Address of the live entry for `ip`, or 0; its NBMA address in foundNbma. A worker other than
 * worker 0 (the writer) repeats the search while a command changes the table (core/tables.ts).
 */
export function peerFind(ip: u32): usize {
  if (!sharedReader()) return findWithNbma(ip); // worker 0, the writer: a direct call
  const e = tablesRead<usize>(findWithNbma, ip, 0);
  if (e == 0) foundNbma = 0;
  return e;
}

function findWithNbma(ip: u32): usize {
  const e = find(ip);
  foundNbma = e == 0 ? 0 : load<u32>(e, PEER_ENTRY_NBMA);
  return e;
}

function find(ip: u32): usize {
  let i = hash(ip);
  for (let n: u32 = 0; n < peerCapacity; n++) {
    const e = entry(i);
    const k = load<u32>(e, PEER_ENTRY_TUNNEL_IP);
    if (k == ip) return e;
    if (k == PEER_EMPTY) return 0;
    i = (i + 1) & mask;
  }
  return 0;
}

/** NBMA address of a peer entry. */
@inline export function peerNbma(e: usize): u32 { return load<u32>(e, PEER_ENTRY_NBMA); }

@inline function peerCount(): u32 { return load<u32>(tunnelState, TUNNEL_STATE_PEER_COUNT); }
@inline function setPeerCount(v: u32): void { store<u32>(tunnelState, v, TUNNEL_STATE_PEER_COUNT); }

@inline function genBegin(e: usize): void { atomic.store<u32>(e, load<u32>(e, PEER_ENTRY_GEN) + 1, PEER_ENTRY_GEN); }
@inline function genEnd(e: usize): void { atomic.store<u32>(e, load<u32>(e, PEER_ENTRY_GEN) + 1, PEER_ENTRY_GEN); }

/** Inserts or updates. Returns false if ip is invalid or the table is full. */
export function peerSet(ip: u32, nbma: u32, fl: u32): bool {
  if (!live(ip) || nbma == 0) return false;
  let i = hash(ip);
  let free: usize = 0;
  let e: usize = 0;
  for (let n: u32 = 0; n < peerCapacity; n++) {
    const c = entry(i);
    const k = load<u32>(c, PEER_ENTRY_TUNNEL_IP);
    if (k == ip) { e = c; break; }
    if (k == PEER_DELETED) { if (free == 0) free = c; }
    else if (k == PEER_EMPTY) { if (free == 0) free = c; break; }
    i = (i + 1) & mask;
  }
  if (e != 0) {
    const old = peerNbma(e);
    genBegin(e);
    store<u32>(e, nbma, PEER_ENTRY_NBMA);
    store<u32>(e, fl, PEER_ENTRY_FLAGS);
    genEnd(e);
    if (old != nbma) idxDel(old, entryNumber(e));
    idxSet(nbma, entryNumber(e));
    return true;
  }
  if (free == 0 || peerCount() >= peerCapacity - (peerCapacity >> 3)) return false;
  e = free;
  genBegin(e);
  store<u32>(e, nbma, PEER_ENTRY_NBMA);
  store<u32>(e, fl, PEER_ENTRY_FLAGS);
  memory.fill(e + PEER_ENTRY_TX_PACKETS, 0, PEER_ENTRY_SIZE - PEER_ENTRY_TX_PACKETS); // the four counters
  store<u32>(e, ip, PEER_ENTRY_TUNNEL_IP);
  genEnd(e);
  setPeerCount(peerCount() + 1);
  idxSet(nbma, entryNumber(e));
  return true;
}

/** Deletes; returns false if absent. */
export function peerDel(ip: u32): bool {
  const e = peerFind(ip);
  if (e == 0) return false;
  const num = entryNumber(e);
  idxDel(peerNbma(e), num);
  genBegin(e);
  store<u32>(e, PEER_DELETED, PEER_ENTRY_TUNNEL_IP);
  genEnd(e);
  setPeerCount(peerCount() - 1);
  // If the next slot is empty no probe sequence runs through us: reclaim this and earlier tombstones.
  let j = (num + 1) & mask;
  if (load<u32>(entry(j), PEER_ENTRY_TUNNEL_IP) == PEER_EMPTY) {
    let k = num;
    while (load<u32>(entry(k), PEER_ENTRY_TUNNEL_IP) == PEER_DELETED) {
      store<u32>(entry(k), PEER_EMPTY, PEER_ENTRY_TUNNEL_IP);
      k = (k - 1) & mask;
    }
  }
  return true;
}

export function peerFlush(): void {
  for (let i: u32 = 0; i < peerCapacity; i++) {
    const e = entry(i);
    if (load<u32>(e, PEER_ENTRY_TUNNEL_IP) != PEER_EMPTY) {
      genBegin(e);
      store<u32>(e, PEER_EMPTY, PEER_ENTRY_TUNNEL_IP);
      genEnd(e);
    }
  }
  memory.fill(nbmaIndex, 0, <usize>peerCapacity * NBMA_INDEX_ENTRY_SIZE);
  setPeerCount(0);
}

// ---- nbma -> peer reverse index ----

/** Peer entry address for an NBMA address, or 0 (repeated like peerFind on a worker > 0). */
export function peerByNbma(nbma: u32): usize {
  return sharedReader() ? tablesRead<usize>(byNbma, nbma, 0) : byNbma(nbma);
}

function byNbma(nbma: u32): usize {
  const x = indexFind(nbmaIndex, mask, shift, nbma);
  if (x == 0) return 0;
  const e = entry(load<u32>(x, NBMA_INDEX_ENTRY_PEER));
  return peerNbma(e) == nbma && live(load<u32>(e, PEER_ENTRY_TUNNEL_IP)) ? e : 0;
}

@inline function idxSet(nbma: u32, num: u32): void { indexSet(nbmaIndex, mask, shift, nbma, num); }

/** Removes nbma's index entry if it points at peer entry `num`. */
function idxDel(nbma: u32, num: u32): void {
  const x = indexFind(nbmaIndex, mask, shift, nbma);
  if (x != 0 && load<u32>(x, NBMA_INDEX_ENTRY_PEER) == num) indexDeleteAt(nbmaIndex, mask, shift, x);
}

/** Rebuilds the reverse index from the peer table (worker restart: the index may be torn). */
export function peerIndexRebuild(): void {
  memory.fill(nbmaIndex, 0, <usize>peerCapacity * NBMA_INDEX_ENTRY_SIZE);
  for (let i: u32 = 0; i < peerCapacity; i++) {
    if (live(load<u32>(entry(i), PEER_ENTRY_TUNNEL_IP))) idxSet(peerNbma(entry(i)), i);
  }
}

/** Repairs entries a dead worker left mid-write (odd gen) and recounts live ones; returns the torn count. */
export function peerRepair(): u32 {
  let live_: u32 = 0;
  let torn: u32 = 0;
  for (let i: u32 = 0; i < peerCapacity; i++) {
    const e = entry(i);
    const g = load<u32>(e, PEER_ENTRY_GEN);
    if ((g & 1) != 0) { atomic.store<u32>(e, g + 1, PEER_ENTRY_GEN); torn++; }
    if (live(load<u32>(e, PEER_ENTRY_TUNNEL_IP))) live_++;
  }
  setPeerCount(live_);
  peerIndexRebuild();
  return torn;
}
