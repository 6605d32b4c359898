// The CA side of enrollment: a PKCS#10 request's proof of possession (its signature by the device key),
// and the device certificate the hub's CA key signs for it: subject CN=<hostname>, subjectAltName the
// device name as dNSName (its IKE identity, ID_FQDN: device-name.ts) and the tunnel address as
// iPAddress (what identity-bound NHRP checks a registration against), not a CA, digitalSignature only,
// a random 128-bit serial, valid from a little before `now` (clock skew: an hour, or a
// twentieth of a short lifetime, so that a spoke renewing at a share of the lifetime still waits) for `lifetimeMs`. No NBMA address: behind NAT
// the address the hub sees is not the spoke's, and an identity is not something the spoke may claim.
import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { x509 } from './x509.js';

export interface ProvenKey { spki: Buffer; key: string /* SHA-256 of the SPKI, hex */ }

/** SHA-256 of a SubjectPublicKeyInfo, hex: a device key's name in bindings and shows. */
export const keyId = (spki: Buffer) => createHash('sha256').update(spki).digest('hex');

/** The request's public key once its signature verifies, or why not. */
export async function provenKey(csrPem: string): Promise<ProvenKey | string> {
  let csr: x509.Pkcs10CertificateRequest;
  try { csr = new x509.Pkcs10CertificateRequest(csrPem); } catch (e) { return `certificate request does not parse (${(e as Error).message.slice(0, 80)})`; }
  let ok = false;
  try { ok = await csr.verify(); } catch (e) { return `certificate request signature not checkable (${(e as Error).message.slice(0, 80)})`; }
  if (!ok) return 'certificate request signature does not verify (no proof of the device key)';
  const spki = Buffer.from(csr.publicKey.rawData);
  try { createPublicKey({ key: spki, format: 'der', type: 'spki' }); } catch { return 'certificate request key unusable'; }
  return { spki, key: keyId(spki) };
}

/** WebCrypto import and signature algorithms for a CA key of each kind. */
export function webAlgorithms(k: KeyObject): { imp: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams | webcrypto.Algorithm; sig: webcrypto.Algorithm | webcrypto.EcdsaParams } {
  switch (k.asymmetricKeyType) {
    case 'ec': return { imp: { name: 'ECDSA', namedCurve: 'P-256' }, sig: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams };
    case 'ed25519': return { imp: { name: 'Ed25519' }, sig: { name: 'Ed25519' } };
    case 'rsa': return { imp: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sig: { name: 'RSASSA-PKCS1-v1_5' } };
    default: throw new Error(`CA key of type ${k.asymmetricKeyType} cannot sign certificates here`);
  }
}

/** `names`: the device name(s), subjectAltName dNSName (IKE checks that a peer's certificate carries the
 *  identity it authenticates as); `addresses`: the tunnel address, subjectAltName iPAddress */
export interface IssueParams { caCertPem: string; caKeyPem: string; spki: Buffer; names: string[]; addresses: string[]; hostname: string; now: Date; lifetimeMs: number }

/** how far before its issue a certificate is valid (clock skew), at most */
const MAX_BACKDATE_MS = 3600_000;

/** The device certificate in PEM; throws when the CA key is not the CA certificate's. */
export async function issueCertificate(p: IssueParams): Promise<string> {
  const caKey = createPrivateKey(p.caKeyPem);
  const caCert = new X509Certificate(p.caCertPem);
  if (!caCert.ca) throw new Error('the trustpoint\'s CA certificate is not a CA');
  if (!caCert.checkPrivateKey(caKey)) throw new Error('the CA key pair is not the key of the trustpoint\'s CA certificate');
  const { imp, sig } = webAlgorithms(caKey);
  const signingKey = await webcrypto.subtle.importKey('pkcs8', caKey.export({ type: 'pkcs8', format: 'der' }), imp, false, ['sign']);
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // a positive INTEGER
  serial[0] |= 0x10; // and no leading zero byte to strip (IOS-style serials stay 16 bytes)
  const issuer = new x509.X509Certificate(p.caCertPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: `CN=${p.hostname}`,
    issuer: issuer.subjectName,
    notBefore: new Date(p.now.getTime() - Math.min(MAX_BACKDATE_MS, p.lifetimeMs / 20)),
    notAfter: new Date(p.now.getTime() + p.lifetimeMs),
    publicKey: new x509.PublicKey(new Uint8Array(p.spki)),
    signingKey,
    signingAlgorithm: sig,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([...p.names.map((value) => ({ type: 'dns' as const, value })), ...p.addresses.map((value) => ({ type: 'ip' as const, value }))]),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  });
  return cert.toString('pem') + '\n';
}
