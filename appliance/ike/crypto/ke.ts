// Key exchange for IKEv2 by transform ID (RFC 7296 3.3.2 / IANA "Transform Type 4"): MODP 2048 (group
// 14, through dh.ts), ECP-256 and ECP-384 (groups 19 and 20, RFC 5903: the KE data is x | y without a
// point-format byte, the shared secret is x alone) and Curve25519 (group 31, RFC 8031: 32-byte values,
// an all-zero secret refused). All through node:crypto (OpenSSL), which test/ike2-crypto.test.ts measured
// several times faster than @noble/curves for these curves; the figures are in docs/ike.md.
import { createECDH, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { dhExchange, type DhExchange } from './dh.js';

const ECP: Record<number, { curve: string; len: number }> = { 19: { curve: 'prime256v1', len: 32 }, 20: { curve: 'secp384r1', len: 48 } };

export const keGroups = [14, 19, 20, 31];

function ecp(group: number, privateKey?: Uint8Array): DhExchange {
  const { curve, len } = ECP[group];
  const ecdh = createECDH(curve);
  if (privateKey) ecdh.setPrivateKey(privateKey); else ecdh.generateKeys();
  return {
    group,
    publicKey: new Uint8Array(ecdh.getPublicKey().subarray(1)),
    secret(peer) {
      if (peer.length !== 2 * len) return null;
      // OpenSSL refuses a point that is not on the curve (RFC 6989 2.3: the check IKE needs)
      try { return new Uint8Array(ecdh.computeSecret(Buffer.concat([Buffer.from([4]), peer]))); } catch { return null; }
    },
  };
}

/** PKCS#8 wrapping of a raw X25519 private key (RFC 8410: the OID 1.3.101.110, then the 32 bytes). */
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function x25519(privateRaw?: Uint8Array): DhExchange {
  const { privateKey, publicKey } = privateRaw
    ? (() => { const k = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, privateRaw]), format: 'der', type: 'pkcs8' }); return { privateKey: k, publicKey: createPublicKey(k) }; })()
    : generateKeyPairSync('x25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return {
    group: 31,
    publicKey: new Uint8Array(raw),
    secret(peer) {
      if (peer.length !== 32) return null;
      try {
        const pub = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peer).toString('base64url') }, format: 'jwk' });
        const s = new Uint8Array(diffieHellman({ privateKey, publicKey: pub }));
        return s.every((b) => b === 0) ? null : s;
      } catch { return null; }
    },
  };
}

/**
 * A fresh key pair for `group`; throws for a group not in keGroups (config refuses those first).
 * `privateKey` (ECP and Curve25519 only) is for known-answer tests against the RFC vectors.
 */
export function keExchange(group: number, privateKey?: Uint8Array): DhExchange {
  if (group === 31) return x25519(privateKey);
  if (ECP[group]) return ecp(group, privateKey);
  if (group === 14) return dhExchange(14);
  throw new Error(`DH group ${group} unsupported for IKEv2`);
}
