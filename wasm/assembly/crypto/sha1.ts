// SHA-1 (FIPS 180-4) over raw memory, for HMAC-SHA1-96 (RFC 2404). Same conventions as sha256.ts.
import { cryptoScratch, SCR_SHA_W, SCR_SHA_ST, SCR_SHA_BUF } from "./ct";

export const SHA1_DIGEST_SIZE: i32 = 20;
export const SHA1_BLOCK_SIZE: i32 = 64;

const IV1: usize = memory.data<u32>([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0], 16);

/** Compresses nblocks 64-byte blocks at m into the 5-word state at st. */
export function sha1Blocks(st: usize, m: usize, nblocks: i32): void {
  const w = cryptoScratch + SCR_SHA_W;
  let h0 = load<u32>(st, 0), h1 = load<u32>(st, 4), h2 = load<u32>(st, 8), h3 = load<u32>(st, 12), h4 = load<u32>(st, 16);
  for (let blk = 0; blk < nblocks; blk++) {
    for (let i: usize = 0; i < 16; i++) store<u32>(w + (i << 2), bswap<u32>(load<u32>(m + (i << 2))));
    for (let i: usize = 16; i < 80; i++) {
      const x = load<u32>(w + ((i - 3) << 2)) ^ load<u32>(w + ((i - 8) << 2)) ^ load<u32>(w + ((i - 14) << 2)) ^ load<u32>(w + ((i - 16) << 2));
      store<u32>(w + (i << 2), rotl<u32>(x, 1));
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    for (let i: usize = 0; i < 20; i++) {
      const t = rotl<u32>(a, 5) + ((b & c) | (~b & d)) + e + 0x5a827999 + load<u32>(w + (i << 2));
      e = d; d = c; c = rotl<u32>(b, 30); b = a; a = t;
    }
    for (let i: usize = 20; i < 40; i++) {
      const t = rotl<u32>(a, 5) + (b ^ c ^ d) + e + 0x6ed9eba1 + load<u32>(w + (i << 2));
      e = d; d = c; c = rotl<u32>(b, 30); b = a; a = t;
    }
    for (let i: usize = 40; i < 60; i++) {
      const t = rotl<u32>(a, 5) + ((b & c) | (b & d) | (c & d)) + e + 0x8f1bbcdc + load<u32>(w + (i << 2));
      e = d; d = c; c = rotl<u32>(b, 30); b = a; a = t;
    }
    for (let i: usize = 60; i < 80; i++) {
      const t = rotl<u32>(a, 5) + (b ^ c ^ d) + e + 0xca62c1d6 + load<u32>(w + (i << 2));
      e = d; d = c; c = rotl<u32>(b, 30); b = a; a = t;
    }
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e;
    m += 64;
  }
  store<u32>(st, h0, 0); store<u32>(st, h1, 4); store<u32>(st, h2, 8); store<u32>(st, h3, 12); store<u32>(st, h4, 16);
}

export function sha1InitState(st: usize): void {
  memory.copy(st, IV1, 20);
}

/** Like sha256Resume: continue from iv (prefix bytes absorbed), absorb m[len], digest (20 B) to out. */
export function sha1Resume(iv: usize, prefix: i32, m: usize, len: i32, out: usize): void {
  const st = cryptoScratch + SCR_SHA_ST;
  const buf = cryptoScratch + SCR_SHA_BUF;
  memory.copy(st, iv, 20);
  const full = len >> 6;
  if (full > 0) sha1Blocks(st, m, full);
  const rem = len & 63;
  memory.fill(buf, 0, 128);
  memory.copy(buf, m + <usize>(full << 6), <usize>rem);
  store<u8>(buf + <usize>rem, 0x80);
  const nb = rem < 56 ? 1 : 2;
  const bits = (<u64>prefix + <u64>len) << 3;
  store<u64>(buf + <usize>(nb * 64 - 8), bswap<u64>(bits));
  sha1Blocks(st, buf, nb);
  for (let i: usize = 0; i < 5; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(st + (i << 2))));
}

export function sha1(m: usize, len: i32, out: usize): void {
  sha1Resume(IV1, 0, m, len, out);
}
