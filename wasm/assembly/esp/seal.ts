// The cipher half of ESP output (RFC 4303 3.3.2-3.3.4): encrypts and authenticates, in place, an ESP
// packet whose header (SPI, sequence number), payload, padding and trailer are already written. Split
// from esp/output.ts so that another worker can run it on the owner's slot (esp/lane.ts): everything it
// needs is the SA, where the ESP header is, the padded payload length and the sequence number; its
// temporaries (nonce, AAD, CBC IV, ICV) are in the calling worker's own scratch.
import {
  scratch, SCRATCH_ESP_NONCE, SCRATCH_ESP_AAD, SCRATCH_ESP_IV, SCRATCH_ESP_ICV, SA_ENTRY_FLAGS, SA_ENTRY_IV_LEN,
  SA_ENTRY_ICV_LEN, SA_ENTRY_ENC, SA_ENTRY_INTEG, SA_ENTRY_SALT, SA_ENTRY_IV_SEED, SA_ENTRY_CTX, SA_ENTRY_HMAC,
  SA_FLAG_ESN, ESP_ENC_CHACHA20_POLY1305, ESP_ENC_NULL, ESP_INTEG_NONE, ESP_INTEG_HMAC_SHA1_96,
} from '../core/layout';
import { copyBytes } from '../core/mem';
import { gcmSeal } from '../crypto/aesgcm';
import { chachaPolySeal } from '../crypto/chacha20poly1305';
import { aesEncryptBlock } from '../crypto/aes';
import { aesCbcEncrypt } from '../crypto/aescbc';
import { hmacSha1, hmacSha256 } from '../crypto/hmac';
import {
  ESP_SPI, ESP_IV, ESP_HDR_LEN, AEAD_NONCE_SALT, AEAD_NONCE_IV, AAD_LEN, AAD_LEN_ESN, AAD_SPI, AAD_SEQ_HI, CBC_IV_SEQ,
} from './defs';

/** Bytes of the ESP header and IV of SA `e` (the payload starts there). */
@inline export function espHeaderLen(e: usize): u32 { return ESP_HDR_LEN + load<u32>(e, SA_ENTRY_IV_LEN); }

/**
 * Encrypts the `padded` payload bytes of the ESP packet at `out` (SPI, sequence number and, for the
 * AEADs, the IV already written) under outbound SA `e` with sequence number `seq`, and writes the ICV
 * behind them.
 */
export function espSeal(e: usize, out: usize, padded: u32, seq: u64): void {
  const esn = (load<u32>(e, SA_ENTRY_FLAGS) & SA_FLAG_ESN) != 0;
  const hdr = espHeaderLen(e);
  const icvLen = load<u32>(e, SA_ENTRY_ICV_LEN);
  const pay = out + hdr;
  const icv = pay + padded;
  const enc = load<u32>(e, SA_ENTRY_ENC);
  const ctx = e + SA_ENTRY_CTX;
  if (enc <= ESP_ENC_CHACHA20_POLY1305) { // the AEADs
    const nonce = scratch + SCRATCH_ESP_NONCE;
    store<u32>(nonce, load<u32>(e, SA_ENTRY_SALT), AEAD_NONCE_SALT);
    store<u64>(nonce, bswap<u64>(seq), AEAD_NONCE_IV);
    let aad = out;
    let aadLen: i32 = AAD_LEN;
    if (esn) {
      aad = scratch + SCRATCH_ESP_AAD;
      store<u32>(aad, load<u32>(out, ESP_SPI), AAD_SPI); store<u64>(aad, bswap<u64>(seq), AAD_SEQ_HI); aadLen = AAD_LEN_ESN;
    }
    if (enc == ESP_ENC_CHACHA20_POLY1305) chachaPolySeal(ctx, nonce, aad, aadLen, pay, <i32>padded, icv, 1);
    else gcmSeal(ctx, nonce, aad, aadLen, pay, <i32>padded, icv, <i32>icvLen);
    return;
  }
  if (enc != ESP_ENC_NULL) {
    const iv = out + ESP_IV;
    const t = scratch + SCRATCH_ESP_IV;
    v128.store(t, v128.load(e + SA_ENTRY_IV_SEED));
    store<u64>(t, load<u64>(t, CBC_IV_SEQ) ^ bswap<u64>(seq), CBC_IV_SEQ);
    aesEncryptBlock(ctx, t, iv);
    aesCbcEncrypt(ctx, iv, pay, <i32>padded);
  }
  const integ = load<u32>(e, SA_ENTRY_INTEG);
  if (integ != ESP_INTEG_NONE) {
    let mlen = hdr + padded;
    if (esn) { store<u32>(icv, bswap<u32>(<u32>(seq >> 32))); mlen += 4; } // ICV covers seq high
    const m = scratch + SCRATCH_ESP_ICV;
    if (integ == ESP_INTEG_HMAC_SHA1_96) hmacSha1(e + SA_ENTRY_HMAC, out, <i32>mlen, m);
    else hmacSha256(e + SA_ENTRY_HMAC, out, <i32>mlen, m);
    copyBytes(icv, m, icvLen);
  }
}
