// What the enrollment server signs and serves with, from the running config and the key store: the
// hub's TLS identity is its trustpoint (own certificate + key pair: the key whose SHA-256 the spokes'
// provisioning pins), and the CA that issues device certificates is that trustpoint's CA certificate
// with the private key of `ca-keypair`. Every way this is unusable is one sentence (the server does not
// listen then and `show dmvpn enrollment` says why).
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type { CryptoConfig } from '../config/model.js';
import type { EnrollmentConfig } from '../config/model-enroll.js';
import { chainCerts, trustpointOf } from '../config/model-pki.js';
import { certOf, trustpointCredentials, type KeyLookup } from '../ike/pki/trustpoint.js';

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

/** The next instant after `now` (ms) at which one of trustpoint `name`'s own certificates becomes valid
 *  or stops being valid (trustpointCredentials checks validity against the clock); Infinity if none. */
function nextValidityEdge(crypto: CryptoConfig, name: string | undefined, now: number): number {
  const edges = chainCerts(crypto.pki, name ?? '').filter((c) => !c.ca).flatMap((c) => {
    const cert = certOf(c);
    return [new Date(cert.validFrom).getTime(), new Date(cert.validTo).getTime() + 1]; // valid from <= t <= to
  });
  return Math.min(Infinity, ...edges.filter((t) => t > now));
}

/**
 * serverCredentials for a caller that asks every few seconds (the server follows the running config):
 * computed again only when something it reads changed. That is the enrollment and crypto config (an
 * apply replaces the running config whole and never edits it in place, so a new object is a change),
 * the key-store entries of the trustpoint's key pair and of the CA key pair (compared by their PEM), and
 * the clock passing the start or end of validity of one of the trustpoint's own certificates. One
 * computation parses both keys and the certificates and checks signatures: too much for every tick.
 */
export class ServerCredentialsCache {
  private last?: { inputs: unknown[]; until: number; value: ServerCredentials | string };

  constructor(private readonly now: () => number = Date.now) {}

  get(e: EnrollmentConfig, crypto: CryptoConfig, keys: KeyLookup | undefined): ServerCredentials | string {
    const tpLabel = trustpointOf(crypto, e.trustpoint)?.keyPair?.label;
    const inputs = [e, crypto, tpLabel && keys?.(tpLabel)?.pem, e.caKeypair && keys?.(e.caKeypair)?.pem];
    const now = this.now();
    const l = this.last;
    if (l && now < l.until && inputs.every((x, i) => x === l.inputs[i])) return l.value;
    const value = serverCredentials(e, crypto, keys);
    this.last = { inputs, until: nextValidityEdge(crypto, e.trustpoint, now), value };
    return value;
  }
}
