// The hub's CRL (X.509 v2, RFC 5280 5): signed by the enrollment CA key, listing the certificates the
// CA issued to revoked device keys (issued.ts), so that spokes refuse them spoke to spoke too (they
// fetch it over the enrollment channel: crl-fetch.ts). Made again when the revoked list changes, and
// before half of its validity has passed, so a spoke fetching every few minutes never holds a stale one.
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { x509 } from './x509.js';
import { webAlgorithms } from './issue.js';

/** how long a CRL is good for (nextUpdate - thisUpdate) */
export const CRL_VALIDITY_MS = 24 * 3600_000;
/** the cRLNumber extension (RFC 5280 5.2.3) */
const CRL_NUMBER_OID = '2.5.29.20';

/** DER of a non-negative INTEGER */
function derInteger(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let body = Buffer.from(hex, 'hex');
  if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

export interface CrlParams { caCertPem: string; caKeyPem: string; serials: readonly string[]; number: bigint; now: Date; validityMs: number }

/** The CRL in PEM; throws when the CA key is not the CA certificate's. */
export async function makeCrl(p: CrlParams): Promise<string> {
  const caKey = createPrivateKey(p.caKeyPem);
  if (!new X509Certificate(p.caCertPem).checkPrivateKey(caKey)) throw new Error('the CA key pair is not the key of the trustpoint\'s CA certificate');
  const { imp, sig } = webAlgorithms(caKey);
  const signingKey = await webcrypto.subtle.importKey('pkcs8', caKey.export({ type: 'pkcs8', format: 'der' }), imp, false, ['sign']);
  const issuer = new x509.X509Certificate(p.caCertPem);
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.subjectName,
    thisUpdate: p.now,
    nextUpdate: new Date(p.now.getTime() + p.validityMs),
    signingKey,
    signingAlgorithm: sig,
    entries: p.serials.map((serialNumber) => ({ serialNumber, revocationDate: p.now, reason: x509.X509CrlReason.keyCompromise })),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(issuer), new x509.Extension(CRL_NUMBER_OID, false, new Uint8Array(derInteger(p.number)))],
  });
  // the PEM label openssl and RFC 7468 use (the library writes "CRL")
  return `-----BEGIN X509 CRL-----\n${Buffer.from(crl.rawData).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END X509 CRL-----\n`;
}

/**
 * The current CRL of one CA: made on demand, kept while the serials and the CA are the same and less
 * than half its validity has passed. Its number is the time it was made in ms, and at least one more
 * than the last (RFC 5280 wants it to increase: across restarts too, as long as the hub's clock does
 * not go back).
 */
/** what `show crypto pki crls` shows of a CRL this box issued (crl-view.ts) */
export interface IssuedCrl { issuer: string; number: bigint; thisUpdate: number; nextUpdate: number; serials: readonly string[] }

export class CrlSource {
  private held?: { pem: string; basis: string; made: number; issued: IssuedCrl };
  private last = 0n;

  constructor(private readonly validityMs = CRL_VALIDITY_MS) {}

  async current(caCertPem: string, caKeyPem: string, serials: readonly string[], now: Date): Promise<string> {
    const basis = `${caCertPem}\n${serials.join(',')}`;
    const h = this.held;
    if (h && h.basis === basis && now.getTime() - h.made < this.validityMs / 2 && now.getTime() >= h.made) return h.pem;
    const t = BigInt(now.getTime());
    const number = t > this.last ? t : this.last + 1n;
    const pem = await makeCrl({ caCertPem, caKeyPem, serials, number, now, validityMs: this.validityMs });
    this.last = number;
    this.held = { pem, basis, made: now.getTime(), issued: { issuer: new x509.X509Certificate(caCertPem).subject, number, thisUpdate: now.getTime(), nextUpdate: now.getTime() + this.validityMs, serials: [...serials] } };
    return pem;
  }

  /** the CRL made last (undefined: none since the start; one is made when a spoke first asks) */
  issued(): IssuedCrl | undefined { return this.held?.issued; }
}
