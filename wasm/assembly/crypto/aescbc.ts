// AES-CBC (NIST SP 800-38A) for ESP (RFC 3602), in place, len a multiple of 16 (the caller does
// the ESP padding). Decryption runs 8 blocks per bitsliced call; encryption is inherently serial
// and costs one 8-block core call per block (CBC is the legacy suite; prefer the AEADs).
import { cryptoScratch, SCR_AES_BLOCKS, SCR_AES_OUT, SCR_CBC } from "./ct";
import { aesEncryptBlock, aesDecrypt8 } from "./aes";

/** Encrypts buf[len] in place with the 16-byte iv. Returns 0 if len is not a multiple of 16. */
export function aesCbcEncrypt(ctx: usize, iv: usize, buf: usize, len: i32): i32 {
  if (len & 15) return 0;
  let c = v128.load(iv);
  const t = cryptoScratch + SCR_AES_BLOCKS;
  for (let off = 0; off < len; off += 16) {
    const p = buf + <usize>off;
    v128.store(t, v128.xor(v128.load(p), c));
    aesEncryptBlock(ctx, t, p);
    c = v128.load(p);
  }
  return 1;
}

/** Decrypts buf[len] in place with the 16-byte iv. Returns 0 if len is not a multiple of 16. */
export function aesCbcDecrypt(ctx: usize, iv: usize, buf: usize, len: i32): i32 {
  if (len & 15) return 0;
  const save = cryptoScratch + SCR_CBC; // 16 B previous ciphertext + 128 B current chunk
  const out = cryptoScratch + SCR_AES_OUT;
  v128.store(save, v128.load(iv));
  for (let off = 0; off < len; off += 128) {
    const p = buf + <usize>off;
    const n = len - off < 128 ? len - off : 128;
    memory.copy(save + 16, p, <usize>n);
    aesDecrypt8(ctx, save + 16, out);
    for (let j = 0; j < n; j += 16) {
      v128.store(p + <usize>j, v128.xor(v128.load(out + <usize>j), v128.load(save + <usize>j)));
    }
    v128.store(save, v128.load(save + <usize>n));
  }
  return 1;
}
