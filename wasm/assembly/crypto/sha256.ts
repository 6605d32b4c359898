// SHA-256 (FIPS 180-4) over raw memory. The chaining value and message schedule live in this
// instance's scratch; sha256Resume() lets HMAC continue from precomputed pad states.
import { cryptoScratch, SCR_SHA_W, SCR_SHA_ST, SCR_SHA_BUF } from "./ct";

export const SHA256_DIGEST_SIZE: i32 = 32;
export const SHA256_BLOCK_SIZE: i32 = 64;

const K256: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
], 16);

const IV256: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
], 16);

/** Compresses nblocks 64-byte blocks at m into the 8-word state at st (native-endian u32s). */
export function sha256Blocks(st: usize, m: usize, nblocks: i32): void {
  const w = cryptoScratch + SCR_SHA_W;
  let h0 = load<u32>(st, 0), h1 = load<u32>(st, 4), h2 = load<u32>(st, 8), h3 = load<u32>(st, 12);
  let h4 = load<u32>(st, 16), h5 = load<u32>(st, 20), h6 = load<u32>(st, 24), h7 = load<u32>(st, 28);
  for (let blk = 0; blk < nblocks; blk++) {
    for (let i: usize = 0; i < 16; i++) store<u32>(w + (i << 2), bswap<u32>(load<u32>(m + (i << 2))));
    for (let i: usize = 16; i < 64; i++) {
      const w15 = load<u32>(w + ((i - 15) << 2)), w2 = load<u32>(w + ((i - 2) << 2));
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >> 10);
      store<u32>(w + (i << 2), load<u32>(w + ((i - 16) << 2)) + s0 + load<u32>(w + ((i - 7) << 2)) + s1);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i: usize = 0; i < 64; i++) {
      const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = h + S1 + ch + load<u32>(K256 + (i << 2)) + load<u32>(w + (i << 2));
      const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = S0 + maj;
      h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
    m += 64;
  }
  store<u32>(st, h0, 0); store<u32>(st, h1, 4); store<u32>(st, h2, 8); store<u32>(st, h3, 12);
  store<u32>(st, h4, 16); store<u32>(st, h5, 20); store<u32>(st, h6, 24); store<u32>(st, h7, 28);
}

/** Copies the SHA-256 initial value (8 native u32) to st. */
export function sha256InitState(st: usize): void {
  memory.copy(st, IV256, 32);
}

/**
 * Continues from the chaining value at iv (which has already absorbed `prefix` bytes, a multiple
 * of 64), absorbs m[len], pads, and writes the 32-byte big-endian digest to out.
 */
export function sha256Resume(iv: usize, prefix: i32, m: usize, len: i32, out: usize): void {
  const st = cryptoScratch + SCR_SHA_ST;
  const buf = cryptoScratch + SCR_SHA_BUF;
  memory.copy(st, iv, 32);
  const full = len >> 6;
  if (full > 0) sha256Blocks(st, m, full);
  const rem = len & 63;
  memory.fill(buf, 0, 128);
  memory.copy(buf, m + <usize>(full << 6), <usize>rem);
  store<u8>(buf + <usize>rem, 0x80);
  const nb = rem < 56 ? 1 : 2;
  const bits = (<u64>prefix + <u64>len) << 3;
  store<u64>(buf + <usize>(nb * 64 - 8), bswap<u64>(bits));
  sha256Blocks(st, buf, nb);
  for (let i: usize = 0; i < 8; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(st + (i << 2))));
}

/** One-shot SHA-256 of m[len] into out (32 bytes). */
export function sha256(m: usize, len: i32, out: usize): void {
  sha256Resume(IV256, 0, m, len, out);
}
