// Entry point of wasm/build/crypto.wasm: the ESP cipher primitives exported for tests and the
// benchmark. The data plane (dataplane.ts) imports the modules under ./crypto directly instead.
//
// Memory convention: memory is imported (env.memory, shared). Nothing here allocates; all
// pointers are chosen by the embedder. Static data (SHA constants) sits below 1 MiB. Before any
// other call the embedder gives this instance a scratch area of CRYPTO_SCRATCH_SIZE bytes with
// cryptoSetScratch(ptr) (tests/bench use 2 MiB); contexts and buffers go wherever the embedder
// likes (tests use >= 2 MiB + 64 KiB). Contexts should be 16-byte aligned.

export {
  CRYPTO_SCRATCH_SIZE, cryptoSetScratch, ctEqual, zeroize,
} from "./crypto/ct";
export {
  chacha20Block, chacha20XorScalar, chacha20XorSimd, chacha20Stream4,
} from "./crypto/chacha20";
export {
  POLY1305_STATE_SIZE, poly1305Init, poly1305Update, poly1305Finish, poly1305,
} from "./crypto/poly1305";
export {
  CHACHAPOLY_CTX_SIZE, chachaPolyInit, chachaPolySeal, chachaPolyOpen,
} from "./crypto/chacha20poly1305";
export {
  AES_CTX_SIZE, aesInit, aesEncrypt8, aesDecrypt8, aesEncryptBlock, aesCtr8, aesSubBytes16, aesInvSubBytes16,
} from "./crypto/aes";
export { GHASH_KEY_SIZE, ghashInit, ghashBlocks } from "./crypto/ghash";
export { GCM_CTX_SIZE, GCM_GHASH_OFFSET, gcmInit, gcmSeal, gcmOpen } from "./crypto/aesgcm";
export { aesCbcEncrypt, aesCbcDecrypt } from "./crypto/aescbc";
export { sha1 } from "./crypto/sha1";
export { sha256 } from "./crypto/sha256";
export {
  HMAC_SHA1_CTX_SIZE, HMAC_SHA256_CTX_SIZE, hmacSha1Init, hmacSha1, hmacSha1Verify,
  hmacSha256Init, hmacSha256, hmacSha256Verify,
} from "./crypto/hmac";
