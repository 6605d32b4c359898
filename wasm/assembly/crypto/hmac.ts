// HMAC (RFC 2104) with SHA-1 and SHA-256, for ESP integrity: HMAC-SHA1-96 (RFC 2404) and
// HMAC-SHA-256-128 (RFC 4868). The context holds the chaining values after the ipad and opad
// blocks (read-only after init, shareable). Full digests are produced; truncation is the
// caller's (copy the first 12 / 16 bytes) or the verify function's tagLen.
import { cryptoScratch, SCR_HMAC_IN, SCR_TAG, ctEqual, zeroize } from "./ct";
import { sha1, sha1InitState, sha1Blocks, sha1Resume } from "./sha1";
import { sha256, sha256InitState, sha256Blocks, sha256Resume } from "./sha256";

export const HMAC_SHA1_CTX_SIZE: i32 = 40; // inner (20) | outer (20)
export const HMAC_SHA256_CTX_SIZE: i32 = 64; // inner (32) | outer (32)

// @ts-ignore: decorator
@inline function padKey(kb: usize, key: usize, keyLen: i32, sha256Mode: bool): void {
  memory.fill(kb, 0, 64);
  if (keyLen > 64) {
    if (sha256Mode) sha256(key, keyLen, kb); else sha1(key, keyLen, kb);
  } else {
    memory.copy(kb, key, <usize>keyLen);
  }
}

// @ts-ignore: decorator
@inline function xorPad(kb: usize, v: u64): void {
  for (let i: usize = 0; i < 64; i += 8) store<u64>(kb + i, load<u64>(kb + i) ^ v);
}

export function hmacSha256Init(ctx: usize, key: usize, keyLen: i32): void {
  const kb = cryptoScratch + SCR_HMAC_IN;
  padKey(kb, key, keyLen, true);
  xorPad(kb, 0x3636363636363636);
  sha256InitState(ctx);
  sha256Blocks(ctx, kb, 1);
  xorPad(kb, 0x3636363636363636 ^ 0x5c5c5c5c5c5c5c5c);
  sha256InitState(ctx + 32);
  sha256Blocks(ctx + 32, kb, 1);
  zeroize(kb, 64);
}

/** Full 32-byte HMAC-SHA-256 of m[len] into out. */
export function hmacSha256(ctx: usize, m: usize, len: i32, out: usize): void {
  const inner = cryptoScratch + SCR_HMAC_IN;
  sha256Resume(ctx, 64, m, len, inner);
  sha256Resume(ctx + 32, 64, inner, 32, out);
}

/** Constant-time check of the first tagLen (1..32) bytes of HMAC-SHA-256(m) against tag. */
export function hmacSha256Verify(ctx: usize, m: usize, len: i32, tag: usize, tagLen: i32): i32 {
  if (tagLen < 1 || tagLen > 32) return 0;
  const mine = cryptoScratch + SCR_TAG;
  hmacSha256(ctx, m, len, mine);
  const ok = ctEqual(mine, tag, tagLen);
  zeroize(mine, 32);
  return ok;
}

export function hmacSha1Init(ctx: usize, key: usize, keyLen: i32): void {
  const kb = cryptoScratch + SCR_HMAC_IN;
  padKey(kb, key, keyLen, false);
  xorPad(kb, 0x3636363636363636);
  sha1InitState(ctx);
  sha1Blocks(ctx, kb, 1);
  xorPad(kb, 0x3636363636363636 ^ 0x5c5c5c5c5c5c5c5c);
  sha1InitState(ctx + 20);
  sha1Blocks(ctx + 20, kb, 1);
  zeroize(kb, 64);
}

/** Full 20-byte HMAC-SHA1 of m[len] into out. */
export function hmacSha1(ctx: usize, m: usize, len: i32, out: usize): void {
  const inner = cryptoScratch + SCR_HMAC_IN;
  sha1Resume(ctx, 64, m, len, inner);
  sha1Resume(ctx + 20, 64, inner, 20, out);
}

/** Constant-time check of the first tagLen (1..20) bytes of HMAC-SHA1(m) against tag. */
export function hmacSha1Verify(ctx: usize, m: usize, len: i32, tag: usize, tagLen: i32): i32 {
  if (tagLen < 1 || tagLen > 20) return 0;
  const mine = cryptoScratch + SCR_TAG;
  hmacSha1(ctx, m, len, mine);
  const ok = ctEqual(mine, tag, tagLen);
  zeroize(mine, 20);
  return ok;
}
