// The spoke's CRL kept across restarts and shown (docs/enrollment.md "The CRL", enroll/crl-persist.ts,
// crl-file.ts, crl-view.ts, show/crypto-pki-crls.ts), over real CRLs the test CA signs: a fetched CRL is
// written to the file (atomically, 0600) and a new fetcher loads it before any fetch, verified again with
// the trustpoint's CA (it refuses what it lists with the hub unreachable, and takes down SAs that came up
// before); a tampered file, a CRL of another CA and a malformed file are refused, logged and counted; a
// stored CRL older than the one held is refused, and so is a fetched one older than the one loaded; a CA
// change drops the stored CRL; `show crypto pki crls` in text and JSON.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { TestCa, certBlock } from './util/pki.js';
import { requireTools } from './util/needs.js';
import { makeCrl } from '../appliance/enroll/crl.js';
import { normSerial } from '../appliance/enroll/crl-store.js';
import { CrlFetcher } from '../appliance/enroll/crl-fetch.js';
import { parseCrlFile, renderCrlFile, caOf, MAX_CRL_FILE } from '../appliance/enroll/crl-file.js';
import type { CrlStorage } from '../appliance/enroll/crl-persist.js';
import { formatPkiCrls } from '../appliance/show/crypto-pki-crls.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import { writeFileAtomic } from '../appliance/supervisor/startup-config.js';
import type { EnrollAnswer } from '../appliance/enroll/codec.js';
import { EnrollError } from '../appliance/enroll/client.js';

requireTools(t, ['openssl']);

const HOUR = 3600_000;
const serialOf = (pem: string) => normSerial(new X509Certificate(pem).serialNumber);

/** a spoke config whose trustpoint TP fetches its CRL from 127.0.0.1:4430 and holds `caPem`; a second
 *  trustpoint OTHER with `otherCa` and no enrollment url when given */
function spokeConfig(caPem: string, otherCa?: string) {
  const chain = (name: string, pem: string) => [`crypto pki certificate chain ${name}`, ...certBlock(pem, new X509Certificate(pem).serialNumber, true)];
  const text = ['hostname S', 'crypto pki trustpoint TP', ' enrollment url https://127.0.0.1:4430', ' revocation-check none', ...chain('TP', caPem),
    ...(otherCa ? ['crypto pki trustpoint OTHER', ' enrollment terminal', ' revocation-check none', ...chain('OTHER', otherCa)] : []), 'end', ''].join('\n');
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(`spoke config does not load: ${JSON.stringify(r)}`);
  return r.config;
}

/** The CA `lab` (and `other`), device certificates A and B of lab, and CRLs it signs. */
function pki(t: { teardown(f: () => void): void }) {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const caPem = ca.ca('lab'), otherPem = ca.ca('other');
  const a = ca.leaf('a', 'lab', ['172.16.1.1']), b = ca.leaf('b', 'lab', ['172.16.2.1']);
  const crl = (number: bigint, serials: string[], now = new Date(), issuer = 'lab') =>
    makeCrl({ caCertPem: ca.read(`${issuer}.pem`), caKeyPem: ca.read(`${issuer}.key`), serials, number, now, validityMs: 24 * HOUR });
  return { ca, caPem, otherPem, a, b, crl };
}

/** the file storage dmvpnd gives the fetcher (entry/enroll-box.ts): `<dir>/startup-config.crls` */
function fileStorage(dir: string): CrlStorage & { file: string } {
  const file = path.join(dir, 'startup-config.crls');
  return { file, where: file, read: () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined), write: (text) => writeFileAtomic(file, text) };
}

/** A fetcher over `config` and `storage`, its hub answering `answer()` (a rejection: unreachable); the
 *  IKE SAs it may take down are `sas` (peer certificates). */
function fetcher(o: { config: () => ReturnType<typeof spokeConfig>; storage?: CrlStorage; answer: () => Promise<EnrollAnswer>; sas?: Array<{ remote: string; cert: X509Certificate }>; now?: () => number }) {
  const logs: string[] = [];
  const downs: string[] = [];
  const f = new CrlFetcher({
    config: o.config, storage: o.storage, now: o.now, log: (l, m, x) => logs.push(`${l} ${m}: ${x}`), request: () => o.answer(),
    tearDown: (check) => (o.sas ?? []).flatMap((s) => { const r = check(s.cert); if (r) downs.push(s.remote); return r ? [{ remote: s.remote, reason: r }] : []; }),
  });
  return { f, logs, downs };
}

// as client.ts reports a connection refused
const unreachable = () => Promise.reject(new EnrollError('connect ECONNREFUSED 127.0.0.1:4430'));
const serving = (pem: string) => () => Promise.resolve({ v: 1, status: 'crl', crl: pem } as EnrollAnswer);

t.test('a fetched CRL is written (0600, atomically) and loaded at start, verified; it refuses what it lists with the hub unreachable', async (t) => {
  const p = pki(t);
  const dir = fs.mkdtempSync(path.join(p.ca.dir, 'box-'));
  const st = fileStorage(dir);
  const cfg = spokeConfig(p.caPem);
  const first = await p.crl(41n, [serialOf(p.a)]);
  const one = fetcher({ config: () => cfg, storage: st, answer: serving(first) });
  await one.f.poll();
  t.equal(one.f.counters.fetched, 1, 'fetched');
  t.ok(fs.existsSync(st.file), 'the CRL file written');
  t.equal(fs.statSync(st.file).mode & 0o777, 0o600, 'mode 0600');
  t.same(fs.readdirSync(dir), ['startup-config.crls'], 'no temporary file left');
  const file = parseCrlFile(fs.readFileSync(st.file, 'utf8'));
  if (typeof file === 'string') throw new Error(file);
  t.equal(file.get('TP')?.pem, first, 'it holds the CRL as fetched');
  t.equal(file.get('TP')?.ca, caOf(new X509Certificate(p.caPem)), 'and the CA it was verified with');
  const mtime = fs.statSync(st.file).mtimeMs;
  await one.f.poll();
  t.equal(fs.statSync(st.file).mtimeMs, mtime, 'the same CRL fetched again: not written again');

  // a restart: the hub unreachable, an IKE SA with A came up before the load
  const two = fetcher({ config: () => cfg, storage: st, answer: unreachable, sas: [{ remote: '203.0.113.1', cert: new X509Certificate(p.a) }, { remote: '203.0.113.2', cert: new X509Certificate(p.b) }] });
  t.equal(two.f.check(new X509Certificate(p.a)), undefined, 'before the load nothing is held');
  await two.f.load();
  t.match(two.logs.join('\n'), new RegExp(`notice CRL_LOADED: trustpoint TP: CRL 41 of CN=lab loaded from ${st.file.replace(/[.]/g, '\\.')} \\(fetched .*\\), 1 revoked`), 'logged as loaded');
  t.equal(two.f.view().counters.loaded, 1, 'counted');
  t.match(two.f.check(new X509Certificate(p.a)), new RegExp(`certificate serial ${serialOf(p.a)} of .* is revoked \\(CRL 41 of `), 'A refused by the loaded CRL');
  t.equal(two.f.check(new X509Certificate(p.b)), undefined, 'B accepted');
  t.same(two.downs, ['203.0.113.1'], 'the SA with A that came up before the load taken down, B\'s kept');
  t.match(two.logs.join('\n'), /CRL_TEARDOWN: IKE SA with 203\.0\.113\.1 \(no identity\) taken down: certificate serial/, 'logged');
  await two.f.poll();
  t.equal(two.f.counters.failed, 1, 'the fetch fails');
  t.match(two.logs.at(-1), /^error CRL_FETCH_FAILED: trustpoint TP: .*ECONNREFUSED/, 'an error: the CRL held is current');
  t.ok(two.f.check(new X509Certificate(p.a)), 'A still refused');
  t.equal(fs.readFileSync(st.file, 'utf8'), renderCrlFile(file), 'the file unchanged by the failed fetch');

  // an older CRL fetched after the load (a replay that would un-revoke A): refused
  const older = await p.crl(40n, []);
  const three = fetcher({ config: () => cfg, storage: st, answer: serving(older) });
  await three.f.load();
  await three.f.poll();
  t.match(three.logs.at(-1), /CRL_FETCH_FAILED: trustpoint TP: .*CRL number 40 is older than the one held \(41\)/, 'a fetched CRL older than the one loaded: refused');
  t.ok(three.f.check(new X509Certificate(p.a)), 'A still refused');
  t.equal(parseCrlFile(fs.readFileSync(st.file, 'utf8')) instanceof Map && (parseCrlFile(fs.readFileSync(st.file, 'utf8')) as Map<string, { pem: string }>).get('TP')?.pem, first, 'the file keeps CRL 41');

  // a newer one replaces it in the file
  const newer = await p.crl(42n, [serialOf(p.a), serialOf(p.b)]);
  const four = fetcher({ config: () => cfg, storage: st, answer: serving(newer) });
  await four.f.load();
  await four.f.poll();
  t.equal((parseCrlFile(fs.readFileSync(st.file, 'utf8')) as Map<string, { pem: string }>).get('TP')?.pem, newer, 'a newer CRL fetched: written');
});

t.test('a tampered, foreign or malformed stored CRL is refused, logged and counted, never used', async (t) => {
  const p = pki(t);
  const cfg = spokeConfig(p.caPem);
  const good = await p.crl(7n, [serialOf(p.a)]);
  const ca = caOf(new X509Certificate(p.caPem));
  const load = async (text: string) => {
    let stored: string | undefined = text;
    const storage: CrlStorage = { where: '/data/startup-config.crls', read: () => stored, write: (x) => { stored = x; } };
    const r = fetcher({ config: () => cfg, storage, answer: unreachable });
    await r.f.load();
    return { ...r, stored: () => stored };
  };
  const fetchedAt = Date.now() - 60_000;
  const entry = (pem: string) => renderCrlFile(new Map([['TP', { ca, pem, fetchedAt }]]));

  // A's serial edited in the stored CRL (un-revoking it): the signature no longer verifies
  const der = Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  // the revoked entry: INTEGER serial, then the revocation date (UTCTime)
  let hex = serialOf(p.a).length % 2 ? `0${serialOf(p.a)}` : serialOf(p.a);
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const serial = Buffer.from(hex, 'hex');
  const at = der.indexOf(Buffer.concat([Buffer.from([0x02, serial.length]), serial, Buffer.from([0x17])]));
  t.ok(at > 0, 'A\'s entry found in the CRL');
  der[at + 1 + serial.length] ^= 0x01; // the serial's last octet: A no longer listed
  const tampered = `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END X509 CRL-----\n`;
  const r1 = await load(entry(tampered));
  t.equal(r1.f.view().counters.storedRefused, 1, 'tampered: counted');
  t.equal(r1.f.view().counters.loaded, 0, 'not loaded');
  t.match(r1.logs.join('\n'), /error CRL_STORED_REFUSED: trustpoint TP: the CRL stored in \/data\/startup-config\.crls is refused, not used: the CRL's signature does not verify with our CA/, 'the log says which file and why');
  t.equal(r1.f.store.of(new X509Certificate(p.caPem)), undefined, 'nothing held');
  t.match(formatPkiCrls(r1.f.view()), /No CRL held: certificates of this CA are not checked for revocation/, 'show: no CRL held');
  t.equal(r1.stored(), entry(tampered), 'the file is left for inspection (a fetch replaces it)');

  const r2 = await load(entry(await p.crl(8n, [], new Date(), 'other')));
  t.match(r2.logs.join('\n'), /CRL_STORED_REFUSED: trustpoint TP: .*refused, not used: the CRL is issued by CN=other, not our CA CN=lab/, 'another CA\'s CRL under our CA\'s fingerprint: refused');
  t.equal(r2.f.view().counters.storedRefused, 1, 'counted');

  for (const [what, text] of [['not JSON', '{"version":1,'], ['another version', '{"version":2,"crls":{}}'], ['a CRL that is no PEM', JSON.stringify({ version: 1, crls: { TP: { ca, pem: 'x', fetchedAt: 1 } } })],
    ['no CA fingerprint', JSON.stringify({ version: 1, crls: { TP: { pem: good, fetchedAt: 1 } } })], ['too large', ' '.repeat(MAX_CRL_FILE + 1)],
    ['a fetch time no Date holds', JSON.stringify({ version: 1, crls: { TP: { ca, pem: good, fetchedAt: Number.MAX_SAFE_INTEGER } } })]] as const) {
    const r = await load(text);
    t.equal(r.f.view().counters.storedRefused, 1, `${what}: counted`);
    t.match(r.logs.join('\n'), /error CRL_STORED_REFUSED: the CRL file \/data\/startup-config\.crls is refused, no CRL loaded from it: /, `${what}: logged`);
  }
  const r3 = await load(entry(good));
  t.equal(r3.f.view().counters.loaded, 1, 'the untouched CRL: loaded');
  t.ok(r3.f.check(new X509Certificate(p.a)), 'and used');
});

t.test('a stored CRL older than the one held is refused; a CA change drops the stored CRL', async (t) => {
  const p = pki(t);
  let cfg = spokeConfig(p.caPem);
  let stored: string | undefined;
  const storage: CrlStorage = { where: 'mem', read: () => stored, write: (x) => { stored = x; } };
  const held = await p.crl(9n, [serialOf(p.a)]);
  const f = fetcher({ config: () => cfg, storage, answer: serving(held) });
  await f.f.poll();
  const lower = await p.crl(5n, []);
  stored = renderCrlFile(new Map([['TP', { ca: caOf(new X509Certificate(p.caPem)), pem: lower, fetchedAt: 1 }]]));
  await f.f.load();
  t.match(f.logs.at(-1), /^error CRL_STORED_REFUSED: trustpoint TP: the CRL stored in mem is refused, not used: CRL number 5 is older than the one held \(9\)/, 'refused, saying why');
  t.equal(f.f.view().counters.storedRefused, 1, 'counted');
  t.equal(f.f.view().trustpoints[0].crl?.number, '9', 'CRL 9 still held');
  t.ok(f.f.check(new X509Certificate(p.a)), 'A still refused');
  await f.f.poll();
  t.equal((parseCrlFile(stored!) as Map<string, { pem: string }>).get('TP')?.pem, held, 'the next round writes the CRL held back');

  // the trustpoint's CA changes (at run time): the old CA's CRL and its stored copy go
  const otherCrl = await p.crl(3n, [], new Date(), 'other');
  cfg = spokeConfig(p.otherPem);
  const g = fetcher({ config: () => cfg, storage, answer: unreachable });
  await g.f.load();
  t.match(g.logs.join('\n'), /notice CRL_STORED: trustpoint TP: its CA certificate changed since the CRL was stored: the stored CRL dropped/, 'at start: dropped, said so');
  t.equal(g.f.view().counters.storedRefused, 0, 'not counted as refused');
  t.same([...(parseCrlFile(stored!) as Map<string, unknown>).keys()], [], 'the file rewritten without it');

  cfg = spokeConfig(p.caPem);
  let answer = serving(held);
  const h = fetcher({ config: () => cfg, storage, answer: () => answer() });
  await h.f.poll();
  t.ok(h.f.check(new X509Certificate(p.a)), 'CA lab: its CRL held');
  cfg = spokeConfig(p.otherPem);
  answer = serving(otherCrl);
  await h.f.poll();
  t.match(h.logs.join('\n'), /notice CRL_STORED: trustpoint TP: its CA certificate changed: the stored CRL dropped/, 'at run time: dropped, said so');
  t.equal(h.f.check(new X509Certificate(p.a)), undefined, 'the previous CA\'s CRL no longer held');
  const after = parseCrlFile(stored!) as Map<string, { pem: string; ca: string }>;
  t.equal(after.get('TP')?.pem, otherCrl, 'the new CA\'s CRL stored');
  t.equal(after.get('TP')?.ca, caOf(new X509Certificate(p.otherPem)), 'with the new CA');
});

t.test('a CRL that cannot be written is still held, and the failure logged and counted', async (t) => {
  const p = pki(t);
  const cfg = spokeConfig(p.caPem);
  const storage: CrlStorage = { where: '/data/startup-config.crls', read: () => undefined, write: () => { throw new Error('EROFS: read-only file system'); } };
  const f = fetcher({ config: () => cfg, storage, answer: serving(await p.crl(3n, [serialOf(p.a)])) });
  await f.f.load();
  await f.f.poll();
  t.ok(f.f.check(new X509Certificate(p.a)), 'the fetched CRL applies');
  t.equal(f.f.view().counters.writeFailed, 1, 'counted');
  t.match(f.logs.at(-1), /^error CRL_STORE: CRLs not written to \/data\/startup-config\.crls \(EROFS: read-only file system\): held in memory only, written again at the next fetch round$/, 'logged');
  await f.f.poll();
  t.equal(f.f.view().counters.writeFailed, 2, 'tried again at the next round');
});

t.test('show crypto pki crls: text and JSON', async (t) => {
  const p = pki(t);
  const cfg = spokeConfig(p.caPem, p.otherPem);
  t.match(formatPkiCrls(fetcher({ config: () => cfg, answer: unreachable }).f.view()), /^Trustpoint TP \(CRL fetched from https:\/\/127\.0\.0\.1:4430\):\n {2}No CRL held: certificates of this CA are not checked for revocation\n {2}Last fetch: none yet\n {2}Next fetch: not scheduled\n/, 'nothing fetched yet');
  const thisUpdate = new Date(Date.UTC(2026, 11, 5, 10, 15, 2));
  const pem = await p.crl(1765000000000n, [serialOf(p.a), serialOf(p.b)], thisUpdate);
  let stored: string | undefined = renderCrlFile(new Map([['TP', { ca: caOf(new X509Certificate(p.caPem)), pem, fetchedAt: thisUpdate.getTime() + 2000 }]]));
  let now = thisUpdate.getTime() + HOUR;
  const f = fetcher({ config: () => cfg, storage: { where: '/data/startup-config.crls', read: () => stored, write: (x) => { stored = x; } }, answer: unreachable, now: () => now });
  await f.f.load();
  await f.f.poll();
  const text = formatPkiCrls(f.f.view());
  const [a, b] = [serialOf(p.a), serialOf(p.b)].sort();
  t.equal(text, [
    'Trustpoint TP (CRL fetched from https://127.0.0.1:4430):',
    '  CRL Issuer Name:',
    '    CN=lab',
    '  CRL Number: 1765000000000',
    '  LastUpdate: 10:15:02 UTC Dec 5 2026',
    '  NextUpdate: 10:15:02 UTC Dec 6 2026',
    '  Retrieved: loaded from storage at 11:15:02 UTC Dec 5 2026 (fetched at 10:15:04 UTC Dec 5 2026)',
    '  Last fetch: failed at 11:15:02 UTC Dec 5 2026: connect ECONNREFUSED 127.0.0.1:4430',
    '  Next fetch: not scheduled',
    '  Number of CRL entries: 2',
    '  Revoked certificates:',
    `    Serial Number: 0x${a}`,
    `    Serial Number: 0x${b}`,
    '',
    'Trustpoint OTHER (no enrollment url: no CRL is fetched):',
    '  No CRL held',
    '',
    'CRLs kept in /data/startup-config.crls (loaded at start)',
    'Fetched 0, fetch failed 1, loaded from storage 1, stored refused 0, write failed 0; peer certificates refused 0, IKE SAs taken down 0',
    '',
  ].join('\n'), 'the whole text');
  now += 2 * 24 * HOUR;
  t.match(formatPkiCrls(f.f.view()), /^ {2}NextUpdate: 10:15:02 UTC Dec 6 2026 \(expired: it still refuses what it lists, other certificates of this CA are accepted\)$/m, 'past its nextUpdate: expired');
  const j = JSON.parse(formatPkiCrls(f.f.view(), true));
  t.same(j.trustpoints[0].crl, { issuer: 'CN=lab', number: '1765000000000', thisUpdate: '2026-12-05T10:15:02.000Z', nextUpdate: '2026-12-06T10:15:02.000Z', expired: true, serials: [a, b],
    origin: { from: 'storage', at: '2026-12-05T11:15:02.000Z', fetchedAt: '2026-12-05T10:15:04.000Z' } }, 'JSON: the CRL');
  t.same(j.trustpoints[0].lastFetch, { at: '2026-12-05T11:15:02.000Z', error: 'connect ECONNREFUSED 127.0.0.1:4430' }, 'JSON: the last fetch');
  t.equal(j.trustpoints[0].url, 'https://127.0.0.1:4430');
  t.same(j.trustpoints[1], { trustpoint: 'OTHER' }, 'JSON: a trustpoint without CRL');
  t.equal(j.storage, '/data/startup-config.crls');
  t.equal(j.counters.loaded, 1);

  // fetched: said so, with the next fetch when scheduled
  now = Date.now();
  const g = fetcher({ config: () => cfg, answer: serving(await p.crl(2n, [])) , now: () => now });
  g.f.start();
  t.teardown(() => g.f.stop());
  for (let i = 0; i < 200 && !g.f.counters.fetched; i++) await new Promise((r) => setTimeout(r, 25));
  const shown = formatPkiCrls(g.f.view());
  t.match(shown, /^ {2}Retrieved: fetched at \d\d:\d\d:\d\d UTC /m, 'fetched at');
  t.match(shown, /^ {2}Last fetch: succeeded at /m, 'last fetch succeeded');
  t.match(shown, /^ {2}Next fetch: \d\d:\d\d:\d\d UTC /m, 'next fetch scheduled');
  t.match(shown, /^ {2}Number of CRL entries: 0$/m, 'no entries');
  t.notMatch(shown, /Revoked certificates/, 'no serial list');
  t.match(shown, /^CRLs kept in memory only$/m, 'no storage: said so');
  // a round waiting for the hub
  let answer: (a: EnrollAnswer) => void = () => undefined;
  const w = fetcher({ config: () => cfg, answer: () => new Promise<EnrollAnswer>((r) => { answer = r; }) });
  w.f.start();
  t.teardown(() => w.f.stop());
  for (let i = 0; i < 200 && !w.f.fetching; i++) await new Promise((r) => setTimeout(r, 25));
  t.match(formatPkiCrls(w.f.view()), /^ {2}Next fetch: under way$/m, 'a fetch under way: said so');
  t.equal(JSON.parse(formatPkiCrls(w.f.view(), true)).fetching, true, 'JSON: fetching');
  answer({ v: 1, status: 'crl', crl: await p.crl(2n, []) } as EnrollAnswer);
  for (let i = 0; i < 200 && w.f.fetching; i++) await new Promise((r) => setTimeout(r, 25));
  t.match(formatPkiCrls(w.f.view()), /^ {2}Next fetch: \d\d:\d\d:\d\d UTC /m, 'done: the next one scheduled');
  t.equal(formatPkiCrls(fetcher({ config: () => spokeConfig(p.caPem), answer: unreachable }).f.view(), true).trim().startsWith('{"trustpoints":[{"trustpoint":"TP","url":"https://127.0.0.1:4430"}]'), true, 'JSON with nothing held');
});
