// GHASH (NIST SP 800-38D) with a constant-time carry-less multiply built from integer
// multiplications with "holes": each 64-bit operand is split into 4 masked parts holding every
// 4th bit, so the integer products' carries never reach the bit positions that are kept (the low
// 64 bits of a 64x64 product receive at most 16 partial products per position, overflowing only
// past bit 63). The high half of a 64x64 carry-less product is obtained from the bit-reversed
// operands; the 128x128 product uses Karatsuba (3 x 64x64), then a shift-and-xor reduction modulo
// x^128 + x^7 + x^2 + x + 1 in GCM's reflected bit order. Four blocks are aggregated per
// reduction (Y' = (Y^X1)H^4 ^ X2 H^3 ^ X3 H^2 ^ X4 H). Byte/bit reversal of the input uses
// in-register SIMD shuffles (swizzle over constant 16-entry nibble tables held in a register, so
// no memory access depends on data). No tables in memory, no secret-dependent branches.
//
// Key material (GHASH_KEY_SIZE bytes at gk, read-only after ghashInit): for k = 1..4, at
// (k-1)*192, the operands of H^k: h0, h1, h0^h1 and their bit reversals, each as its 4 masked
// parts (24 x u64); at 768 the mask 0x1111111111111111.
// Running value Y: 16 bytes at y as two native u64 (y[0] = first 8 bytes big-endian, y[8] = last).

export const GHASH_KEY_SIZE: i32 = 784;

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

/** Low 64 bits of the carry-less product x * y, y given as its 4 masked parts. */
// @ts-ignore: decorator
@inline export function bmul(x: u64, y0: u64, y1: u64, y2: u64, y3: u64, m0: u64, m1: u64, m2: u64, m3: u64): u64 {
  const x0 = x & m0, x1 = x & m1, x2 = x & m2, x3 = x & m3;
  const z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
  const z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
  const z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
  const z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
  return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3);
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

/**
 * Prepares gk from the hash key H (16 bytes at h, i.e. E_K(0^128)). tmp: 16 bytes of scratch
 * (it ends up holding H^4 and should be wiped by the caller).
 */
export function ghashInit(gk: usize, h: usize, tmp: usize): void {
  store<u64>(gk, M0, 768);
  putKey(gk, bswap<u64>(load<u64>(h, 0)), bswap<u64>(load<u64>(h, 8)));
  // H^k = (0 ^ H^(k-1)) * H, computed with the single-block path (uses only the H^1 parts)
  store<u64>(tmp, 0, 0); store<u64>(tmp, 0, 8);
  for (let k = 2; k <= 4; k++) {
    const y = tmp;
    const src = k == 2 ? h : tmp + 16;
    if (k > 2) { store<u64>(tmp + 16, bswap<u64>(load<u64>(tmp, 0)), 0); store<u64>(tmp + 16, bswap<u64>(load<u64>(tmp, 8)), 8); }
    store<u64>(y, 0, 0); store<u64>(y, 0, 8);
    ghashBlocks(gk, y, src, 1);
    putKey(gk + <usize>((k - 1) * 192), load<u64>(y, 0), load<u64>(y, 8));
  }
}

/** Y = (Y ^ X_i) * H for nblocks 16-byte blocks at m. */
export function ghashBlocks(gk: usize, y: usize, m: usize, nblocks: i32): void {
  const m0 = load<u64>(gk, 768), m1 = m0 << 1, m2 = m0 << 2, m3 = m0 << 3;
  let y1 = load<u64>(y, 0), y0 = load<u64>(y, 8);
  while (nblocks >= 4) {
    let z0: u64, z1: u64, z2: u64, z0h: u64, z1h: u64, z2h: u64;
    {
      const v = v128.load(m, 0);
      const bs = i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
      const br = bitrevBytes(v);
      const a1 = i64x2.extract_lane(bs, 0) ^ y1, a0 = i64x2.extract_lane(bs, 1) ^ y0;
      const a1r = i64x2.extract_lane(br, 0) ^ rev64(y1), a0r = i64x2.extract_lane(br, 1) ^ rev64(y0);
      const a2 = a0 ^ a1, a2r = a0r ^ a1r;
      z0 = bmul(a0, load<u64>(gk, 576), load<u64>(gk, 584), load<u64>(gk, 592), load<u64>(gk, 600), m0, m1, m2, m3);
      z1 = bmul(a1, load<u64>(gk, 608), load<u64>(gk, 616), load<u64>(gk, 624), load<u64>(gk, 632), m0, m1, m2, m3);
      z2 = bmul(a2, load<u64>(gk, 640), load<u64>(gk, 648), load<u64>(gk, 656), load<u64>(gk, 664), m0, m1, m2, m3);
      z0h = bmul(a0r, load<u64>(gk, 672), load<u64>(gk, 680), load<u64>(gk, 688), load<u64>(gk, 696), m0, m1, m2, m3);
      z1h = bmul(a1r, load<u64>(gk, 704), load<u64>(gk, 712), load<u64>(gk, 720), load<u64>(gk, 728), m0, m1, m2, m3);
      z2h = bmul(a2r, load<u64>(gk, 736), load<u64>(gk, 744), load<u64>(gk, 752), load<u64>(gk, 760), m0, m1, m2, m3);
    }
    {
      const v = v128.load(m, 16);
      const bs = i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
      const br = bitrevBytes(v);
      const a1 = i64x2.extract_lane(bs, 0), a0 = i64x2.extract_lane(bs, 1);
      const a1r = i64x2.extract_lane(br, 0), a0r = i64x2.extract_lane(br, 1);
      const a2 = a0 ^ a1, a2r = a0r ^ a1r;
      z0 ^= bmul(a0, load<u64>(gk, 384), load<u64>(gk, 392), load<u64>(gk, 400), load<u64>(gk, 408), m0, m1, m2, m3);
      z1 ^= bmul(a1, load<u64>(gk, 416), load<u64>(gk, 424), load<u64>(gk, 432), load<u64>(gk, 440), m0, m1, m2, m3);
      z2 ^= bmul(a2, load<u64>(gk, 448), load<u64>(gk, 456), load<u64>(gk, 464), load<u64>(gk, 472), m0, m1, m2, m3);
      z0h ^= bmul(a0r, load<u64>(gk, 480), load<u64>(gk, 488), load<u64>(gk, 496), load<u64>(gk, 504), m0, m1, m2, m3);
      z1h ^= bmul(a1r, load<u64>(gk, 512), load<u64>(gk, 520), load<u64>(gk, 528), load<u64>(gk, 536), m0, m1, m2, m3);
      z2h ^= bmul(a2r, load<u64>(gk, 544), load<u64>(gk, 552), load<u64>(gk, 560), load<u64>(gk, 568), m0, m1, m2, m3);
    }
    {
      const v = v128.load(m, 32);
      const bs = i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
      const br = bitrevBytes(v);
      const a1 = i64x2.extract_lane(bs, 0), a0 = i64x2.extract_lane(bs, 1);
      const a1r = i64x2.extract_lane(br, 0), a0r = i64x2.extract_lane(br, 1);
      const a2 = a0 ^ a1, a2r = a0r ^ a1r;
      z0 ^= bmul(a0, load<u64>(gk, 192), load<u64>(gk, 200), load<u64>(gk, 208), load<u64>(gk, 216), m0, m1, m2, m3);
      z1 ^= bmul(a1, load<u64>(gk, 224), load<u64>(gk, 232), load<u64>(gk, 240), load<u64>(gk, 248), m0, m1, m2, m3);
      z2 ^= bmul(a2, load<u64>(gk, 256), load<u64>(gk, 264), load<u64>(gk, 272), load<u64>(gk, 280), m0, m1, m2, m3);
      z0h ^= bmul(a0r, load<u64>(gk, 288), load<u64>(gk, 296), load<u64>(gk, 304), load<u64>(gk, 312), m0, m1, m2, m3);
      z1h ^= bmul(a1r, load<u64>(gk, 320), load<u64>(gk, 328), load<u64>(gk, 336), load<u64>(gk, 344), m0, m1, m2, m3);
      z2h ^= bmul(a2r, load<u64>(gk, 352), load<u64>(gk, 360), load<u64>(gk, 368), load<u64>(gk, 376), m0, m1, m2, m3);
    }
    {
      const v = v128.load(m, 48);
      const bs = i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
      const br = bitrevBytes(v);
      const a1 = i64x2.extract_lane(bs, 0), a0 = i64x2.extract_lane(bs, 1);
      const a1r = i64x2.extract_lane(br, 0), a0r = i64x2.extract_lane(br, 1);
      const a2 = a0 ^ a1, a2r = a0r ^ a1r;
      z0 ^= bmul(a0, load<u64>(gk, 0), load<u64>(gk, 8), load<u64>(gk, 16), load<u64>(gk, 24), m0, m1, m2, m3);
      z1 ^= bmul(a1, load<u64>(gk, 32), load<u64>(gk, 40), load<u64>(gk, 48), load<u64>(gk, 56), m0, m1, m2, m3);
      z2 ^= bmul(a2, load<u64>(gk, 64), load<u64>(gk, 72), load<u64>(gk, 80), load<u64>(gk, 88), m0, m1, m2, m3);
      z0h ^= bmul(a0r, load<u64>(gk, 96), load<u64>(gk, 104), load<u64>(gk, 112), load<u64>(gk, 120), m0, m1, m2, m3);
      z1h ^= bmul(a1r, load<u64>(gk, 128), load<u64>(gk, 136), load<u64>(gk, 144), load<u64>(gk, 152), m0, m1, m2, m3);
      z2h ^= bmul(a2r, load<u64>(gk, 160), load<u64>(gk, 168), load<u64>(gk, 176), load<u64>(gk, 184), m0, m1, m2, m3);
    }
    z2 ^= z0 ^ z1;
    z2h ^= z0h ^ z1h;
    const p0h = rev64(z0h) >> 1, p1h = rev64(z1h) >> 1, p2h = rev64(z2h) >> 1;
    let v0 = z0, v1 = p0h ^ z2, v2 = z1 ^ p2h, v3 = p1h;
    v3 = (v3 << 1) | (v2 >> 63);
    v2 = (v2 << 1) | (v1 >> 63);
    v1 = (v1 << 1) | (v0 >> 63);
    v0 = v0 << 1;
    v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
    v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
    v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
    v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
    y1 = v3; y0 = v2;
    m += 64; nblocks -= 4;
  }
  if (nblocks > 0) {
    const a0 = load<u64>(gk, 0), a1 = load<u64>(gk, 8), a2 = load<u64>(gk, 16), a3 = load<u64>(gk, 24);
    const b0 = load<u64>(gk, 32), b1 = load<u64>(gk, 40), b2 = load<u64>(gk, 48), b3 = load<u64>(gk, 56);
    const c0 = load<u64>(gk, 64), c1 = load<u64>(gk, 72), c2 = load<u64>(gk, 80), c3 = load<u64>(gk, 88);
    const d0 = load<u64>(gk, 96), d1 = load<u64>(gk, 104), d2 = load<u64>(gk, 112), d3 = load<u64>(gk, 120);
    const e0 = load<u64>(gk, 128), e1 = load<u64>(gk, 136), e2 = load<u64>(gk, 144), e3 = load<u64>(gk, 152);
    const f0 = load<u64>(gk, 160), f1 = load<u64>(gk, 168), f2 = load<u64>(gk, 176), f3 = load<u64>(gk, 184);
    for (let i = 0; i < nblocks; i++) {
      y1 ^= bswap<u64>(load<u64>(m, 0));
      y0 ^= bswap<u64>(load<u64>(m, 8));
      const y2 = y0 ^ y1;
      const y0r = rev64(y0), y1r = rev64(y1);
      const y2r = y0r ^ y1r;
      const z0 = bmul(y0, a0, a1, a2, a3, m0, m1, m2, m3);
      const z1 = bmul(y1, b0, b1, b2, b3, m0, m1, m2, m3);
      let z2 = bmul(y2, c0, c1, c2, c3, m0, m1, m2, m3);
      const z0h = bmul(y0r, d0, d1, d2, d3, m0, m1, m2, m3);
      const z1h = bmul(y1r, e0, e1, e2, e3, m0, m1, m2, m3);
      let z2h = bmul(y2r, f0, f1, f2, f3, m0, m1, m2, m3);
      z2 ^= z0 ^ z1;
      z2h ^= z0h ^ z1h;
      const p0h = rev64(z0h) >> 1, p1h = rev64(z1h) >> 1, p2h = rev64(z2h) >> 1;
      // 256-bit product v3:v2:v1:v0, then shift left by one (reflected convention).
      let v0 = z0, v1 = p0h ^ z2, v2 = z1 ^ p2h, v3 = p1h;
      v3 = (v3 << 1) | (v2 >> 63);
      v2 = (v2 << 1) | (v1 >> 63);
      v1 = (v1 << 1) | (v0 >> 63);
      v0 = v0 << 1;
      v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
      v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
      v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
      v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
      y1 = v3; y0 = v2;
      m += 16;
    }
  }
  store<u64>(y, y1, 0); store<u64>(y, y0, 8);
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
