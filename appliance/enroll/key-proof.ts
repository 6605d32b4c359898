// Proof of possession of a new device key in a renewal that regenerates it (`auto-enroll regenerate`,
// docs/enrollment.md "A new key at renewal"): the new key signs a value both ends derive from the TLS
// session they share (RFC 8446 7.5 exported keying material, RFC 5705), prefixed by a fixed context and
// followed by the new key's SubjectPublicKeyInfo. Nobody without the new private key can make it; a
// proof recorded from one session verifies in no other (another handshake exports another value), so
// it cannot be replayed or relayed to the hub over a connection the device did not make; and it binds
// the public key, so it cannot be moved to another key.
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

/** the RFC 5705 label of the exported value (its own: no other use of exporters here may collide) */
export const PROOF_EXPORTER_LABEL = 'EXPORTER-dmvpn-enroll-new-key';
/** the exporter's context value (RFC 8446 7.5): fixed, the label already says what it is for */
const EXPORTER_CONTEXT = Buffer.from('v1');
/** bytes exported from the TLS session */
const EXPORTED_BYTES = 32;
/** what the signature is about, so a signature by the key for anything else never passes as this */
const CONTEXT = Buffer.from('dmvpn enrollment: new device key, v1\u0000');

/** the session's binding value, the same on both ends of one TLS 1.3 connection */
export const sessionBinder = (s: TLSSocket): Buffer => s.exportKeyingMaterial(EXPORTED_BYTES, PROOF_EXPORTER_LABEL, EXPORTER_CONTEXT);

const signed = (binder: Buffer, spki: Buffer) => Buffer.concat([CONTEXT, binder, spki]);
/** the hash each key kind signs with (Ed25519 hashes inside the signature) */
const hashOf = (k: KeyObject) => (k.asymmetricKeyType === 'ed25519' ? null : 'sha256');

/** The new key's SPKI and its signature over the session's binder: what a regenerating renewal carries. */
export function proveKey(newKey: KeyObject, binder: Buffer): { spki: Buffer; sig: Buffer } {
  const spki = createPublicKey(newKey).export({ type: 'spki', format: 'der' });
  return { spki, sig: sign(hashOf(newKey), signed(binder, spki), newKey) };
}

/** Whether `sig` is `spki`'s key's signature over `binder` (false for a key that does not parse). */
export function keyProven(spki: Buffer, sig: Buffer, binder: Buffer): boolean {
  let k: KeyObject;
  try { k = createPublicKey({ key: spki, format: 'der', type: 'spki' }); } catch { return false; }
  try { return verify(hashOf(k), signed(binder, spki), k, sig); } catch { return false; }
}

/** A key's kind as the rollover compares it: the same algorithm, curve and size, or the new key is refused. */
export function keyShape(k: KeyObject): string {
  const d = k.asymmetricKeyDetails ?? {};
  return `${k.asymmetricKeyType}${d.namedCurve ? `/${d.namedCurve}` : ''}${d.modulusLength ? `/${d.modulusLength}` : ''}`;
}
