// GHASH (NIST SP 800-38D) with a constant-time carry-less multiply built from integer
// multiplications with "holes": each 64-bit operand is split into 4 masked parts holding every
// 4th bit, so the integer products' carries never reach the bit positions that are kept (the low
// 64 bits of a 64x64 product receive at most 16 partial products per position, overflowing only
// past bit 63). The high half of a 64x64 carry-less product is obtained from the bit-reversed
// operands; the 128x128 product uses Karatsuba (3 x 64x64), then a shift-and-xor reduction modulo
// x^128 + x^7 + x^2 + x + 1 in GCM's reflected bit order. Groups of four blocks go through the
// SIMD path (ghash4): the same masked multiply on 32-bit words (8 bits per part, so at most 8
// partial products per position: no carry reaches a kept bit), one block per i32x4 lane
// (lane k multiplies X_k by H^(4-k), Y folded into X_0), two-level Karatsuba (9 word products, the
// high halves again from bit-reversed operands), the four 256-bit lane products summed and
// reduced once: Y' = (Y^X1)H^4 ^ X2 H^3 ^ X3 H^2 ^ X4 H. The rest (up to 3 blocks) goes through
// the scalar 64-bit path in groups of at most 2. Byte/bit reversal of the input uses in-register
// SIMD shuffles (swizzle over constant 16-entry nibble tables held in a register, so no memory
// access depends on data). No tables in memory, no secret-dependent branches.
//
// Key material (GHASH_KEY_SIZE bytes at gk, read-only after ghashInit): for k = 1, 2, at
// (k-1)*192, the operands of H^k for the scalar path: h0, h1, h0^h1 and their bit reversals,
// each as its 4 masked parts (24 x u64); at LANE_KEY (384) the 18 lane vectors of the SIMD path
// (see putLaneKey); at LANE_MASKS (672) its four masks; the rest is zero.
// Running value Y: 16 bytes at y as two native u64 (y[0] = first 8 bytes big-endian, y[8] = last).

import { cryptoScratch, SCR_GHASH_LANES } from "./ct";

/** Bytes of scratch at SCR_GHASH_LANES the SIMD path leaves data-dependent products in. */
export const GHASH_LANES_SCRATCH: i32 = 288;

export const GHASH_KEY_SIZE: i32 = 784;
/** Offset of the SIMD path's key vectors in the key material (18 x v128). */
// @ts-ignore: decorator
@inline const LANE_KEY: usize = 384;
/** Offset of the four i32x4 masks 0x11111111 .. 0x88888888 of the SIMD multiply. */
// @ts-ignore: decorator
@inline const LANE_MASKS: usize = 672;

// @ts-ignore: decorator
@inline const M0: u64 = 0x1111111111111111;
// @ts-ignore: decorator
@inline const M1: u64 = 0x2222222222222222;
// @ts-ignore: decorator
@inline const M2: u64 = 0x4444444444444444;
// @ts-ignore: decorator
@inline const M3: u64 = 0x8888888888888888;

// @ts-ignore: decorator
@inline export function rev64(x: u64): u64 {
  x = ((x >> 1) & 0x5555555555555555) | ((x & 0x5555555555555555) << 1);
  x = ((x >> 2) & 0x3333333333333333) | ((x & 0x3333333333333333) << 2);
  x = ((x >> 4) & 0x0f0f0f0f0f0f0f0f) | ((x & 0x0f0f0f0f0f0f0f0f) << 4);
  return bswap<u64>(x);
}

/** Reverses the bit order inside every byte (nibble lookups in registers via swizzle). */
// @ts-ignore: decorator
@inline export function bitrevBytes(v: v128): v128 {
  const lo = v128.and(v, i8x16.splat(0x0f));
  const hi = v128.and(i16x8.shr_u(v, 4), i8x16.splat(0x0f));
  // TLO[n] = rev4(n) << 4, THI[n] = rev4(n)
  const tlo = i8x16(0x00, -0x80, 0x40, -0x40, 0x20, -0x60, 0x60, -0x20, 0x10, -0x70, 0x50, -0x30, 0x30, -0x50, 0x70, -0x10);
  const thi = i8x16(0x0, 0x8, 0x4, 0xc, 0x2, 0xa, 0x6, 0xe, 0x1, 0x9, 0x5, 0xd, 0x3, 0xb, 0x7, 0xf);
  return v128.or(i8x16.swizzle(tlo, lo), i8x16.swizzle(thi, hi));
}

// @ts-ignore: decorator
@inline function putParts(p: usize, v: u64): void {
  store<u64>(p, v & M0, 0); store<u64>(p, v & M1, 8); store<u64>(p, v & M2, 16); store<u64>(p, v & M3, 24);
}

// @ts-ignore: decorator
@inline function putKey(p: usize, h1: u64, h0: u64): void {
  const h0r = rev64(h0), h1r = rev64(h1);
  putParts(p, h0); putParts(p + 32, h1); putParts(p + 64, h0 ^ h1);
  putParts(p + 96, h0r); putParts(p + 128, h1r); putParts(p + 160, h0r ^ h1r);
}

// @ts-ignore: decorator
@inline function rev32(x: u32): u32 {
  return <u32>(rev64(<u64>x) >> 32);
}

/**
 * Lane `lane` of the SIMD path's key vectors = the 32-bit word operands of the power H^p =
 * (h1:h0) that lane multiplies by: vectors 0..8 are w0, w1, w0^w1, w2, w3, w2^w3, w0^w2, w1^w3,
 * w0^w1^w2^w3 (w0 the low word of h0, w3 the high word of h1), vectors 9..17 their bit reversals.
 */
function putLaneKey(gk: usize, lane: i32, h1: u64, h0: u64): void {
  const w0 = <u32>h0, w1 = <u32>(h0 >> 32), w2 = <u32>h1, w3 = <u32>(h1 >> 32);
  const p = gk + LANE_KEY + <usize>(lane << 2);
  putLaneWord(p, 0, w0); putLaneWord(p, 1, w1); putLaneWord(p, 2, w0 ^ w1);
  putLaneWord(p, 3, w2); putLaneWord(p, 4, w3); putLaneWord(p, 5, w2 ^ w3);
  putLaneWord(p, 6, w0 ^ w2); putLaneWord(p, 7, w1 ^ w3); putLaneWord(p, 8, w0 ^ w1 ^ w2 ^ w3);
}

// @ts-ignore: decorator
@inline function putLaneWord(p: usize, i: i32, w: u32): void {
  store<u32>(p + <usize>(i << 4), w);
  store<u32>(p + <usize>((i + 9) << 4), rev32(w));
}

/**
 * Prepares gk from the hash key H (16 bytes at h, i.e. E_K(0^128)). tmp: 32 bytes of scratch
 * (it ends up holding H^4 and should be wiped by the caller).
 */
export function ghashInit(gk: usize, h: usize, tmp: usize): void {
  memory.fill(gk, 0, <usize>GHASH_KEY_SIZE);
  const h1 = bswap<u64>(load<u64>(h, 0)), h0 = bswap<u64>(load<u64>(h, 8));
  putKey(gk, h1, h0);
  putLaneKey(gk, 3, h1, h0);
  v128.store(gk + LANE_MASKS, i32x4.splat(0x11111111), 0); v128.store(gk + LANE_MASKS, i32x4.splat(0x22222222), 16);
  v128.store(gk + LANE_MASKS, i32x4.splat(0x44444444), 32); v128.store(gk + LANE_MASKS, i32x4.splat(<i32>0x88888888), 48);
  // H^k = (0 ^ H^(k-1)) * H, computed with the single-block path (uses only the H^1 parts)
  for (let k = 2; k <= 4; k++) {
    const y = tmp;
    const src = k == 2 ? h : tmp + 16;
    if (k > 2) { store<u64>(tmp + 16, bswap<u64>(load<u64>(tmp, 0)), 0); store<u64>(tmp + 16, bswap<u64>(load<u64>(tmp, 8)), 8); }
    store<u64>(y, 0, 0); store<u64>(y, 0, 8);
    ghashBlocks(gk, y, src, 1);
    if (k == 2) putKey(gk + 192, load<u64>(y, 0), load<u64>(y, 8));
    putLaneKey(gk, 4 - k, load<u64>(y, 0), load<u64>(y, 8));
  }
}

/** Second result of bmk2 (a module global: per instance, so per worker). */
let bmkHi: u64 = 0;

/**
 * Low 64 bits of the carry-less products x * K and xr * K' where K (K') is given as its 4 masked
 * parts at k (k + 96); returns the first, leaves the second in bmkHi. Deliberately not inlined: as
 * a small leaf function it runs in registers, whereas inlining all of them into one loop body
 * made the engine's register allocator spill most operands to the stack (about 2.3x the
 * instructions per block).
 */
function bmk2(x: u64, xr: u64, k: usize): u64 {
  let x0 = x & M0, x1 = x & M1, x2 = x & M2, x3 = x & M3;
  let y0 = load<u64>(k, 0), y1 = load<u64>(k, 8), y2 = load<u64>(k, 16), y3 = load<u64>(k, 24);
  let z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
  let z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
  let z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
  let z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
  const lo = (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3);
  x0 = xr & M0; x1 = xr & M1; x2 = xr & M2; x3 = xr & M3;
  y0 = load<u64>(k, 96); y1 = load<u64>(k, 104); y2 = load<u64>(k, 112); y3 = load<u64>(k, 120);
  z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
  z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
  z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
  z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
  bmkHi = (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3);
  return lo;
}

/**
 * Low 32 bits of the carry-less products of every i32 lane of x and y (masked integer multiply).
 */
// @ts-ignore: decorator
@inline function clmul32(x: v128, y: v128, gk: usize): v128 {
  // The masks come from the key material: a load is one instruction, a constant three.
  const mk = gk + LANE_MASKS;
  const m0 = v128.load(mk, 0), m1 = v128.load(mk, 16), m2 = v128.load(mk, 32), m3 = v128.load(mk, 48);
  const x0 = v128.and(x, m0), x1 = v128.and(x, m1), x2 = v128.and(x, m2), x3 = v128.and(x, m3);
  const y0 = v128.and(y, m0), y1 = v128.and(y, m1), y2 = v128.and(y, m2), y3 = v128.and(y, m3);
  // Written as one long chain: the engine orders pure operations by their distance from the
  // result, so a chain keeps each product next to its use (a balanced tree of xors made it
  // compute all 16 products first and spill them).
  let r = v128.and(v128.xor(v128.xor(v128.xor(i32x4.mul(x0, y0), i32x4.mul(x1, y3)), i32x4.mul(x2, y2)), i32x4.mul(x3, y1)), m0);
  r = v128.or(r, v128.and(v128.xor(v128.xor(v128.xor(i32x4.mul(x0, y1), i32x4.mul(x1, y0)), i32x4.mul(x2, y3)), i32x4.mul(x3, y2)), m1));
  r = v128.or(r, v128.and(v128.xor(v128.xor(v128.xor(i32x4.mul(x0, y2), i32x4.mul(x1, y1)), i32x4.mul(x2, y0)), i32x4.mul(x3, y3)), m2));
  return v128.or(r, v128.and(v128.xor(v128.xor(v128.xor(i32x4.mul(x0, y3), i32x4.mul(x1, y2)), i32x4.mul(x2, y1)), i32x4.mul(x3, y0)), m3));
}

/** Low word of the lane products x * key vector i (gk + LANE_KEY + 16 i). */
// @ts-ignore: decorator
@inline function lo(x: v128, gk: usize, i: i32): v128 {
  return clmul32(x, v128.load(gk + LANE_KEY + <usize>(i << 4)), gk);
}

/**
 * The high word of the lane products x * key vector i, bit-reversed and not yet shifted: from the
 * bit-reversed operands xr and key vector 9 + i. high = rev32(this) >> 1; as that is linear, the
 * reversal is left until the lanes and the Karatsuba terms are summed (ghash4).
 */
// @ts-ignore: decorator
@inline function hiRev(xr: v128, gk: usize, i: i32): v128 {
  return clmul32(xr, v128.load(gk + LANE_KEY + <usize>((i + 9) << 4)), gk);
}

/** Reverses the bit order of every i32 lane. */
// @ts-ignore: decorator
@inline function rev32x4(v: v128): v128 {
  const b = bitrevBytes(v);
  return i8x16.shuffle(b, b, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

/** The lane sums of a, b, c, d (each the XOR of its four i32 lanes) as the lanes of one vector. */
// @ts-ignore: decorator
@inline function laneSums(a: v128, b: v128, c: v128, d: v128): v128 {
  const u = v128.xor(zip(a, b, false), zip(a, b, true));
  const v = v128.xor(zip(c, d, false), zip(c, d, true));
  return v128.xor(lanesOf(u, v, false), lanesOf(u, v, true));
}

/** 4x4 transpose of i32 lanes, first step: words 0, 1 (hi = false) or 2, 3 of blocks x, y interleaved. */
// @ts-ignore: decorator
@inline function zip(x: v128, y: v128, hi: bool): v128 {
  return hi
    ? i8x16.shuffle(x, y, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31)
    : i8x16.shuffle(x, y, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
}

/** Second step: the 64-bit halves (hi = false: low) of two zip results side by side. */
// @ts-ignore: decorator
@inline function lanesOf(t01: v128, t23: v128, high: bool): v128 {
  return high
    ? i8x16.shuffle(t01, t23, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31)
    : i8x16.shuffle(t01, t23, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

// @ts-ignore: decorator
@inline function byteRev(v: v128): v128 {
  return i8x16.shuffle(v, v, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
}

/**
 * Absorbs 4 blocks at m into Y (two u64 at y): the SIMD path described at the top. Word vector
 * a_i holds in lane k word i (a_0 lowest) of block k as a 128-bit integer; r_i its bit reversal.
 * Each 64x64 Karatsuba product gives low words l (exact) and reversed high words c; the two sets
 * are combined separately and the c set un-reversed once, after the lanes are summed.
 */
function ghash4(gk: usize, y: usize, m: usize): void {
  // Y (as a block) folded into the first block.
  const yb = byteRev(i64x2.replace_lane(i64x2.splat(load<u64>(y, 8)), 1, load<u64>(y, 0)));
  const v0 = v128.xor(v128.load(m, 0), yb), v1 = v128.load(m, 16), v2 = v128.load(m, 32), v3 = v128.load(m, 48);
  // As integers (byte-reversed), transposed.
  const b0 = byteRev(v0), b1 = byteRev(v1), b2 = byteRev(v2), b3 = byteRev(v3);
  let t0 = zip(b0, b1, false), t1 = zip(b2, b3, false), t2 = zip(b0, b1, true), t3 = zip(b2, b3, true);
  const a0 = lanesOf(t0, t1, false), a1 = lanesOf(t0, t1, true), a2 = lanesOf(t2, t3, false), a3 = lanesOf(t2, t3, true);
  // Bit reversals: bitrevBytes of a raw block holds rev32 of its words in the opposite lane order.
  const e0 = bitrevBytes(v0);
  const e1 = bitrevBytes(v1), e2 = bitrevBytes(v2), e3 = bitrevBytes(v3);
  t0 = zip(e0, e1, false); t1 = zip(e2, e3, false); t2 = zip(e0, e1, true); t3 = zip(e2, e3, true);
  const r3 = lanesOf(t0, t1, false), r2 = lanesOf(t0, t1, true), r1 = lanesOf(t2, t3, false), r0 = lanesOf(t2, t3, true);
  // The 18 word products (9 two-level Karatsuba terms, low words and reversed high words), each
  // stored to scratch as soon as it is done: the store fixes where the engine computes it, so
  // one product's temporaries are dead before the next starts (computed as pure values, they
  // were interleaved and spilled).
  const sl = cryptoScratch + SCR_GHASH_LANES;
  const s0 = v128.xor(a0, a2), s1 = v128.xor(a1, a3), q0 = v128.xor(r0, r2), q1 = v128.xor(r1, r3);
  v128.store(sl, lo(a0, gk, 0), 0); v128.store(sl, lo(a1, gk, 1), 16); v128.store(sl, lo(v128.xor(a0, a1), gk, 2), 32);
  v128.store(sl, lo(a2, gk, 3), 48); v128.store(sl, lo(a3, gk, 4), 64); v128.store(sl, lo(v128.xor(a2, a3), gk, 5), 80);
  v128.store(sl, lo(s0, gk, 6), 96); v128.store(sl, lo(s1, gk, 7), 112); v128.store(sl, lo(v128.xor(s0, s1), gk, 8), 128);
  v128.store(sl, hiRev(r0, gk, 0), 144); v128.store(sl, hiRev(r1, gk, 1), 160); v128.store(sl, hiRev(v128.xor(r0, r1), gk, 2), 176);
  v128.store(sl, hiRev(r2, gk, 3), 192); v128.store(sl, hiRev(r3, gk, 4), 208); v128.store(sl, hiRev(v128.xor(r2, r3), gk, 5), 224);
  v128.store(sl, hiRev(q0, gk, 6), 240); v128.store(sl, hiRev(q1, gk, 7), 256); v128.store(sl, hiRev(v128.xor(q0, q1), gk, 8), 272);
  // 256-bit sum by words (term P0..P8 = L0, L1, Lm, U0, U1, Um, M0, M1, Mm): 0: P0, 1: P0^P1^P2,
  // 2: P0^P1^P3^P6, 3: all nine, 4: P1^P3^P4^P7, 5: P3^P4^P5, 6: P4, 7: 0; the reversed high words
  // the same one word up. Lanes summed, the high words un-reversed once.
  const p0 = v128.load(sl, 0), p1 = v128.load(sl, 16), p2 = v128.load(sl, 32), p3 = v128.load(sl, 48), p4 = v128.load(sl, 64);
  const p5 = v128.load(sl, 80), p6 = v128.load(sl, 96), p7 = v128.load(sl, 112), p8 = v128.load(sl, 128);
  const p01 = v128.xor(p0, p1), p34 = v128.xor(p3, p4);
  const sl0 = laneSums(p0, v128.xor(p01, p2), v128.xor(p01, v128.xor(p3, p6)), v128.xor(v128.xor(v128.xor(p01, p2), v128.xor(p34, p5)), v128.xor(v128.xor(p6, p7), p8)));
  const sl1 = laneSums(v128.xor(p34, v128.xor(p1, p7)), v128.xor(p34, p5), p4, i64x2.splat(0));
  const c0 = v128.load(sl, 144), c1 = v128.load(sl, 160), c2 = v128.load(sl, 176), c3 = v128.load(sl, 192), c4 = v128.load(sl, 208);
  const c5 = v128.load(sl, 224), c6 = v128.load(sl, 240), c7 = v128.load(sl, 256), c8 = v128.load(sl, 272);
  const c01 = v128.xor(c0, c1), c34 = v128.xor(c3, c4);
  const sc0 = laneSums(i64x2.splat(0), c0, v128.xor(c01, c2), v128.xor(c01, v128.xor(c3, c6)));
  const sc1 = laneSums(v128.xor(v128.xor(v128.xor(c01, c2), v128.xor(c34, c5)), v128.xor(v128.xor(c6, c7), c8)), v128.xor(c34, v128.xor(c1, c7)), v128.xor(c34, c5), c4);
  const wl = v128.xor(sl0, i32x4.shr_u(rev32x4(sc0), 1)), wh = v128.xor(sl1, i32x4.shr_u(rev32x4(sc1), 1));
  reduce(y, i64x2.extract_lane(wl, 0), i64x2.extract_lane(wl, 1), i64x2.extract_lane(wh, 0), i64x2.extract_lane(wh, 1));
}

/** Y = the 256-bit product v3:v2:v1:v0 shifted left by one (reflected convention), reduced. */
// @ts-ignore: decorator
@inline function reduce(y: usize, v0: u64, v1: u64, v2: u64, v3: u64): void {
  v3 = (v3 << 1) | (v2 >> 63);
  v2 = (v2 << 1) | (v1 >> 63);
  v1 = (v1 << 1) | (v0 >> 63);
  v0 = v0 << 1;
  v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
  v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
  v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
  v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
  store<u64>(y, v3, 0); store<u64>(y, v2, 8);
}

/** Y = (Y ^ X_i) * H for nblocks 16-byte blocks at m. */
export function ghashBlocks(gk: usize, y: usize, m: usize, nblocks: i32): void {
  while (nblocks >= 4) {
    ghash4(gk, y, m);
    m += 64; nblocks -= 4;
  }
  while (nblocks > 0) {
    // Up to 2 blocks aggregated (X1 * H^2 ^ X2 * H, Y folded into X1), one reduction.
    const n = nblocks >= 2 ? 2 : nblocks;
    let z0: u64 = 0, z1: u64 = 0, z2: u64 = 0, z0h: u64 = 0, z1h: u64 = 0, z2h: u64 = 0;
    let kb = gk + <usize>((n - 1) * 192);
    let fy1 = load<u64>(y, 0), fy0 = load<u64>(y, 8);
    let fy1r = rev64(fy1), fy0r = rev64(fy0);
    for (let j = 0; j < n; j++) {
      const v = v128.load(m);
      const bs = i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
      const br = bitrevBytes(v);
      const a1 = i64x2.extract_lane(bs, 0) ^ fy1, a0 = i64x2.extract_lane(bs, 1) ^ fy0;
      const a1r = i64x2.extract_lane(br, 0) ^ fy1r, a0r = i64x2.extract_lane(br, 1) ^ fy0r;
      fy1 = 0; fy0 = 0; fy1r = 0; fy0r = 0;
      z0 ^= bmk2(a0, a0r, kb); z0h ^= bmkHi;
      z1 ^= bmk2(a1, a1r, kb + 32); z1h ^= bmkHi;
      z2 ^= bmk2(a0 ^ a1, a0r ^ a1r, kb + 64); z2h ^= bmkHi;
      kb -= 192; m += 16;
    }
    z2 ^= z0 ^ z1;
    z2h ^= z0h ^ z1h;
    const p0h = rev64(z0h) >> 1, p1h = rev64(z1h) >> 1, p2h = rev64(z2h) >> 1;
    reduce(y, z0, p0h ^ z2, z1 ^ p2h, p1h);
    nblocks -= n;
  }
}

/** Absorbs len bytes at m (a final partial block is zero-padded); pad is 16 bytes of scratch. */
export function ghashUpdate(gk: usize, y: usize, m: usize, len: i32, pad: usize): void {
  const full = len >> 4;
  if (full > 0) ghashBlocks(gk, y, m, full);
  const rem = len & 15;
  if (rem > 0) {
    store<u64>(pad, 0, 0); store<u64>(pad, 0, 8);
    memory.copy(pad, m + <usize>(full << 4), <usize>rem);
    ghashBlocks(gk, y, pad, 1);
  }
}
