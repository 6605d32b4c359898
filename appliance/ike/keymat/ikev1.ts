// IKEv1 key material for pre-shared-key authentication (RFC 2409 sections 5, 5.4, 5.5, appendix B).
// Pure functions of their inputs: the tests check them against values computed independently.
import { hash, hmac, hashLength, type HashName } from '../crypto/prf.js';

const u32 = (n: number) => new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
const byte = (n: number) => new Uint8Array([n]);

export interface Phase1Keys {
  skeyid: Uint8Array;
  skeyidD: Uint8Array; // keys phase 2
  skeyidA: Uint8Array; // authenticates ISAKMP messages (quick mode and informational hashes)
  skeyidE: Uint8Array; // encrypts ISAKMP messages (after appendix B expansion to the cipher's key)
}

export interface Phase1Inputs {
  prf: HashName;
  psk: Uint8Array;
  ni: Uint8Array; // nonce bodies
  nr: Uint8Array;
  gxy: Uint8Array; // the full-length DH shared secret
  ckyI: Uint8Array;
  ckyR: Uint8Array;
}

/** SKEYID = prf(PSK, Ni_b | Nr_b), then SKEYID_d/a/e chained with g^xy | CKY-I | CKY-R | 0/1/2. */
export function phase1Keys(x: Phase1Inputs): Phase1Keys {
  const skeyid = hmac(x.prf, x.psk, x.ni, x.nr);
  const skeyidD = hmac(x.prf, skeyid, x.gxy, x.ckyI, x.ckyR, byte(0));
  const skeyidA = hmac(x.prf, skeyid, skeyidD, x.gxy, x.ckyI, x.ckyR, byte(1));
  const skeyidE = hmac(x.prf, skeyid, skeyidA, x.gxy, x.ckyI, x.ckyR, byte(2));
  return { skeyid, skeyidD, skeyidA, skeyidE };
}

/**
 * The cipher key from SKEYID_e (appendix B): its first bytes when long enough, otherwise
 * K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1) concatenated (3DES and AES-256 with SHA-1 need it).
 */
export function encryptionKey(prf: HashName, skeyidE: Uint8Array, keyLen: number): Uint8Array {
  if (skeyidE.length >= keyLen) return skeyidE.slice(0, keyLen);
  const out = new Uint8Array(keyLen);
  let k = hmac(prf, skeyidE, byte(0));
  let n = 0;
  for (;;) {
    out.set(k.subarray(0, Math.min(k.length, keyLen - n)), n);
    n += k.length;
    if (n >= keyLen) return out;
    k = hmac(prf, skeyidE, k);
  }
}

/** Phase 1 IV: hash(g^xi | g^xr) with the negotiated hash (not the PRF), cut to the block size. */
export const phase1Iv = (h: HashName, gxi: Uint8Array, gxr: Uint8Array, blockLen: number) =>
  hash(h, gxi, gxr).slice(0, blockLen);

/** First IV of a phase 2 or informational exchange: hash(last phase-1 CBC block | M-ID). */
export const phase2Iv = (h: HashName, lastPhase1Block: Uint8Array, messageId: number, blockLen: number) =>
  hash(h, lastPhase1Block, u32(messageId)).slice(0, blockLen);

export interface AuthInputs {
  prf: HashName;
  skeyid: Uint8Array;
  gxi: Uint8Array;
  gxr: Uint8Array;
  ckyI: Uint8Array;
  ckyR: Uint8Array;
  saiB: Uint8Array; // the initiator's SA payload body as sent
}

/** HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b). */
export const hashI = (x: AuthInputs, idiiB: Uint8Array) => hmac(x.prf, x.skeyid, x.gxi, x.gxr, x.ckyI, x.ckyR, x.saiB, idiiB);
/** HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b). */
export const hashR = (x: AuthInputs, idirB: Uint8Array) => hmac(x.prf, x.skeyid, x.gxr, x.gxi, x.ckyR, x.ckyI, x.saiB, idirB);

/** Quick mode HASH(1) = prf(SKEYID_a, M-ID | everything after the HASH payload). */
export const qmHash1 = (prf: HashName, skeyidA: Uint8Array, mid: number, rest: Uint8Array) => hmac(prf, skeyidA, u32(mid), rest);
/** HASH(2) = prf(SKEYID_a, M-ID | Ni_b | everything after the HASH payload). */
export const qmHash2 = (prf: HashName, skeyidA: Uint8Array, mid: number, niB: Uint8Array, rest: Uint8Array) =>
  hmac(prf, skeyidA, u32(mid), niB, rest);
/** HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b). */
export const qmHash3 = (prf: HashName, skeyidA: Uint8Array, mid: number, niB: Uint8Array, nrB: Uint8Array) =>
  hmac(prf, skeyidA, byte(0), u32(mid), niB, nrB);
/** Informational HASH(1) = prf(SKEYID_a, M-ID | N/D payload). Same shape as HASH(1). */
export const infoHash = qmHash1;

/**
 * Quick mode KEYMAT (5.5): prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b) expanded as
 * K1 | K2 | ..., Kn+1 = prf(SKEYID_d, Kn | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b). The SPI is the one
 * the receiving end of that direction chose, so each direction gets its own keys.
 */
export function quickModeKeymat(prf: HashName, skeyidD: Uint8Array, protocol: number, spi: Uint8Array,
  niB: Uint8Array, nrB: Uint8Array, len: number, gxyQm?: Uint8Array): Uint8Array {
  const seed = [...(gxyQm ? [gxyQm] : []), byte(protocol), spi, niB, nrB];
  const out = new Uint8Array(len);
  let k = hmac(prf, skeyidD, ...seed);
  let n = 0;
  for (;;) {
    out.set(k.subarray(0, Math.min(k.length, len - n)), n);
    n += k.length;
    if (n >= len) return out;
    k = hmac(prf, skeyidD, k, ...seed);
  }
}

export { hashLength };
