// ChaCha20-Poly1305 AEAD (RFC 8439 section 2.8), in place, for ESP (RFC 7634: nonce = salt(4) ||
// IV(8), AAD = SPI || sequence number (|| high ESN bits), 16-byte ICV).
//
// Context (CHACHAPOLY_CTX_SIZE bytes): the 32-byte key; read-only after chachaPolyInit, so it may
// be shared by workers. Per-call state (Poly1305, keystream) lives in this instance's scratch.
// `simd` selects the 4-block v128 ChaCha20 path (1) or the scalar path (0); both give identical
// output. Open verifies the tag in constant time; on failure it zeroes buf and returns 0, so no
// unauthenticated plaintext is ever left behind.
import { cryptoScratch, SCR_CHACHA_KS, SCR_POLY, SCR_POLY_PAD, SCR_TAG, ctEqual, xorBytes, zeroize } from "./ct";
import { chacha20Block, chacha20Stream4, chacha20XorScalar, chachaPolyStitch } from "./chacha20";
import { poly1305Init, poly1305Blocks, poly1305PadBlock, poly1305Finish } from "./poly1305";

export const CHACHAPOLY_CTX_SIZE: i32 = 32;
export const CHACHAPOLY_KEY_SIZE: i32 = 32;
export const CHACHAPOLY_NONCE_SIZE: i32 = 12;
export const CHACHAPOLY_TAG_SIZE: i32 = 16;

/** Stores the 32-byte key at key into ctx. */
export function chachaPolyInit(ctx: usize, key: usize): void {
  memory.copy(ctx, key, 32);
}

// @ts-ignore: decorator
@inline function macData(st: usize, p: usize, len: i32): void {
  const full = len >> 4;
  if (full > 0) poly1305Blocks(st, p, full, 1 << 24);
  poly1305PadBlock(st, p + <usize>(full << 4), len & 15);
}

// @ts-ignore: decorator
@inline function macLengths(st: usize, aadLen: i32, len: i32, tagOut: usize): void {
  const lb = cryptoScratch + SCR_POLY_PAD;
  store<u64>(lb, <u64>aadLen, 0);
  store<u64>(lb, <u64>len, 8);
  poly1305Blocks(st, lb, 1, 1 << 24);
  poly1305Finish(st, tagOut);
}

/**
 * Core: encrypt (decrypt = false) or decrypt (decrypt = true) buf in place and compute the tag
 * over the ciphertext into tagOut.
 */
function crypt(ctx: usize, nonce: usize, aad: usize, aadLen: i32, buf: usize, len: i32, tagOut: usize, simd: i32, decrypt: bool): void {
  const st = cryptoScratch + SCR_POLY;
  const ks = cryptoScratch + SCR_CHACHA_KS;
  if (simd) {
    // Blocks 0..3 in one SIMD pass: block 0 is the one-time key, 1..3 cover the first 192 bytes.
    chacha20Stream4(ctx, nonce, 0, ks);
    poly1305Init(st, ks);
    macData(st, aad, aadLen);
    const n = len < 192 ? len : 192;
    let off = n;
    let ctr: u32 = 4;
    if (decrypt) {
      macData(st, buf, n);
      xorBytes(buf, buf, ks + 64, n);
      // Full 256-byte groups: MAC this group's ciphertext while decrypting it (stitched).
      while (len - off >= 256) {
        const p = buf + <usize>off;
        chachaPolyStitch(ctx, nonce, ctr, p, p, p, 16, st);
        ctr += 4; off += 256;
      }
      const rem = len - off;
      if (rem > 0) {
        const p = buf + <usize>off;
        macData(st, p, rem);
        chacha20Stream4(ctx, nonce, ctr, ks);
        xorBytes(p, p, ks, rem);
      }
    } else {
      xorBytes(buf, buf, ks + 64, n);
      let macOff = 0;
      if (n < 192) { macData(st, buf, n); macOff = n; }
      // Full 256-byte groups: encrypt this group while MACing the previous group's ciphertext.
      while (len - off >= 256) {
        const p = buf + <usize>off;
        chachaPolyStitch(ctx, nonce, ctr, p, p, buf + <usize>macOff, (off - macOff) >> 4, st);
        macOff = off; ctr += 4; off += 256;
      }
      if (off > macOff) poly1305Blocks(st, buf + <usize>macOff, (off - macOff) >> 4, 1 << 24);
      const rem = len - off;
      if (rem > 0) {
        const p = buf + <usize>off;
        chacha20Stream4(ctx, nonce, ctr, ks);
        xorBytes(p, p, ks, rem);
        macData(st, p, rem);
      }
    }
  } else {
    chacha20Block(ctx, nonce, 0, ks);
    poly1305Init(st, ks);
    macData(st, aad, aadLen);
    if (decrypt) macData(st, buf, len);
    chacha20XorScalar(ctx, nonce, 1, buf, buf, len);
    if (!decrypt) macData(st, buf, len);
  }
  macLengths(st, aadLen, len, tagOut);
  // Hygiene: the keystream and the Poly1305 state (which holds the one-time key) leave scratch.
  zeroize(ks, 256);
  zeroize(st, 96);
}

/** Encrypts buf[len] in place; writes the 16-byte tag at tag. aad may be 0 when aadLen is 0. */
export function chachaPolySeal(ctx: usize, nonce: usize, aad: usize, aadLen: i32, buf: usize, len: i32, tag: usize, simd: i32): void {
  crypt(ctx, nonce, aad, aadLen, buf, len, tag, simd, false);
}

/**
 * Verifies and decrypts buf[len] in place against the 16-byte tag at tag (tagLen bytes compared,
 * 16 for ESP). Returns 1 if authentic; else 0 and buf is zeroed.
 */
export function chachaPolyOpen(ctx: usize, nonce: usize, aad: usize, aadLen: i32, buf: usize, len: i32, tag: usize, simd: i32): i32 {
  const mine = cryptoScratch + SCR_TAG;
  crypt(ctx, nonce, aad, aadLen, buf, len, mine, simd, true);
  const ok = ctEqual(mine, tag, 16);
  zeroize(mine, 16);
  if (!ok) zeroize(buf, len);
  return ok;
}
