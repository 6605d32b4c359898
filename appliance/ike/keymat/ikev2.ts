// IKEv2 key derivation (RFC 7296 2.13-2.18, 2.15): prf+, SKEYSEED and the seven SK_* keys, the rekeyed
// SKEYSEED, Child SA KEYMAT, and the octets AUTH covers for pre-shared keys. Pure functions of their
// inputs; nothing here keeps or logs a key.
import { hmac, type HashName } from '../crypto/prf.js';

export type Prf = HashName; // the PRFs negotiated are HMAC of these hashes

export const prfLen: Record<Prf, number> = { md5: 16, sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

export const prf = (h: Prf, key: Uint8Array, ...data: Uint8Array[]) => hmac(h, key, ...data);

/** prf+ (RFC 7296 2.13): T1 | T2 | ... with Tn = prf(K, Tn-1 | S | n), n from 1 to at most 255. */
export function prfPlus(h: Prf, key: Uint8Array, seed: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let t: Uint8Array = new Uint8Array(0);
  for (let n = 1, off = 0; off < len; n++) {
    if (n > 255) throw new Error('prf+: more than 255 blocks requested');
    t = prf(h, key, t, seed, new Uint8Array([n]));
    out.set(t.subarray(0, Math.min(t.length, len - off)), off);
    off += t.length;
  }
  return out;
}

export interface IkeKeys {
  skD: Uint8Array; skAi: Uint8Array; skAr: Uint8Array; skEi: Uint8Array; skEr: Uint8Array; skPi: Uint8Array; skPr: Uint8Array;
}

const cat = (...parts: Uint8Array[]) => { const o = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let i = 0; for (const p of parts) { o.set(p, i); i += p.length; } return o; };

/** SKEYSEED = prf(Ni | Nr, g^ir) for a new IKE SA (2.14). */
export const skeyseed = (h: Prf, ni: Uint8Array, nr: Uint8Array, gir: Uint8Array) => prf(h, cat(ni, nr), gir);

/** SKEYSEED of a rekeyed IKE SA: prf(SK_d (old), g^ir (new) | Ni | Nr) (2.18). */
export const skeyseedRekey = (h: Prf, oldSkD: Uint8Array, gir: Uint8Array, ni: Uint8Array, nr: Uint8Array) => prf(h, oldSkD, gir, ni, nr);

/** {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). */
export function ikeKeys(h: Prf, seed: Uint8Array, ni: Uint8Array, nr: Uint8Array, spii: Uint8Array, spir: Uint8Array, encLen: number, integLen: number): IkeKeys {
  const p = prfLen[h];
  const km = prfPlus(h, seed, cat(ni, nr, spii, spir), 3 * p + 2 * integLen + 2 * encLen);
  let off = 0;
  const take = (n: number) => km.slice(off, (off += n));
  return { skD: take(p), skAi: take(integLen), skAr: take(integLen), skEi: take(encLen), skEr: take(encLen), skPi: take(p), skPr: take(p) };
}

/**
 * The AUTH payload data for a pre-shared key (2.15):
 * prf(prf(key, "Key Pad for IKEv2"), message | peer's nonce | prf(SK_p, ID body)), with the sender's
 * first message, the other side's nonce, and the sender's own SK_p and ID payload body.
 */
export function pskAuth(h: Prf, psk: Uint8Array, firstMessage: Uint8Array, peerNonce: Uint8Array, skP: Uint8Array, idBody: Uint8Array): Uint8Array {
  return prf(h, prf(h, psk, new TextEncoder().encode('Key Pad for IKEv2')), firstMessage, peerNonce, prf(h, skP, idBody));
}

/** The octets a signature covers (2.15): message | peer's nonce | prf(SK_p, ID body). */
export const signedOctets = (h: Prf, firstMessage: Uint8Array, peerNonce: Uint8Array, skP: Uint8Array, idBody: Uint8Array) =>
  cat(firstMessage, peerNonce, prf(h, skP, idBody));

/**
 * Child SA keys (2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as the encryption then the
 * integrity key of the SA carrying initiator-to-responder traffic, then those of the other direction.
 */
export function childKeys(h: Prf, skD: Uint8Array, ni: Uint8Array, nr: Uint8Array, encLen: number, integLen: number, gir?: Uint8Array) {
  const km = prfPlus(h, skD, gir ? cat(gir, ni, nr) : cat(ni, nr), 2 * (encLen + integLen));
  let off = 0;
  const take = (n: number) => km.slice(off, (off += n));
  return { encI: take(encLen), integI: take(integLen), encR: take(encLen), integR: take(integLen) };
}

export { cat as concat };
