// The spoke's CRLs (docs/enrollment.md "Revoking a device"): a CRL is only held once its signature
// verifies with the CA certificate of our trustpoint and it names that CA as issuer; a CRL with a number
// not above the one held is refused (a replayed older CRL would un-revoke). IKE asks `refusal` about every
// peer certificate (PeerCertCheck). A CRL past its nextUpdate still refuses what it lists (revocation is
// for good: the hub never lists a certificate on hold), and what it does not list is accepted: the
// fetcher keeps trying and warns (fail open for the unlisted, as IKE stacks do by default).
import { X509Certificate } from 'node:crypto';
import { x509 } from './x509.js';
import { issuerOf } from '../ike/tasks/v2/cert-auth.js';

const CRL_NUMBER_OID = '2.5.29.20';

/** where a held CRL came from: fetched (at) or loaded from the persisted file (at, fetched at fetchedAt) */
export type CrlOrigin = { from: 'fetched'; at: number } | { from: 'storage'; at: number; fetchedAt: number };

/** `pem`: the verified text (what is persisted, crl-file.ts); `issuer`: its issuer name (RFC 4514) */
export interface HeldCrl { ca: X509Certificate; pem: string; issuer: string; number: bigint; thisUpdate: number; nextUpdate: number; serials: Set<string>; origin?: CrlOrigin }

/** a trustpoint with a CA certificate: `ca` parsed once, `caPem` its text (what TLS and verifiedCrl take) */
export interface TrustpointCa { trustpoint: string; ca: X509Certificate; caPem: string }

/** a serial as compared here: upper-case hex without leading zero octets */
export const normSerial = (hex: string) => hex.toUpperCase().replace(/^(00)+(?=..)/, '');

/** DER INTEGER (non-negative, at most 20 octets: RFC 5280 5.2.3) -> bigint, or undefined */
function derUint(b: Uint8Array): bigint | undefined {
  if (b.length < 3 || b[0] !== 0x02 || b[1] !== b.length - 2 || b[1] > 21 || b[2] & 0x80) return undefined;
  return BigInt(`0x${Buffer.from(b.subarray(2)).toString('hex')}`);
}

/** The CRL `pem` once it verifies as issued by `caPem`, or why it is refused. */
export async function verifiedCrl(pem: string, caPem: string): Promise<HeldCrl | string> {
  let crl: x509.X509Crl, ca: X509Certificate, caX: x509.X509Certificate;
  const m = /^-----BEGIN X509 CRL-----\n([A-Za-z0-9+/=\n]+)-----END X509 CRL-----\n?$/.exec(pem);
  if (!m) return 'the CRL is not a PEM X509 CRL';
  try { crl = new x509.X509Crl(Buffer.from(m[1], 'base64')); } catch { return 'the CRL does not parse'; }
  try { ca = new X509Certificate(caPem); caX = new x509.X509Certificate(caPem); } catch { return 'our CA certificate does not parse'; }
  // compared as text (RFC 4514): the same name may be encoded with other string types
  if (crl.issuer !== caX.subject) return `the CRL is issued by ${crl.issuer}, not our CA ${caX.subject}`;
  let ok = false;
  try { ok = await crl.verify({ publicKey: caX }); } catch { ok = false; }
  if (!ok) return 'the CRL\'s signature does not verify with our CA';
  const next = crl.nextUpdate;
  if (!next) return 'the CRL has no nextUpdate';
  const ext = crl.getExtension(CRL_NUMBER_OID);
  const number = ext && derUint(new Uint8Array(ext.value));
  if (number === undefined || number === null) return 'the CRL has no usable cRLNumber';
  return { ca, pem, issuer: crl.issuer, number, thisUpdate: crl.thisUpdate.getTime(), nextUpdate: next.getTime(), serials: new Set(crl.entries.map((e) => normSerial(e.serialNumber))) };
}

/** The CRLs held, one per CA (by its DER). */
export class CrlStore {
  private readonly held = new Map<string, HeldCrl>();

  /** Takes `c` unless one at least as new is held: the serials it adds (empty when none), or why not. */
  accept(c: HeldCrl): string[] | string {
    const id = c.ca.raw.toString('hex');
    const old = this.held.get(id);
    if (old && c.number < old.number) return `CRL number ${c.number} is older than the one held (${old.number})`;
    if (old && c.number === old.number) return [];
    this.held.set(id, c);
    return [...c.serials].filter((s) => !old?.serials.has(s));
  }

  /** the CRL held for `caPem`'s CA */
  of(ca: X509Certificate): HeldCrl | undefined { return this.held.get(ca.raw.toString('hex')); }

  /** Drops the CRLs of CAs not in `cas` (by DER hex): a CA no trustpoint holds any more. */
  retain(cas: ReadonlySet<string>): void {
    for (const id of [...this.held.keys()]) if (!cas.has(id)) this.held.delete(id);
  }

  /** Why `cert` is revoked by a CRL held of its issuer, or undefined. */
  refusal(cert: X509Certificate): string | undefined {
    for (const c of this.held.values()) {
      if (!issuerOf(cert, [c.ca]) || !c.serials.has(normSerial(cert.serialNumber))) continue;
      return `certificate serial ${normSerial(cert.serialNumber)} of ${cert.subject.replace(/\n/g, ', ')} is revoked (CRL ${c.number} of ${c.ca.subject.replace(/\n/g, ', ')})`;
    }
    return undefined;
  }
}
