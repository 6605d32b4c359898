// The hub's decision on a renewal (codec.ts RenewRequest): the device presents, as its TLS client
// certificate, the certificate the hub issued it; TLS 1.3 has proven it holds that certificate's key
// (CertificateVerify). Renewed only when that certificate is the enrollment CA's, its key not revoked
// and still bound (bindings.ts): a binding cleared by the operator ends renewals, so a revoked device's
// certificate runs out. Its validity: valid now, or expired for at most the renewal grace (a box that
// was switched off past its certificate's end would otherwise be stranded: its IKE cannot come up, and
// nobody is at its console); a certificate not valid yet is refused (its dates are the CA's, so that is
// a clock or a forgery problem, never a box that slept). What the new certificate says comes from the
// binding, never from the old certificate. Pure: the service applies the outcome.
import { X509Certificate } from 'node:crypto';
import { bindingOf, type Binding, type EnrollmentState } from './bindings.js';
import { keyId } from './issue.js';
import { issuerOf } from '../ike/tasks/v2/cert-auth.js';

export type RenewRefusal = 'bad-certificate' | 'not-enrolled' | 'key-revoked' | 'expired-beyond-grace';

export type RenewCheck =
  /** expiredMs: how long ago the presented certificate ended (0 when it is valid now) */
  /** viaPrevious: the key is no longer bound but was replaced by `proposed`, the binding's key now
   *  (a rollover whose answer was lost, asked again: rekey.ts decides) */
  | { ok: true; key: string; spki: Buffer; binding: Binding; expiredMs: number; viaPrevious: boolean }
  | { ok: false; reason: RenewRefusal; detail: string; key?: string };

const DAY_MS = 86_400_000;
const days = (ms: number) => `${Math.floor(ms / DAY_MS)} d ${Math.floor((ms % DAY_MS) / 3600_000)} h`;

/** `graceMs`: how long after its end an expired certificate may still renew (renewalGraceMs);
 *  `proposed`: the key id of the new key a regenerating renewal brings */
export function checkRenewal(peer: X509Certificate | undefined, caPem: string, state: EnrollmentState, now: Date, graceMs: number, proposed?: string): RenewCheck {
  if (!peer) return { ok: false, reason: 'bad-certificate', detail: 'no TLS client certificate' };
  if (!issuerOf(peer, [new X509Certificate(caPem)])) return { ok: false, reason: 'bad-certificate', detail: 'the client certificate is not issued by the enrollment CA' };
  const spki = peer.publicKey.export({ type: 'spki', format: 'der' });
  const key = keyId(spki);
  // a revoked key is said so whatever its certificate's dates: the operator's word comes first
  if (state.revoked?.includes(key)) return { ok: false, reason: 'key-revoked', detail: 'this device key was revoked', key };
  const t = now.getTime(), from = Date.parse(peer.validFrom), to = Date.parse(peer.validTo);
  if (t < from) return { ok: false, reason: 'bad-certificate', detail: `the client certificate is not valid yet (from ${peer.validFrom})`, key };
  const expiredMs = Math.max(0, t - to);
  if (expiredMs > graceMs) return { ok: false, reason: 'expired-beyond-grace', detail: `the client certificate ended ${peer.validTo}, ${days(expiredMs)} ago: beyond the renewal grace of ${days(graceMs)} (enroll the device again)`, key };
  const binding = bindingOf(state, key);
  if (binding) return { ok: true, key, spki, binding, expiredMs, viaPrevious: false };
  const replaced = proposed === undefined ? undefined : state.bindings.find((b) => b.previous === key && b.key === proposed);
  if (replaced) return { ok: true, key, spki, binding: replaced, expiredMs, viaPrevious: true };
  return { ok: false, reason: 'not-enrolled', detail: 'no binding for this device key (cleared?)', key };
}
