// A trustpoint's certificates and key as IKE uses them: the CA certificates of its chain (the trust
// anchors for peers), our own certificate (the chain's one non-CA certificate, issued by one of those
// CAs) and the private key of the trustpoint's key pair label from the key store. Every way this can be
// unusable is a reason naming the trustpoint, so `crypto pki import`, live apply and the IKE service
// refuse with the same words.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { CryptoConfig } from '../../config/model.js';
import { chainCerts, trustpointOf, type ChainCert, type KeyKind, type Trustpoint } from '../../config/model-pki.js';
import type { Parsed } from '../config.js';
import { issuerOf, withinValidity } from '../tasks/v2/cert-auth.js';

/** A private key of the key store, by label (PEM, PKCS#8). */
export type KeyLookup = (label: string) => { kind: KeyKind; pem: string } | undefined;

/** `der` as a PEM block (RFC 7468: base64 in 64-character lines) labelled `label`. */
export const pemBlock = (label: string, der: Buffer) =>
  `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

/** A certificate (DER, or DER in hex as the config keeps it) in PEM. */
const pemOf = (der: Buffer | string) => pemBlock('CERTIFICATE', typeof der === 'string' ? Buffer.from(der, 'hex') : der);

export const certOf = (c: ChainCert) => new X509Certificate(Buffer.from(c.der, 'hex'));

/** The CA certificates of trustpoint `name` (PEM); a reason when there is none. */
function trustedCas(crypto: CryptoConfig, name: string): Parsed<string[]> {
  if (!trustpointOf(crypto, name)) return { ok: false, reason: `trustpoint ${name} is not defined` };
  const cas = chainCerts(crypto.pki, name).filter((c) => c.ca);
  if (!cas.length) return { ok: false, reason: `trustpoint ${name} has no CA certificate (crypto pki authenticate ${name})` };
  return { ok: true, warnings: [], value: cas.map((c) => pemOf(c.der)) };
}

/** The private key of trustpoint `tp` (its key pair label), checked against `cert` when given. */
export function trustpointKey(tp: Trustpoint, keys: KeyLookup | undefined, cert?: X509Certificate): Parsed<{ pem: string; key: KeyObject }> {
  if (!tp.keyPair) return { ok: false, reason: `trustpoint ${tp.name} names no key pair (rsakeypair|eckeypair|ed25519keypair LABEL)` };
  const k = keys?.(tp.keyPair.label);
  if (!k) return { ok: false, reason: `trustpoint ${tp.name}: no key pair ${tp.keyPair.label} in the key store (crypto key generate ${tp.keyPair.kind} label ${tp.keyPair.label})` };
  if (k.kind !== tp.keyPair.kind) return { ok: false, reason: `trustpoint ${tp.name}: key pair ${tp.keyPair.label} is ${k.kind}, the trustpoint says ${tp.keyPair.kind}keypair` };
  const key = createPrivateKey(k.pem);
  if (cert && !cert.checkPrivateKey(key)) return { ok: false, reason: `trustpoint ${tp.name}: the certificate ${cert.serialNumber} is not for key pair ${tp.keyPair.label} (its public key differs)` };
  return { ok: true, warnings: [], value: { pem: k.pem, key } };
}

/** Why `cert` (ours, to be used by trustpoint `name`) is not issued by one of `cas`, or undefined. */
export function notIssuedBy(cert: X509Certificate, cas: X509Certificate[], name: string): string | undefined {
  return issuerOf(cert, cas) ? undefined : `certificate ${cert.serialNumber} (${cert.subject.replace(/\n/g, ',')}) is not issued by the CA of trustpoint ${name}`;
}

/** Our certificate, key and the trusted CAs of trustpoint `name`, as IkeV2Settings.certificate takes them. */
export function trustpointCredentials(crypto: CryptoConfig, name: string, keys: KeyLookup | undefined): Parsed<{ cert: string; key: string; trusted: string[] }> {
  const tp = trustpointOf(crypto, name);
  if (!tp) return { ok: false, reason: `trustpoint ${name} is not defined` };
  const cas = trustedCas(crypto, name);
  if (!cas.ok) return cas;
  const own = chainCerts(crypto.pki, name).filter((c) => !c.ca);
  if (!own.length) return { ok: false, reason: `trustpoint ${name} has no certificate of its own (crypto pki import ${name} certificate)` };
  const caCerts = cas.value.map((p) => new X509Certificate(p));
  const warnings: string[] = [];
  for (const c of own) {
    const cert = certOf(c);
    const k = trustpointKey(tp, keys, cert);
    if (!k.ok) { warnings.push(k.reason); continue; }
    const why = notIssuedBy(cert, caCerts, name);
    if (why) return { ok: false, reason: why };
    if (!withinValidity(cert)) return { ok: false, reason: `trustpoint ${name}: certificate ${cert.serialNumber} is outside its validity (${cert.validFrom} - ${cert.validTo})` };
    return { ok: true, warnings: [], value: { cert: pemOf(c.der), key: k.value.pem, trusted: cas.value } };
  }
  return { ok: false, reason: warnings[0] ?? `trustpoint ${name}: no usable certificate` };
}
