// `show crypto pki crls [json]`: the CRL each trustpoint holds (enroll/crl-view.ts), laid out as IOS's
// command (issuer, LastUpdate/NextUpdate, the revoked serials), with what this appliance adds: the CRL
// number, where it came from (fetched from the enrollment url, or loaded from storage at start), the
// last fetch and the next, and the fetcher's counters. On a hub, its enrollment CA's trustpoint shows
// the CRL the box issues and serves to its spokes. Public data only (a CRL is signed and public).
import type { CrlView, CrlTrustpointView, FetchResult, IssuedHereView } from '../enroll/crl-view.js';
import { iosDate } from './time.js';

const at = (ms: number) => iosDate(new Date(ms));
const iso = (ms: number) => new Date(ms).toISOString();

function lastFetchLine(f: FetchResult | undefined): string {
  if (!f) return '  Last fetch: none yet';
  return f.error === undefined ? `  Last fetch: succeeded at ${at(f.at)}` : `  Last fetch: failed at ${at(f.at)}: ${f.error}`;
}

function nextFetchLine(v: CrlView): string {
  return `  Next fetch: ${v.fetching ? 'under way' : v.nextFetch !== undefined ? at(v.nextFetch) : 'not scheduled'}`;
}

const revokedLines = (serials: readonly string[]) => [`  Number of CRL entries: ${serials.length}`,
  ...(serials.length ? ['  Revoked certificates:', ...serials.map((s) => `    Serial Number: 0x${s}`)] : [])];

function issuedLines(name: string, i: IssuedHereView): string[] {
  const out = [`Trustpoint ${name} (this box's enrollment CA: the CRL is issued here and served to spokes):`];
  const c = i.crl;
  if (!c) {
    out.push('  No CRL issued since the start: one is made when a spoke first asks for it');
    out.push(`  Certificates revoked now: ${i.revokedNow.length}${i.revokedNow.length ? ` (${i.revokedNow.map((s) => `0x${s}`).join(', ')})` : ''}`);
    return out;
  }
  out.push('  CRL Issuer Name:', `    ${c.issuer}`, `  CRL Number: ${c.number}`, `  LastUpdate: ${at(c.thisUpdate)}`,
    `  NextUpdate: ${at(c.nextUpdate)}${c.expired ? ' (expired: a new one is made at the next request)' : ''}`,
    `  Served to spokes: ${i.served} time${i.served === 1 ? '' : 's'}`);
  if (i.revokedNow.join() !== c.serials.join()) out.push(`  Revocations changed since: the next CRL lists ${i.revokedNow.length} (made at the next request)`);
  out.push(...revokedLines(c.serials));
  return out;
}

function trustpointLines(t: CrlTrustpointView, v: CrlView): string[] {
  if (t.issuedHere) return issuedLines(t.trustpoint, t.issuedHere);
  const out = [`Trustpoint ${t.trustpoint}${t.url ? ` (CRL fetched from ${t.url})` : ' (no enrollment url: no CRL is fetched)'}:`];
  const c = t.crl;
  if (!c) out.push(`  No CRL held${t.url ? ': certificates of this CA are not checked for revocation' : ''}`);
  else {
    const from = c.origin?.from === 'storage' ? `loaded from storage at ${at(c.origin.at)} (fetched at ${at(c.origin.fetchedAt)})`
      : c.origin ? `fetched at ${at(c.origin.at)}` : 'unknown';
    out.push('  CRL Issuer Name:', `    ${c.issuer}`, `  CRL Number: ${c.number}`, `  LastUpdate: ${at(c.thisUpdate)}`,
      `  NextUpdate: ${at(c.nextUpdate)}${c.expired ? ' (expired: it still refuses what it lists, other certificates of this CA are accepted)' : ''}`,
      `  Retrieved: ${from}`);
  }
  if (t.url) out.push(lastFetchLine(t.lastFetch), nextFetchLine(v));
  if (c) out.push(...revokedLines(c.serials));
  return out;
}

/** the view with its times as ISO 8601 text */
function jsonOf(v: CrlView) {
  return {
    ...v,
    ...(v.nextFetch !== undefined ? { nextFetch: iso(v.nextFetch) } : {}),
    trustpoints: v.trustpoints.map((t) => ({
      ...t,
      ...(t.issuedHere?.crl ? { issuedHere: { ...t.issuedHere, crl: { ...t.issuedHere.crl, thisUpdate: iso(t.issuedHere.crl.thisUpdate), nextUpdate: iso(t.issuedHere.crl.nextUpdate) } } } : {}),
      ...(t.lastFetch ? { lastFetch: { ...t.lastFetch, at: iso(t.lastFetch.at) } } : {}),
      ...(t.crl ? {
        crl: {
          ...t.crl, thisUpdate: iso(t.crl.thisUpdate), nextUpdate: iso(t.crl.nextUpdate),
          ...(t.crl.origin ? { origin: { ...t.crl.origin, at: iso(t.crl.origin.at), ...(t.crl.origin.from === 'storage' ? { fetchedAt: iso(t.crl.origin.fetchedAt) } : {}) } } : {}),
        },
      } : {}),
    })),
  };
}

export function formatPkiCrls(v: CrlView, json = false): string {
  if (json) return JSON.stringify(jsonOf(v)) + '\n';
  if (!v.trustpoints.length) return '% No trustpoint with a CA certificate: no CRL\n';
  const k = v.counters;
  return [
    ...v.trustpoints.flatMap((t) => [...trustpointLines(t, v), '']),
    `CRLs kept ${v.storage ? `in ${v.storage} (loaded at start)` : 'in memory only'}`,
    `Fetched ${k.fetched}, fetch failed ${k.failed}, loaded from storage ${k.loaded}, stored refused ${k.storedRefused}, write failed ${k.writeFailed}; peer certificates refused ${k.refused}, IKE SAs taken down ${k.tornDown}`,
  ].join('\n') + '\n';
}
