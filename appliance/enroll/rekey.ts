// The hub's decision on a renewal that brings a new device key (`auto-enroll regenerate` on the spoke,
// codec.ts RenewRequest.newKey), after renew-check.ts accepted the certificate presented: the new key's
// proof of possession over this TLS session (key-proof.ts), the same kind of key, not the key it
// replaces, not revoked, not another device's. The outcome is the state with the binding moved to the
// new key in one piece (the old key no longer bound: IKE refuses its certificate from then on,
// revocation.ts); the device keeps its name and address. A device whose answer was lost asks again
// presenting its old certificate with the same new key: that key's certificate is issued again and
// nothing changes (the old key alone, without the new one's proof, gets nothing). Pure: the service
// saves the state before it answers.
import { createPublicKey } from 'node:crypto';
import type { RenewCheck } from './renew-check.js';
import type { RefusalReason } from './decide.js';
import { bindingName, type EnrollmentState } from './bindings.js';
import { keyId } from './issue.js';
import { keyProven, keyShape } from './key-proof.js';

export type RekeyDecision =
  /** next: the state to save (undefined: the binding holds this key already, a repeated answer) */
  | { ok: true; key: string; spki: Buffer; next?: EnrollmentState }
  | { ok: false; reason: RefusalReason | 'bad-request'; detail: string };

type Accepted = Extract<RenewCheck, { ok: true }>;

export function decideRekey(state: EnrollmentState, c: Accepted, newKey: { spki: Buffer; proof: Buffer }, binder: Buffer | undefined): RekeyDecision {
  if (!binder || !keyProven(newKey.spki, newKey.proof, binder)) return { ok: false, reason: 'bad-request', detail: 'the new key\'s proof of possession does not verify (its signature over this TLS session)' };
  const shape = keyShape(createPublicKey({ key: newKey.spki, format: 'der', type: 'spki' })), was = keyShape(createPublicKey({ key: c.spki, format: 'der', type: 'spki' }));
  if (shape !== was) return { ok: false, reason: 'bad-request', detail: `the new key is ${shape}, the one it replaces ${was}: a new key of the same kind` };
  const key = keyId(newKey.spki), b = c.binding;
  if (c.viaPrevious) {
    // the old key asks again: only for the key that replaced it, whose proof it has just given
    return key === b.key ? { ok: true, key, spki: newKey.spki } : { ok: false, reason: 'not-enrolled', detail: 'this device key was replaced by another one' };
  }
  if (key === c.key || key === b.previous) return { ok: false, reason: 'bad-request', detail: 'the new key is the one it replaces, or the one replaced before' };
  if (state.revoked?.includes(key)) return { ok: false, reason: 'key-revoked', detail: 'the new key was revoked' };
  const other = state.bindings.find((x) => x !== b && (x.key === key || x.previous === key));
  if (other) return { ok: false, reason: 'key-bound-elsewhere', detail: `the new key is ${other.address}'s` };
  const moved = { ...b, key, previous: c.key, name: bindingName(b) };
  const usedTokens = Object.fromEntries(Object.entries(state.usedTokens).map(([t, k]) => [t, k === c.key ? key : k]));
  return { ok: true, key, spki: newKey.spki, next: { ...state, bindings: state.bindings.map((x) => (x === b ? moved : x)), usedTokens } };
}
