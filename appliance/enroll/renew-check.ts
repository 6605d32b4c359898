// The hub's decision on a renewal (codec.ts RenewRequest): the device presents, as its TLS client
// certificate, the certificate the hub issued it; TLS 1.3 has proven it holds that certificate's key
// (CertificateVerify). Renewed only when that certificate is the enrollment CA's, valid now, and its key
// still bound (bindings.ts): a binding cleared by the operator ends renewals, so a revoked device's
// certificate runs out. What the new certificate says comes from the binding, never from the old
// certificate. Pure: the service applies the outcome.
import { X509Certificate } from 'node:crypto';
import { bindingOf, type Binding, type EnrollmentState } from './bindings.js';
import { keyId } from './issue.js';
import { issuerOf } from '../ike/tasks/v2/cert-auth.js';

export type RenewCheck =
  | { ok: true; key: string; spki: Buffer; binding: Binding }
  | { ok: false; reason: 'bad-certificate' | 'not-enrolled'; detail: string; key?: string };

export function checkRenewal(peer: X509Certificate | undefined, caPem: string, state: EnrollmentState, now: Date): RenewCheck {
  if (!peer) return { ok: false, reason: 'bad-certificate', detail: 'no TLS client certificate' };
  if (!issuerOf(peer, [new X509Certificate(caPem)])) return { ok: false, reason: 'bad-certificate', detail: 'the client certificate is not issued by the enrollment CA' };
  const t = now.getTime();
  if (t < Date.parse(peer.validFrom) || t > Date.parse(peer.validTo)) return { ok: false, reason: 'bad-certificate', detail: `the client certificate is not valid now (${peer.validFrom} to ${peer.validTo})` };
  const spki = peer.publicKey.export({ type: 'spki', format: 'der' });
  const key = keyId(spki);
  const binding = bindingOf(state, key);
  if (!binding) return { ok: false, reason: 'not-enrolled', detail: 'no binding for this device key (cleared?)', key };
  return { ok: true, key, spki, binding };
}
