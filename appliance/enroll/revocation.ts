// Revocation on the hub (docs/enrollment.md "Revoking a device"): a device certificate the enrollment
// CA signed is good for IKE only while its device key is bound here. `clear dmvpn enrollment binding`
// then cuts the device off at once instead of leaving its certificate good for the rest of its
// lifetime; the IKE code asks this rule through its generic PeerCertCheck hook (ike/tasks/v2/cert-auth.ts).
// Certificates of any other CA are not this rule's business. Pure: the server (server.ts) supplies the
// CA certificates and its live state.
import { X509Certificate } from 'node:crypto';
import type { CryptoConfig } from '../config/model.js';
import type { EnrollmentConfig } from '../config/model-enroll.js';
import { chainCerts } from '../config/model-pki.js';
import { certOf } from '../ike/pki/trustpoint.js';
import { issuerOf } from '../ike/tasks/v2/cert-auth.js';
import { bindingOf, type EnrollmentState } from './bindings.js';
import type { ServerCredentials } from './credentials.js';
import { keyId } from './issue.js';
import { shortKey } from './service.js';

/** Why `cert` may not authenticate a peer here: signed by one of `cas` (the enrollment CA) and its key
 *  not bound in `state`. Undefined otherwise. Only the key id's 16-digit prefix is ever in the reason. */
export function unenrolledReason(cert: X509Certificate, cas: readonly X509Certificate[], state: EnrollmentState): string | undefined {
  if (!cas.length || !issuerOf(cert, cas)) return undefined;
  const key = keyId(cert.publicKey.export({ type: 'spki', format: 'der' }));
  return bindingOf(state, key) ? undefined : `device key ${shortKey(key)} is not enrolled on this hub (its binding was cleared, or it never had one)`;
}

/**
 * The certificates that count as the enrollment CA: the one the server issues with when its credentials
 * are usable; otherwise (its CA key missing from the key store, its own certificate expired ...) every
 * CA certificate of the enrollment trustpoint, so the rule never lapses while `dmvpn enrollment` is
 * configured only because the server cannot issue. None without `dmvpn enrollment`.
 */
export function enrollmentCas(e: EnrollmentConfig | undefined, crypto: CryptoConfig, creds: ServerCredentials | string): X509Certificate[] {
  if (!e) return [];
  if (typeof creds !== 'string') return [new X509Certificate(creds.caCert)];
  return e.trustpoint ? chainCerts(crypto.pki, e.trustpoint).filter((c) => c.ca).map(certOf) : [];
}
