// Diffie-Hellman over the MODP groups IKEv1 names by number (RFC 2409 6.1/6.2 groups 1 and 2, RFC 3526
// groups 5 and 14), using Node's built-in well-known primes. Public values and the shared secret are
// always the full length of the prime (RFC 2409 5: g^xy is used as is, so a secret with leading zero
// bytes must keep them, or both ends derive different keys once in 256 exchanges).
import { getDiffieHellman } from 'node:crypto';

const NODE_GROUP: Record<number, string> = { 1: 'modp1', 2: 'modp2', 5: 'modp5', 14: 'modp14' };

export const supportedGroups = Object.keys(NODE_GROUP).map(Number);

export interface DhExchange {
  group: number;
  publicKey: Uint8Array;
  /** g^xy for the peer's public value, or null when that value is not a valid group element. */
  secret(peerPublic: Uint8Array): Uint8Array | null;
}

function leftPad(b: Uint8Array, len: number): Uint8Array {
  if (b.length === len) return new Uint8Array(b);
  const out = new Uint8Array(len);
  out.set(b, len - b.length);
  return out;
}

export function dhExchange(group: number): DhExchange {
  const name = NODE_GROUP[group];
  if (!name) throw new Error(`DH group ${group} unsupported`);
  const dh = getDiffieHellman(name);
  dh.generateKeys();
  const prime = dh.getPrime();
  const len = prime.length;
  return {
    group,
    publicKey: leftPad(dh.getPublicKey(), len),
    secret(peer) {
      if (peer.length !== len) return null;
      if (!inRange(peer, prime)) return null;
      try { return leftPad(dh.computeSecret(peer), len); } catch { return null; }
    },
  };
}

/** 1 < y < p - 1 (RFC 6989 style check: rejects the values that force a known secret). */
function inRange(y: Uint8Array, p: Uint8Array): boolean {
  const Y = BigInt('0x' + Buffer.from(y).toString('hex'));
  const P = BigInt('0x' + Buffer.from(p).toString('hex'));
  return Y > 1n && Y < P - 1n;
}
