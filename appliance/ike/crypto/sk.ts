// The IKEv2 Encrypted payload's transforms (RFC 7296 3.14 for CBC + HMAC; RFC 5282 for AES-GCM with a
// 16-octet ICV; RFC 7634 for ChaCha20-Poly1305): given the bytes the ICV or AEAD tag must cover ahead
// of the IV (the IKE header and the SK payload header), seal a plaintext into IV | ciphertext | ICV and
// open it again. Open returns null on any failure (wrong tag, bad padding): the caller counts and drops.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constantTimeEqual } from './compare.js';
import { hmac, type HashName } from './prf.js';

export type SkEncr = 'aes-cbc' | 'aes-gcm-16' | 'chacha20-poly1305';

export interface SkSuite {
  encr: SkEncr;
  keyBits: number; // cipher key, without the AEAD salt
  /** HMAC for CBC; none for the AEAD ciphers. */
  integ?: { hash: HashName; keyLen: number; icvLen: number };
}

export const isAead = (s: SkSuite) => s.encr !== 'aes-cbc';
/** Key material the key derivation gives the cipher: the key, plus a 4-byte salt for the AEAD ciphers. */
export const encKeyLen = (s: SkSuite) => s.keyBits / 8 + (isAead(s) ? 4 : 0);
export const integKeyLen = (s: SkSuite) => s.integ?.keyLen ?? 0;
export const ivLen = (s: SkSuite) => (isAead(s) ? 8 : 16);
export const icvLen = (s: SkSuite) => (isAead(s) ? 16 : s.integ!.icvLen);
const blockLen = (s: SkSuite) => (isAead(s) ? 1 : 16);

/** How long IV | ciphertext | ICV will be for `plainLen` bytes of payloads (padding and pad length included). */
export function sealedLen(s: SkSuite, plainLen: number): number {
  const b = blockLen(s);
  return ivLen(s) + Math.ceil((plainLen + 1) / b) * b + icvLen(s);
}

function aeadAlgo(s: SkSuite): string {
  return s.encr === 'chacha20-poly1305' ? 'chacha20-poly1305' : `aes-${s.keyBits}-gcm`;
}

export function skSeal(s: SkSuite, encKey: Uint8Array, integKey: Uint8Array, covered: Uint8Array, plain: Uint8Array, iv = new Uint8Array(randomBytes(ivLen(s)))): Uint8Array {
  const total = sealedLen(s, plain.length);
  const padded = new Uint8Array(total - ivLen(s) - icvLen(s));
  padded.set(plain);
  padded[padded.length - 1] = padded.length - plain.length - 1; // pad length; the pad bytes stay zero
  if (isAead(s)) {
    const keyLen = s.keyBits / 8;
    const nonce = Buffer.concat([encKey.subarray(keyLen), iv]);
    const c = createCipheriv(aeadAlgo(s) as 'aes-128-gcm', encKey.subarray(0, keyLen), nonce, { authTagLength: 16 });
    c.setAAD(covered);
    const ct = Buffer.concat([c.update(padded), c.final()]);
    return new Uint8Array(Buffer.concat([iv, ct, c.getAuthTag()]));
  }
  const c = createCipheriv(`aes-${s.keyBits}-cbc`, encKey, iv).setAutoPadding(false);
  const body = Buffer.concat([iv, c.update(padded), c.final()]);
  const icv = hmac(s.integ!.hash, integKey, covered, body).subarray(0, s.integ!.icvLen);
  return new Uint8Array(Buffer.concat([body, icv]));
}

/** The payload bytes of IV | ciphertext | ICV, or null when it does not verify or is malformed. */
export function skOpen(s: SkSuite, encKey: Uint8Array, integKey: Uint8Array, covered: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  const iv = ivLen(s), icv = icvLen(s), b = blockLen(s);
  const ctLen = sealed.length - iv - icv;
  if (ctLen < 1 || ctLen % b) return null;
  const ivBytes = sealed.subarray(0, iv), ct = sealed.subarray(iv, iv + ctLen), tag = sealed.subarray(iv + ctLen);
  let padded: Uint8Array;
  try {
    if (isAead(s)) {
      const keyLen = s.keyBits / 8;
      const nonce = Buffer.concat([encKey.subarray(keyLen), ivBytes]);
      const d = createDecipheriv(aeadAlgo(s) as 'aes-128-gcm', encKey.subarray(0, keyLen), nonce, { authTagLength: 16 });
      d.setAAD(covered);
      d.setAuthTag(tag);
      padded = new Uint8Array(Buffer.concat([d.update(ct), d.final()]));
    } else {
      const want = hmac(s.integ!.hash, integKey, covered, sealed.subarray(0, iv + ctLen)).subarray(0, icv);
      if (!constantTimeEqual(want, tag)) return null;
      const d = createDecipheriv(`aes-${s.keyBits}-cbc`, encKey, ivBytes).setAutoPadding(false);
      padded = new Uint8Array(Buffer.concat([d.update(ct), d.final()]));
    }
  } catch {
    return null; // the AEAD tag did not verify
  }
  const pad = padded[padded.length - 1];
  if (pad + 1 > padded.length) return null;
  return padded.subarray(0, padded.length - pad - 1);
}
