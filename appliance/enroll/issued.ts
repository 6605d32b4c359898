// Which certificates the enrollment CA issued to which device key, kept in the state file so the CRL
// (crl.ts) can list those of a revoked key. Entries go once their certificate has expired (IKE refuses
// an expired certificate anyway, so a CRL need not list it), and a key keeps at most MAX_PER_KEY (the
// oldest go first: with renewals at 70 % of the lifetime only the last two are ever unexpired).
import { X509Certificate } from 'node:crypto';
import type { EnrollmentState, IssuedCert } from './bindings.js';

/** certificates remembered per device key, at most */
export const MAX_PER_KEY = 32;

/** `s.issued` with `certPem` (issued to device key `key`) added and the expired ones (at `now`) dropped. */
export function withIssued(s: EnrollmentState, key: string, certPem: string, now: Date): Record<string, IssuedCert[]> {
  const c = new X509Certificate(certPem);
  const live = (l: IssuedCert[]) => l.filter((e) => e.notAfter > now.getTime());
  const out: Record<string, IssuedCert[]> = {};
  for (const [k, l] of Object.entries(s.issued ?? {})) {
    const kept = live(l);
    if (kept.length) out[k] = kept;
  }
  out[key] = [...(out[key] ?? []), { serial: c.serialNumber.toUpperCase(), notAfter: Date.parse(c.validTo) }].slice(-MAX_PER_KEY);
  return out;
}

/** The serials of the unexpired certificates issued to the revoked keys of `s`, sorted. */
export function revokedSerials(s: EnrollmentState, now: Date): string[] {
  return (s.revoked ?? []).flatMap((k) => (s.issued?.[k] ?? []).filter((e) => e.notAfter > now.getTime()).map((e) => e.serial)).sort();
}
