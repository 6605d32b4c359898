// Constant-time AES-128/192/256 (FIPS-197), bitsliced over v128: 8 blocks are processed at once.
//
// Representation: eight v128 "bit planes" q0..q7; plane i holds bit i of every state byte, with
// byte lane k of the plane = AES state byte (row k>>2, column k&3): rows in 32-bit lanes, the
// transpose of FIPS-197's column-major block (one byte shuffle per block in and out, and on the
// round keys in aesInit); bit b of that lane = block b. The transposition into planes is a 3-stage
// SWAPMOVE. ShiftRows is one byte shuffle per plane; MixColumns' row rotations are 32-bit lane
// rotations (one lane shuffle each, where the column-major order needed shifts or two word
// shuffles: ~10% fewer instructions per round); SubBytes is the Boyar-Peralta S-box circuit
// (AND/XOR/XNOR only) evaluated on the planes; the inverse S-box is A^-1 . S . A^-1 (A = AES
// affine map) and InvMixColumns = MixColumns . (05 00 04 00). There are no tables and no
// secret-dependent branches or addresses, including in the key schedule (SubWord goes through
// the same circuit).
//
// Context (AES_CTX_SIZE bytes at ctx, 16-byte aligned, read-only after aesInit):
//   0   u32 number of rounds (10 / 12 / 14)
//   16  (rounds + 1) x 8 planes x 16 B: bitsliced round keys (each lane 0x00 / 0xFF)
//       (keys 1..rounds with the S-box constant 0x63 folded in, see aesInit)
import { cryptoScratch, SCR_AES_STATE, SCR_AES_BLOCKS, SCR_AES_OUT, SCR_AES_KEYS, zeroize } from "./ct";

export const AES_CTX_SIZE: i32 = 16 + 15 * 128;
/** Blocks processed per call of the bitsliced core. */
export const AES_PARALLEL_BLOCKS: i32 = 8;

/** MixColumns' rotation by one row (row i <- row i+1): with rows in 32-bit lanes, one lane shuffle. */
// @ts-ignore: decorator
@inline function rotRows1(x: v128): v128 {
  return i8x16.shuffle(x, x, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
}

/** Rotation by two rows (row i <- row i+2): the two 64-bit halves swapped. */
// @ts-ignore: decorator
@inline function rotRows2(x: v128): v128 {
  return i8x16.shuffle(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
}

/** The state's byte order: FIPS-197 column-major block <-> row-major planes (self-inverse). */
// @ts-ignore: decorator
@inline function transpose(x: v128): v128 {
  return i8x16.shuffle(x, x, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
}

// @ts-ignore: decorator
@inline function encCore(ctx: usize, b0: v128, b1: v128, b2: v128, b3: v128, b4: v128, b5: v128, b6: v128, b7: v128, src: usize, dst: usize, xorMode: bool): void {
  const nr = load<u32>(ctx);
  let rk = ctx + 16;
  let q0 = transpose(b0), q1 = transpose(b1), q2 = transpose(b2), q3 = transpose(b3);
  let q4 = transpose(b4), q5 = transpose(b5), q6 = transpose(b6), q7 = transpose(b7);
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 1), q1), i8x16.splat(0x55)); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 1), q3), i8x16.splat(0x55)); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 1), q5), i8x16.splat(0x55)); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q6, 1), q7), i8x16.splat(0x55)); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 2), q2), i8x16.splat(0x33)); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 2), q3), i8x16.splat(0x33)); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 2), q6), i8x16.splat(0x33)); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q5, 2), q7), i8x16.splat(0x33)); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 4), q4), i8x16.splat(0x0f)); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 4), q5), i8x16.splat(0x0f)); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 4), q6), i8x16.splat(0x0f)); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q3, 4), q7), i8x16.splat(0x0f)); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4)); }
  q0 = v128.xor(q0, v128.load(rk, 0));
  q1 = v128.xor(q1, v128.load(rk, 16));
  q2 = v128.xor(q2, v128.load(rk, 32));
  q3 = v128.xor(q3, v128.load(rk, 48));
  q4 = v128.xor(q4, v128.load(rk, 64));
  q5 = v128.xor(q5, v128.load(rk, 80));
  q6 = v128.xor(q6, v128.load(rk, 96));
  q7 = v128.xor(q7, v128.load(rk, 112));
  // The (Inv)ShiftRows byte permutation goes through a mask loaded from scratch: with a
  // literal mask the engine rebuilds the constant before every shuffle (4 extra instructions
  // each, as the vector registers are all in use).
  const srp = cryptoScratch + SCR_AES_STATE + 0;
  v128.store(srp, i8x16(0, 1, 2, 3, 5, 6, 7, 4, 10, 11, 8, 9, 15, 12, 13, 14));
  for (let r: u32 = 1; r <= nr; r++) {
    const srm = v128.load(srp);
    {
      const u0 = q7;
      const u1 = q6;
      const u2 = q5;
      const u3 = q4;
      const u4 = q3;
      const u5 = q2;
      const u6 = q1;
      const u7 = q0;
      const t1 = v128.xor(u0, u3);
      const t2 = v128.xor(u0, u5);
      const t3 = v128.xor(u0, u6);
      const t4 = v128.xor(u3, u5);
      const t5 = v128.xor(u4, u6);
      const t6 = v128.xor(t1, t5);
      const t7 = v128.xor(u1, u2);
      const t8 = v128.xor(u7, t6);
      const t9 = v128.xor(u7, t7);
      const t10 = v128.xor(t6, t7);
      const t11 = v128.xor(u1, u5);
      const t12 = v128.xor(u2, u5);
      const t13 = v128.xor(t3, t4);
      const t14 = v128.xor(t6, t11);
      const t15 = v128.xor(t5, t11);
      const t16 = v128.xor(t5, t12);
      const t17 = v128.xor(t9, t16);
      const t18 = v128.xor(u3, u7);
      const t19 = v128.xor(t7, t18);
      const t20 = v128.xor(t1, t19);
      const t21 = v128.xor(u6, u7);
      const t22 = v128.xor(t7, t21);
      const t23 = v128.xor(t2, t22);
      const t24 = v128.xor(t2, t10);
      const t25 = v128.xor(t20, t17);
      const t26 = v128.xor(t3, t16);
      const t27 = v128.xor(t1, t12);
      const m1 = v128.and(t13, t6);
      const m2 = v128.and(t23, t8);
      const m3 = v128.xor(t14, m1);
      const m4 = v128.and(t19, u7);
      const m5 = v128.xor(m4, m1);
      const m6 = v128.and(t3, t16);
      const m7 = v128.and(t22, t9);
      const m8 = v128.xor(t26, m6);
      const m9 = v128.and(t20, t17);
      const m10 = v128.xor(m9, m6);
      const m11 = v128.and(t1, t15);
      const m12 = v128.and(t4, t27);
      const m13 = v128.xor(m12, m11);
      const m14 = v128.and(t2, t10);
      const m15 = v128.xor(m14, m11);
      const m16 = v128.xor(m3, m2);
      const m17 = v128.xor(m5, t24);
      const m18 = v128.xor(m8, m7);
      const m19 = v128.xor(m10, m15);
      const m20 = v128.xor(m16, m13);
      const m21 = v128.xor(m17, m15);
      const m22 = v128.xor(m18, m13);
      const m23 = v128.xor(m19, t25);
      const m24 = v128.xor(m22, m23);
      const m25 = v128.and(m22, m20);
      const m26 = v128.xor(m21, m25);
      const m27 = v128.xor(m20, m21);
      const m28 = v128.xor(m23, m25);
      const m29 = v128.and(m28, m27);
      const m30 = v128.and(m26, m24);
      const m31 = v128.and(m20, m23);
      const m32 = v128.and(m27, m31);
      const m33 = v128.xor(m27, m25);
      const m34 = v128.and(m21, m22);
      const m35 = v128.and(m24, m34);
      const m36 = v128.xor(m24, m25);
      const m37 = v128.xor(m21, m29);
      const m38 = v128.xor(m32, m33);
      const m39 = v128.xor(m23, m30);
      const m40 = v128.xor(m35, m36);
      const m41 = v128.xor(m38, m40);
      const m42 = v128.xor(m37, m39);
      const m43 = v128.xor(m37, m38);
      const m44 = v128.xor(m39, m40);
      const m45 = v128.xor(m42, m41);
      const m46 = v128.and(m44, t6);
      const m47 = v128.and(m40, t8);
      const m48 = v128.and(m39, u7);
      const m49 = v128.and(m43, t16);
      const m50 = v128.and(m38, t9);
      const m51 = v128.and(m37, t17);
      const m52 = v128.and(m42, t15);
      const m53 = v128.and(m45, t27);
      const m54 = v128.and(m41, t10);
      const m55 = v128.and(m44, t13);
      const m56 = v128.and(m40, t23);
      const m57 = v128.and(m39, t19);
      const m58 = v128.and(m43, t3);
      const m59 = v128.and(m38, t22);
      const m60 = v128.and(m37, t20);
      const m61 = v128.and(m42, t1);
      const m62 = v128.and(m45, t4);
      const m63 = v128.and(m41, t2);
      const l0 = v128.xor(m61, m62);
      const l1 = v128.xor(m50, m56);
      const l2 = v128.xor(m46, m48);
      const l3 = v128.xor(m47, m55);
      const l4 = v128.xor(m54, m58);
      const l5 = v128.xor(m49, m61);
      const l6 = v128.xor(m62, l5);
      const l7 = v128.xor(m46, l3);
      const l8 = v128.xor(m51, m59);
      const l9 = v128.xor(m52, m53);
      const l10 = v128.xor(m53, l4);
      const l11 = v128.xor(m60, l2);
      const l12 = v128.xor(m48, m51);
      const l13 = v128.xor(m50, l0);
      const l14 = v128.xor(m52, m61);
      const l15 = v128.xor(m55, l1);
      const l16 = v128.xor(m56, l0);
      const l17 = v128.xor(m57, l1);
      const l18 = v128.xor(m58, l8);
      const l19 = v128.xor(m63, l4);
      const l20 = v128.xor(l0, l1);
      const l21 = v128.xor(l1, l7);
      const l22 = v128.xor(l3, l12);
      const l23 = v128.xor(l18, l2);
      const l24 = v128.xor(l15, l9);
      const l25 = v128.xor(l6, l10);
      const l26 = v128.xor(l7, l9);
      const l27 = v128.xor(l8, l10);
      const l28 = v128.xor(l11, l14);
      const l29 = v128.xor(l11, l17);
      const s0 = v128.xor(l6, l24);
      const s1 = v128.xor(l16, l26);
      const s2 = v128.xor(l19, l28);
      const s3 = v128.xor(l6, l21);
      const s4 = v128.xor(l20, l22);
      const s5 = v128.xor(l25, l29);
      const s6 = v128.xor(l13, l27);
      const s7 = v128.xor(l6, l23);
      q7 = s0;
      q6 = s1;
      q5 = s2;
      q4 = s3;
      q3 = s4;
      q2 = s5;
      q1 = s6;
      q0 = s7;
    }
    q0 = i8x16.swizzle(q0, srm);
    q1 = i8x16.swizzle(q1, srm);
    q2 = i8x16.swizzle(q2, srm);
    q3 = i8x16.swizzle(q3, srm);
    q4 = i8x16.swizzle(q4, srm);
    q5 = i8x16.swizzle(q5, srm);
    q6 = i8x16.swizzle(q6, srm);
    q7 = i8x16.swizzle(q7, srm);
    if (r != nr) {
      {
        const a0 = rotRows1(q0);
        const a1 = rotRows1(q1);
        const a2 = rotRows1(q2);
        const a3 = rotRows1(q3);
        const a4 = rotRows1(q4);
        const a5 = rotRows1(q5);
        const a6 = rotRows1(q6);
        const a7 = rotRows1(q7);
        const t0 = v128.xor(q0, a0);
        const t1 = v128.xor(q1, a1);
        const t2 = v128.xor(q2, a2);
        const t3 = v128.xor(q3, a3);
        const t4 = v128.xor(q4, a4);
        const t5 = v128.xor(q5, a5);
        const t6 = v128.xor(q6, a6);
        const t7 = v128.xor(q7, a7);
        q0 = v128.xor(v128.xor(t7, a0), rotRows2(t0));
        q1 = v128.xor(v128.xor(v128.xor(t0, t7), a1), rotRows2(t1));
        q2 = v128.xor(v128.xor(t1, a2), rotRows2(t2));
        q3 = v128.xor(v128.xor(v128.xor(t2, t7), a3), rotRows2(t3));
        q4 = v128.xor(v128.xor(v128.xor(t3, t7), a4), rotRows2(t4));
        q5 = v128.xor(v128.xor(t4, a5), rotRows2(t5));
        q6 = v128.xor(v128.xor(t5, a6), rotRows2(t6));
        q7 = v128.xor(v128.xor(t6, a7), rotRows2(t7));
      }
    }
    rk += 128;
  q0 = v128.xor(q0, v128.load(rk, 0));
  q1 = v128.xor(q1, v128.load(rk, 16));
  q2 = v128.xor(q2, v128.load(rk, 32));
  q3 = v128.xor(q3, v128.load(rk, 48));
  q4 = v128.xor(q4, v128.load(rk, 64));
  q5 = v128.xor(q5, v128.load(rk, 80));
  q6 = v128.xor(q6, v128.load(rk, 96));
  q7 = v128.xor(q7, v128.load(rk, 112));
  }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 1), q1), i8x16.splat(0x55)); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 1), q3), i8x16.splat(0x55)); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 1), q5), i8x16.splat(0x55)); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q6, 1), q7), i8x16.splat(0x55)); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 2), q2), i8x16.splat(0x33)); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 2), q3), i8x16.splat(0x33)); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 2), q6), i8x16.splat(0x33)); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q5, 2), q7), i8x16.splat(0x33)); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 4), q4), i8x16.splat(0x0f)); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 4), q5), i8x16.splat(0x0f)); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 4), q6), i8x16.splat(0x0f)); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q3, 4), q7), i8x16.splat(0x0f)); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4)); }
  q0 = transpose(q0); q1 = transpose(q1); q2 = transpose(q2); q3 = transpose(q3);
  q4 = transpose(q4); q5 = transpose(q5); q6 = transpose(q6); q7 = transpose(q7);
  if (xorMode) {
    q0 = v128.xor(q0, v128.load(src, 0)); q1 = v128.xor(q1, v128.load(src, 16));
    q2 = v128.xor(q2, v128.load(src, 32)); q3 = v128.xor(q3, v128.load(src, 48));
    q4 = v128.xor(q4, v128.load(src, 64)); q5 = v128.xor(q5, v128.load(src, 80));
    q6 = v128.xor(q6, v128.load(src, 96)); q7 = v128.xor(q7, v128.load(src, 112));
  }
  v128.store(dst, q0, 0); v128.store(dst, q1, 16); v128.store(dst, q2, 32); v128.store(dst, q3, 48);
  v128.store(dst, q4, 64); v128.store(dst, q5, 80); v128.store(dst, q6, 96); v128.store(dst, q7, 112);
}

/** Encrypts 8 consecutive 16-byte blocks (128 bytes) from inp to out (may alias). */
export function aesEncrypt8(ctx: usize, inp: usize, out: usize): void {
  encCore(ctx, v128.load(inp, 0), v128.load(inp, 16), v128.load(inp, 32), v128.load(inp, 48),
    v128.load(inp, 64), v128.load(inp, 80), v128.load(inp, 96), v128.load(inp, 112), 0, out, false);
}

// @ts-ignore: decorator
@inline function ctrBlock(base: v128, ctr: u32): v128 {
  return i32x4.replace_lane(base, 3, bswap<u32>(ctr));
}

/**
 * CTR mode over 8 blocks with counter blocks nonce(12) || BE32(ctr + j), j = 0..7 (GCM inc32).
 * xorMode != 0: dst = src ^ keystream (128 bytes); else dst = keystream.
 */
export function aesCtr8(ctx: usize, nonce: usize, ctr: u32, src: usize, dst: usize, xorMode: i32): void {
  const base = v128.load(nonce); // lane 3 (bytes 12..15) is replaced
  const c0 = ctrBlock(base, ctr), c1 = ctrBlock(base, ctr + 1), c2 = ctrBlock(base, ctr + 2), c3 = ctrBlock(base, ctr + 3);
  const c4 = ctrBlock(base, ctr + 4), c5 = ctrBlock(base, ctr + 5), c6 = ctrBlock(base, ctr + 6), c7 = ctrBlock(base, ctr + 7);
  if (xorMode) encCore(ctx, c0, c1, c2, c3, c4, c5, c6, c7, src, dst, true);
  else encCore(ctx, c0, c1, c2, c3, c4, c5, c6, c7, 0, dst, false);
}

/** Decrypts 8 consecutive blocks (128 bytes) from inp to out (may alias). */
export function aesDecrypt8(ctx: usize, inp: usize, out: usize): void {
  const nr = load<u32>(ctx);
  let rk = ctx + 16 + <usize>(nr * 128);
  let q0 = transpose(v128.load(inp, 0)), q1 = transpose(v128.load(inp, 16)), q2 = transpose(v128.load(inp, 32)), q3 = transpose(v128.load(inp, 48));
  let q4 = transpose(v128.load(inp, 64)), q5 = transpose(v128.load(inp, 80)), q6 = transpose(v128.load(inp, 96)), q7 = transpose(v128.load(inp, 112));
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 1), q1), i8x16.splat(0x55)); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 1), q3), i8x16.splat(0x55)); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 1), q5), i8x16.splat(0x55)); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q6, 1), q7), i8x16.splat(0x55)); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 2), q2), i8x16.splat(0x33)); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 2), q3), i8x16.splat(0x33)); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 2), q6), i8x16.splat(0x33)); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q5, 2), q7), i8x16.splat(0x33)); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 4), q4), i8x16.splat(0x0f)); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 4), q5), i8x16.splat(0x0f)); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 4), q6), i8x16.splat(0x0f)); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q3, 4), q7), i8x16.splat(0x0f)); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4)); }
  q0 = v128.xor(q0, v128.load(rk, 0));
  q1 = v128.xor(q1, v128.load(rk, 16));
  q2 = v128.xor(q2, v128.load(rk, 32));
  q3 = v128.xor(q3, v128.load(rk, 48));
  q4 = v128.xor(q4, v128.load(rk, 64));
  q5 = v128.xor(q5, v128.load(rk, 80));
  q6 = v128.xor(q6, v128.load(rk, 96));
  q7 = v128.xor(q7, v128.load(rk, 112));
  // The (Inv)ShiftRows byte permutation goes through a mask loaded from scratch: with a
  // literal mask the engine rebuilds the constant before every shuffle (4 extra instructions
  // each, as the vector registers are all in use).
  const srp = cryptoScratch + SCR_AES_STATE + 16;
  v128.store(srp, i8x16(0, 1, 2, 3, 7, 4, 5, 6, 10, 11, 8, 9, 13, 14, 15, 12));
  for (let r = <i32>nr - 1; r >= 0; r--) {
    const srm = v128.load(srp);
    q0 = i8x16.swizzle(q0, srm);
    q1 = i8x16.swizzle(q1, srm);
    q2 = i8x16.swizzle(q2, srm);
    q3 = i8x16.swizzle(q3, srm);
    q4 = i8x16.swizzle(q4, srm);
    q5 = i8x16.swizzle(q5, srm);
    q6 = i8x16.swizzle(q6, srm);
    q7 = i8x16.swizzle(q7, srm);
    {
      const y0 = q0;
      const y1 = q1;
      const y2 = q2;
      const y3 = q3;
      const y4 = q4;
      const y5 = q5;
      const y6 = q6;
      const y7 = q7;
      q0 = v128.xor(v128.xor(y2, y5), y7);
      q1 = v128.xor(v128.xor(y3, y6), y0);
      q2 = v128.xor(v128.xor(y4, y7), y1);
      q3 = v128.xor(v128.xor(y5, y0), y2);
      q4 = v128.xor(v128.xor(y6, y1), y3);
      q5 = v128.xor(v128.xor(y7, y2), y4);
      q6 = v128.xor(v128.xor(y0, y3), y5);
      q7 = v128.xor(v128.xor(y1, y4), y6);
    }
    {
      const u0 = q7;
      const u1 = q6;
      const u2 = q5;
      const u3 = q4;
      const u4 = q3;
      const u5 = q2;
      const u6 = q1;
      const u7 = q0;
      const t1 = v128.xor(u0, u3);
      const t2 = v128.xor(u0, u5);
      const t3 = v128.xor(u0, u6);
      const t4 = v128.xor(u3, u5);
      const t5 = v128.xor(u4, u6);
      const t6 = v128.xor(t1, t5);
      const t7 = v128.xor(u1, u2);
      const t8 = v128.xor(u7, t6);
      const t9 = v128.xor(u7, t7);
      const t10 = v128.xor(t6, t7);
      const t11 = v128.xor(u1, u5);
      const t12 = v128.xor(u2, u5);
      const t13 = v128.xor(t3, t4);
      const t14 = v128.xor(t6, t11);
      const t15 = v128.xor(t5, t11);
      const t16 = v128.xor(t5, t12);
      const t17 = v128.xor(t9, t16);
      const t18 = v128.xor(u3, u7);
      const t19 = v128.xor(t7, t18);
      const t20 = v128.xor(t1, t19);
      const t21 = v128.xor(u6, u7);
      const t22 = v128.xor(t7, t21);
      const t23 = v128.xor(t2, t22);
      const t24 = v128.xor(t2, t10);
      const t25 = v128.xor(t20, t17);
      const t26 = v128.xor(t3, t16);
      const t27 = v128.xor(t1, t12);
      const m1 = v128.and(t13, t6);
      const m2 = v128.and(t23, t8);
      const m3 = v128.xor(t14, m1);
      const m4 = v128.and(t19, u7);
      const m5 = v128.xor(m4, m1);
      const m6 = v128.and(t3, t16);
      const m7 = v128.and(t22, t9);
      const m8 = v128.xor(t26, m6);
      const m9 = v128.and(t20, t17);
      const m10 = v128.xor(m9, m6);
      const m11 = v128.and(t1, t15);
      const m12 = v128.and(t4, t27);
      const m13 = v128.xor(m12, m11);
      const m14 = v128.and(t2, t10);
      const m15 = v128.xor(m14, m11);
      const m16 = v128.xor(m3, m2);
      const m17 = v128.xor(m5, t24);
      const m18 = v128.xor(m8, m7);
      const m19 = v128.xor(m10, m15);
      const m20 = v128.xor(m16, m13);
      const m21 = v128.xor(m17, m15);
      const m22 = v128.xor(m18, m13);
      const m23 = v128.xor(m19, t25);
      const m24 = v128.xor(m22, m23);
      const m25 = v128.and(m22, m20);
      const m26 = v128.xor(m21, m25);
      const m27 = v128.xor(m20, m21);
      const m28 = v128.xor(m23, m25);
      const m29 = v128.and(m28, m27);
      const m30 = v128.and(m26, m24);
      const m31 = v128.and(m20, m23);
      const m32 = v128.and(m27, m31);
      const m33 = v128.xor(m27, m25);
      const m34 = v128.and(m21, m22);
      const m35 = v128.and(m24, m34);
      const m36 = v128.xor(m24, m25);
      const m37 = v128.xor(m21, m29);
      const m38 = v128.xor(m32, m33);
      const m39 = v128.xor(m23, m30);
      const m40 = v128.xor(m35, m36);
      const m41 = v128.xor(m38, m40);
      const m42 = v128.xor(m37, m39);
      const m43 = v128.xor(m37, m38);
      const m44 = v128.xor(m39, m40);
      const m45 = v128.xor(m42, m41);
      const m46 = v128.and(m44, t6);
      const m47 = v128.and(m40, t8);
      const m48 = v128.and(m39, u7);
      const m49 = v128.and(m43, t16);
      const m50 = v128.and(m38, t9);
      const m51 = v128.and(m37, t17);
      const m52 = v128.and(m42, t15);
      const m53 = v128.and(m45, t27);
      const m54 = v128.and(m41, t10);
      const m55 = v128.and(m44, t13);
      const m56 = v128.and(m40, t23);
      const m57 = v128.and(m39, t19);
      const m58 = v128.and(m43, t3);
      const m59 = v128.and(m38, t22);
      const m60 = v128.and(m37, t20);
      const m61 = v128.and(m42, t1);
      const m62 = v128.and(m45, t4);
      const m63 = v128.and(m41, t2);
      const l0 = v128.xor(m61, m62);
      const l1 = v128.xor(m50, m56);
      const l2 = v128.xor(m46, m48);
      const l3 = v128.xor(m47, m55);
      const l4 = v128.xor(m54, m58);
      const l5 = v128.xor(m49, m61);
      const l6 = v128.xor(m62, l5);
      const l7 = v128.xor(m46, l3);
      const l8 = v128.xor(m51, m59);
      const l9 = v128.xor(m52, m53);
      const l10 = v128.xor(m53, l4);
      const l11 = v128.xor(m60, l2);
      const l12 = v128.xor(m48, m51);
      const l13 = v128.xor(m50, l0);
      const l14 = v128.xor(m52, m61);
      const l15 = v128.xor(m55, l1);
      const l16 = v128.xor(m56, l0);
      const l17 = v128.xor(m57, l1);
      const l18 = v128.xor(m58, l8);
      const l19 = v128.xor(m63, l4);
      const l20 = v128.xor(l0, l1);
      const l21 = v128.xor(l1, l7);
      const l22 = v128.xor(l3, l12);
      const l23 = v128.xor(l18, l2);
      const l24 = v128.xor(l15, l9);
      const l25 = v128.xor(l6, l10);
      const l26 = v128.xor(l7, l9);
      const l27 = v128.xor(l8, l10);
      const l28 = v128.xor(l11, l14);
      const l29 = v128.xor(l11, l17);
      const s0 = v128.xor(l6, l24);
      const s1 = v128.xor(l16, l26);
      const s2 = v128.xor(l19, l28);
      const s3 = v128.xor(l6, l21);
      const s4 = v128.xor(l20, l22);
      const s5 = v128.xor(l25, l29);
      const s6 = v128.xor(l13, l27);
      const s7 = v128.xor(l6, l23);
      q7 = s0;
      q6 = s1;
      q5 = s2;
      q4 = s3;
      q3 = s4;
      q2 = s5;
      q1 = s6;
      q0 = s7;
    }
    {
      const y0 = q0;
      const y1 = q1;
      const y2 = q2;
      const y3 = q3;
      const y4 = q4;
      const y5 = q5;
      const y6 = q6;
      const y7 = q7;
      q0 = v128.xor(v128.xor(y2, y5), y7);
      q1 = v128.xor(v128.xor(y3, y6), y0);
      q2 = v128.xor(v128.xor(y4, y7), y1);
      q3 = v128.xor(v128.xor(y5, y0), y2);
      q4 = v128.xor(v128.xor(y6, y1), y3);
      q5 = v128.xor(v128.xor(y7, y2), y4);
      q6 = v128.xor(v128.xor(y0, y3), y5);
      q7 = v128.xor(v128.xor(y1, y4), y6);
    }
    rk -= 128;
  q0 = v128.xor(q0, v128.load(rk, 0));
  q1 = v128.xor(q1, v128.load(rk, 16));
  q2 = v128.xor(q2, v128.load(rk, 32));
  q3 = v128.xor(q3, v128.load(rk, 48));
  q4 = v128.xor(q4, v128.load(rk, 64));
  q5 = v128.xor(q5, v128.load(rk, 80));
  q6 = v128.xor(q6, v128.load(rk, 96));
  q7 = v128.xor(q7, v128.load(rk, 112));
    if (r > 0) {
      {
        const u0 = v128.xor(q0, rotRows2(q0));
        const u1 = v128.xor(q1, rotRows2(q1));
        const u2 = v128.xor(q2, rotRows2(q2));
        const u3 = v128.xor(q3, rotRows2(q3));
        const u4 = v128.xor(q4, rotRows2(q4));
        const u5 = v128.xor(q5, rotRows2(q5));
        const u6 = v128.xor(q6, rotRows2(q6));
        const u7 = v128.xor(q7, rotRows2(q7));
        q0 = v128.xor(q0, u6);
        q1 = v128.xor(q1, v128.xor(u7, u6));
        q2 = v128.xor(q2, v128.xor(u0, u7));
        q3 = v128.xor(q3, v128.xor(u1, u6));
        q4 = v128.xor(q4, v128.xor(v128.xor(u2, u7), u6));
        q5 = v128.xor(q5, v128.xor(u3, u7));
        q6 = v128.xor(q6, u4);
        q7 = v128.xor(q7, u5);
      }
      {
        const a0 = rotRows1(q0);
        const a1 = rotRows1(q1);
        const a2 = rotRows1(q2);
        const a3 = rotRows1(q3);
        const a4 = rotRows1(q4);
        const a5 = rotRows1(q5);
        const a6 = rotRows1(q6);
        const a7 = rotRows1(q7);
        const t0 = v128.xor(q0, a0);
        const t1 = v128.xor(q1, a1);
        const t2 = v128.xor(q2, a2);
        const t3 = v128.xor(q3, a3);
        const t4 = v128.xor(q4, a4);
        const t5 = v128.xor(q5, a5);
        const t6 = v128.xor(q6, a6);
        const t7 = v128.xor(q7, a7);
        q0 = v128.xor(v128.xor(t7, a0), rotRows2(t0));
        q1 = v128.xor(v128.xor(v128.xor(t0, t7), a1), rotRows2(t1));
        q2 = v128.xor(v128.xor(t1, a2), rotRows2(t2));
        q3 = v128.xor(v128.xor(v128.xor(t2, t7), a3), rotRows2(t3));
        q4 = v128.xor(v128.xor(v128.xor(t3, t7), a4), rotRows2(t4));
        q5 = v128.xor(v128.xor(t4, a5), rotRows2(t5));
        q6 = v128.xor(v128.xor(t5, a6), rotRows2(t6));
        q7 = v128.xor(v128.xor(t6, a7), rotRows2(t7));
      }
    }
  }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 1), q1), i8x16.splat(0x55)); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 1), q3), i8x16.splat(0x55)); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 1), q5), i8x16.splat(0x55)); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q6, 1), q7), i8x16.splat(0x55)); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 2), q2), i8x16.splat(0x33)); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 2), q3), i8x16.splat(0x33)); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 2), q6), i8x16.splat(0x33)); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q5, 2), q7), i8x16.splat(0x33)); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 4), q4), i8x16.splat(0x0f)); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 4), q5), i8x16.splat(0x0f)); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 4), q6), i8x16.splat(0x0f)); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q3, 4), q7), i8x16.splat(0x0f)); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4)); }
  v128.store(out, transpose(q0), 0); v128.store(out, transpose(q1), 16); v128.store(out, transpose(q2), 32); v128.store(out, transpose(q3), 48);
  v128.store(out, transpose(q4), 64); v128.store(out, transpose(q5), 80); v128.store(out, transpose(q6), 96); v128.store(out, transpose(q7), 112);
}

/** Encrypts one block (inp -> out, 16 bytes) through the 8-block core (uses scratch). */
export function aesEncryptBlock(ctx: usize, inp: usize, out: usize): void {
  const t = cryptoScratch + SCR_AES_OUT;
  encCore(ctx, v128.load(inp), i64x2.splat(0), i64x2.splat(0), i64x2.splat(0),
    i64x2.splat(0), i64x2.splat(0), i64x2.splat(0), i64x2.splat(0), 0, t, false);
  v128.store(out, v128.load(t));
}

/** Applies the AES S-box to each of the 16 bytes at p, in place (constant time). */
export function aesSubBytes16(p: usize): void {
  const z = i64x2.splat(0);
  let q0 = v128.load(p), q1 = z, q2 = z, q3 = z, q4 = z, q5 = z, q6 = z, q7 = z;
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 1), q1), i8x16.splat(0x55)); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 1), q3), i8x16.splat(0x55)); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 1), q5), i8x16.splat(0x55)); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q6, 1), q7), i8x16.splat(0x55)); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 2), q2), i8x16.splat(0x33)); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 2), q3), i8x16.splat(0x33)); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 2), q6), i8x16.splat(0x33)); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q5, 2), q7), i8x16.splat(0x33)); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 4), q4), i8x16.splat(0x0f)); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 4), q5), i8x16.splat(0x0f)); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 4), q6), i8x16.splat(0x0f)); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q3, 4), q7), i8x16.splat(0x0f)); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4)); }
  {
    const u0 = q7;
    const u1 = q6;
    const u2 = q5;
    const u3 = q4;
    const u4 = q3;
    const u5 = q2;
    const u6 = q1;
    const u7 = q0;
    const t1 = v128.xor(u0, u3);
    const t2 = v128.xor(u0, u5);
    const t3 = v128.xor(u0, u6);
    const t4 = v128.xor(u3, u5);
    const t5 = v128.xor(u4, u6);
    const t6 = v128.xor(t1, t5);
    const t7 = v128.xor(u1, u2);
    const t8 = v128.xor(u7, t6);
    const t9 = v128.xor(u7, t7);
    const t10 = v128.xor(t6, t7);
    const t11 = v128.xor(u1, u5);
    const t12 = v128.xor(u2, u5);
    const t13 = v128.xor(t3, t4);
    const t14 = v128.xor(t6, t11);
    const t15 = v128.xor(t5, t11);
    const t16 = v128.xor(t5, t12);
    const t17 = v128.xor(t9, t16);
    const t18 = v128.xor(u3, u7);
    const t19 = v128.xor(t7, t18);
    const t20 = v128.xor(t1, t19);
    const t21 = v128.xor(u6, u7);
    const t22 = v128.xor(t7, t21);
    const t23 = v128.xor(t2, t22);
    const t24 = v128.xor(t2, t10);
    const t25 = v128.xor(t20, t17);
    const t26 = v128.xor(t3, t16);
    const t27 = v128.xor(t1, t12);
    const m1 = v128.and(t13, t6);
    const m2 = v128.and(t23, t8);
    const m3 = v128.xor(t14, m1);
    const m4 = v128.and(t19, u7);
    const m5 = v128.xor(m4, m1);
    const m6 = v128.and(t3, t16);
    const m7 = v128.and(t22, t9);
    const m8 = v128.xor(t26, m6);
    const m9 = v128.and(t20, t17);
    const m10 = v128.xor(m9, m6);
    const m11 = v128.and(t1, t15);
    const m12 = v128.and(t4, t27);
    const m13 = v128.xor(m12, m11);
    const m14 = v128.and(t2, t10);
    const m15 = v128.xor(m14, m11);
    const m16 = v128.xor(m3, m2);
    const m17 = v128.xor(m5, t24);
    const m18 = v128.xor(m8, m7);
    const m19 = v128.xor(m10, m15);
    const m20 = v128.xor(m16, m13);
    const m21 = v128.xor(m17, m15);
    const m22 = v128.xor(m18, m13);
    const m23 = v128.xor(m19, t25);
    const m24 = v128.xor(m22, m23);
    const m25 = v128.and(m22, m20);
    const m26 = v128.xor(m21, m25);
    const m27 = v128.xor(m20, m21);
    const m28 = v128.xor(m23, m25);
    const m29 = v128.and(m28, m27);
    const m30 = v128.and(m26, m24);
    const m31 = v128.and(m20, m23);
    const m32 = v128.and(m27, m31);
    const m33 = v128.xor(m27, m25);
    const m34 = v128.and(m21, m22);
    const m35 = v128.and(m24, m34);
    const m36 = v128.xor(m24, m25);
    const m37 = v128.xor(m21, m29);
    const m38 = v128.xor(m32, m33);
    const m39 = v128.xor(m23, m30);
    const m40 = v128.xor(m35, m36);
    const m41 = v128.xor(m38, m40);
    const m42 = v128.xor(m37, m39);
    const m43 = v128.xor(m37, m38);
    const m44 = v128.xor(m39, m40);
    const m45 = v128.xor(m42, m41);
    const m46 = v128.and(m44, t6);
    const m47 = v128.and(m40, t8);
    const m48 = v128.and(m39, u7);
    const m49 = v128.and(m43, t16);
    const m50 = v128.and(m38, t9);
    const m51 = v128.and(m37, t17);
    const m52 = v128.and(m42, t15);
    const m53 = v128.and(m45, t27);
    const m54 = v128.and(m41, t10);
    const m55 = v128.and(m44, t13);
    const m56 = v128.and(m40, t23);
    const m57 = v128.and(m39, t19);
    const m58 = v128.and(m43, t3);
    const m59 = v128.and(m38, t22);
    const m60 = v128.and(m37, t20);
    const m61 = v128.and(m42, t1);
    const m62 = v128.and(m45, t4);
    const m63 = v128.and(m41, t2);
    const l0 = v128.xor(m61, m62);
    const l1 = v128.xor(m50, m56);
    const l2 = v128.xor(m46, m48);
    const l3 = v128.xor(m47, m55);
    const l4 = v128.xor(m54, m58);
    const l5 = v128.xor(m49, m61);
    const l6 = v128.xor(m62, l5);
    const l7 = v128.xor(m46, l3);
    const l8 = v128.xor(m51, m59);
    const l9 = v128.xor(m52, m53);
    const l10 = v128.xor(m53, l4);
    const l11 = v128.xor(m60, l2);
    const l12 = v128.xor(m48, m51);
    const l13 = v128.xor(m50, l0);
    const l14 = v128.xor(m52, m61);
    const l15 = v128.xor(m55, l1);
    const l16 = v128.xor(m56, l0);
    const l17 = v128.xor(m57, l1);
    const l18 = v128.xor(m58, l8);
    const l19 = v128.xor(m63, l4);
    const l20 = v128.xor(l0, l1);
    const l21 = v128.xor(l1, l7);
    const l22 = v128.xor(l3, l12);
    const l23 = v128.xor(l18, l2);
    const l24 = v128.xor(l15, l9);
    const l25 = v128.xor(l6, l10);
    const l26 = v128.xor(l7, l9);
    const l27 = v128.xor(l8, l10);
    const l28 = v128.xor(l11, l14);
    const l29 = v128.xor(l11, l17);
    const s0 = v128.xor(l6, l24);
    const s1 = v128.not(v128.xor(l16, l26));
    const s2 = v128.not(v128.xor(l19, l28));
    const s3 = v128.xor(l6, l21);
    const s4 = v128.xor(l20, l22);
    const s5 = v128.xor(l25, l29);
    const s6 = v128.not(v128.xor(l13, l27));
    const s7 = v128.not(v128.xor(l6, l23));
    q7 = s0;
    q6 = s1;
    q5 = s2;
    q4 = s3;
    q3 = s4;
    q2 = s5;
    q1 = s6;
    q0 = s7;
  }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 1), q1), i8x16.splat(0x55)); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 1), q3), i8x16.splat(0x55)); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 1), q5), i8x16.splat(0x55)); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q6, 1), q7), i8x16.splat(0x55)); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 2), q2), i8x16.splat(0x33)); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 2), q3), i8x16.splat(0x33)); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 2), q6), i8x16.splat(0x33)); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q5, 2), q7), i8x16.splat(0x33)); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 4), q4), i8x16.splat(0x0f)); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 4), q5), i8x16.splat(0x0f)); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 4), q6), i8x16.splat(0x0f)); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q3, 4), q7), i8x16.splat(0x0f)); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4)); }
  v128.store(p, q0);
}

/** Applies the inverse S-box to the 16 bytes at p (for tests). */
export function aesInvSubBytes16(p: usize): void {
  const z = i64x2.splat(0);
  let q0 = v128.load(p), q1 = z, q2 = z, q3 = z, q4 = z, q5 = z, q6 = z, q7 = z;
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 1), q1), i8x16.splat(0x55)); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 1), q3), i8x16.splat(0x55)); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 1), q5), i8x16.splat(0x55)); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q6, 1), q7), i8x16.splat(0x55)); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 2), q2), i8x16.splat(0x33)); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 2), q3), i8x16.splat(0x33)); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 2), q6), i8x16.splat(0x33)); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q5, 2), q7), i8x16.splat(0x33)); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 4), q4), i8x16.splat(0x0f)); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 4), q5), i8x16.splat(0x0f)); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 4), q6), i8x16.splat(0x0f)); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q3, 4), q7), i8x16.splat(0x0f)); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4)); }
    {
      const y0 = q0;
      const y1 = q1;
      const y2 = q2;
      const y3 = q3;
      const y4 = q4;
      const y5 = q5;
      const y6 = q6;
      const y7 = q7;
      q0 = v128.not(v128.xor(v128.xor(y2, y5), y7));
      q1 = v128.xor(v128.xor(y3, y6), y0);
      q2 = v128.not(v128.xor(v128.xor(y4, y7), y1));
      q3 = v128.xor(v128.xor(y5, y0), y2);
      q4 = v128.xor(v128.xor(y6, y1), y3);
      q5 = v128.xor(v128.xor(y7, y2), y4);
      q6 = v128.xor(v128.xor(y0, y3), y5);
      q7 = v128.xor(v128.xor(y1, y4), y6);
    }
    {
      const u0 = q7;
      const u1 = q6;
      const u2 = q5;
      const u3 = q4;
      const u4 = q3;
      const u5 = q2;
      const u6 = q1;
      const u7 = q0;
      const t1 = v128.xor(u0, u3);
      const t2 = v128.xor(u0, u5);
      const t3 = v128.xor(u0, u6);
      const t4 = v128.xor(u3, u5);
      const t5 = v128.xor(u4, u6);
      const t6 = v128.xor(t1, t5);
      const t7 = v128.xor(u1, u2);
      const t8 = v128.xor(u7, t6);
      const t9 = v128.xor(u7, t7);
      const t10 = v128.xor(t6, t7);
      const t11 = v128.xor(u1, u5);
      const t12 = v128.xor(u2, u5);
      const t13 = v128.xor(t3, t4);
      const t14 = v128.xor(t6, t11);
      const t15 = v128.xor(t5, t11);
      const t16 = v128.xor(t5, t12);
      const t17 = v128.xor(t9, t16);
      const t18 = v128.xor(u3, u7);
      const t19 = v128.xor(t7, t18);
      const t20 = v128.xor(t1, t19);
      const t21 = v128.xor(u6, u7);
      const t22 = v128.xor(t7, t21);
      const t23 = v128.xor(t2, t22);
      const t24 = v128.xor(t2, t10);
      const t25 = v128.xor(t20, t17);
      const t26 = v128.xor(t3, t16);
      const t27 = v128.xor(t1, t12);
      const m1 = v128.and(t13, t6);
      const m2 = v128.and(t23, t8);
      const m3 = v128.xor(t14, m1);
      const m4 = v128.and(t19, u7);
      const m5 = v128.xor(m4, m1);
      const m6 = v128.and(t3, t16);
      const m7 = v128.and(t22, t9);
      const m8 = v128.xor(t26, m6);
      const m9 = v128.and(t20, t17);
      const m10 = v128.xor(m9, m6);
      const m11 = v128.and(t1, t15);
      const m12 = v128.and(t4, t27);
      const m13 = v128.xor(m12, m11);
      const m14 = v128.and(t2, t10);
      const m15 = v128.xor(m14, m11);
      const m16 = v128.xor(m3, m2);
      const m17 = v128.xor(m5, t24);
      const m18 = v128.xor(m8, m7);
      const m19 = v128.xor(m10, m15);
      const m20 = v128.xor(m16, m13);
      const m21 = v128.xor(m17, m15);
      const m22 = v128.xor(m18, m13);
      const m23 = v128.xor(m19, t25);
      const m24 = v128.xor(m22, m23);
      const m25 = v128.and(m22, m20);
      const m26 = v128.xor(m21, m25);
      const m27 = v128.xor(m20, m21);
      const m28 = v128.xor(m23, m25);
      const m29 = v128.and(m28, m27);
      const m30 = v128.and(m26, m24);
      const m31 = v128.and(m20, m23);
      const m32 = v128.and(m27, m31);
      const m33 = v128.xor(m27, m25);
      const m34 = v128.and(m21, m22);
      const m35 = v128.and(m24, m34);
      const m36 = v128.xor(m24, m25);
      const m37 = v128.xor(m21, m29);
      const m38 = v128.xor(m32, m33);
      const m39 = v128.xor(m23, m30);
      const m40 = v128.xor(m35, m36);
      const m41 = v128.xor(m38, m40);
      const m42 = v128.xor(m37, m39);
      const m43 = v128.xor(m37, m38);
      const m44 = v128.xor(m39, m40);
      const m45 = v128.xor(m42, m41);
      const m46 = v128.and(m44, t6);
      const m47 = v128.and(m40, t8);
      const m48 = v128.and(m39, u7);
      const m49 = v128.and(m43, t16);
      const m50 = v128.and(m38, t9);
      const m51 = v128.and(m37, t17);
      const m52 = v128.and(m42, t15);
      const m53 = v128.and(m45, t27);
      const m54 = v128.and(m41, t10);
      const m55 = v128.and(m44, t13);
      const m56 = v128.and(m40, t23);
      const m57 = v128.and(m39, t19);
      const m58 = v128.and(m43, t3);
      const m59 = v128.and(m38, t22);
      const m60 = v128.and(m37, t20);
      const m61 = v128.and(m42, t1);
      const m62 = v128.and(m45, t4);
      const m63 = v128.and(m41, t2);
      const l0 = v128.xor(m61, m62);
      const l1 = v128.xor(m50, m56);
      const l2 = v128.xor(m46, m48);
      const l3 = v128.xor(m47, m55);
      const l4 = v128.xor(m54, m58);
      const l5 = v128.xor(m49, m61);
      const l6 = v128.xor(m62, l5);
      const l7 = v128.xor(m46, l3);
      const l8 = v128.xor(m51, m59);
      const l9 = v128.xor(m52, m53);
      const l10 = v128.xor(m53, l4);
      const l11 = v128.xor(m60, l2);
      const l12 = v128.xor(m48, m51);
      const l13 = v128.xor(m50, l0);
      const l14 = v128.xor(m52, m61);
      const l15 = v128.xor(m55, l1);
      const l16 = v128.xor(m56, l0);
      const l17 = v128.xor(m57, l1);
      const l18 = v128.xor(m58, l8);
      const l19 = v128.xor(m63, l4);
      const l20 = v128.xor(l0, l1);
      const l21 = v128.xor(l1, l7);
      const l22 = v128.xor(l3, l12);
      const l23 = v128.xor(l18, l2);
      const l24 = v128.xor(l15, l9);
      const l25 = v128.xor(l6, l10);
      const l26 = v128.xor(l7, l9);
      const l27 = v128.xor(l8, l10);
      const l28 = v128.xor(l11, l14);
      const l29 = v128.xor(l11, l17);
      const s0 = v128.xor(l6, l24);
      const s1 = v128.not(v128.xor(l16, l26));
      const s2 = v128.not(v128.xor(l19, l28));
      const s3 = v128.xor(l6, l21);
      const s4 = v128.xor(l20, l22);
      const s5 = v128.xor(l25, l29);
      const s6 = v128.not(v128.xor(l13, l27));
      const s7 = v128.not(v128.xor(l6, l23));
      q7 = s0;
      q6 = s1;
      q5 = s2;
      q4 = s3;
      q3 = s4;
      q2 = s5;
      q1 = s6;
      q0 = s7;
    }
    {
      const y0 = q0;
      const y1 = q1;
      const y2 = q2;
      const y3 = q3;
      const y4 = q4;
      const y5 = q5;
      const y6 = q6;
      const y7 = q7;
      q0 = v128.not(v128.xor(v128.xor(y2, y5), y7));
      q1 = v128.xor(v128.xor(y3, y6), y0);
      q2 = v128.not(v128.xor(v128.xor(y4, y7), y1));
      q3 = v128.xor(v128.xor(y5, y0), y2);
      q4 = v128.xor(v128.xor(y6, y1), y3);
      q5 = v128.xor(v128.xor(y7, y2), y4);
      q6 = v128.xor(v128.xor(y0, y3), y5);
      q7 = v128.xor(v128.xor(y1, y4), y6);
    }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 1), q1), i8x16.splat(0x55)); q1 = v128.xor(q1, t); q0 = v128.xor(q0, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 1), q3), i8x16.splat(0x55)); q3 = v128.xor(q3, t); q2 = v128.xor(q2, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 1), q5), i8x16.splat(0x55)); q5 = v128.xor(q5, t); q4 = v128.xor(q4, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q6, 1), q7), i8x16.splat(0x55)); q7 = v128.xor(q7, t); q6 = v128.xor(q6, i64x2.shl(t, 1)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 2), q2), i8x16.splat(0x33)); q2 = v128.xor(q2, t); q0 = v128.xor(q0, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 2), q3), i8x16.splat(0x33)); q3 = v128.xor(q3, t); q1 = v128.xor(q1, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q4, 2), q6), i8x16.splat(0x33)); q6 = v128.xor(q6, t); q4 = v128.xor(q4, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q5, 2), q7), i8x16.splat(0x33)); q7 = v128.xor(q7, t); q5 = v128.xor(q5, i64x2.shl(t, 2)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q0, 4), q4), i8x16.splat(0x0f)); q4 = v128.xor(q4, t); q0 = v128.xor(q0, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q1, 4), q5), i8x16.splat(0x0f)); q5 = v128.xor(q5, t); q1 = v128.xor(q1, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q2, 4), q6), i8x16.splat(0x0f)); q6 = v128.xor(q6, t); q2 = v128.xor(q2, i64x2.shl(t, 4)); }
  { const t = v128.and(v128.xor(i64x2.shr_u(q3, 4), q7), i8x16.splat(0x0f)); q7 = v128.xor(q7, t); q3 = v128.xor(q3, i64x2.shl(t, 4)); }
  v128.store(p, q0);
}

// @ts-ignore: decorator
@inline function subWord(w: u32, tmp: usize): u32 {
  store<u32>(tmp, w);
  aesSubBytes16(tmp);
  return load<u32>(tmp);
}

/**
 * Expands the key (keyLen 16, 24 or 32 bytes) into ctx. Returns 1, or 0 for a bad length.
 * Uses scratch for the byte-oriented schedule and wipes it afterwards.
 */
export function aesInit(ctx: usize, key: usize, keyLen: i32): i32 {
  if (keyLen != 16 && keyLen != 24 && keyLen != 32) return 0;
  const nk = keyLen >> 2;
  const nr = nk + 6;
  const w = cryptoScratch + SCR_AES_KEYS; // 4 * (nr + 1) words, little-endian u32 of the key bytes
  const tmp = cryptoScratch + SCR_AES_BLOCKS;
  memory.fill(tmp, 0, 16);
  memory.copy(w, key, <usize>keyLen);
  let rcon: u32 = 1;
  const total = 4 * (nr + 1);
  for (let i = nk; i < total; i++) {
    let t = load<u32>(w + <usize>((i - 1) << 2));
    if (i % nk == 0) {
      t = subWord(rotr<u32>(t, 8), tmp) ^ rcon;
      rcon = (rcon << 1) ^ (0x11b & (0 - (rcon >> 7)));
    } else if (nk > 6 && i % nk == 4) {
      t = subWord(t, tmp);
    }
    store<u32>(w + <usize>(i << 2), load<u32>(w + <usize>((i - nk) << 2)) ^ t);
  }
  store<u32>(ctx, <u32>nr);
  const zero = i64x2.splat(0);
  for (let r = 0; r <= nr; r++) {
    // Round keys 1..nr carry the S-box's affine constant 0x63 (bit planes 0, 1, 5, 6 all-ones):
    // it passes unchanged through ShiftRows, MixColumns and InvMixColumns (byte-uniform
    // constants are fixed points of both), so the S-box circuit in the rounds can omit its four
    // NOT gates and the inverse cipher's affine steps their two each.
    let v = transpose(v128.load(w + <usize>(r << 4)));
    if (r > 0) v = v128.xor(v, i8x16.splat(0x63));
    const o = ctx + 16 + <usize>(r * 128);
    v128.store(o, i8x16.ne(v128.and(v, i8x16.splat(0x01)), zero), 0);
    v128.store(o, i8x16.ne(v128.and(v, i8x16.splat(0x02)), zero), 16);
    v128.store(o, i8x16.ne(v128.and(v, i8x16.splat(0x04)), zero), 32);
    v128.store(o, i8x16.ne(v128.and(v, i8x16.splat(0x08)), zero), 48);
    v128.store(o, i8x16.ne(v128.and(v, i8x16.splat(0x10)), zero), 64);
    v128.store(o, i8x16.ne(v128.and(v, i8x16.splat(0x20)), zero), 80);
    v128.store(o, i8x16.ne(v128.and(v, i8x16.splat(0x40)), zero), 96);
    v128.store(o, i8x16.ne(v128.and(v, i8x16.splat(<i8>0x80)), zero), 112);
  }
  zeroize(w, total << 2);
  zeroize(tmp, 16);
  return 1;
}
