// Certificate authentication for IKE_AUTH with RFC 7427 digital signatures (AUTH method 14: a length
// byte, the signature's AlgorithmIdentifier, the signature) over the octets of RFC 7296 2.15: ECDSA
// P-256 with SHA-256 (DER Ecdsa-Sig-Value), Ed25519 (RFC 8420, the octets signed as they are) and RSA
// PKCS#1 v1.5 with SHA-256. The peer's certificate (CERT, X.509 signature encoding 4) must be signed by
// a configured CA, be within its validity, and carry the IKE identity: an ID_IPV4_ADDR as a SAN
// iPAddress, an ID_FQDN as a SAN dNSName (exactly: no wildcard, never the subject CN, which a
// certificate made for something else may hold). The identity is bound to the key, which is what
// identity-bound NHRP builds on.
import { createHash, createPrivateKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { AuthMethod, PayloadV2 } from '../../encoding/constants-v2.js';
import type { AuthBodyV2, DataBodyV2, PayloadV2Decoded } from '../../encoding/payloads-v2.js';

export const CERT_X509_SIGNATURE = 4;

export interface CertCredentials { cert: X509Certificate; key: KeyObject; trusted: X509Certificate[] }

/** A further say over a peer certificate that passed every check here (chain, validity, identity, AUTH
 *  signature): why it is refused, or undefined to accept it. The box's owner of such a rule plugs it in
 *  (the hub's enrollment server: a device certificate only while its key is enrolled); IKE knows no more. */
export type PeerCertCheck = (cert: X509Certificate) => string | undefined;

/** AlgorithmIdentifier DER of the signature schemes we make and accept (RFC 7427 appendix A, RFC 8420). */
const ALG = {
  ecdsaSha256: Buffer.from('300a06082a8648ce3d040302', 'hex'),
  ed25519: Buffer.from('300506032b6570', 'hex'),
  rsaSha256: Buffer.from('300d06092a864886f70d01010b0500', 'hex'),
};

export function loadCredentials(certPem: string, keyPem: string, trustedPem: string[]): CertCredentials {
  const cert = new X509Certificate(certPem), key = createPrivateKey(keyPem);
  if (!cert.checkPrivateKey(key)) throw new Error('certificate and private key do not match');
  return { cert, key, trusted: trustedPem.map((p) => new X509Certificate(p)) };
}

/** The AlgorithmIdentifier and hash of the signatures `key` makes (IKE AUTH, and the CSR of ike/pki/csr.ts). */
export function signatureScheme(key: KeyObject): { alg: Buffer; hash: string | null } {
  const t = key.asymmetricKeyType;
  if (t === 'ed25519') return { alg: ALG.ed25519, hash: null };
  if (t === 'ec') return { alg: ALG.ecdsaSha256, hash: 'sha256' };
  if (t === 'rsa') return { alg: ALG.rsaSha256, hash: 'sha256' };
  throw new Error(`key type ${t} not supported for signatures (ed25519, ec P-256, rsa)`);
}

export function signatureAuth(creds: CertCredentials, octets: Uint8Array): AuthBodyV2 {
  const s = signatureScheme(creds.key);
  const sig = sign(s.hash, octets, creds.key);
  return { type: PayloadV2.Auth, method: AuthMethod.DigitalSignature, data: new Uint8Array(Buffer.concat([Buffer.from([s.alg.length]), s.alg, sig])) };
}

/** CERTREQ (RFC 7296 3.7): X.509 encoding, then the SHA-1 hash of each trusted CA's public key (SPKI). */
export function certRequest(creds: CertCredentials): DataBodyV2 {
  const hashes = creds.trusted.map((c) => createHash('sha1').update(c.publicKey.export({ type: 'spki', format: 'der' })).digest());
  return { type: PayloadV2.CertReq, data: new Uint8Array(Buffer.concat([Buffer.from([CERT_X509_SIGNATURE]), ...hashes])) };
}

export const certPayload = (creds: CertCredentials): DataBodyV2 =>
  ({ type: PayloadV2.Cert, data: new Uint8Array(Buffer.concat([Buffer.from([CERT_X509_SIGNATURE]), creds.cert.raw])) });

/** An IKE identity a certificate can carry: ID_IPV4_ADDR or ID_FQDN (RFC 7296 3.5). */
export type CertIdentity = { kind: 'ipv4'; address: string } | { kind: 'fqdn'; name: string };

/** `cert` carries `name` as a subjectAltName dNSName: compared as DNS compares (case-insensitively),
 *  no wildcard entry matching, and the subject CN never used instead */
export const certNamesHost = (cert: X509Certificate, name: string) =>
  cert.checkHost(name, { subject: 'never', wildcards: false, partialWildcards: false }) !== undefined;

const carries = (cert: X509Certificate, id: CertIdentity) => (id.kind === 'ipv4' ? cert.checkIP(id.address) !== undefined : certNamesHost(cert, id.name));
const describe = (id: CertIdentity) => (id.kind === 'ipv4' ? `${id.address} (SAN IP)` : `${id.name} (SAN DNS)`);

/** The IPv4 addresses a certificate's subjectAltName names (iPAddress entries). */
export function sanIpv4Addresses(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(/,\s*/).map((e) => /^IP Address:(\d+\.\d+\.\d+\.\d+)$/.exec(e.trim())?.[1]).filter((a): a is string => a !== undefined);
}

/** The CA of `cas` that issued `cert` (its issuer name and its signature), if any. Also the check of
 *  our own certificate against its trustpoint's CAs (ike/pki/trustpoint.ts). */
export function issuerOf(cert: X509Certificate, cas: readonly X509Certificate[]): X509Certificate | undefined {
  return cas.find((c) => { try { return cert.checkIssued(c) && cert.verify(c.publicKey); } catch { return false; } });
}

export const withinValidity = (cert: X509Certificate, now = new Date()) => now >= new Date(cert.validFrom) && now <= new Date(cert.validTo);

/**
 * The peer's end-entity certificate checked against our trust anchors and its claimed identity, then
 * its AUTH signature over `octets`. A reason when anything fails, else the IPv4 addresses the
 * certificate names (identity-bound NHRP accepts registrations of those tunnel addresses only) and the
 * certificate itself (kept on the SA, so a PeerCertCheck can be asked again later).
 */
export function verifySignatureAuth(ps: readonly PayloadV2Decoded[], auth: AuthBodyV2, trusted: readonly X509Certificate[], identity: CertIdentity, octets: Uint8Array, now = new Date()): string | { addresses: string[]; keyType: string; cert: X509Certificate } {
  const certP = ps.find((p) => p.type === PayloadV2.Cert && !('unknown' in p)) as DataBodyV2 | undefined;
  if (!certP || certP.data[0] !== CERT_X509_SIGNATURE) return 'no X.509 certificate payload';
  let cert: X509Certificate;
  try { cert = new X509Certificate(Buffer.from(certP.data.subarray(1))); } catch { return 'certificate undecodable'; }
  if (!issuerOf(cert, trusted)) return `certificate of ${cert.subject.replace(/\n/g, ', ')} not issued by a trusted CA`;
  if (!withinValidity(cert, now)) return 'certificate outside its validity period';
  if (!carries(cert, identity)) return `certificate does not carry the identity ${describe(identity)}`;
  const algLen = auth.data[0];
  if (auth.data.length < 1 + algLen) return 'AUTH signature undecodable';
  const alg = Buffer.from(auth.data.subarray(1, 1 + algLen)), sig = auth.data.subarray(1 + algLen);
  const kt = cert.publicKey.asymmetricKeyType;
  const hash = alg.equals(ALG.ed25519) && kt === 'ed25519' ? null : alg.equals(ALG.ecdsaSha256) && kt === 'ec' ? 'sha256' : alg.equals(ALG.rsaSha256) && kt === 'rsa' ? 'sha256' : undefined;
  if (hash === undefined) return 'signature algorithm not accepted for this key';
  let good = false;
  try { good = verify(hash, octets, cert.publicKey, sig); } catch { /* malformed signature: refused below */ }
  return good ? { addresses: sanIpv4Addresses(cert), keyType: kt!, cert } : 'AUTH signature does not verify';
}
