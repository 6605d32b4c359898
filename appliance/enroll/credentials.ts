// What the enrollment server signs and serves with, from the running config and the key store: the
// hub's TLS identity is its trustpoint (own certificate + key pair: the key whose SHA-256 the spokes'
// provisioning pins), and the CA that issues device certificates is that trustpoint's CA certificate
// with the private key of `ca-keypair`. Every way this is unusable is one sentence (the server does not
// listen then and `show dmvpn enrollment` says why).
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type { CryptoConfig } from '../config/model.js';
import type { EnrollmentConfig } from '../config/model-enroll.js';
import { trustpointCredentials, type KeyLookup } from '../ike/pki/trustpoint.js';

export interface ServerCredentials { tlsCert: string; tlsKey: string; caCert: string; caKey: string; pin: string }

/** The pin a spoke's provisioning file carries: SHA-256 of the hub key's SubjectPublicKeyInfo, as curl's
 *  --pinnedpubkey writes it (sha256//BASE64). */
export const pinOf = (certPem: string) =>
  `sha256//${createHash('sha256').update(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64')}`;

export function serverCredentials(e: EnrollmentConfig, crypto: CryptoConfig, keys: KeyLookup | undefined): ServerCredentials | string {
  if (!e.trustpoint) return 'no trustpoint (dmvpn enrollment: trustpoint NAME)';
  if (!e.caKeypair) return 'no CA key pair (dmvpn enrollment: ca-keypair LABEL)';
  const tp = trustpointCredentials(crypto, e.trustpoint, keys);
  if (!tp.ok) return tp.reason;
  const ca = keys?.(e.caKeypair);
  if (!ca) return `no key pair ${e.caKeypair} in the key store`;
  const caKey = createPrivateKey(ca.pem);
  const caCert = tp.value.trusted.find((p) => new X509Certificate(p).checkPrivateKey(caKey));
  if (!caCert) return `key pair ${e.caKeypair} is not the key of a CA certificate of trustpoint ${e.trustpoint}`;
  return { tlsCert: tp.value.cert, tlsKey: tp.value.key, caCert, caKey: ca.pem, pin: pinOf(tp.value.cert) };
}
