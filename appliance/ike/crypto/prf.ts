// The hash and HMAC PRF primitives IKE negotiates (RFC 2409 appendix A hash algorithms; the PRF of
// IKEv1 is the HMAC of the negotiated hash, RFC 2409 section 4).
import { createHash, createHmac } from 'node:crypto';

export type HashName = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const hashLength: Record<HashName, number> = { md5: 16, sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

export function hash(name: HashName, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(name);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmac(name: HashName, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac(name, key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
