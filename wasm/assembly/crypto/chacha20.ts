// ChaCha20 (RFC 8439 section 2.3/2.4): a scalar path (one block at a time) and a SIMD path that
// computes 4 blocks at once with one v128 per state word ("vertical" layout: lane j = block j).
// Key: 32 bytes at `key`, nonce: 12 bytes at `nonce`, 32-bit block counter. No tables, no
// data-dependent branches or addresses: the cipher is constant time by construction.
import { cryptoScratch, SCR_CHACHA_KS, xorBytes } from "./ct";

// @ts-ignore: decorator
@inline const M26: u64 = 0x3ffffff;
// @ts-ignore: decorator
@inline const HIBIT: u64 = 1 << 24;

/** Bytes of keystream produced by chacha20Stream4. */
export const CHACHA20_SIMD_BLOCK: i32 = 256;

// @ts-ignore: decorator
@inline const C0: u32 = 0x61707865;
// @ts-ignore: decorator
@inline const C1: u32 = 0x3320646e;
// @ts-ignore: decorator
@inline const C2: u32 = 0x79622d32;
// @ts-ignore: decorator
@inline const C3: u32 = 0x6b206574;

/** Writes the 64-byte keystream block for (key, counter, nonce) to out. */
export function chacha20Block(key: usize, nonce: usize, counter: u32, out: usize): void {
  const k0 = load<u32>(key, 0), k1 = load<u32>(key, 4), k2 = load<u32>(key, 8), k3 = load<u32>(key, 12);
  const k4 = load<u32>(key, 16), k5 = load<u32>(key, 20), k6 = load<u32>(key, 24), k7 = load<u32>(key, 28);
  const n0 = load<u32>(nonce, 0), n1 = load<u32>(nonce, 4), n2 = load<u32>(nonce, 8);
  let x0 = C0, x1 = C1, x2 = C2, x3 = C3;
  let x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
  let x12 = counter, x13 = n0, x14 = n1, x15 = n2;
  for (let i = 0; i < 10; i++) {
    x0 += x4; x12 = rotl<u32>(x12 ^ x0, 16);
    x8 += x12; x4 = rotl<u32>(x4 ^ x8, 12);
    x0 += x4; x12 = rotl<u32>(x12 ^ x0, 8);
    x8 += x12; x4 = rotl<u32>(x4 ^ x8, 7);
    x1 += x5; x13 = rotl<u32>(x13 ^ x1, 16);
    x9 += x13; x5 = rotl<u32>(x5 ^ x9, 12);
    x1 += x5; x13 = rotl<u32>(x13 ^ x1, 8);
    x9 += x13; x5 = rotl<u32>(x5 ^ x9, 7);
    x2 += x6; x14 = rotl<u32>(x14 ^ x2, 16);
    x10 += x14; x6 = rotl<u32>(x6 ^ x10, 12);
    x2 += x6; x14 = rotl<u32>(x14 ^ x2, 8);
    x10 += x14; x6 = rotl<u32>(x6 ^ x10, 7);
    x3 += x7; x15 = rotl<u32>(x15 ^ x3, 16);
    x11 += x15; x7 = rotl<u32>(x7 ^ x11, 12);
    x3 += x7; x15 = rotl<u32>(x15 ^ x3, 8);
    x11 += x15; x7 = rotl<u32>(x7 ^ x11, 7);
    x0 += x5; x15 = rotl<u32>(x15 ^ x0, 16);
    x10 += x15; x5 = rotl<u32>(x5 ^ x10, 12);
    x0 += x5; x15 = rotl<u32>(x15 ^ x0, 8);
    x10 += x15; x5 = rotl<u32>(x5 ^ x10, 7);
    x1 += x6; x12 = rotl<u32>(x12 ^ x1, 16);
    x11 += x12; x6 = rotl<u32>(x6 ^ x11, 12);
    x1 += x6; x12 = rotl<u32>(x12 ^ x1, 8);
    x11 += x12; x6 = rotl<u32>(x6 ^ x11, 7);
    x2 += x7; x13 = rotl<u32>(x13 ^ x2, 16);
    x8 += x13; x7 = rotl<u32>(x7 ^ x8, 12);
    x2 += x7; x13 = rotl<u32>(x13 ^ x2, 8);
    x8 += x13; x7 = rotl<u32>(x7 ^ x8, 7);
    x3 += x4; x14 = rotl<u32>(x14 ^ x3, 16);
    x9 += x14; x4 = rotl<u32>(x4 ^ x9, 12);
    x3 += x4; x14 = rotl<u32>(x14 ^ x3, 8);
    x9 += x14; x4 = rotl<u32>(x4 ^ x9, 7);
  }
  store<u32>(out, x0 + C0, 0); store<u32>(out, x1 + C1, 4);
  store<u32>(out, x2 + C2, 8); store<u32>(out, x3 + C3, 12);
  store<u32>(out, x4 + k0, 16); store<u32>(out, x5 + k1, 20);
  store<u32>(out, x6 + k2, 24); store<u32>(out, x7 + k3, 28);
  store<u32>(out, x8 + k4, 32); store<u32>(out, x9 + k5, 36);
  store<u32>(out, x10 + k6, 40); store<u32>(out, x11 + k7, 44);
  store<u32>(out, x12 + counter, 48); store<u32>(out, x13 + n0, 52);
  store<u32>(out, x14 + n1, 56); store<u32>(out, x15 + n2, 60);
}

/**
 * Scalar ChaCha20: dst = src XOR keystream(key, nonce, counter...), len bytes. src and dst may be
 * the same buffer (in place). Uses 64 bytes of scratch for a final partial block.
 */
export function chacha20XorScalar(key: usize, nonce: usize, counter: u32, src: usize, dst: usize, len: i32): void {
  const ks = cryptoScratch + SCR_CHACHA_KS;
  while (len > 0) {
    chacha20Block(key, nonce, counter, ks);
    const n = len < 64 ? len : 64;
    if (n == 64) {
      v128.store(dst, v128.xor(v128.load(src, 0), v128.load(ks, 0)), 0);
      v128.store(dst, v128.xor(v128.load(src, 16), v128.load(ks, 16)), 16);
      v128.store(dst, v128.xor(v128.load(src, 32), v128.load(ks, 32)), 32);
      v128.store(dst, v128.xor(v128.load(src, 48), v128.load(ks, 48)), 48);
    } else {
      xorBytes(dst, src, ks, n);
    }
    counter++;
    src += 64; dst += 64; len -= n;
  }
}

// @ts-ignore: decorator
@inline function rot16(x: v128): v128 {
  return i8x16.shuffle(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}
// @ts-ignore: decorator
@inline function rot8(x: v128): v128 {
  return i8x16.shuffle(x, x, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
}
// @ts-ignore: decorator
@inline function rotn(x: v128, n: i32): v128 {
  return v128.or(i32x4.shl(x, n), i32x4.shr_u(x, 32 - n));
}

/**
 * Core of the SIMD path: computes 4 consecutive blocks (counter..counter+3) and either XORs them
 * into src -> dst (xorMode = true, 256 bytes) or stores the raw keystream to dst (xorMode = false).
 */
// @ts-ignore: decorator
@inline function chacha4(key: usize, nonce: usize, counter: u32, src: usize, dst: usize, xorMode: bool): void {
  const s0 = i32x4.splat(C0), s1 = i32x4.splat(C1), s2 = i32x4.splat(C2), s3 = i32x4.splat(C3);
  const s4 = v128.load32_splat(key, 0), s5 = v128.load32_splat(key, 4);
  const s6 = v128.load32_splat(key, 8), s7 = v128.load32_splat(key, 12);
  const s8 = v128.load32_splat(key, 16), s9 = v128.load32_splat(key, 20);
  const s10 = v128.load32_splat(key, 24), s11 = v128.load32_splat(key, 28);
  const s12 = i32x4.add(i32x4.splat(counter), i32x4(0, 1, 2, 3));
  const s13 = v128.load32_splat(nonce, 0), s14 = v128.load32_splat(nonce, 4), s15 = v128.load32_splat(nonce, 8);
  let x0 = s0, x1 = s1, x2 = s2, x3 = s3, x4 = s4, x5 = s5, x6 = s6, x7 = s7;
  let x8 = s8, x9 = s9, x10 = s10, x11 = s11, x12 = s12, x13 = s13, x14 = s14, x15 = s15;
  for (let i = 0; i < 10; i++) {
    x0 = i32x4.add(x0, x4); x12 = rot16(v128.xor(x12, x0));
    x8 = i32x4.add(x8, x12); x4 = rotn(v128.xor(x4, x8), 12);
    x0 = i32x4.add(x0, x4); x12 = rot8(v128.xor(x12, x0));
    x8 = i32x4.add(x8, x12); x4 = rotn(v128.xor(x4, x8), 7);
    x1 = i32x4.add(x1, x5); x13 = rot16(v128.xor(x13, x1));
    x9 = i32x4.add(x9, x13); x5 = rotn(v128.xor(x5, x9), 12);
    x1 = i32x4.add(x1, x5); x13 = rot8(v128.xor(x13, x1));
    x9 = i32x4.add(x9, x13); x5 = rotn(v128.xor(x5, x9), 7);
    x2 = i32x4.add(x2, x6); x14 = rot16(v128.xor(x14, x2));
    x10 = i32x4.add(x10, x14); x6 = rotn(v128.xor(x6, x10), 12);
    x2 = i32x4.add(x2, x6); x14 = rot8(v128.xor(x14, x2));
    x10 = i32x4.add(x10, x14); x6 = rotn(v128.xor(x6, x10), 7);
    x3 = i32x4.add(x3, x7); x15 = rot16(v128.xor(x15, x3));
    x11 = i32x4.add(x11, x15); x7 = rotn(v128.xor(x7, x11), 12);
    x3 = i32x4.add(x3, x7); x15 = rot8(v128.xor(x15, x3));
    x11 = i32x4.add(x11, x15); x7 = rotn(v128.xor(x7, x11), 7);
    x0 = i32x4.add(x0, x5); x15 = rot16(v128.xor(x15, x0));
    x10 = i32x4.add(x10, x15); x5 = rotn(v128.xor(x5, x10), 12);
    x0 = i32x4.add(x0, x5); x15 = rot8(v128.xor(x15, x0));
    x10 = i32x4.add(x10, x15); x5 = rotn(v128.xor(x5, x10), 7);
    x1 = i32x4.add(x1, x6); x12 = rot16(v128.xor(x12, x1));
    x11 = i32x4.add(x11, x12); x6 = rotn(v128.xor(x6, x11), 12);
    x1 = i32x4.add(x1, x6); x12 = rot8(v128.xor(x12, x1));
    x11 = i32x4.add(x11, x12); x6 = rotn(v128.xor(x6, x11), 7);
    x2 = i32x4.add(x2, x7); x13 = rot16(v128.xor(x13, x2));
    x8 = i32x4.add(x8, x13); x7 = rotn(v128.xor(x7, x8), 12);
    x2 = i32x4.add(x2, x7); x13 = rot8(v128.xor(x13, x2));
    x8 = i32x4.add(x8, x13); x7 = rotn(v128.xor(x7, x8), 7);
    x3 = i32x4.add(x3, x4); x14 = rot16(v128.xor(x14, x3));
    x9 = i32x4.add(x9, x14); x4 = rotn(v128.xor(x4, x9), 12);
    x3 = i32x4.add(x3, x4); x14 = rot8(v128.xor(x14, x3));
    x9 = i32x4.add(x9, x14); x4 = rotn(v128.xor(x4, x9), 7);
  }
  x0 = i32x4.add(x0, s0); x1 = i32x4.add(x1, s1); x2 = i32x4.add(x2, s2); x3 = i32x4.add(x3, s3);
  x4 = i32x4.add(x4, s4); x5 = i32x4.add(x5, s5); x6 = i32x4.add(x6, s6); x7 = i32x4.add(x7, s7);
  x8 = i32x4.add(x8, s8); x9 = i32x4.add(x9, s9); x10 = i32x4.add(x10, s10); x11 = i32x4.add(x11, s11);
  x12 = i32x4.add(x12, s12); x13 = i32x4.add(x13, s13); x14 = i32x4.add(x14, s14); x15 = i32x4.add(x15, s15);
  // Transpose each group of 4 words: lane j of (xa, xb, xc, xd) -> words a..d of block j.
  emit4(x0, x1, x2, x3, src, dst, 0, xorMode);
  emit4(x4, x5, x6, x7, src, dst, 16, xorMode);
  emit4(x8, x9, x10, x11, src, dst, 32, xorMode);
  emit4(x12, x13, x14, x15, src, dst, 48, xorMode);
}

// @ts-ignore: decorator
@inline function emit4(a: v128, b: v128, c: v128, d: v128, src: usize, dst: usize, off: usize, xorMode: bool): void {
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5); // a0 b0 a1 b1
  const t1 = i32x4.shuffle(a, b, 2, 6, 3, 7); // a2 b2 a3 b3
  const t2 = i32x4.shuffle(c, d, 0, 4, 1, 5); // c0 d0 c1 d1
  const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7); // c2 d2 c3 d3
  const r0 = i64x2.shuffle(t0, t2, 0, 2); // block 0
  const r1 = i64x2.shuffle(t0, t2, 1, 3); // block 1
  const r2 = i64x2.shuffle(t1, t3, 0, 2); // block 2
  const r3 = i64x2.shuffle(t1, t3, 1, 3); // block 3
  if (xorMode) {
    v128.store(dst + off, v128.xor(r0, v128.load(src + off)), 0);
    v128.store(dst + off, v128.xor(r1, v128.load(src + off, 64)), 64);
    v128.store(dst + off, v128.xor(r2, v128.load(src + off, 128)), 128);
    v128.store(dst + off, v128.xor(r3, v128.load(src + off, 192)), 192);
  } else {
    v128.store(dst + off, r0, 0);
    v128.store(dst + off, r1, 64);
    v128.store(dst + off, r2, 128);
    v128.store(dst + off, r3, 192);
  }
}

/**
 * "Stitched" ChaCha20 + Poly1305: XORs 256 bytes src -> dst with keystream blocks
 * counter..counter+3 (SIMD) while absorbing mblocks (<= 20) full 16-byte Poly1305 blocks from mp
 * into the state at st (scalar 64-bit multiplies). Interleaving the two lets the CPU run the
 * vector ChaCha rounds and the scalar Poly1305 multiplies in parallel. All Poly1305 input is
 * read before dst is written, so mp may point into src (open) or at earlier ciphertext (seal).
 */
export function chachaPolyStitch(key: usize, nonce: usize, counter: u32, src: usize, dst: usize, mp: usize, mblocks: i32, st: usize): void {
  const r0 = <u64>load<u32>(st, 0), r1 = <u64>load<u32>(st, 4), r2 = <u64>load<u32>(st, 8);
  const r3 = <u64>load<u32>(st, 12), r4 = <u64>load<u32>(st, 16);
  const s1 = <u64>load<u32>(st, 20), s2 = <u64>load<u32>(st, 24), s3 = <u64>load<u32>(st, 28), s4 = <u64>load<u32>(st, 32);
  let h0 = <u64>load<u32>(st, 36), h1 = <u64>load<u32>(st, 40), h2 = <u64>load<u32>(st, 44);
  let h3 = <u64>load<u32>(st, 48), h4 = <u64>load<u32>(st, 52);
  let pb = 0;
  const s0v = i32x4.splat(C0), s1v = i32x4.splat(C1), s2v = i32x4.splat(C2), s3v = i32x4.splat(C3);
  const s4v = v128.load32_splat(key, 0), s5v = v128.load32_splat(key, 4);
  const s6v = v128.load32_splat(key, 8), s7v = v128.load32_splat(key, 12);
  const s8v = v128.load32_splat(key, 16), s9v = v128.load32_splat(key, 20);
  const s10v = v128.load32_splat(key, 24), s11v = v128.load32_splat(key, 28);
  const s12v = i32x4.add(i32x4.splat(counter), i32x4(0, 1, 2, 3));
  const s13v = v128.load32_splat(nonce, 0), s14v = v128.load32_splat(nonce, 4), s15v = v128.load32_splat(nonce, 8);
  let x0 = s0v, x1 = s1v, x2 = s2v, x3 = s3v, x4 = s4v, x5 = s5v, x6 = s6v, x7 = s7v;
  let x8 = s8v, x9 = s9v, x10 = s10v, x11 = s11v, x12 = s12v, x13 = s13v, x14 = s14v, x15 = s15v;
  for (let i = 0; i < 10; i++) {
    if (pb < mblocks) {
      const a = load<u64>(mp, 0), b = load<u64>(mp, 8);
      h0 += a & M26;
      h1 += (a >> 26) & M26;
      h2 += ((a >> 52) | (b << 12)) & M26;
      h3 += (b >> 14) & M26;
      h4 += (b >> 40) | HIBIT;
      const d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
      let d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
      let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
      let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
      let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
      d1 += d0 >> 26; h0 = d0 & M26;
      d2 += d1 >> 26; h1 = d1 & M26;
      d3 += d2 >> 26; h2 = d2 & M26;
      d4 += d3 >> 26; h3 = d3 & M26;
      h0 += (d4 >> 26) * 5; h4 = d4 & M26;
      h1 += h0 >> 26; h0 &= M26;
      mp += 16; pb++;
    }
    x0 = i32x4.add(x0, x4); x12 = rot16(v128.xor(x12, x0));
    x8 = i32x4.add(x8, x12); x4 = rotn(v128.xor(x4, x8), 12);
    x0 = i32x4.add(x0, x4); x12 = rot8(v128.xor(x12, x0));
    x8 = i32x4.add(x8, x12); x4 = rotn(v128.xor(x4, x8), 7);
    x1 = i32x4.add(x1, x5); x13 = rot16(v128.xor(x13, x1));
    x9 = i32x4.add(x9, x13); x5 = rotn(v128.xor(x5, x9), 12);
    x1 = i32x4.add(x1, x5); x13 = rot8(v128.xor(x13, x1));
    x9 = i32x4.add(x9, x13); x5 = rotn(v128.xor(x5, x9), 7);
    x2 = i32x4.add(x2, x6); x14 = rot16(v128.xor(x14, x2));
    x10 = i32x4.add(x10, x14); x6 = rotn(v128.xor(x6, x10), 12);
    x2 = i32x4.add(x2, x6); x14 = rot8(v128.xor(x14, x2));
    x10 = i32x4.add(x10, x14); x6 = rotn(v128.xor(x6, x10), 7);
    x3 = i32x4.add(x3, x7); x15 = rot16(v128.xor(x15, x3));
    x11 = i32x4.add(x11, x15); x7 = rotn(v128.xor(x7, x11), 12);
    x3 = i32x4.add(x3, x7); x15 = rot8(v128.xor(x15, x3));
    x11 = i32x4.add(x11, x15); x7 = rotn(v128.xor(x7, x11), 7);
    if (pb < mblocks) {
      const a = load<u64>(mp, 0), b = load<u64>(mp, 8);
      h0 += a & M26;
      h1 += (a >> 26) & M26;
      h2 += ((a >> 52) | (b << 12)) & M26;
      h3 += (b >> 14) & M26;
      h4 += (b >> 40) | HIBIT;
      const d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
      let d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
      let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
      let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
      let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
      d1 += d0 >> 26; h0 = d0 & M26;
      d2 += d1 >> 26; h1 = d1 & M26;
      d3 += d2 >> 26; h2 = d2 & M26;
      d4 += d3 >> 26; h3 = d3 & M26;
      h0 += (d4 >> 26) * 5; h4 = d4 & M26;
      h1 += h0 >> 26; h0 &= M26;
      mp += 16; pb++;
    }
    x0 = i32x4.add(x0, x5); x15 = rot16(v128.xor(x15, x0));
    x10 = i32x4.add(x10, x15); x5 = rotn(v128.xor(x5, x10), 12);
    x0 = i32x4.add(x0, x5); x15 = rot8(v128.xor(x15, x0));
    x10 = i32x4.add(x10, x15); x5 = rotn(v128.xor(x5, x10), 7);
    x1 = i32x4.add(x1, x6); x12 = rot16(v128.xor(x12, x1));
    x11 = i32x4.add(x11, x12); x6 = rotn(v128.xor(x6, x11), 12);
    x1 = i32x4.add(x1, x6); x12 = rot8(v128.xor(x12, x1));
    x11 = i32x4.add(x11, x12); x6 = rotn(v128.xor(x6, x11), 7);
    x2 = i32x4.add(x2, x7); x13 = rot16(v128.xor(x13, x2));
    x8 = i32x4.add(x8, x13); x7 = rotn(v128.xor(x7, x8), 12);
    x2 = i32x4.add(x2, x7); x13 = rot8(v128.xor(x13, x2));
    x8 = i32x4.add(x8, x13); x7 = rotn(v128.xor(x7, x8), 7);
    x3 = i32x4.add(x3, x4); x14 = rot16(v128.xor(x14, x3));
    x9 = i32x4.add(x9, x14); x4 = rotn(v128.xor(x4, x9), 12);
    x3 = i32x4.add(x3, x4); x14 = rot8(v128.xor(x14, x3));
    x9 = i32x4.add(x9, x14); x4 = rotn(v128.xor(x4, x9), 7);
  }
  store<u32>(st, <u32>h0, 36); store<u32>(st, <u32>h1, 40); store<u32>(st, <u32>h2, 44);
  store<u32>(st, <u32>h3, 48); store<u32>(st, <u32>h4, 52);
  x0 = i32x4.add(x0, s0v); x1 = i32x4.add(x1, s1v); x2 = i32x4.add(x2, s2v); x3 = i32x4.add(x3, s3v);
  x4 = i32x4.add(x4, s4v); x5 = i32x4.add(x5, s5v); x6 = i32x4.add(x6, s6v); x7 = i32x4.add(x7, s7v);
  x8 = i32x4.add(x8, s8v); x9 = i32x4.add(x9, s9v); x10 = i32x4.add(x10, s10v); x11 = i32x4.add(x11, s11v);
  x12 = i32x4.add(x12, s12v); x13 = i32x4.add(x13, s13v); x14 = i32x4.add(x14, s14v); x15 = i32x4.add(x15, s15v);
  emit4(x0, x1, x2, x3, src, dst, 0, true);
  emit4(x4, x5, x6, x7, src, dst, 16, true);
  emit4(x8, x9, x10, x11, src, dst, 32, true);
  emit4(x12, x13, x14, x15, src, dst, 48, true);
}

/** Writes 256 bytes of keystream (blocks counter..counter+3) to out, using the SIMD core. */
export function chacha20Stream4(key: usize, nonce: usize, counter: u32, out: usize): void {
  chacha4(key, nonce, counter, 0, out, false);
}

/** XORs exactly 256 bytes src -> dst with blocks counter..counter+3 (SIMD). */
export function chacha20Xor256(key: usize, nonce: usize, counter: u32, src: usize, dst: usize): void {
  chacha4(key, nonce, counter, src, dst, true);
}

/**
 * SIMD ChaCha20: same contract as chacha20XorScalar. Full 256-byte groups are XORed straight
 * from registers; a remainder goes through 256 bytes of scratch keystream.
 */
export function chacha20XorSimd(key: usize, nonce: usize, counter: u32, src: usize, dst: usize, len: i32): void {
  while (len >= 256) {
    chacha4(key, nonce, counter, src, dst, true);
    counter += 4; src += 256; dst += 256; len -= 256;
  }
  if (len > 0) {
    const ks = cryptoScratch + SCR_CHACHA_KS;
    chacha4(key, nonce, counter, 0, ks, false);
    xorBytes(dst, src, ks, len);
  }
}
