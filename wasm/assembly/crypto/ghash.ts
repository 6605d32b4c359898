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
// parts (24 x u64); at 768 the mask 0x1111111111111111 (kept for the layout; the multiply now
// uses the masks as immediates).
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

/** Y = (Y ^ X_i) * H for nblocks 16-byte blocks at m. */
export function ghashBlocks(gk: usize, y: usize, m: usize, nblocks: i32): void {
  let y1 = load<u64>(y, 0), y0 = load<u64>(y, 8);
  while (nblocks > 0) {
    // Aggregate up to 4 blocks: X1 * H^n ^ X2 * H^(n-1) ^ ... ^ Xn * H (Y folded into X1): one
    // reduction per group, whatever its size.
    const n = nblocks >= 4 ? 4 : nblocks;
    let z0: u64 = 0, z1: u64 = 0, z2: u64 = 0, z0h: u64 = 0, z1h: u64 = 0, z2h: u64 = 0;
    let kb = gk + <usize>((n - 1) * 192);
    let fy1 = y1, fy0 = y0, fy1r = rev64(y1), fy0r = rev64(y0);
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
    // 256-bit product v3:v2:v1:v0, shifted left by one (reflected convention), then reduced.
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
    nblocks -= n;
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
