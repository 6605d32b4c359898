// Poly1305 (RFC 8439 section 2.5) with 26-bit limbs and 64-bit products (wasm i64.mul).
// Constant time: fixed sequence of multiplies/adds, final reduction by masking.
//
// State (POLY1305_STATE_SIZE bytes at st, caller memory, 8-byte aligned):
//   0  r0..r4   (5 x u32, clamped r in 26-bit limbs)
//   20 s1..s4   (4 x u32, 5*r1..5*r4)
//   36 h0..h4   (5 x u32 accumulator)
//   56 pad      (4 x u32, the "s" half of the one-time key)
//   72 buffer   (16 bytes of a pending partial block)
//   88 leftover (u32 count of buffered bytes)

export const POLY1305_STATE_SIZE: i32 = 96;
export const POLY1305_TAG_SIZE: i32 = 16;

// @ts-ignore: decorator
@inline const M26: u64 = 0x3ffffff;

/** Initialises st with the 32-byte one-time key at key. */
export function poly1305Init(st: usize, key: usize): void {
  const t0 = load<u32>(key, 0), t1 = load<u32>(key, 4), t2 = load<u32>(key, 8), t3 = load<u32>(key, 12);
  const r0 = t0 & 0x3ffffff;
  const r1 = ((t0 >> 26) | (t1 << 6)) & 0x3ffff03;
  const r2 = ((t1 >> 20) | (t2 << 12)) & 0x3ffc0ff;
  const r3 = ((t2 >> 14) | (t3 << 18)) & 0x3f03fff;
  const r4 = (t3 >> 8) & 0x00fffff;
  store<u32>(st, r0, 0); store<u32>(st, r1, 4); store<u32>(st, r2, 8); store<u32>(st, r3, 12); store<u32>(st, r4, 16);
  store<u32>(st, r1 * 5, 20); store<u32>(st, r2 * 5, 24); store<u32>(st, r3 * 5, 28); store<u32>(st, r4 * 5, 32);
  store<u64>(st, 0, 36); store<u64>(st, 0, 44); store<u32>(st, 0, 52);
  store<u64>(st, load<u64>(key, 16), 56); store<u64>(st, load<u64>(key, 24), 64);
  store<u64>(st, 0, 72); store<u64>(st, 0, 80); store<u32>(st, 0, 88);
}

/**
 * Absorbs nblocks full 16-byte blocks at m. hibit is 1 << 24 for ordinary blocks (the 2^128
 * bit), 0 for a final block already padded with 0x01 0x00...
 */
export function poly1305Blocks(st: usize, m: usize, nblocks: i32, hibit: u32): void {
  const r0 = <u64>load<u32>(st, 0), r1 = <u64>load<u32>(st, 4), r2 = <u64>load<u32>(st, 8);
  const r3 = <u64>load<u32>(st, 12), r4 = <u64>load<u32>(st, 16);
  const s1 = <u64>load<u32>(st, 20), s2 = <u64>load<u32>(st, 24), s3 = <u64>load<u32>(st, 28), s4 = <u64>load<u32>(st, 32);
  let h0 = <u64>load<u32>(st, 36), h1 = <u64>load<u32>(st, 40), h2 = <u64>load<u32>(st, 44);
  let h3 = <u64>load<u32>(st, 48), h4 = <u64>load<u32>(st, 52);
  const hb = <u64>hibit;
  for (let i = 0; i < nblocks; i++) {
    const a = load<u64>(m, 0), b = load<u64>(m, 8);
    h0 += a & M26;
    h1 += (a >> 26) & M26;
    h2 += ((a >> 52) | (b << 12)) & M26;
    h3 += (b >> 14) & M26;
    h4 += (b >> 40) | hb;
    let d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
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
    m += 16;
  }
  store<u32>(st, <u32>h0, 36); store<u32>(st, <u32>h1, 40); store<u32>(st, <u32>h2, 44);
  store<u32>(st, <u32>h3, 48); store<u32>(st, <u32>h4, 52);
}

/** Absorbs len bytes of message (any length; partial blocks are buffered). */
export function poly1305Update(st: usize, m: usize, len: i32): void {
  let left = <i32>load<u32>(st, 88);
  if (left > 0) {
    let want = 16 - left;
    if (want > len) want = len;
    memory.copy(st + 72 + <usize>left, m, <usize>want);
    left += want; m += <usize>want; len -= want;
    if (left < 16) { store<u32>(st, <u32>left, 88); return; }
    poly1305Blocks(st, st + 72, 1, 1 << 24);
    left = 0;
  }
  const full = len >> 4;
  if (full > 0) {
    poly1305Blocks(st, m, full, 1 << 24);
    m += <usize>(full << 4); len -= full << 4;
  }
  if (len > 0) { memory.copy(st + 72, m, <usize>len); left = len; }
  store<u32>(st, <u32>left, 88);
}

/** Absorbs len (< 16) bytes as one block zero-padded to 16 bytes (AEAD pad16 convention). */
export function poly1305PadBlock(st: usize, m: usize, len: i32): void {
  if (len <= 0) return;
  const b = st + 72;
  store<u64>(b, 0, 0); store<u64>(b, 0, 8);
  memory.copy(b, m, <usize>len);
  poly1305Blocks(st, b, 1, 1 << 24);
}

/** Finishes: processes any buffered bytes and writes the 16-byte tag to mac. */
export function poly1305Finish(st: usize, mac: usize): void {
  const left = <i32>load<u32>(st, 88);
  if (left > 0) {
    const b = st + 72;
    store<u8>(b + <usize>left, 1);
    for (let i = left + 1; i < 16; i++) store<u8>(b + <usize>i, 0);
    poly1305Blocks(st, b, 1, 0);
  }
  let h0 = load<u32>(st, 36), h1 = load<u32>(st, 40), h2 = load<u32>(st, 44), h3 = load<u32>(st, 48), h4 = load<u32>(st, 52);
  let c: u32;
  c = h1 >> 26; h1 &= 0x3ffffff;
  h2 += c; c = h2 >> 26; h2 &= 0x3ffffff;
  h3 += c; c = h3 >> 26; h3 &= 0x3ffffff;
  h4 += c; c = h4 >> 26; h4 &= 0x3ffffff;
  h0 += c * 5; c = h0 >> 26; h0 &= 0x3ffffff;
  h1 += c;
  // g = h + 5 - 2^130
  let g0 = h0 + 5; c = g0 >> 26; g0 &= 0x3ffffff;
  let g1 = h1 + c; c = g1 >> 26; g1 &= 0x3ffffff;
  let g2 = h2 + c; c = g2 >> 26; g2 &= 0x3ffffff;
  let g3 = h3 + c; c = g3 >> 26; g3 &= 0x3ffffff;
  let g4 = h4 + c - (1 << 26);
  // g4 negative (top bit set) -> h < p -> keep h.
  let mask = (g4 >> 31) - 1;
  g0 &= mask; g1 &= mask; g2 &= mask; g3 &= mask; g4 &= mask;
  mask = ~mask;
  h0 = (h0 & mask) | g0; h1 = (h1 & mask) | g1; h2 = (h2 & mask) | g2; h3 = (h3 & mask) | g3; h4 = (h4 & mask) | g4;
  const w0 = h0 | (h1 << 26);
  const w1 = (h1 >> 6) | (h2 << 20);
  const w2 = (h2 >> 12) | (h3 << 14);
  const w3 = (h3 >> 18) | (h4 << 8);
  let f: u64 = <u64>w0 + <u64>load<u32>(st, 56);
  store<u32>(mac, <u32>f, 0);
  f = <u64>w1 + <u64>load<u32>(st, 60) + (f >> 32);
  store<u32>(mac, <u32>f, 4);
  f = <u64>w2 + <u64>load<u32>(st, 64) + (f >> 32);
  store<u32>(mac, <u32>f, 8);
  f = <u64>w3 + <u64>load<u32>(st, 68) + (f >> 32);
  store<u32>(mac, <u32>f, 12);
}

/** One-shot Poly1305: tag(16) = Poly1305(key(32), m[len]). */
export function poly1305(st: usize, key: usize, m: usize, len: i32, mac: usize): void {
  poly1305Init(st, key);
  poly1305Update(st, m, len);
  poly1305Finish(st, mac);
}
