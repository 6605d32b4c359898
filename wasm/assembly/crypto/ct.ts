// Constant-time helpers and the per-instance scratch pointer shared by the crypto modules.
//
// Every primitive here works on raw linear-memory pointers; nothing allocates. Long-lived state
// (key schedules, HMAC pads) lives in caller-provided contexts that are read-only after init, so
// one context may be shared by several workers. Per-call temporaries (keystream blocks, hash
// schedules, bitsliced AES state) live in a per-instance scratch area whose address the embedder
// sets once with cryptoSetScratch(); each wasm instance (= worker) must give its own area.

/** Bytes of scratch the crypto modules need at cryptoScratch (16-byte aligned). */
export const CRYPTO_SCRATCH_SIZE: i32 = 4096;

// Scratch sub-areas (offsets from the scratch pointer), one per primitive so that an AEAD may use
// its cipher and MAC scratch at the same time.
export const SCR_AES_STATE: usize = 0; //    128 B: bitsliced AES state (8 x v128)
export const SCR_AES_BLOCKS: usize = 128; // 128 B: 8 counter / data blocks
export const SCR_AES_OUT: usize = 256; //   128 B: 8 cipher output blocks (keystream)
export const SCR_AES_TMP: usize = 384; //   128 B: CBC / misc
export const SCR_GHASH: usize = 512; //     64 B: GHASH running value + length block
export const SCR_CHACHA_KS: usize = 768; // 256 B: ChaCha20 keystream (4 blocks)
export const SCR_POLY: usize = 1024; //      96 B: Poly1305 state (POLY1305_STATE_SIZE)
export const SCR_POLY_PAD: usize = 1152; //  16 B: padded final block / length block
export const SCR_SHA_W: usize = 1280; //    320 B: SHA-1 / SHA-256 message schedule
export const SCR_SHA_ST: usize = 1600; //    64 B: hash chaining state
export const SCR_SHA_BUF: usize = 1664; //  128 B: final padded block(s)
export const SCR_HMAC_IN: usize = 1792; //   64 B: inner digest
export const SCR_TAG: usize = 1856; //       64 B: computed tag / saved tag mask
export const SCR_AES_KEYS: usize = 2048; // 256 B: byte-oriented AES key schedule during aesInit
export const SCR_CBC: usize = 2304; //     256 B: CBC decrypt chaining copy
export const SCR_GHASH_LANES: usize = 2560; // 288 B: GHASH SIMD word products

/** Scratch pointer of this instance; 0 until cryptoSetScratch() is called. */
export let cryptoScratch: usize = 0;

/** Sets the per-instance scratch area (CRYPTO_SCRATCH_SIZE bytes, 16-byte aligned). */
export function cryptoSetScratch(p: usize): void {
  cryptoScratch = p;
}

/**
 * Constant-time equality of len bytes at a and b: returns 1 if equal, 0 otherwise. The running
 * time depends only on len.
 */
export function ctEqual(a: usize, b: usize, len: i32): i32 {
  let acc: u64 = 0;
  let i: i32 = 0;
  for (; i + 8 <= len; i += 8) acc |= load<u64>(a + <usize>i) ^ load<u64>(b + <usize>i);
  for (; i < len; i++) acc |= <u64>(load<u8>(a + <usize>i) ^ load<u8>(b + <usize>i));
  // acc == 0 -> 1, else 0, without branching on acc.
  const folded = <u32>(acc | (acc >> 32));
  return <i32>(((folded | (0 - folded)) >> 31) ^ 1);
}

/** Branch-free select mask: 0xFFFFFFFF if x == 0 else 0. */
// @ts-ignore: decorator
@inline export function ctIsZeroMask(x: u32): u32 {
  return ((x | (0 - x)) >> 31) - 1;
}

/** Overwrites len bytes at p with zeros (used for key material and rejected plaintext). */
export function zeroize(p: usize, len: i32): void {
  memory.fill(p, 0, <usize>len);
}

/** dst[i] = a[i] ^ b[i] for len bytes (any alignment, may alias). */
export function xorBytes(dst: usize, a: usize, b: usize, len: i32): void {
  let i: i32 = 0;
  for (; i + 16 <= len; i += 16) {
    v128.store(dst + <usize>i, v128.xor(v128.load(a + <usize>i), v128.load(b + <usize>i)));
  }
  for (; i + 8 <= len; i += 8) {
    store<u64>(dst + <usize>i, load<u64>(a + <usize>i) ^ load<u64>(b + <usize>i));
  }
  for (; i < len; i++) store<u8>(dst + <usize>i, load<u8>(a + <usize>i) ^ load<u8>(b + <usize>i));
}
