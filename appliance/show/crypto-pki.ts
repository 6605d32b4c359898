// `show crypto pki certificates [NAME]`, `show crypto pki trustpoints`, `show crypto key mypubkey` in the
// IOS layout. Pure functions of the PKI config and the key store's public view; public keys only.
import { certOf } from '../ike/pki/trustpoint.js';
import { chainCerts, type PkiConfig, type KeyKind } from '../config/model-pki.js';
import { derHexLines } from '../config/render-pki.js';
import { iosDate, iosTime } from './time.js';
import type { RenewalStatus } from '../enroll/cert-renewal.js';

export interface PublicKeyRow { label: string; kind: KeyKind; bits: number; created: string; spki: Uint8Array }

const KIND_NAME: Record<KeyKind, string> = { rsa: 'RSA KEYS', ec: 'EC KEYS', ed25519: 'ED25519 KEYS' };


export function formatMyPubkey(rows: PublicKeyRow[], kind?: KeyKind, json = false): string {
  if (json) return JSON.stringify(rows.filter((x) => !kind || x.kind === kind).map((r) => ({ ...r, spki: Buffer.from(r.spki).toString('hex') }))) + '\n';
  const out: string[] = [];
  for (const r of rows.filter((x) => !kind || x.kind === kind)) {
    out.push(`% Key pair was generated at: ${iosDate(new Date(r.created))}`, `Key name: ${r.label}`,
      `Key type: ${KIND_NAME[r.kind]}${r.kind === 'rsa' ? ` ${r.bits} bits` : r.kind === 'ec' ? ' (P-256)' : ''}`,
      ' Storage Device: private-config (key store file)', ' Usage: General Purpose Key', ' Key is not exportable.', ' Key Data:',
      ...derHexLines(Buffer.from(r.spki).toString('hex')));
  }
  return out.length ? out.join('\n') + '\n' : '% No key pairs\n';
}

function dnLines(dn: string, indent: string): string[] {
  return dn.split('\n').filter(Boolean).map((x) => `${indent}${x.replace(/^(\w+)=/, (_, k: string) => `${k.toLowerCase()}=`)}`);
}

/** One certificate of a chain as the show commands see it. */
export interface CertRow { trustpoint: string; ca: boolean; status: string; serial: string; issuer: string; subject: string; ipAddresses: string[]; validFrom: string; validTo: string; fingerprintSha256: string }

function certificateRows(pki: PkiConfig | undefined, name?: string, now = new Date()): CertRow[] {
  const out: CertRow[] = [];
  for (const ch of pki?.chains ?? []) {
    if (name && ch.name !== name) continue;
    for (const c of [...ch.certs.filter((x) => !x.ca), ...ch.certs.filter((x) => x.ca)]) {
      const x = certOf(c);
      const from = new Date(x.validFrom), to = new Date(x.validTo);
      out.push({ trustpoint: ch.name, ca: c.ca, status: now < from ? 'Pending (not yet valid)' : now > to ? 'Expired' : 'Available', serial: x.serialNumber,
        issuer: x.issuer, subject: x.subject, validFrom: from.toISOString(), validTo: to.toISOString(), fingerprintSha256: x.fingerprint256.replace(/:/g, ''),
        ipAddresses: (x.subjectAltName ?? '').split(/,\s*/).map((e) => /^IP Address:(.+)$/.exec(e)?.[1]).filter((a): a is string => a !== undefined) });
    }
  }
  return out;
}

export function formatPkiCertificates(pki: PkiConfig | undefined, name?: string, json = false, now = new Date()): string {
  const rows = certificateRows(pki, name, now);
  if (json) return JSON.stringify(rows) + '\n';
  if (!rows.length) return name ? `% No certificates for trustpoint ${name}\n` : '% No certificates\n';
  const out: string[] = [];
  for (const r of rows) {
    out.push(r.ca ? 'CA Certificate' : 'Certificate', `  Status: ${r.status}`, `  Certificate Serial Number (hex): ${r.serial}`,
      '  Certificate Usage: General Purpose', '  Issuer: ', ...dnLines(r.issuer, '    '), '  Subject:',
      ...r.ipAddresses.map((ip) => `    IP Address: ${ip}`), ...dnLines(r.subject, '    '),
      '  Validity Date: ', `    start date: ${iosDate(new Date(r.validFrom))}`, `    end   date: ${iosDate(new Date(r.validTo))}`, `  Associated Trustpoints: ${r.trustpoint} `, '');
  }
  return out.join('\n');
}

export function formatPkiTrustpoints(pki: PkiConfig | undefined, json = false): string {
  if (json) {
    return JSON.stringify((pki?.trustpoints ?? []).map((t) => {
      const certs = chainCerts(pki, t.name);
      return { ...t, caCertificate: certs.some((c) => c.ca), routerCertificate: certs.some((c) => !c.ca) };
    })) + '\n';
  }
  const out: string[] = [];
  for (const t of pki?.trustpoints ?? []) {
    const certs = chainCerts(pki, t.name);
    const ca = certs.find((c) => c.ca);
    out.push(`Trustpoint ${t.name}:`);
    if (ca) {
      const x = certOf(ca);
      out.push('    Subject Name: ', ...dnLines(x.subject, '    '), `          Serial Number (hex): ${x.serialNumber}`);
    }
    out.push(ca ? '    Certificate configured.' : '    CA certificate not configured (crypto pki authenticate).');
    out.push(certs.some((c) => !c.ca) ? '    Router certificate configured.' : '    Router certificate not configured (crypto pki import ... certificate).');
    if (t.keyPair) out.push(`    Key pair: ${t.keyPair.kind} ${t.keyPair.label}`);
    out.push('');
  }
  return out.length ? out.join('\n') : '% No trustpoints\n';
}

const dots = (label: string) => `    ${label} ${'.'.repeat(Math.max(2, 26 - label.length))} `;
const inOrAgo = (ms: number, now: number) => (ms >= now ? `in ${iosTime((ms - now) / 1000)}` : `${iosTime((now - ms) / 1000)} ago`);

/** `show crypto pki trustpoints status`: per trustpoint its certificates, keys and, for one that renews
 *  itself (auto-enroll with an enrollment url: an enrolled spoke), when and how its renewal goes. */
export function formatPkiTrustpointsStatus(pki: PkiConfig | undefined, renewals: RenewalStatus[], json = false, now = Date.now()): string {
  const tps = pki?.trustpoints ?? [];
  if (json) return JSON.stringify(tps.map((t) => ({ name: t.name, renewal: renewals.find((r) => r.trustpoint === t.name) }))) + '\n';
  const out: string[] = [];
  for (const t of tps) {
    const certs = chainCerts(pki, t.name);
    const ca = certs.find((c) => c.ca), own = certs.find((c) => !c.ca);
    out.push(`Trustpoint ${t.name}:`);
    if (ca) out.push('  Issuing CA certificate configured:', '    Subject Name:', ...dnLines(certOf(ca).subject, '     '));
    if (own) {
      const x = certOf(own);
      out.push('  Router General Purpose certificate configured:', '    Subject Name:', ...dnLines(x.subject, '     '),
        `    Serial Number (hex): ${x.serialNumber}`, `    Validity: ${iosDate(new Date(x.validFrom))} - ${iosDate(new Date(x.validTo))}`);
    }
    out.push('  State:',
      `${dots('Keys generated')}${t.keyPair ? `Yes (${t.keyPair.kind} ${t.keyPair.label})` : 'No'}`,
      `${dots('Issuing CA authenticated')}${ca ? 'Yes' : 'No'}`,
      `${dots('Certificate request(s)')}${own ? 'None' : 'Not enrolled'}`);
    const r = renewals.find((x) => x.trustpoint === t.name);
    if (r) {
      out.push(`  Auto-enroll: at ${r.percent}% of the lifetime, with ${r.url}${r.regenerate ? ', new key pair each time' : ''}`,
        `${dots('Renewal due')}${iosDate(new Date(r.dueMs))} (${inOrAgo(r.dueMs, now)})`,
        `${dots('Certificate expires')}${iosDate(new Date(r.endMs))} (${inOrAgo(r.endMs, now)})`,
        `${dots('Last renewal')}${r.last ? `${inOrAgo(r.last.at, now)}: ${r.last.ok ? r.last.text : `failed: ${r.last.text}`}` : 'none since start'}`);
      if (r.nextRetryAt !== undefined) out.push(`${dots('Next attempt')}${inOrAgo(r.nextRetryAt, now)}`);
    }
    out.push('');
  }
  return out.length ? out.join('\n') : '% No trustpoints\n';
}
