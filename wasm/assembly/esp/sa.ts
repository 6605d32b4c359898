// SA database (docs/dataplane.md "IPsec ESP"): fixed-size entries in shared memory, written only by
// the worker (seqlock `gen`, odd while written). Two worker-private hash indexes (8-byte entries
// {key, saIndex+1}, 2 x capacity, linear probing, backward-shift deletion): SPI -> inbound SA and
// peer NBMA -> outbound SA (the most recently added active outbound SA for a peer owns the entry).
// SA_ADD computes the key contexts from the raw keys and zeroes the key bytes in the command slot.
import { scratch, ctlRx, slotDataMax, SCR_PROD_CTLRX } from '../core/layout';
import { prodReserve, prodCommit, prodInit, SLOT_HEADER } from '../io/ring';
import { cryptoSetScratch, zeroize } from '../crypto/ct';
import { gcmInit } from '../crypto/aesgcm';
import { chachaPolyInit } from '../crypto/chacha20poly1305';
import { aesInit } from '../crypto/aes';
import { hmacSha1Init, hmacSha256Init } from '../crypto/hmac';
import { nowMs } from '../forward/outbound';
import {
  LB_SA_TABLE, LB_SA_CAPACITY, LB_SPI_INDEX, LB_OUT_INDEX, LB_UDP_TX, LB_ESP_RX, LB_UDP_RX,
  SA_SIZE, SA_STATE, SA_GEN, SA_DIR, SA_SPI, SA_PEER, SA_CIPHER, SA_FLAGS, SA_PORTS, SA_WINDOW, SA_ENC,
  SA_INTEG, SA_IVLEN, SA_ICVLEN, SA_BLOCK, SA_SALT, SA_EVENTS, SA_SEQ, SA_SOFT_BYTES, SA_HARD_BYTES,
  SA_SOFT_PACKETS, SA_HARD_PACKETS, SA_SERIAL, SA_ADDED_MS, SA_LAST_MS, SA_PACKETS, SA_BYTES,
  SA_BITMAP, SA_IV_SEED, SA_CTX, SA_HMAC, SA_D_REPLAY, SA_D_TOO_OLD, WINDOW_MAX,
  ST_FREE, ST_ACTIVE, ST_EXPIRED, DIR_IN, DIR_OUT, SAF_ESN, SAF_NO_REPLAY, SAF_UDP,
  ENC_GCM128, ENC_GCM256, ENC_CHACHA, ENC_CBC128, ENC_CBC256, ENC_NULL, INTEG_NONE, INTEG_SHA1, INTEG_SHA256,
  EV_SOFT, EV_HARD, CTL_SA_EVENT, SCR_ESP_CRYPTO, SCR_ESP_END, SCR_ESP_PROD_UDPTX, SCR_ESP_NEEDED,
  SA_EVENTS_SENT, DROP_ESP_REPLAY, SA_D_LIFETIME, DROP_SA_EXPIRED, cnt, saCnt,
  SA_SEQ_LIMIT, SA_SEQ_WARN, SAF_SEQ_LIMIT, EV_SEQ_LOW,
} from './defs';

export let espReady: bool = false;
export let saTable: usize = 0;
export let saCap: u32 = 0;
export let spiIndex: usize = 0;
export let outIndex: usize = 0;
export let udpTx: usize = 0;
export let espRxRing: usize = 0;
export let udpRxRing: usize = 0;
let idxMask: u32 = 0;
let idxShift: u32 = 32;
let serial: u32 = 0;

/** Called from setup(): reads the ESP layout fields; ESP stays off if they are absent or scratch is small. */
export function espSetup(base: usize, scratchSize: u32): void {
  saTable = load<u32>(base + LB_SA_TABLE);
  saCap = load<u32>(base + LB_SA_CAPACITY);
  spiIndex = load<u32>(base + LB_SPI_INDEX);
  outIndex = load<u32>(base + LB_OUT_INDEX);
  udpTx = load<u32>(base + LB_UDP_TX);
  espRxRing = load<u32>(base + LB_ESP_RX);
  udpRxRing = load<u32>(base + LB_UDP_RX);
  espReady = saTable != 0 && saCap >= 1 && (saCap & (saCap - 1)) == 0 && spiIndex != 0 && outIndex != 0 &&
    <usize>scratchSize >= SCR_ESP_END;
  if (!espReady) { udpTx = 0; espRxRing = 0; udpRxRing = 0; return; }
  const n = saCap * 2;
  idxMask = n - 1;
  idxShift = 32 - (31 - clz<u32>(n));
  cryptoSetScratch(scratch + SCR_ESP_CRYPTO);
  if (udpTx != 0) prodInit(scratch + SCR_ESP_PROD_UDPTX, udpTx);
  memory.fill(scratch + SCR_ESP_NEEDED, 0, 2048);
  // A restarted worker rebuilds its private indexes from the (shared) SA table.
  memory.fill(spiIndex, 0, <usize>n << 3);
  memory.fill(outIndex, 0, <usize>n << 3);
  for (let i: u32 = 0; i < saCap; i++) {
    const e = saEntry(i);
    if (load<u32>(e, SA_STATE) == ST_FREE) continue;
    const s = load<u32>(e, SA_SERIAL);
    if (s > serial) serial = s;
    if (load<u32>(e, SA_DIR) == DIR_IN) idxSet(spiIndex, load<u32>(e, SA_SPI), i + 1);
    else outReindex(load<u32>(e, SA_PEER));
  }
}

@inline export function saEntry(i: u32): usize { return saTable + <usize>i * SA_SIZE; }

// ---- hash indexes ----
@inline function hidx(k: u32): u32 { return (k * 0x9e3779b1) >>> idxShift; }

export function idxFind(t: usize, key: u32): u32 {
  let i = hidx(key);
  for (let n: u32 = 0; n <= idxMask; n++) {
    const e = t + (<usize>i << 3);
    const k = load<u32>(e);
    if (k == key) return load<u32>(e, 4);
    if (k == 0) return 0;
    i = (i + 1) & idxMask;
  }
  return 0;
}

function idxSet(t: usize, key: u32, v: u32): void {
  let i = hidx(key);
  for (let n: u32 = 0; n <= idxMask; n++) {
    const e = t + (<usize>i << 3);
    const k = load<u32>(e);
    if (k == key || k == 0) { store<u32>(e, key); store<u32>(e, v, 4); return; }
    i = (i + 1) & idxMask;
  }
}

function idxDel(t: usize, key: u32): void {
  let i = hidx(key);
  let n: u32 = 0;
  for (; n <= idxMask; n++) {
    const k = load<u32>(t + (<usize>i << 3));
    if (k == key) break;
    if (k == 0) return;
    i = (i + 1) & idxMask;
  }
  if (n > idxMask) return;
  // backward-shift deletion
  let j = i;
  for (;;) {
    j = (j + 1) & idxMask;
    const ej = t + (<usize>j << 3);
    const kj = load<u32>(ej);
    if (kj == 0) break;
    const h = hidx(kj);
    // move kj into the hole at i if its home h is not cyclically in (i, j]
    const inRange = i <= j ? (h > i && h <= j) : (h > i || h <= j);
    if (!inRange) {
      const ei = t + (<usize>i << 3);
      store<u32>(ei, kj); store<u32>(ei, load<u32>(ej, 4), 4);
      i = j;
    }
  }
  store<u64>(t + (<usize>i << 3), 0);
}

/** Points the outbound index for `peer` at its newest active outbound SA (or removes it). */
function outReindex(peer: u32): void {
  let best: u32 = 0;
  let bestSerial: u32 = 0;
  for (let i: u32 = 0; i < saCap; i++) {
    const e = saEntry(i);
    if (load<u32>(e, SA_STATE) == ST_FREE || load<u32>(e, SA_DIR) != DIR_OUT || load<u32>(e, SA_PEER) != peer) continue;
    const s = load<u32>(e, SA_SERIAL);
    if (best == 0 || s > bestSerial) { best = i + 1; bestSerial = s; }
  }
  if (best == 0) idxDel(outIndex, peer); else idxSet(outIndex, peer, best);
}

@inline function genBegin(e: usize): void { atomic.store<u32>(e, load<u32>(e, SA_GEN) + 1, SA_GEN); }
@inline function genEnd(e: usize): void { atomic.store<u32>(e, load<u32>(e, SA_GEN) + 1, SA_GEN); }

/** SA_DEL: frees the entry, zeroes its keys, fixes the indexes. */
export function saRemove(i: u32): void {
  const e = saEntry(i);
  const st = load<u32>(e, SA_STATE);
  if (st == ST_FREE) return;
  const dir = load<u32>(e, SA_DIR);
  const spi = load<u32>(e, SA_SPI);
  const peer = load<u32>(e, SA_PEER);
  genBegin(e);
  store<u32>(e, ST_FREE, SA_STATE);
  memory.fill(e + 8, 0, SA_SIZE - 8); // counters, window and every secret
  genEnd(e);
  if (dir == DIR_IN) { if (idxFind(spiIndex, spi) == i + 1) idxDel(spiIndex, spi); }
  else outReindex(peer);
}

/**
 * SA_ADD (docs/dataplane.md): `d` = command data, `len` bytes. The key bytes and IV seed in the slot
 * are zeroed whatever the outcome. Returns false for invalid fields.
 */
export function saAdd(d: usize, len: u32): bool {
  const ok = saAddInner(d, len);
  if (len > 80) zeroize(d + 80, <i32>(len - 80));
  return ok;
}

function saAddInner(d: usize, len: u32): bool {
  if (!espReady || len < 96) return false;
  const idx = load<u32>(d, 0);
  const dir = load<u32>(d, 4);
  const spi = load<u32>(d, 8);
  const peer = load<u32>(d, 12);
  const cipher = load<u32>(d, 16);
  const flags = load<u32>(d, 20);
  let win = load<u32>(d, 28);
  const keyLen = load<u32>(d, 64);
  const authLen = load<u32>(d, 68);
  if (idx >= saCap || (dir != DIR_IN && dir != DIR_OUT) || spi < 256) return false;
  if (dir == DIR_OUT && peer == 0) return false;
  if (keyLen > 64 || authLen > 64 || <u32>96 + keyLen + authLen > len) return false;
  if (win == 0) win = 2048;
  if (win > WINDOW_MAX || (win & 31) != 0) return false;
  const enc = cipher & 0xff;
  const integ = (cipher >> 8) & 0xff;
  let icv = (cipher >> 16) & 0xff;
  let ivLen: u32 = 8;
  let blk: u32 = 4;
  let encKey: u32 = 0;
  if (enc == ENC_GCM128 || enc == ENC_GCM256) {
    encKey = enc == ENC_GCM128 ? 16 : 32;
    if (icv == 0) icv = 16;
    if (icv != 8 && icv != 12 && icv != 16) return false;
    if (keyLen != encKey + 4 || integ != INTEG_NONE) return false;
  } else if (enc == ENC_CHACHA) {
    encKey = 32; icv = 16;
    if (keyLen != 36 || integ != INTEG_NONE) return false;
  } else if (enc == ENC_CBC128 || enc == ENC_CBC256) {
    encKey = enc == ENC_CBC128 ? 16 : 32; ivLen = 16; blk = 16;
    if (keyLen != encKey || integ == INTEG_NONE) return false; // CBC without integrity: refused
  } else if (enc == ENC_NULL) {
    ivLen = 0;
    if (keyLen != 0) return false;
  } else return false;
  if (enc >= ENC_CBC128) {
    if (integ == INTEG_SHA1) { icv = 12; if (authLen != 20) return false; }
    else if (integ == INTEG_SHA256) { icv = 16; if (authLen != 32) return false; }
    else if (integ == INTEG_NONE) { icv = 0; }
    else return false;
  }
  if (dir == DIR_IN) {
    const cur = idxFind(spiIndex, spi);
    if (cur != 0 && cur != idx + 1) return false; // SPI already used by another inbound SA
  }
  saRemove(idx);
  const e = saEntry(idx);
  genBegin(e);
  memory.fill(e + 8, 0, SA_SIZE - 8);
  store<u32>(e, dir, SA_DIR);
  store<u32>(e, spi, SA_SPI);
  store<u32>(e, peer, SA_PEER);
  store<u32>(e, cipher, SA_CIPHER);
  // Anti-replay needs integrity: with NULL/none it cannot be trusted (RFC 4303 3.4.3), so it is off.
  store<u32>(e, flags | (enc == ENC_NULL && integ == INTEG_NONE ? SAF_NO_REPLAY : 0), SA_FLAGS);
  store<u32>(e, load<u32>(d, 24), SA_PORTS);
  store<u32>(e, win, SA_WINDOW);
  store<u32>(e, enc, SA_ENC);
  store<u32>(e, integ, SA_INTEG);
  store<u32>(e, ivLen, SA_IVLEN);
  store<u32>(e, icv, SA_ICVLEN);
  store<u32>(e, blk, SA_BLOCK);
  store<u64>(e, load<u64>(d, 32), SA_SOFT_BYTES);
  store<u64>(e, load<u64>(d, 40), SA_HARD_BYTES);
  store<u64>(e, load<u64>(d, 48), SA_SOFT_PACKETS);
  store<u64>(e, load<u64>(d, 56), SA_HARD_PACKETS);
  const seq0 = load<u64>(d, 72);
  store<u64>(e, seq0, SA_SEQ);
  // SAF_SEQ_LIMIT: nothing may be sent until SA_LIMIT raises the limit past the persisted
  // reservation; without it the limit never binds.
  const limited = dir == DIR_OUT && (flags & SAF_SEQ_LIMIT) != 0;
  store<u64>(e, limited ? seq0 : <u64>0xffffffffffffffff, SA_SEQ_LIMIT);
  store<u64>(e, limited ? seq0 : <u64>0xffffffffffffffff, SA_SEQ_WARN);
  // An inbound SA that starts at a persisted edge T treats every number <= T as seen: after a
  // restart, a replay of anything received before it is dropped, not only those below T - window.
  if (dir == DIR_IN && seq0 != 0) memory.fill(e + SA_BITMAP, 0xff, <usize>(win >> 3));
  store<u32>(e, ++serial, SA_SERIAL);
  store<u32>(e, nowMs, SA_ADDED_MS);
  store<u32>(e, nowMs, SA_LAST_MS);
  const key = d + 96;
  const akey = key + keyLen;
  if (enc == ENC_GCM128 || enc == ENC_GCM256) {
    gcmInit(e + SA_CTX, key, <i32>encKey);
    store<u32>(e, load<u32>(key + encKey), SA_SALT);
  } else if (enc == ENC_CHACHA) {
    chachaPolyInit(e + SA_CTX, key);
    store<u32>(e, load<u32>(key + 32), SA_SALT);
  } else if (enc != ENC_NULL) {
    aesInit(e + SA_CTX, key, <i32>encKey);
    // CBC IV = AES_K(seed XOR seq): unpredictable without the key and the (random) seed.
    v128.store(e + SA_IV_SEED, v128.load(d + 80));
  }
  if (integ == INTEG_SHA1) hmacSha1Init(e + SA_HMAC, akey, 20);
  else if (integ == INTEG_SHA256) hmacSha256Init(e + SA_HMAC, akey, 32);
  store<u32>(e, ST_ACTIVE, SA_STATE);
  genEnd(e);
  if (dir == DIR_IN) idxSet(spiIndex, spi, idx + 1);
  else idxSet(outIndex, peer, idx + 1);
  return true;
}

/**
 * SA_LIMIT {index, limit u64 at 8, warn u64 at 16}: the supervisor has persisted (fsync) a
 * reservation up to `limit`; the SA may send up to it and asks for the next block from `warn` on.
 * The limit only rises, so a late or repeated command cannot reopen used numbers.
 */
export function saLimit(d: usize, len: u32): bool {
  if (!espReady || len < 24) return false;
  const idx = load<u32>(d);
  if (idx >= saCap) return false;
  const e = saEntry(idx);
  if (load<u32>(e, SA_STATE) == ST_FREE || load<u32>(e, SA_DIR) != DIR_OUT) return false;
  const limit = load<u64>(d, 8);
  if (limit < load<u64>(e, SA_SEQ_LIMIT)) return false;
  store<u64>(e, limit, SA_SEQ_LIMIT);
  store<u64>(e, load<u64>(d, 16), SA_SEQ_WARN);
  store<u32>(e, load<u32>(e, SA_EVENTS) & ~(<u32>1 << (EV_SEQ_LOW - 1)), SA_EVENTS); // re-arm
  return true;
}

// ---- events ----

/** SA_EVENT to ctlRx: addr = index, aux = reason, data = {index, reason, spi, direction}. */
export function saEvent(e: usize, reason: u32): bool {
  const st = scratch + SCR_PROD_CTLRX;
  const slot = prodReserve(st);
  if (slot == 0) return false;
  const idx = <u32>((e - saTable) / SA_SIZE);
  const p = slot + SLOT_HEADER;
  store<u32>(p, idx); store<u32>(p, reason, 4); store<u32>(p, load<u32>(e, SA_SPI), 8); store<u32>(p, load<u32>(e, SA_DIR), 12);
  prodCommit(st, slot, 16, CTL_SA_EVENT, idx, reason);
  cnt(SA_EVENTS_SENT);
  return true;
}

/** Sends event `reason` (bit `1 << (reason-1)` in SA_EVENTS) once. */
export function saEventOnce(e: usize, reason: u32): void {
  const bit: u32 = 1 << (reason - 1);
  const ev = load<u32>(e, SA_EVENTS);
  if ((ev & bit) != 0) return;
  if (saEvent(e, reason)) store<u32>(e, ev | bit, SA_EVENTS);
}

/** Counts a packet of `bytes` on the SA and applies the soft/hard lifetimes. */
export function saAccount(e: usize, bytes: u32): void {
  const pk = load<u64>(e, SA_PACKETS) + 1;
  const by = load<u64>(e, SA_BYTES) + <u64>bytes;
  store<u64>(e, pk, SA_PACKETS);
  store<u64>(e, by, SA_BYTES);
  store<u32>(e, nowMs, SA_LAST_MS);
  const hp = load<u64>(e, SA_HARD_PACKETS), hb = load<u64>(e, SA_HARD_BYTES);
  if ((hp != 0 && pk >= hp) || (hb != 0 && by >= hb)) {
    store<u32>(e, ST_EXPIRED, SA_STATE);
    saEventOnce(e, EV_HARD);
    return;
  }
  const sp = load<u64>(e, SA_SOFT_PACKETS), sb = load<u64>(e, SA_SOFT_BYTES);
  if ((sp != 0 && pk >= sp) || (sb != 0 && by >= sb)) saEventOnce(e, EV_SOFT);
}

/** A packet hit an expired SA: counted; the pending event is retried (ctlRx may have been full). */
export function saExpiredDrop(e: usize): void {
  saCnt(e, SA_D_LIFETIME);
  cnt(DROP_SA_EXPIRED);
  const ev = load<u32>(e, SA_EVENTS);
  if ((ev & 6) == 0) saEventOnce(e, EV_HARD);
}

// ---- anti-replay (RFC 4303 3.4.3 and Appendix A2), ESN-aware ----

/**
 * Before decryption: the full 64-bit sequence number for the received low 32 bits (ESN: the high
 * half is inferred per Appendix A2.2), or 0 if the packet is a replay or too old (counted).
 */
export function replayCheck(e: usize, seql: u32): u64 {
  const fl = load<u32>(e, SA_FLAGS);
  const T = load<u64>(e, SA_SEQ);
  const W = <u64>load<u32>(e, SA_WINDOW);
  let s: u64;
  if ((fl & SAF_ESN) != 0) {
    const tl = <u32>T;
    let th = <u32>(T >> 32);
    const bottom = tl - <u32>W + 1; // mod 2^32
    if (<u64>tl >= W - 1) {
      if (seql < bottom) th++; // A2.2 case A: the packet is in the next subspace
    } else if (seql >= bottom && th != 0) th--; // case B: previous subspace (none before subspace 0)
    s = (<u64>th << 32) | <u64>seql;
  } else s = <u64>seql;
  if ((fl & SAF_NO_REPLAY) != 0) return s == 0 ? 1 : s;
  if (s == 0) { tooOld(e); return 0; }
  if (s > T) return s;
  if (T - s >= W) { tooOld(e); return 0; }
  const bit = <u32>(s % W);
  if ((load<u32>(e + SA_BITMAP + (<usize>(bit >> 5) << 2)) & (1 << (bit & 31))) != 0) {
    saCnt(e, SA_D_REPLAY); cnt(DROP_ESP_REPLAY);
    return 0;
  }
  return s;
}

function tooOld(e: usize): void { saCnt(e, SA_D_TOO_OLD); cnt(DROP_ESP_REPLAY); }

/** After successful authentication: slide the window to `s` if it is new and mark it. */
export function replayUpdate(e: usize, s: u64): void {
  if ((load<u32>(e, SA_FLAGS) & SAF_NO_REPLAY) != 0) {
    if (s > load<u64>(e, SA_SEQ)) store<u64>(e, s, SA_SEQ);
    return;
  }
  const T = load<u64>(e, SA_SEQ);
  const W = <u64>load<u32>(e, SA_WINDOW);
  const bm = e + SA_BITMAP;
  if (s > T) {
    const d = s - T;
    if (d >= W) memory.fill(bm, 0, <usize>(W >> 3));
    else for (let x = T + 1; x < s; x++) {
      const b = <u32>(x % W);
      const a = bm + (<usize>(b >> 5) << 2);
      store<u32>(a, load<u32>(a) & ~(<u32>1 << (b & 31)));
    }
    store<u64>(e, s, SA_SEQ);
  }
  const b = <u32>(s % W);
  const a = bm + (<usize>(b >> 5) << 2);
  store<u32>(a, load<u32>(a) | (<u32>1 << (b & 31)));
}

export { SAF_UDP, slotDataMax, ctlRx };
