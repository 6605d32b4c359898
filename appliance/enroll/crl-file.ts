// The spoke's persisted CRLs (docs/enrollment.md "The CRL"): `<startup-config>.crls`, next to the key
// store (`<startup-config>.keys`) and the startup-config that holds the trustpoints' certificates, so that
// a restart does not reopen the window in which a revoked certificate is accepted until the first fetch.
// One entry per trustpoint: the CRL as fetched (PEM), the SHA-256 of the CA certificate it was verified
// with (a CA change drops it) and when it was fetched. The file is not trusted: each CRL is verified again
// with the trustpoint's CA when loaded (crl-fetch.ts); this module only bounds and shapes the text.
import { createHash, type X509Certificate } from 'node:crypto';

/** a CRL answer is at most 256 KiB (codec.ts MAX_ANSWER); a few trustpoints' worth */
export const MAX_CRL_FILE = 1024 * 1024;
/** entries: a box has a trustpoint or two (the file's size bounds it too) */
const MAX_ENTRIES = 64;
const FILE_VERSION = 1;
/** the last time a Date holds (ECMA-262 21.4.1.22): a later one would make toISOString throw */
const MAX_TIME_MS = 8.64e15;
/** a config word: no blank or control character (what the CLI accepts as a trustpoint name) */
const TRUSTPOINT = /^[^\s\x00-\x1f\x7f]{1,128}$/;
const PEM = /^-----BEGIN X509 CRL-----\n[A-Za-z0-9+/=\n]+-----END X509 CRL-----\n$/;

/** `ca`: hex SHA-256 of the DER of the CA certificate it was verified with; `fetchedAt`: ms */
export interface StoredCrl { ca: string; pem: string; fetchedAt: number }

/** the identity a stored CRL keeps of its CA (caOf) */
export const caOf = (ca: X509Certificate) => createHash('sha256').update(ca.raw).digest('hex');

/** The entries by trustpoint, or why the file is refused (then none of it is used). */
export function parseCrlFile(text: string): Map<string, StoredCrl> | string {
  if (text.length > MAX_CRL_FILE) return `larger than ${MAX_CRL_FILE} bytes`;
  let j: unknown;
  try { j = JSON.parse(text); } catch { return 'not JSON'; }
  const o = j as { version?: unknown; crls?: unknown };
  if (typeof o !== 'object' || o === null || o.version !== FILE_VERSION) return `not a version ${FILE_VERSION} CRL file`;
  if (typeof o.crls !== 'object' || o.crls === null || Array.isArray(o.crls)) return 'no crls object';
  const entries = Object.entries(o.crls as Record<string, unknown>);
  if (entries.length > MAX_ENTRIES) return `more than ${MAX_ENTRIES} entries`;
  const out = new Map<string, StoredCrl>();
  for (const [tp, v] of entries) {
    const e = v as Partial<StoredCrl> | null;
    if (!TRUSTPOINT.test(tp)) return 'a malformed trustpoint name';
    if (typeof e !== 'object' || e === null || typeof e.ca !== 'string' || !/^[0-9a-f]{64}$/.test(e.ca)) return `trustpoint ${tp}: no CA fingerprint`;
    if (typeof e.pem !== 'string' || !PEM.test(e.pem)) return `trustpoint ${tp}: not a PEM X509 CRL`;
    if (typeof e.fetchedAt !== 'number' || !Number.isSafeInteger(e.fetchedAt) || e.fetchedAt < 0 || e.fetchedAt > MAX_TIME_MS) return `trustpoint ${tp}: no fetch time`;
    out.set(tp, { ca: e.ca, pem: e.pem, fetchedAt: e.fetchedAt });
  }
  return out;
}

export function renderCrlFile(entries: ReadonlyMap<string, StoredCrl>): string {
  return JSON.stringify({ version: FILE_VERSION, crls: Object.fromEntries(entries) }, null, 1) + '\n';
}
