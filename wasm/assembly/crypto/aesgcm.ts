// AES-GCM (NIST SP 800-38D) for ESP (RFC 4106): 12-byte nonce (salt(4) || IV(8)), AAD, tag of
// 8, 12 or 16 bytes, in place. Built on the bitsliced AES (8 blocks per call, CTR mode) and the
// constant-time GHASH.
//
// Context (GCM_CTX_SIZE bytes, 16-byte aligned, read-only after gcmInit):
//   0     AES context (AES_CTX_SIZE)
//   1936  GHASH key material (GHASH_KEY_SIZE = 784: H, H^2 operand parts for the scalar path,
//         H^4..H^1 lane vectors for the 4-block SIMD path; see ghash.ts)
//   total GCM_CTX_SIZE = 2720 bytes
// Open verifies before reporting success; on failure it zeroes buf and returns 0.
import { cryptoScratch, SCR_AES_OUT, SCR_GHASH, SCR_GHASH_LANES, SCR_TAG, ctEqual, xorBytes, zeroize } from "./ct";
import { AES_CTX_SIZE, aesInit, aesCtr8, aesEncryptBlock } from "./aes";
import { GHASH_KEY_SIZE, GHASH_LANES_SCRATCH, ghashInit, ghashBlocks, ghashUpdate } from "./ghash";

export const GCM_GHASH_OFFSET: i32 = AES_CTX_SIZE;
export const GCM_CTX_SIZE: i32 = AES_CTX_SIZE + GHASH_KEY_SIZE;
export const GCM_NONCE_SIZE: i32 = 12;

/** Key setup; keyLen 16 or 32 (24 also works). Returns 1, or 0 for a bad key length. */
export function gcmInit(ctx: usize, key: usize, keyLen: i32): i32 {
  if (!aesInit(ctx, key, keyLen)) return 0;
  const h = cryptoScratch + SCR_TAG;
  memory.fill(h, 0, 16);
  aesEncryptBlock(ctx, h, h);
  ghashInit(ctx + <usize>GCM_GHASH_OFFSET, h, cryptoScratch + SCR_GHASH);
  zeroize(h, 16);
  zeroize(cryptoScratch + SCR_GHASH, 32);
  zeroize(cryptoScratch + SCR_AES_OUT, 128);
  return 1;
}


function crypt(ctx: usize, nonce: usize, aad: usize, aadLen: i32, buf: usize, len: i32, tagOut: usize, decrypt: bool): void {
  const gk = ctx + <usize>GCM_GHASH_OFFSET;
  const y = cryptoScratch + SCR_GHASH;
  const pad = y + 16;
  const ks = cryptoScratch + SCR_AES_OUT;
  store<u64>(y, 0, 0); store<u64>(y, 0, 8);
  // Counters 1..8: block 0 = E(J0) (tag mask), blocks 1..7 = keystream for the first 112 bytes.
  aesCtr8(ctx, nonce, 1, 0, ks, 0);
  const mask = v128.load(ks);
  ghashUpdate(gk, y, aad, aadLen, pad);
  // The ciphertext is hashed in one call (open: before decrypting, seal: after encrypting), so
  // that all its full blocks but the last 0-3 go through GHASH's 4-block SIMD path.
  if (decrypt) ghashUpdate(gk, y, buf, len, pad);
  const n = len < 112 ? len : 112;
  xorBytes(buf, buf, ks + 16, n);
  let off = n;
  let ctr: u32 = 9;
  while (len - off >= 128) {
    const p = buf + <usize>off;
    aesCtr8(ctx, nonce, ctr, p, p, 1);
    ctr += 8; off += 128;
  }
  const rem = len - off;
  if (rem > 0) {
    const p = buf + <usize>off;
    aesCtr8(ctx, nonce, ctr, 0, ks, 0);
    xorBytes(p, p, ks, rem);
  }
  if (!decrypt) ghashUpdate(gk, y, buf, len, pad);
  store<u64>(pad, bswap<u64>(<u64>aadLen << 3), 0);
  store<u64>(pad, bswap<u64>(<u64>len << 3), 8);
  ghashBlocks(gk, y, pad, 1);
  // tag = E(J0) ^ GHASH (Y stored as two big-endian-valued u64s)
  store<u64>(tagOut, bswap<u64>(load<u64>(y, 0)) ^ i64x2.extract_lane(mask, 0), 0);
  store<u64>(tagOut, bswap<u64>(load<u64>(y, 8)) ^ i64x2.extract_lane(mask, 1), 8);
  // Wiped: the keystream, GHASH's value (with the AAD and ciphertext, which are public, H can be
  // solved for from it) and the word products GHASH's SIMD path leaves in scratch.
  zeroize(ks, 128);
  zeroize(y, 16);
  zeroize(cryptoScratch + SCR_GHASH_LANES, GHASH_LANES_SCRATCH);
}

// @ts-ignore: decorator
@inline function validTagLen(n: i32): bool {
  return n == 16 || n == 12 || n == 8;
}

/**
 * Encrypts buf[len] in place with AAD aad[aadLen]; writes tagLen (8, 12 or 16) tag bytes at tag.
 * Returns 1, or 0 (nothing done) for another tagLen.
 */
export function gcmSeal(ctx: usize, nonce: usize, aad: usize, aadLen: i32, buf: usize, len: i32, tag: usize, tagLen: i32): i32 {
  if (!validTagLen(tagLen)) return 0;
  const full = cryptoScratch + SCR_TAG;
  crypt(ctx, nonce, aad, aadLen, buf, len, full, false);
  memory.copy(tag, full, <usize>tagLen);
  zeroize(full, 16);
  return 1;
}

/**
 * Verifies tagLen (8, 12 or 16) bytes of tag and decrypts buf[len] in place. 1 = authentic;
 * 0 = reject (buf zeroed; an invalid tagLen is rejected without touching buf).
 */
export function gcmOpen(ctx: usize, nonce: usize, aad: usize, aadLen: i32, buf: usize, len: i32, tag: usize, tagLen: i32): i32 {
  if (!validTagLen(tagLen)) return 0;
  const mine = cryptoScratch + SCR_TAG;
  crypt(ctx, nonce, aad, aadLen, buf, len, mine, true);
  const ok = ctEqual(mine, tag, tagLen);
  zeroize(mine, 16);
  if (!ok) zeroize(buf, len);
  return ok;
}
