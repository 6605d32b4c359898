// SA database (docs/dataplane.md "IPsec ESP"): fixed-size entries in shared memory, added and removed
// only by worker 0 (seqlock `gen`, odd while written); what every worker changes per packet (sequence
// number, replay window, lifetime counters, events) is atomic: esp/output.ts, replay.ts, lifetime.ts.
// Two hash indexes kept by worker 0 (core/hash-index.ts, 2 x capacity entries): SPI -> inbound SA and
// peer NBMA -> outbound SA (the most recently added active outbound SA for a peer owns the entry);
// values are SA index + 1.
// SA_ADD computes the key contexts from the raw keys and zeroes the key bytes in the command slot.
import {
  scratch, layoutField, LB_SA_TABLE, LB_SA_CAPACITY, LB_SPI_INDEX, LB_OUT_INDEX, LB_UDP_TX, LB_ESP_RX, LB_UDP_RX, LB_IKE_RX,
  SCRATCH_ESP_CRYPTO, SCRATCH_ESP_END, SCRATCH_ESP_PROD_UDP_TX, SCRATCH_ESP_NEEDED, SA_INDEX_ENTRY_SIZE,
  SA_ENTRY_SIZE, SA_ENTRY_STATE, SA_ENTRY_GEN, SA_ENTRY_DIR, SA_ENTRY_SPI, SA_ENTRY_PEER, SA_ENTRY_CIPHER,
  SA_ENTRY_FLAGS, SA_ENTRY_PORTS, SA_ENTRY_WINDOW, SA_ENTRY_ENC, SA_ENTRY_INTEG, SA_ENTRY_IV_LEN, SA_ENTRY_ICV_LEN,
  SA_ENTRY_BLOCK, SA_ENTRY_SALT, SA_ENTRY_EVENTS, SA_ENTRY_SEQ, SA_ENTRY_SOFT_BYTES, SA_ENTRY_HARD_BYTES,
  SA_ENTRY_SOFT_PACKETS, SA_ENTRY_HARD_PACKETS, SA_ENTRY_SERIAL, SA_ENTRY_ADDED_MS, SA_ENTRY_LAST_MS,
  SA_ENTRY_SEQ_LIMIT, SA_ENTRY_SEQ_WARN, SA_ENTRY_BITMAP, SA_ENTRY_IV_SEED, SA_ENTRY_CTX, SA_ENTRY_HMAC,
  SA_WINDOW_MAX, SA_WINDOW_DEFAULT, SA_STATE_FREE, SA_STATE_ACTIVE, SA_DIR_IN, SA_DIR_OUT, SA_FLAG_NO_REPLAY,
  SA_FLAG_SEQ_LIMIT, SA_EVENT_REASON_SEQ_LOW, ESP_ENC_AES_GCM_128, ESP_ENC_AES_GCM_256, ESP_ENC_CHACHA20_POLY1305,
  ESP_ENC_AES_CBC_128, ESP_ENC_AES_CBC_256, ESP_ENC_NULL, ESP_INTEG_NONE, ESP_INTEG_HMAC_SHA1_96,
  ESP_INTEG_HMAC_SHA256_128, SA_ADD_INDEX, SA_ADD_DIR, SA_ADD_SPI, SA_ADD_PEER, SA_ADD_CIPHER, SA_ADD_FLAGS,
  SA_ADD_PORTS, SA_ADD_WINDOW, SA_ADD_SOFT_BYTES, SA_ADD_HARD_BYTES, SA_ADD_SOFT_PACKETS,
  SA_ADD_HARD_PACKETS, SA_ADD_KEY_LEN, SA_ADD_AUTH_KEY_LEN, SA_ADD_INITIAL_SEQ, SA_ADD_IV_SEED, SA_ADD_KEY,
  SA_LIMIT_INDEX, SA_LIMIT_LIMIT, SA_LIMIT_WARN, SA_LIMIT_SIZE,
} from '../core/layout';
import { nowMs } from '../core/clock';
import { hashShift } from '../core/hash';
import { indexFind, indexSet, indexDelete, INDEX_VALUE } from '../core/hash-index';
import { noticeReset } from '../core/notify';
import { workerCount, noticeScratch } from '../core/layout';
import { tablesRead, sharedReader, epochAdvance, epochPassed } from '../core/tables';
import { prodInit } from '../io/ring';
import { cryptoSetScratch, zeroize } from '../crypto/ct';
import { gcmInit } from '../crypto/aesgcm';
import { chachaPolyInit } from '../crypto/chacha20poly1305';
import { aesInit } from '../crypto/aes';
import { hmacSha1Init, hmacSha256Init } from '../crypto/hmac';
import { cipherEnc, cipherInteg, cipherIcvLen, CBC_BLOCK, NO_CIPHER_BLOCK, AEAD_IV_LEN } from './defs';

export let espReady: bool = false;
export let saTable: usize = 0;
export let saCap: u32 = 0;
export let spiIndex: usize = 0;
export let outIndex: usize = 0;
export let udpTx: usize = 0;
export let espRxRing: usize = 0;
export let udpRxRing: usize = 0;
/** IKE's own ring on UDP 4500 (the control lane; 0: IKE comes on udpRx with the ESP). */
export let ikeRxRing: usize = 0;
let idxMask: u32 = 0;
let idxShift: u32 = 32;
let serial: u32 = 0;

/**
 * Called from setup(): reads the ESP layout fields; ESP stays off if they are absent or scratch is
 * small. Only the `owner` (worker 0, which applies SA_ADD/SA_DEL) takes udpTx's producer end and
 * rebuilds the indexes; another worker reads the indexes it keeps.
 */
export function espSetup(scratchSize: u32, owner: bool): void {
  saTable = layoutField(LB_SA_TABLE);
  saCap = <u32>layoutField(LB_SA_CAPACITY);
  spiIndex = layoutField(LB_SPI_INDEX);
  outIndex = layoutField(LB_OUT_INDEX);
  udpTx = layoutField(LB_UDP_TX);
  espRxRing = layoutField(LB_ESP_RX);
  udpRxRing = layoutField(LB_UDP_RX);
  ikeRxRing = layoutField(LB_IKE_RX);
  espReady = saTable != 0 && saCap >= 1 && (saCap & (saCap - 1)) == 0 && spiIndex != 0 && outIndex != 0 &&
    <usize>scratchSize >= SCRATCH_ESP_END;
  if (!espReady) { udpTx = 0; espRxRing = 0; udpRxRing = 0; ikeRxRing = 0; return; }
  const n = saCap * 2;
  idxMask = n - 1;
  idxShift = hashShift(n);
  cryptoSetScratch(scratch + SCRATCH_ESP_CRYPTO);
  if (owner) noticeReset(noticeScratch + SCRATCH_ESP_NEEDED); // shared by every worker (core/notify.ts)
  if (udpTx != 0) prodInit(scratch + SCRATCH_ESP_PROD_UDP_TX, udpTx); // each worker's own udpTx
  if (!owner) return;
  // A restarted worker rebuilds its private indexes from the (shared) SA table.
  memory.fill(spiIndex, 0, <usize>n * SA_INDEX_ENTRY_SIZE);
  memory.fill(outIndex, 0, <usize>n * SA_INDEX_ENTRY_SIZE);
  for (let i: u32 = 0; i < saCap; i++) {
    const e = saEntry(i);
    if (load<u32>(e, SA_ENTRY_STATE) == SA_STATE_FREE) continue;
    const s = load<u32>(e, SA_ENTRY_SERIAL);
    if (s > serial) serial = s;
    if (load<u32>(e, SA_ENTRY_DIR) == SA_DIR_IN) indexSet(spiIndex, idxMask, idxShift, load<u32>(e, SA_ENTRY_SPI), i + 1);
    else outReindex(load<u32>(e, SA_ENTRY_PEER));
  }
}

@inline export function saEntry(i: u32): usize { return saTable + <usize>i * SA_ENTRY_SIZE; }
@inline export function saIndexOf(e: usize): u32 { return <u32>((e - saTable) / SA_ENTRY_SIZE); }

/**
 * SA index + 1 for `key` in index `t` (spiIndex or outIndex), or 0. A worker other than worker 0 (which
 * writes the indexes) repeats the search while a command shifts entries (core/tables.ts); the SA it
 * names stays usable for the rest of this poll batch (epochs, saRemove).
 */
@inline export function saLookup(t: usize, key: u32): u32 {
  if (!sharedReader()) return indexValue(t, key); // worker 0, the writer: as before
  return tablesRead<u32>(t == spiIndex ? spiValue : outValue, key, 0);
}

function spiValue(key: u32): u32 { return indexValue(spiIndex, key); }
function outValue(key: u32): u32 { return indexValue(outIndex, key); }

@inline function indexValue(t: usize, key: u32): u32 {
  const e = indexFind(t, idxMask, idxShift, key);
  return e == 0 ? 0 : load<u32>(e, INDEX_VALUE);
}

/** Points the outbound index for `peer` at its newest active outbound SA (or removes it). */
function outReindex(peer: u32): void {
  let best: u32 = 0;
  let bestSerial: u32 = 0;
  for (let i: u32 = 0; i < saCap; i++) {
    const e = saEntry(i);
    if (load<u32>(e, SA_ENTRY_STATE) == SA_STATE_FREE || load<u32>(e, SA_ENTRY_DIR) != SA_DIR_OUT || load<u32>(e, SA_ENTRY_PEER) != peer) continue;
    const s = load<u32>(e, SA_ENTRY_SERIAL);
    if (best == 0 || s > bestSerial) { best = i + 1; bestSerial = s; }
  }
  if (best == 0) indexDelete(outIndex, idxMask, idxShift, peer); else indexSet(outIndex, idxMask, idxShift, peer, best);
}

@inline function genBegin(e: usize): void { atomic.store<u32>(e, load<u32>(e, SA_ENTRY_GEN) + 1, SA_ENTRY_GEN); }
@inline function genEnd(e: usize): void { atomic.store<u32>(e, load<u32>(e, SA_ENTRY_GEN) + 1, SA_ENTRY_GEN); }

/** Everything after state and gen: counters, window and every secret. */
@inline export function saWipe(e: usize): void { memory.fill(e + SA_ENTRY_DIR, 0, SA_ENTRY_SIZE - SA_ENTRY_DIR); }

/**
 * Set by SA_ADD/SA_DEL when the command has to wait for the other workers to let go of the entry: the
 * command stays in ctlTx and is applied again on the next poll (worker/commands.ts).
 */
export let saPending: bool = false;
/** The SA (index + 1) unlinked but not yet wiped, and the epoch every other worker must pass first. */
let retiring: u32 = 0;
let retireEpoch: u32 = 0;

/** SA_DEL of index `i` (in range): saRemove, with saPending set while it waits. */
export function saDelete(i: u32): bool {
  saPending = !saRemove(i);
  return !saPending;
}

/**
 * SA_DEL: frees the entry, zeroes its keys, fixes the indexes; true when done. With more than one
 * worker the entry is unlinked at once (state free, out of the indexes: no new packet finds it), but its
 * keys are zeroed, and the index given to a new SA, only once every other worker has begun a poll batch
 * since or sleeps (core/tables.ts): until then false, and the caller repeats the command.
 */
export function saRemove(i: u32): bool {
  const e = saEntry(i);
  if (load<u32>(e, SA_ENTRY_STATE) != SA_STATE_FREE) {
    const dir = load<u32>(e, SA_ENTRY_DIR);
    const spi = load<u32>(e, SA_ENTRY_SPI);
    const peer = load<u32>(e, SA_ENTRY_PEER);
    genBegin(e);
    store<u32>(e, SA_STATE_FREE, SA_ENTRY_STATE);
    if (workerCount == 1) saWipe(e);
    genEnd(e);
    if (dir == SA_DIR_IN) { if (indexValue(spiIndex, spi) == i + 1) indexDelete(spiIndex, idxMask, idxShift, spi); }
    else outReindex(peer);
    if (workerCount == 1) return true;
    retiring = i + 1;
    retireEpoch = epochAdvance();
  }
  if (retiring != i + 1) return true; // free and wiped already
  if (!epochPassed(retireEpoch)) return false;
  genBegin(e);
  saWipe(e);
  genEnd(e);
  retiring = 0;
  return true;
}

/**
 * SA_ADD (docs/dataplane.md): `d` = command data, `len` bytes. The key bytes and IV seed in the slot
 * are zeroed whatever the outcome. Returns false for invalid fields.
 */
export function saAdd(d: usize, len: u32): bool {
  saPending = false;
  const ok = saAddInner(d, len);
  if (saPending) return false; // applied again on the next poll: the keys stay in the slot until then
  if (len > <u32>SA_ADD_IV_SEED) zeroize(d + SA_ADD_IV_SEED, <i32>(len - <u32>SA_ADD_IV_SEED));
  return ok;
}

function saAddInner(d: usize, len: u32): bool {
  if (!espReady || len < <u32>SA_ADD_KEY) return false;
  const idx = load<u32>(d, SA_ADD_INDEX);
  const dir = load<u32>(d, SA_ADD_DIR);
  const spi = load<u32>(d, SA_ADD_SPI);
  const peer = load<u32>(d, SA_ADD_PEER);
  const cipher = load<u32>(d, SA_ADD_CIPHER);
  const flags = load<u32>(d, SA_ADD_FLAGS);
  let win = load<u32>(d, SA_ADD_WINDOW);
  const keyLen = load<u32>(d, SA_ADD_KEY_LEN);
  const authLen = load<u32>(d, SA_ADD_AUTH_KEY_LEN);
  if (idx >= saCap || (dir != SA_DIR_IN && dir != SA_DIR_OUT) || spi < 256) return false; // SPIs 1..255: RFC 4303 2.1
  if (dir == SA_DIR_OUT && peer == 0) return false;
  if (keyLen > 64 || authLen > 64 || <u32>SA_ADD_KEY + keyLen + authLen > len) return false;
  if (win == 0) win = SA_WINDOW_DEFAULT;
  if (win > SA_WINDOW_MAX || (win & 31) != 0) return false;
  const enc = cipherEnc(cipher);
  const integ = cipherInteg(cipher);
  let icv = cipherIcvLen(cipher);
  let ivLen: u32 = AEAD_IV_LEN;
  let blk: u32 = NO_CIPHER_BLOCK;
  let encKey: u32 = 0;
  if (enc == ESP_ENC_AES_GCM_128 || enc == ESP_ENC_AES_GCM_256) {
    encKey = enc == ESP_ENC_AES_GCM_128 ? 16 : 32;
    if (icv == 0) icv = 16;
    if (icv != 8 && icv != 12 && icv != 16) return false; // RFC 4106 ICV sizes
    if (keyLen != encKey + 4 || integ != ESP_INTEG_NONE) return false; // key || 4-byte salt
  } else if (enc == ESP_ENC_CHACHA20_POLY1305) {
    encKey = 32; icv = 16;
    if (keyLen != 36 || integ != ESP_INTEG_NONE) return false; // key || 4-byte salt (RFC 7634)
  } else if (enc == ESP_ENC_AES_CBC_128 || enc == ESP_ENC_AES_CBC_256) {
    encKey = enc == ESP_ENC_AES_CBC_128 ? 16 : 32; ivLen = CBC_BLOCK; blk = CBC_BLOCK;
    if (keyLen != encKey || integ == ESP_INTEG_NONE) return false; // CBC without integrity: refused
  } else if (enc == ESP_ENC_NULL) {
    ivLen = 0;
    if (keyLen != 0) return false;
  } else return false;
  if (enc >= ESP_ENC_AES_CBC_128) {
    if (integ == ESP_INTEG_HMAC_SHA1_96) { icv = 12; if (authLen != 20) return false; }
    else if (integ == ESP_INTEG_HMAC_SHA256_128) { icv = 16; if (authLen != 32) return false; }
    else if (integ == ESP_INTEG_NONE) { icv = 0; }
    else return false;
  }
  if (dir == SA_DIR_IN) {
    const cur = saLookup(spiIndex, spi);
    if (cur != 0 && cur != idx + 1) return false; // SPI already used by another inbound SA
  }
  if (!saRemove(idx)) { saPending = true; return false; } // another worker may still use the old SA here
  const e = saEntry(idx);
  genBegin(e);
  saWipe(e);
  store<u32>(e, dir, SA_ENTRY_DIR);
  store<u32>(e, spi, SA_ENTRY_SPI);
  store<u32>(e, peer, SA_ENTRY_PEER);
  store<u32>(e, cipher, SA_ENTRY_CIPHER);
  // Anti-replay needs integrity: with NULL/none it cannot be trusted (RFC 4303 3.4.3), so it is off.
  store<u32>(e, flags | (enc == ESP_ENC_NULL && integ == ESP_INTEG_NONE ? SA_FLAG_NO_REPLAY : 0), SA_ENTRY_FLAGS);
  store<u32>(e, load<u32>(d, SA_ADD_PORTS), SA_ENTRY_PORTS);
  store<u32>(e, win, SA_ENTRY_WINDOW);
  store<u32>(e, enc, SA_ENTRY_ENC);
  store<u32>(e, integ, SA_ENTRY_INTEG);
  store<u32>(e, ivLen, SA_ENTRY_IV_LEN);
  store<u32>(e, icv, SA_ENTRY_ICV_LEN);
  store<u32>(e, blk, SA_ENTRY_BLOCK);
  store<u64>(e, load<u64>(d, SA_ADD_SOFT_BYTES), SA_ENTRY_SOFT_BYTES);
  store<u64>(e, load<u64>(d, SA_ADD_HARD_BYTES), SA_ENTRY_HARD_BYTES);
  store<u64>(e, load<u64>(d, SA_ADD_SOFT_PACKETS), SA_ENTRY_SOFT_PACKETS);
  store<u64>(e, load<u64>(d, SA_ADD_HARD_PACKETS), SA_ENTRY_HARD_PACKETS);
  const seq0 = load<u64>(d, SA_ADD_INITIAL_SEQ);
  store<u64>(e, seq0, SA_ENTRY_SEQ);
  // SA_FLAG_SEQ_LIMIT: nothing may be sent until SA_LIMIT raises the limit past the persisted
  // reservation; without it the limit never binds.
  const limited = dir == SA_DIR_OUT && (flags & SA_FLAG_SEQ_LIMIT) != 0;
  store<u64>(e, limited ? seq0 : <u64>0xffffffffffffffff, SA_ENTRY_SEQ_LIMIT);
  store<u64>(e, limited ? seq0 : <u64>0xffffffffffffffff, SA_ENTRY_SEQ_WARN);
  // An inbound SA that starts at a persisted edge T treats every number <= T as seen: after a
  // restart, a replay of anything received before it is dropped, not only those below T - window.
  if (dir == SA_DIR_IN && seq0 != 0) memory.fill(e + SA_ENTRY_BITMAP, 0xff, <usize>(win >> 3));
  store<u32>(e, ++serial, SA_ENTRY_SERIAL);
  store<u32>(e, nowMs, SA_ENTRY_ADDED_MS);
  store<u32>(e, nowMs, SA_ENTRY_LAST_MS);
  const key = d + SA_ADD_KEY;
  const akey = key + keyLen;
  if (enc == ESP_ENC_AES_GCM_128 || enc == ESP_ENC_AES_GCM_256) {
    gcmInit(e + SA_ENTRY_CTX, key, <i32>encKey);
    store<u32>(e, load<u32>(key + encKey), SA_ENTRY_SALT);
  } else if (enc == ESP_ENC_CHACHA20_POLY1305) {
    chachaPolyInit(e + SA_ENTRY_CTX, key);
    store<u32>(e, load<u32>(key + encKey), SA_ENTRY_SALT);
  } else if (enc != ESP_ENC_NULL) {
    aesInit(e + SA_ENTRY_CTX, key, <i32>encKey);
    // CBC IV = AES_K(seed XOR seq): unpredictable without the key and the (random) seed.
    v128.store(e + SA_ENTRY_IV_SEED, v128.load(d + SA_ADD_IV_SEED));
  }
  if (integ == ESP_INTEG_HMAC_SHA1_96) hmacSha1Init(e + SA_ENTRY_HMAC, akey, 20);
  else if (integ == ESP_INTEG_HMAC_SHA256_128) hmacSha256Init(e + SA_ENTRY_HMAC, akey, 32);
  store<u32>(e, SA_STATE_ACTIVE, SA_ENTRY_STATE);
  genEnd(e);
  if (dir == SA_DIR_IN) indexSet(spiIndex, idxMask, idxShift, spi, idx + 1);
  else indexSet(outIndex, idxMask, idxShift, peer, idx + 1);
  return true;
}

/**
 * SA_LIMIT: the supervisor has persisted (fsync) a reservation up to `limit`; the SA may send up to
 * it and asks for the next block from `warn` on. The limit only rises, so a late or repeated command
 * cannot reopen used numbers.
 */
export function saLimit(d: usize, len: u32): bool {
  if (!espReady || len < SA_LIMIT_SIZE) return false;
  const idx = load<u32>(d, SA_LIMIT_INDEX);
  if (idx >= saCap) return false;
  const e = saEntry(idx);
  if (load<u32>(e, SA_ENTRY_STATE) == SA_STATE_FREE || load<u32>(e, SA_ENTRY_DIR) != SA_DIR_OUT) return false;
  const limit = load<u64>(d, SA_LIMIT_LIMIT);
  if (limit < load<u64>(e, SA_ENTRY_SEQ_LIMIT)) return false;
  // Atomic: other workers read these while they reserve numbers (esp/output.ts); warn before limit,
  // so a worker that sees the new limit also sees the new warn mark.
  atomic.store<u64>(e, load<u64>(d, SA_LIMIT_WARN), SA_ENTRY_SEQ_WARN);
  atomic.store<u64>(e, limit, SA_ENTRY_SEQ_LIMIT);
  atomic.and<u32>(e + SA_ENTRY_EVENTS, ~(<u32>1 << (SA_EVENT_REASON_SEQ_LOW - 1))); // re-arm
  return true;
}

