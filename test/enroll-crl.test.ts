// The hub's CRL and its use spoke to spoke (docs/enrollment.md "Revoking a device", enroll/crl.ts,
// issued.ts, crl-store.ts, crl-fetch.ts): the hub records the serials it issues, lists those of revoked
// keys on a CRL its CA key signs (openssl verifies it), numbered upwards and made again when a revocation
// changes; the spoke fetches it over the enrollment TLS channel, keeps it only if it verifies with its CA,
// refuses a listed peer certificate and accepts others, takes down the SAs a new CRL revokes, backs off
// on failure, and keeps refusing what a CRL past its nextUpdate lists (unlisted certificates pass).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { renewHub } from './util/renew-hub.js';
import { requestCrl, requestRenewal } from '../appliance/enroll/client.js';
import { decodeRequest } from '../appliance/enroll/codec.js';
import { keyId } from '../appliance/enroll/issue.js';
import { makeCrl } from '../appliance/enroll/crl.js';
import { verifiedCrl, CrlStore, normSerial } from '../appliance/enroll/crl-store.js';
import { CrlFetcher, FETCH_EVERY_MS } from '../appliance/enroll/crl-fetch.js';
import { crlView } from '../appliance/enroll/crl-view.js';
import { formatPkiCrls } from '../appliance/show/crypto-pki-crls.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import { x509 } from '../appliance/enroll/x509.js';
import { parseState } from '../appliance/enroll/bindings.js';
import { requireTools } from './util/needs.js';
import { TestCa } from './util/pki.js';
import { ike2Pair, v2Policy } from './util/ike2.js';

requireTools(t, ['openssl']);

const pemOf = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
const idOf = (pem: string) => keyId(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }));
const serialOf = (pem: string) => normSerial(new X509Certificate(pem).serialNumber);

/** `openssl crl -verify` of `crl` against `ca`: its stdout+stderr text */
function opensslCrl(dir: string, crl: string, ca: string): string {
  fs.writeFileSync(path.join(dir, 'test.crl'), crl);
  fs.writeFileSync(path.join(dir, 'test-ca.pem'), ca);
  return execFileSync('sh', ['-c', 'openssl crl -in test.crl -CAfile test-ca.pem -verify -noout -text 2>&1'], { cwd: dir }).toString();
}

t.test('codec: the CRL request is v and crl: true only', async (t) => {
  t.same(decodeRequest(Buffer.from('{"v":1,"crl":true}')), { v: 1, crl: true });
  t.type(decodeRequest(Buffer.from('{"v":1,"crl":true,"renew":true}')), 'string', 'with other fields: refused');
  t.type(decodeRequest(Buffer.from('{"v":1,"crl":"yes"}')), 'string', 'crl not true: refused');
});

t.test('hub: serials recorded, revoked ones on a CRL openssl verifies, numbered upwards, made again at a revocation', async (t) => {
  const h = await renewHub(t);
  const a = await h.enroll(), b = await h.enroll();
  const at = { host: '127.0.0.1', port: h.port() };
  // a renewal of A over TLS: a second certificate of the same key
  const r = await requestRenewal(at, { certPem: a.answer.certificate, keyPem: pemOf(a.key), caPem: h.creds.caCert });
  if (r.status !== 'renewed') throw new Error(JSON.stringify(r));
  const keyA = idOf(a.answer.certificate);
  t.same(h.state.issued?.[keyA]?.map((e) => e.serial), [serialOf(a.answer.certificate), serialOf(r.certificate)], 'both certificates of A recorded in the state');
  t.same(h.saves.at(-1)?.issued?.[keyA]?.length, 2, 'and saved (before the answer went out)');
  t.type(parseState(JSON.stringify(h.saves.at(-1))), 'object', 'the saved state parses back');
  t.type(parseState(JSON.stringify({ ...h.saves.at(-1), issued: { [keyA]: [{ serial: 'zz', notAfter: 1 }] } })), 'string', 'a malformed issued list is refused');

  const before = await requestCrl(at, h.creds.caCert);
  if (before.status !== 'crl') throw new Error(JSON.stringify(before));
  let text = opensslCrl(h.ca.dir, before.crl, h.creds.caCert);
  t.match(text, /verify OK/, 'the CRL with nothing revoked verifies');
  t.match(text, /No Revoked Certificates/, 'and lists nothing');
  const again = await requestCrl(at, h.creds.caCert);
  t.equal(again.status === 'crl' && again.crl, before.crl, 'no change: the same CRL is served');

  t.match(h.svc.revoke(keyA.slice(0, 16)), /revoked/);
  const after = await requestCrl(at, h.creds.caCert);
  if (after.status !== 'crl') throw new Error(JSON.stringify(after));
  text = opensslCrl(h.ca.dir, after.crl, h.creds.caCert);
  t.match(text, /verify OK/, 'after the revocation: verifies with the CA (openssl crl -verify)');
  t.match(text, /Version 2/, 'an X.509 v2 CRL');
  t.match(text, /Next Update:/, 'with a nextUpdate');
  for (const s of [serialOf(a.answer.certificate), serialOf(r.certificate)]) t.match(text, new RegExp(`Serial Number: ${s}`, 'i'), `lists A's certificate ${s}`);
  t.notMatch(text, new RegExp(serialOf(b.answer.certificate), 'i'), 'not B\'s');
  const n0 = (await verifiedCrl(before.crl, h.creds.caCert)) as { number: bigint };
  const n1 = (await verifiedCrl(after.crl, h.creds.caCert)) as { number: bigint };
  t.ok(n1.number > n0.number, `the CRL number went up (${n0.number} -> ${n1.number})`);
  t.match(text, new RegExp(`X509v3 CRL Number:\\s*\\n?\\s*${n1.number}`), 'openssl reads the CRL number');
});

t.test('spoke: a CRL from another key or CA is refused, an older one too; a listed peer refused, others accepted', async (t) => {
  const h = await renewHub(t);
  const a = await h.enroll(), b = await h.enroll();
  h.svc.revoke(idOf(a.answer.certificate).slice(0, 16));
  const at = { host: '127.0.0.1', port: h.port() };
  const got = await requestCrl(at, h.creds.caCert);
  if (got.status !== 'crl') throw new Error(JSON.stringify(got));
  const held = await verifiedCrl(got.crl, h.creds.caCert);
  if (typeof held === 'string') throw new Error(held);
  // a CA certificate with our CA's very name but another key, and the CRL it signs
  const k = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as CryptoKeyPair;
  const labX = new x509.X509Certificate(h.creds.caCert);
  const impostor = await x509.X509CertificateGenerator.createSelfSigned({ name: labX.subject, keys: k, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] });
  const impostorKey = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k.privateKey)).toString('base64');
  const forged = await makeCrl({ caCertPem: impostor.toString('pem'), caKeyPem: `-----BEGIN PRIVATE KEY-----\n${impostorKey}\n-----END PRIVATE KEY-----\n`, serials: [serialOf(b.answer.certificate)], number: held.number + 1n, now: new Date(), validityMs: 3600_000 });
  t.equal(await verifiedCrl(forged, h.creds.caCert), 'the CRL\'s signature does not verify with our CA', 'same issuer name, another key: refused');
  const other = h.ca.ca('other');
  const otherCrl = await makeCrl({ caCertPem: other, caKeyPem: h.ca.read('other.key'), serials: [], number: 1n, now: new Date(), validityMs: 3600_000 });
  t.match(await verifiedCrl(otherCrl, h.creds.caCert), /is issued by .*not our CA/, 'another CA\'s CRL: refused');
  t.equal(await verifiedCrl('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n', h.creds.caCert), 'the CRL does not parse');

  const store = new CrlStore();
  t.same(store.accept(held), [serialOf(a.answer.certificate)], 'taken: it adds A\'s serial');
  t.match(store.refusal(new X509Certificate(a.answer.certificate)), new RegExp(`certificate serial ${serialOf(a.answer.certificate)} of .* is revoked \\(CRL ${held.number} of `), 'A refused, saying why');
  t.equal(store.refusal(new X509Certificate(b.answer.certificate)), undefined, 'B accepted');
  t.equal(store.refusal(new X509Certificate(h.ca.leaf('x', 'other', ['10.0.0.1']))), undefined, 'another CA\'s certificate: not concerned');
  const older = await makeCrl({ caCertPem: h.creds.caCert, caKeyPem: h.creds.caKey, serials: [], number: held.number - 1n, now: new Date(), validityMs: 3600_000 });
  const olderHeld = await verifiedCrl(older, h.creds.caCert);
  if (typeof olderHeld === 'string') throw new Error(olderHeld);
  t.match(store.accept(olderHeld), /older than the one held/, 'an older CRL (a replay that would un-revoke A): refused');
  t.ok(store.refusal(new X509Certificate(a.answer.certificate)), 'A still refused');
});

t.test('fetcher: over TLS from the enrollment url, SAs a new CRL revokes taken down, backoff, a stale CRL keeps refusing what it lists', async (t) => {
  const h = await renewHub(t);
  const a = await h.enroll(), b = await h.enroll();
  const spoke = parseStartupConfig(b.answer.config);
  if (!spoke.ok) throw new Error('the spoke config does not load');
  const logs: string[] = [];
  // the spoke's IKE SAs, as clearRefused sees them: each with its peer certificate
  const sas = [{ remote: '203.0.113.1', peerId: 'a', cert: new X509Certificate(a.answer.certificate) }, { remote: '203.0.113.2', peerId: 'b2', cert: new X509Certificate(h.ca.leaf('b2', 'lab', ['10.0.0.2'])) }];
  let now = Date.now(), failing = false;
  const f = new CrlFetcher({
    config: () => spoke.config, log: (l, m, x) => logs.push(`${l} ${m}: ${x}`), now: () => now,
    request: (at, caPem) => (failing ? Promise.reject(new Error('connect ECONNREFUSED')) : requestCrl(at, caPem)),
    tearDown: (check) => sas.flatMap((s) => { const r = check(s.cert); return r ? [{ remote: s.remote, peerId: s.peerId, reason: r }] : []; }),
  });
  t.equal(await f.poll(), FETCH_EVERY_MS, 'nothing revoked: next fetch in the regular interval');
  t.equal(f.counters.fetched, 1);
  t.equal(f.counters.tornDown, 0, 'nothing taken down');
  t.equal(f.check(sas[0].cert), undefined, 'A accepted before its revocation');

  h.svc.revoke(idOf(a.answer.certificate).slice(0, 16));
  await f.poll();
  t.equal(f.counters.tornDown, 1, 'the new CRL took down A\'s SA only');
  t.match(logs.join('\n'), /CRL_TEARDOWN: IKE SA with 203\.0\.113\.1 \(a\) taken down: certificate serial/, 'logged with the reason');
  t.ok(f.check(sas[0].cert), 'A refused from then on');
  t.equal(f.check(sas[1].cert), undefined, 'another certificate of the CA accepted');
  t.equal(f.check(new X509Certificate(b.answer.certificate)), undefined, 'B (the spoke itself) accepted');
  const refused = f.counters.refused;
  await f.poll();
  t.equal(f.counters.tornDown, 1, 'the same CRL again: nothing more taken down');
  t.ok(f.counters.refused >= refused, 'refusals counted');

  failing = true;
  t.equal(await f.poll(), 30_000, 'a failure: retry in 30 s');
  t.equal(await f.poll(), 60_000, 'then doubling');
  t.match(logs.at(-1), /^error CRL_FETCH_FAILED: trustpoint DMVPN-ENROLL: CRL not fetched from https:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/, 'logged as an error while the CRL held is current');
  now += 2 * 24 * 3600_000; // past the CRL's nextUpdate
  await f.poll();
  t.match(logs.at(-1), /^warn CRL_FETCH_FAILED: .*past its nextUpdate: it still refuses what it lists, other certificates of this CA are accepted/, 'past nextUpdate: a warning saying what holds');
  t.ok(f.check(sas[0].cert), 'the stale CRL still refuses A');
  t.equal(f.check(sas[1].cert), undefined, 'and accepts the unlisted (fail open)');
  failing = false;
  now = Date.now();
  t.equal(await f.poll(), FETCH_EVERY_MS, 'fetching again: back to the regular interval');
});

t.test('IKEv2 spoke to spoke with the CRL in the hook: a revoked peer refused with AUTHENTICATION_FAILED, another one established', async (t) => {
  const pki = new TestCa();
  t.teardown(() => pki.close());
  const caPem = pki.ca('lab');
  // device certificates of the enrollment CA with address identities (keeps the IKE pair simple)
  const devA = pki.leaf('dev-a', 'lab', ['172.16.1.1'], undefined, 'ed25519');
  pki.leaf('dev-c', 'lab', ['172.16.1.1'], undefined, 'ed25519');
  pki.leaf('dev-b', 'lab', ['172.16.2.1'], undefined, 'ed25519');
  const held = await verifiedCrl(await makeCrl({ caCertPem: caPem, caKeyPem: pki.read('lab.key'), serials: [serialOf(devA)], number: 7n, now: new Date(), validityMs: 3600_000 }), caPem);
  if (typeof held === 'string') throw new Error(held);
  const store = new CrlStore();
  store.accept(held);
  const policy = (name: string) => v2Policy({ certificate: { cert: pki.read(`${name}.pem`), key: pki.read(`${name}.key`), trusted: [caPem] } });
  const spokeB = () => ({ ...policy('dev-b'), certAccepted: (c: X509Certificate) => store.refusal(c) });

  const bad = ike2Pair(policy('dev-a'), spokeB());
  const sa = bad.a.m.initiate('172.16.2.1');
  await bad.settle();
  t.not(sa.state, 'READY', 'revoked A: not established');
  t.match(bad.b.events.find((e) => e.event === 'failed')?.reason, new RegExp(`IKE_AUTH: .*certificate serial ${serialOf(devA)} of .* is revoked \\(CRL 7 of `), 'B says why');
  t.match(bad.a.events.find((e) => e.event === 'failed')?.reason, /AUTHENTICATION_FAILED/, 'A is told AUTHENTICATION_FAILED');
  t.equal(bad.b.m.counters.peerAuthRefused, 1, 'counted as a refused peer');
  bad.close();

  const good = ike2Pair(policy('dev-c'), spokeB());
  const sc = good.a.m.initiate('172.16.2.1');
  await good.settle();
  t.equal(sc.state, 'READY', 'C (not listed): established');
  // a later CRL revoking C: the established SA on B keeps C's certificate, so the check asked again
  // (IkeService.clearRefusedPeers, which dmvpnd's fetcher calls) refuses it
  const later = await verifiedCrl(await makeCrl({ caCertPem: caPem, caKeyPem: pki.read('lab.key'), serials: [serialOf(devA), serialOf(pki.read('dev-c.pem'))], number: 8n, now: new Date(), validityMs: 3600_000 }), caPem);
  if (typeof later === 'string') throw new Error(later);
  t.same(store.accept(later), [serialOf(pki.read('dev-c.pem'))], 'the later CRL adds C');
  const onB = good.b.m.sas.find((x) => x.peerCert);
  t.ok(onB?.peerCert?.raw.equals(new X509Certificate(pki.read('dev-c.pem')).raw), 'B\'s SA holds C\'s certificate');
  t.match(store.refusal(onB!.peerCert!), /is revoked \(CRL 8 of /, 'asked again: refused (so that SA is taken down)');
  good.close();
});

t.test('hub: show crypto pki crls shows the CRL it issues on its enrollment CA\'s trustpoint, not a fetch', async (t) => {
  const h = await renewHub(t);
  const a = await h.enroll();
  const at = { host: '127.0.0.1', port: h.port() };
  const tps = [{ trustpoint: 'HUB-CA', ca: new X509Certificate(h.creds.caCert), caPem: h.creds.caCert }];
  const src = { store: new CrlStore(), lastFetch: new Map(), fetching: false, counters: { fetched: 0, failed: 0, refused: 0, tornDown: 0, loaded: 0, storedRefused: 0, writeFailed: 0 } };
  const show = (json = false) => formatPkiCrls(crlView(tps, src, Date.now(), h.svc.issuedCrl()), json);
  t.match(show(), /^Trustpoint HUB-CA \(this box's enrollment CA: the CRL is issued here and served to spokes\):\n {2}No CRL issued since the start: one is made when a spoke first asks for it\n {2}Certificates revoked now: 0\n/, 'before any request: none issued, nothing revoked');
  t.notMatch(show(), /Last fetch|No CRL held/, 'not shown as a CRL to fetch');
  const keyA = idOf(a.answer.certificate);
  t.match(h.svc.revoke(keyA.slice(0, 16)), /revoked/);
  t.match(show(), new RegExp(`Certificates revoked now: 1 \\(0x${serialOf(a.answer.certificate)}\\)`), 'a revocation before any CRL: what the first will list');
  const served = await requestCrl(at, h.creds.caCert);
  if (served.status !== 'crl') throw new Error(JSON.stringify(served));
  const held = (await verifiedCrl(served.crl, h.creds.caCert)) as { number: bigint; issuer: string };
  const text = show();
  t.match(text, new RegExp(`^ {2}CRL Number: ${held.number}$`, 'm'), 'the number of the CRL the spoke got');
  t.match(text, new RegExp(`^ {4}${held.issuer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), 'its issuer, as the spoke shows it');
  t.match(text, /^ {2}Served to spokes: 1 time$/m, 'served once');
  t.match(text, new RegExp(`^ {2}Number of CRL entries: 1\\n {2}Revoked certificates:\\n {4}Serial Number: 0x${serialOf(a.answer.certificate)}$`, 'm'), 'A\'s certificate listed');
  t.notMatch(text, /Revocations changed since/, 'the CRL is current');
  const b = await h.enroll();
  t.match(h.svc.revoke(idOf(b.answer.certificate).slice(0, 16)), /revoked/);
  t.match(show(), /^ {2}Revocations changed since: the next CRL lists 2 \(made at the next request\)$/m, 'a revocation after it: said so');
  const j = JSON.parse(show(true));
  t.equal(j.trustpoints[0].issuedHere.crl.number, String(held.number), 'JSON: the number as text');
  t.match(j.trustpoints[0].issuedHere.crl.nextUpdate, /^\d{4}-\d\d-\d\dT/, 'JSON: ISO times');
  t.equal(j.trustpoints[0].issuedHere.served, 1);
  t.equal(j.trustpoints[0].issuedHere.revokedNow.length, 2);
});
