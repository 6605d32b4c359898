// Diffie-Hellman over the MODP groups IKE names by number (RFC 2409 6.1/6.2 groups 1 and 2, RFC 3526
// groups 5 and 14), using OpenSSL's built-in well-known groups. Public values and the shared secret
// are always the full length of the prime (RFC 2409 5: g^xy is used as is, so a secret with leading
// zero bytes must keep them, or both ends derive different keys once in 256 exchanges).
//
// Two ways in, measured per exchange pair on this machine: getDiffieHellman() makes OpenSSL check the
// prime each time it is created, which it skips for the RFC 3526 groups it knows (5, 14: 5.6 and 9.6
// ms) but not for RFC 2409's groups 1 and 2 (206 and 305 ms: seed 003's group 1 capped main mode
// at ~27 exchanges/s). For groups 1 and 2, key pairs of the named group come from
// generateKeyPairSync('dh', { group }) (no check; 7.5 and 8.4 ms per pair) and the peer's value enters
// OpenSSL as a SubjectPublicKeyInfo: our own exported one gives the group's algorithm identifier, and
// only its BIT STRING (the INTEGER y) is rebuilt.
import { createPublicKey, diffieHellman, generateKeyPairSync, getDiffieHellman, type KeyObject } from 'node:crypto';

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

// ---- the few DER pieces a DH SubjectPublicKeyInfo needs (X.690 definite lengths) ----------------
const derLength = (n: number): number[] => {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
};
const tlv = (tag: number, body: Uint8Array): Uint8Array => Uint8Array.from([tag, ...derLength(body.length), ...body]);
/** Reads the header of the TLV at `off`: where its body starts and how long it is. */
function header(der: Uint8Array, off: number): { body: number; len: number } {
  const first = der[off + 1];
  if (first < 0x80) return { body: off + 2, len: first };
  let len = 0;
  for (let i = 0; i < (first & 0x7f); i++) len = (len << 8) | der[off + 2 + i];
  return { body: off + 2 + (first & 0x7f), len };
}

/** Node has `generateKeyPairSync('dh', { group })`; its type definitions lack the overload. */
const dhKeyPair = generateKeyPairSync as unknown as (type: 'dh', o: { group: string }) => { privateKey: KeyObject; publicKey: KeyObject };

interface GroupInfo { prime: Uint8Array; algorithmId: Uint8Array }
const groups = new Map<number, GroupInfo>();

/** SPKI = SEQUENCE { AlgorithmIdentifier (with p, g), BIT STRING { INTEGER y } } */
function splitSpki(spki: Uint8Array): { algorithmId: Uint8Array; y: Uint8Array } {
  const outer = header(spki, 0);
  const alg = header(spki, outer.body);
  const algEnd = alg.body + alg.len;
  const bits = header(spki, algEnd);
  const int = header(spki, bits.body + 1); // after the unused-bits byte
  return { algorithmId: spki.subarray(outer.body, algEnd), y: spki.subarray(int.body, int.body + int.len) };
}

function groupInfo(group: number, sample: KeyObject): GroupInfo {
  let g = groups.get(group);
  if (!g) {
    const { algorithmId } = splitSpki(new Uint8Array(sample.export({ type: 'spki', format: 'der' })));
    // the prime, for lengths and the range check: read once per group (this is the slow path)
    g = { prime: new Uint8Array(getDiffieHellman(NODE_GROUP[group]).getPrime()), algorithmId: new Uint8Array(algorithmId) };
    groups.set(group, g);
  }
  return g;
}

function peerKey(g: GroupInfo, y: Uint8Array): KeyObject {
  let i = 0;
  while (i < y.length - 1 && y[i] === 0) i++;
  const magnitude = y.subarray(i);
  const int = tlv(0x02, magnitude[0] & 0x80 ? Uint8Array.from([0, ...magnitude]) : magnitude);
  const bits = tlv(0x03, Uint8Array.from([0, ...int]));
  const spki = tlv(0x30, Uint8Array.from([...g.algorithmId, ...bits]));
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

/** Groups whose DiffieHellman objects OpenSSL creates without checking the prime (see above). */
const CHECK_FREE = new Set([5, 14]);

function legacyExchange(group: number, name: string): DhExchange {
  const dh = getDiffieHellman(name);
  dh.generateKeys();
  const prime = new Uint8Array(dh.getPrime());
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

export function dhExchange(group: number): DhExchange {
  const name = NODE_GROUP[group];
  if (!name) throw new Error(`DH group ${group} unsupported`);
  if (CHECK_FREE.has(group)) return legacyExchange(group, name);
  const { privateKey, publicKey } = dhKeyPair('dh', { group: name });
  const g = groupInfo(group, publicKey);
  const len = g.prime.length;
  const own = splitSpki(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }))).y;
  return {
    group,
    publicKey: leftPad(own[0] === 0 && own.length > len ? own.subarray(1) : own, len),
    secret(peer) {
      if (peer.length !== len) return null;
      if (!inRange(peer, g.prime)) return null;
      try { return leftPad(new Uint8Array(diffieHellman({ privateKey, publicKey: peerKey(g, peer) })), len); } catch { return null; }
    },
  };
}

/** 1 < y < p - 1 (RFC 6989 style check: rejects the values that force a known secret). */
function inRange(y: Uint8Array, p: Uint8Array): boolean {
  const Y = BigInt('0x' + Buffer.from(y).toString('hex'));
  const P = BigInt('0x' + Buffer.from(p).toString('hex'));
  return Y > 1n && Y < P - 1n;
}
