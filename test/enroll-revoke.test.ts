// Revocation on the enrollment hub (docs/enrollment.md "Revoking a device", enroll/revocation.ts): a
// certificate the enrollment CA signed authenticates an IKE peer only while its device key is bound.
// The rule alone (bound, unbound, another CA, no CA); through IKEv2 in-process (the hook refuses an
// unbound key with AUTHENTICATION_FAILED and only after its AUTH signature verified; an established SA
// keeps the certificate, across an IKE SA rekey, so it can be asked again); the server's counted hook,
// its CA fallback when it cannot issue, `cutOff` and the show; a used one-time token stays used after
// its binding is cleared.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { unenrolledReason, enrollmentCas } from '../appliance/enroll/revocation.js';
import { emptyState, type EnrollmentState } from '../appliance/enroll/bindings.js';
import { keyId } from '../appliance/enroll/issue.js';
import { EnrollmentService } from '../appliance/enroll/service.js';
import { EnrollmentServer } from '../appliance/enroll/server.js';
import { pinOf } from '../appliance/enroll/credentials.js';
import { frame } from '../appliance/enroll/codec.js';
import { certificateRequest } from '../appliance/ike/pki/csr.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import { cutOff, formatEnrollment } from '../appliance/supervisor/exec-enroll.js';
import type { ExecIke } from '../appliance/supervisor/exec-context.js';
import type { EnrollmentConfig } from '../appliance/config/model-enroll.js';
import { ike2Pair, v2Policy } from './util/ike2.js';
import { TestCa, certBlock } from './util/pki.js';
import { requireTools } from './util/needs.js';
import { ROOT } from './util/lab.js';

requireTools(t, ['openssl']);

const pki = new TestCa();
t.teardown(() => pki.close());
const caPem = pki.ca('lab');
pki.ca('other');
const hubPem = pki.leaf('hub', 'lab', ['172.16.2.1', '192.168.0.1']);
// device certificates as the enrollment CA issues them (address identities keep the IKE pair simple)
const devA = new X509Certificate(pki.leaf('dev-a', 'lab', ['172.16.1.1'], undefined, 'ed25519'));
const devB = new X509Certificate(pki.leaf('dev-b', 'lab', ['172.16.1.1'], undefined, 'ed25519'));
// another CA's certificate for dev-b's very key: not the enrollment CA's business
const devBOther = new X509Certificate(pki.leaf('dev-b-other', 'other', ['172.16.1.1'], devB.publicKey.export({ type: 'spki', format: 'pem' }).toString()));
const idOf = (c: X509Certificate) => keyId(c.publicKey.export({ type: 'spki', format: 'der' }));
const boundTo = (...certs: X509Certificate[]): EnrollmentState => ({
  bindings: certs.map((c, i) => ({ key: idOf(c), address: `192.168.0.${10 + i}`, hostname: `spoke-192-168-0-${10 + i}`, token: 'SITE1', admitted: new Date().toISOString() })), usedTokens: {},
});
const lab = [new X509Certificate(caPem)];
const SECRET = 'correct-horse-battery-staple';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

t.test('the rule: bound accepted, unbound refused naming only the key prefix, another CA and no CA not concerned', async (t) => {
  const s = boundTo(devA);
  t.equal(unenrolledReason(devA, lab, s), undefined, 'a bound device key: accepted');
  const why = unenrolledReason(devB, lab, s);
  t.equal(why, `device key ${idOf(devB).slice(0, 16)} is not enrolled on this hub (its binding was cleared, or it never had one)`, 'an unbound one: refused, saying which key');
  t.notMatch(why!, new RegExp(idOf(devB).slice(16)), 'no more of the key id than its 16-digit prefix');
  t.equal(unenrolledReason(devBOther, lab, s), undefined, 'the same key certified by another CA: not concerned');
  t.equal(unenrolledReason(devB, [], s), undefined, 'no enrollment CA (no dmvpn enrollment): not concerned');
  t.equal(unenrolledReason(devA, lab, emptyState()), `device key ${idOf(devA).slice(0, 16)} is not enrolled on this hub (its binding was cleared, or it never had one)`, 'no binding at all: refused');
});

t.test('IKEv2 with the hook: an unbound key is refused with AUTHENTICATION_FAILED, a bound one kept, its certificate asked again after a rekey', async (t) => {
  const hubCreds = (trusted: string[]) => ({ certificate: { cert: hubPem, key: pki.read('hub.key'), trusted: trusted.map((n) => pki.read(`${n}.pem`)) } });
  const spoke = (name: string, trusted = ['lab'], key = name) => v2Policy({ certificate: { cert: pki.read(`${name}.pem`), key: pki.read(`${key}.key`), trusted: trusted.map((n) => pki.read(`${n}.pem`)) } });
  const state = boundTo(devA);
  const asked: string[] = [];
  const hub = () => ({ ...v2Policy(hubCreds(['lab', 'other'])), certAccepted: (c: X509Certificate) => { asked.push(c.subject); return unenrolledReason(c, lab, state); } });

  const good = ike2Pair(spoke('dev-a'), hub());
  t.teardown(() => good.close());
  const sa = good.a.m.initiate('172.16.2.1');
  await good.settle();
  t.equal(sa.state, 'READY', 'bound device A: established');
  const hubSa = good.b.m.sas[0];
  t.ok(hubSa?.peerCert?.raw.equals(devA.raw), 'the hub keeps A\'s certificate on the SA');

  const bad = ike2Pair(spoke('dev-b'), hub());
  const sb = bad.a.m.initiate('172.16.2.1');
  await bad.settle();
  t.not(sb.state, 'READY', 'unbound device B: not established');
  t.match(bad.b.events.find((e) => e.event === 'failed')?.reason, new RegExp(`IKE_AUTH: 172\\.16\\.1\\.1: device key ${idOf(devB).slice(0, 16)} is not enrolled on this hub`), 'the hub says why');
  t.match(bad.a.events.find((e) => e.event === 'failed')?.reason, /AUTHENTICATION_FAILED/, 'B is told AUTHENTICATION_FAILED');
  t.equal(bad.b.m.counters.peerAuthRefused, 1, 'counted as a refused peer');
  t.same(bad.b.m.sas, [], 'nothing left on the hub');
  bad.close();

  // a wrong key behind B's certificate fails its AUTH signature first: the hook is never asked about it
  asked.length = 0;
  const forged = ike2Pair({ ...spoke('dev-b'), credentials: { ...spoke('dev-b').credentials!, key: spoke('dev-a').credentials!.key } }, hub());
  forged.a.m.initiate('172.16.2.1');
  await forged.settle();
  t.match(forged.b.events.find((e) => e.event === 'failed')?.reason, /AUTH signature does not verify/, 'B\'s certificate with another key: the signature refused');
  t.same(asked, [], 'and the hook not asked');
  forged.close();

  const other = ike2Pair(spoke('dev-b-other', ['lab', 'other'], 'dev-b'), hub());
  const so = other.a.m.initiate('172.16.2.1');
  await other.settle();
  t.equal(so.state, 'READY', 'B\'s key with another CA\'s certificate: established (not the enrollment CA\'s)');
  other.close();

  // the IKE SA rekeyed: the new SA keeps the certificate, so revocation still finds it
  t.ok(good.a.m.rekeyIke(sa), 'A rekeys its IKE SA');
  await good.settle();
  const next = good.b.m.sas.find((s) => s !== hubSa && s.state === 'READY');
  t.ok(next?.peerCert?.raw.equals(devA.raw), 'the rekeyed SA carries A\'s certificate');
  state.bindings = [];
  t.match(unenrolledReason(next!.peerCert!, lab, state), /is not enrolled/, 'A unbound: its established SA\'s certificate now refused');
});

/** the hub's config (trustpoint LAB-CA with hub.pem and the lab CA, dmvpn enrollment) and its key store */
function hubConfig() {
  const text = ['crypto pki trustpoint LAB-CA', ' eckeypair HUB-KEY', 'crypto pki certificate chain LAB-CA',
    ...certBlock(hubPem, new X509Certificate(hubPem).serialNumber, false), ...certBlock(caPem, lab[0].serialNumber, true),
    'dmvpn enrollment', ' trustpoint LAB-CA', ' ca-keypair CA-KEY', ` token SITE1 ${SECRET} one-time`, ' pool 192.168.0.10 192.168.0.20', ' template spoke.cfg', 'end'].join('\n');
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

t.test('the server: the counted hook, the CA when it cannot issue, cutOff and the show', async (t) => {
  const config = hubConfig();
  const keys = new Map([['HUB-KEY', { kind: 'ec' as const, pem: pki.read('hub.key') }], ['CA-KEY', { kind: 'ec' as const, pem: pki.read('lab.key') }]]);
  let running: { enrollment?: EnrollmentConfig; crypto: typeof config.crypto } = config;
  let keyStore: Map<string, { kind: 'ec'; pem: string }> = keys;
  const logs: string[] = [];
  const server = new EnrollmentServer({ running: () => running, keys: () => (l) => keyStore.get(l), address: () => undefined, template: () => '',
    state: boundTo(devA), save: () => undefined, log: (_l, m, x) => logs.push(`${m}: ${x}`) });
  t.equal(server.ikeCertCheck(devA), undefined, 'bound: accepted');
  t.match(server.ikeCertCheck(devB), /is not enrolled/, 'unbound: refused');
  t.match(server.refusal(devB), /is not enrolled/, 'the uncounted form says the same');
  t.equal(server.ikeCertCheck(devBOther), undefined, 'another CA: accepted');
  t.same(server.view().ike, { refused: 1, tornDown: 0 }, 'one IKE refusal counted');
  t.same(enrollmentCas(config.enrollment, config.crypto, 'no CA key').map((c) => c.fingerprint256), [lab[0].fingerprint256], 'without usable credentials: the trustpoint\'s CA certificates');
  keyStore = new Map(); // the CA key gone from the key store: the server cannot issue, the rule still holds
  t.match(server.refusal(devB), /is not enrolled/, 'CA key missing: still refused');
  running = { crypto: config.crypto }; // no dmvpn enrollment any more
  t.equal(server.refusal(devB), undefined, 'no dmvpn enrollment: not concerned');
  running = config;
  keyStore = keys;

  // `clear dmvpn enrollment binding`: the unbind, then every established SA asked again
  const sas = [{ remote: '172.16.25.2', peerId: 'a', cert: devA }, { remote: '172.16.35.2', peerId: 'b', cert: devB }, { remote: '172.16.45.2', peerId: 'x', cert: devBOther }];
  const ike = { clearRefused: (refuse: (c: X509Certificate) => string | undefined) => sas.flatMap((s) => { const reason = refuse(s.cert); return reason ? [{ remote: s.remote, peerId: s.peerId, reason, registrations: s.peerId === 'b' ? ['192.168.0.11'] : [] }] : []; }) } as unknown as ExecIke;
  const printed = cutOff(server, ike);
  t.match(printed, new RegExp(`^% IKE SA with 172\\.16\\.35\\.2 \\(b\\) taken down: device key ${idOf(devB).slice(0, 16)} is not enrolled on this hub .*; NHRP registration 192\\.168\\.0\\.11 withdrawn\\n$`), 'B\'s SA taken down, said with its registration');
  t.match(server.service.unbind(idOf(devA).slice(0, 12)), /released 192\.168\.0\.10/, 'A unbound');
  t.equal(cutOff(server, ike).split('\n').filter(Boolean).length, 2, 'then A\'s SA goes too, the other CA\'s stays');
  t.equal(cutOff(server, undefined), '', 'no IKE running: nothing to take down');
  const shown = formatEnrollment(server.view(), false);
  t.match(shown, /^ {2}IKE: refused 1 \(device key not enrolled\), SAs taken down 3 \(binding cleared\)$/m, 'show dmvpn enrollment: both counters');
  t.equal(server.view().ike.refused, 1, 'asking again about established SAs is not counted as a refusal');
  server.stop();
});

/** The enrollment hub's credentials from a throw-away CA (closed at the end of `t`). */
function hubCredentials(t: { teardown(f: () => void): void }) {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const caCert = ca.ca('lab');
  const hub = ca.leaf('hub', 'lab', ['172.16.15.2', '192.168.0.1']);
  return { tlsCert: hub, tlsKey: ca.read('hub.key'), caCert, caKey: ca.read('lab.key'), pin: pinOf(hub) };
}

t.test('a one-time token stays used after its binding is cleared: another key refused token-used', async (t) => {
  const creds = hubCredentials(t);
  const cfg: EnrollmentConfig = { tokens: [{ name: 'SITE1', sha256: sha(SECRET), oneTime: true }], pool: { start: '192.168.0.10', end: '192.168.0.20' }, template: 'spoke.cfg' };
  const template = fs.readFileSync(path.join(ROOT, 'test/fixtures/enroll-spoke-template.cfg'), 'utf8');
  const svc = new EnrollmentService({ config: () => cfg, credentials: () => creds, template: () => template, state: emptyState(), save: () => undefined, log: () => undefined });
  const ask = (csr: string) => svc.handle(frame({ v: 1, token: 'SITE1', secret: SECRET, csr }).subarray(4), '172.16.25.2');
  const csrOf = () => certificateRequest(generateKeyPairSync('ed25519').privateKey, 'CN=factory');
  const first = csrOf();
  t.match(await ask(first), { status: 'admitted', address: '192.168.0.10' }, 'the first device: admitted');
  const key = svc.state.bindings[0].key;
  t.match(svc.unbind(key.slice(0, 16)), /released/, 'its binding cleared');
  t.equal(svc.state.usedTokens.SITE1, key, 'the token still recorded as used by that key');
  t.match(await ask(csrOf()), { status: 'refused', reason: 'token-used' }, 'another device key with the token: refused');
  t.equal(svc.state.bindings.length, 0, 'and bound nothing');
});

t.test('dmvpn enrollment revoke: the key loses its binding and is refused with any token, after a restart too; clear ... revoked undoes it', async (t) => {
  const creds = hubCredentials(t);
  const cfg: EnrollmentConfig = { tokens: [{ name: 'SITE1', sha256: sha(SECRET), oneTime: true }, { name: 'FLEET', sha256: sha(`${SECRET}2`) }], pool: { start: '192.168.0.10', end: '192.168.0.20' }, template: 'spoke.cfg' };
  const template = fs.readFileSync(path.join(ROOT, 'test/fixtures/enroll-spoke-template.cfg'), 'utf8');
  let saved = '';
  const logs: string[] = [];
  const service = (state: EnrollmentState) => new EnrollmentService({ config: () => cfg, credentials: () => creds, template: () => template, state,
    save: (s) => { saved = JSON.stringify(s); }, log: (_l, m, x) => logs.push(`${m}: ${x}`) });
  let svc = service(emptyState());
  const ask = (csr: string, token = 'SITE1', secret = SECRET) => svc.handle(frame({ v: 1, token, secret, csr }).subarray(4), '172.16.25.2');
  const stolen = certificateRequest(generateKeyPairSync('ed25519').privateKey, 'CN=factory');
  t.match(await ask(stolen), { status: 'admitted', address: '192.168.0.10' }, 'admitted');
  const key = svc.state.bindings[0].key;
  // clear binding alone: the same key comes back with its one-time token (that is what it is for)
  svc.unbind(key.slice(0, 16));
  t.match(await ask(stolen), { status: 'admitted', address: '192.168.0.10' }, 'clear binding: the same key enrolls again with its token');
  t.match(svc.revoke('zz'), /at least 8 hexadecimal digits/, 'a bad key argument: refused');
  t.equal(svc.revoke(key.slice(0, 16)), `% device key ${key.slice(0, 16)} revoked, 192.168.0.10 released\n`, 'revoke: the binding released');
  t.equal(svc.state.bindings.length, 0);
  t.same(svc.state.revoked, [key]);
  t.match(svc.revoke(key.slice(0, 16)), /no device key|already revoked/, 'revoking again: said so');
  t.match(await ask(stolen), { status: 'refused', reason: 'key-revoked', message: 'this device key was revoked by the operator' }, 'its one-time token: refused, key-revoked');
  t.match(await ask(stolen, 'FLEET', `${SECRET}2`), { status: 'refused', reason: 'key-revoked' }, 'a reusable token: refused too');
  t.match(await ask(certificateRequest(generateKeyPairSync('ed25519').privateKey, 'CN=other'), 'FLEET', `${SECRET}2`), { status: 'admitted' }, 'another device key: admitted');
  t.match(JSON.parse(saved), { revoked: [key] }, 'the revocation is in the saved state (an admission after it kept it)');
  // a restart: the state read back from the file
  const { parseState } = await import('../appliance/enroll/bindings.js');
  const back = parseState(saved);
  if (typeof back === 'string') { t.fail(back); return; }
  svc = service(back);
  t.match(await ask(stolen), { status: 'refused', reason: 'key-revoked' }, 'after a restart: still refused');
  t.match(parseState(JSON.stringify({ ...back, revoked: ['nothex'] })), /revoked is malformed/, 'a damaged revoked list: the state file refused');
  t.equal(svc.revoke(key.slice(0, 16), true), `% device key ${key.slice(0, 16)} may enroll again\n`, 'clear dmvpn enrollment revoked');
  t.match(await ask(stolen), { status: 'admitted' }, 'then it enrolls again (its one-time token admits the key it admitted)');
  t.match(logs.join('\n'), new RegExp(`REVOKED: device key ${key.slice(0, 16)} revoked, 192\\.168\\.0\\.10 released[\\s\\S]*UNREVOKED: device key ${key.slice(0, 16)} may enroll again`), 'logged');
});
