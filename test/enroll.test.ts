// Zero-touch enrollment without processes (docs/enrollment.md): the `dmvpn enrollment` config round
// trip, tokens, the admission rules and the pool, the template, the wire codec, the whole exchange
// through the service, and over TLS with the hub key pinned. Certificates are checked by openssl (verify
// against the CA, the SAN printed by openssl x509), not only by our own code.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { checkToken } from '../appliance/enroll/token.js';
import { decide } from '../appliance/enroll/decide.js';
import { emptyState, freeAddress, parseState, type EnrollmentState } from '../appliance/enroll/bindings.js';
import { FrameReader, frame, decodeRequest, MAX_REQUEST } from '../appliance/enroll/codec.js';
import { fillTemplate, spokeConfig } from '../appliance/enroll/template.js';
import { EnrollmentService } from '../appliance/enroll/service.js';
import { EnrollmentListener } from '../appliance/enroll/listener.js';
import { serverCredentials, pinOf, ServerCredentialsCache } from '../appliance/enroll/credentials.js';
import { requestEnrollment, answerProblem, EnrollError } from '../appliance/enroll/client.js';
import { parseProvisioning, type HubTarget } from '../appliance/enroll/provisioning.js';
import { keyId } from '../appliance/enroll/issue.js';
import { certificateRequest } from '../appliance/ike/pki/csr.js';
import { pemBlock } from '../appliance/ike/pki/trustpoint.js';
import { TestCa, certBlock } from './util/pki.js';
import { ROOT } from './util/lab.js';
import { requireTools, needs } from './util/needs.js';
import type { EnrollmentConfig } from '../appliance/config/model-enroll.js';
import { boxEnrollmentServer } from '../appliance/entry/enroll-box.js';
import type { ExecContext } from '../appliance/supervisor/exec-context.js';

requireTools(t, ['openssl']);

const TEMPLATE = fs.readFileSync(path.join(ROOT, 'test/fixtures/enroll-spoke-template.cfg'), 'utf8');
const SECRET = 'correct-horse-battery-staple';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const NOW = new Date('2026-12-05T10:00:00Z');

t.test('dmvpn enrollment: parsed, rendered with the secret hashed, parsed back to the same model; bad lines refused', async (t) => {
  const text = ['dmvpn enrollment', ' trustpoint HUB', ' ca-keypair CA-KEY', ' listen port 4431', ' pool 192.168.0.10 192.168.0.12',
    ' template spoke.cfg', ' approval manual', ` token SITE1 ${SECRET} one-time expires 2027-01-31`, ` token FLEET ${SECRET}x`, 'end'].join('\n');
  const r = parseStartupConfig(text);
  t.ok(r.ok, 'loads');
  if (!r.ok) return;
  const e = r.config.enrollment!;
  t.same(e, { tokens: [{ name: 'SITE1', sha256: sha(SECRET), oneTime: true, expires: '2027-01-31' }, { name: 'FLEET', sha256: sha(`${SECRET}x`) }],
    trustpoint: 'HUB', caKeypair: 'CA-KEY', port: 4431, pool: { start: '192.168.0.10', end: '192.168.0.12' }, template: 'spoke.cfg', manual: true });
  const shown = renderConfig(r.config);
  t.match(shown, new RegExp(`^dmvpn enrollment\\n trustpoint HUB\\n ca-keypair CA-KEY\\n listen port 4431\\n pool 192\\.168\\.0\\.10 192\\.168\\.0\\.12\\n template spoke\\.cfg\\n approval manual\\n token SITE1 sha256 ${sha(SECRET)} one-time expires 2027-01-31\\n token FLEET sha256 ${sha(`${SECRET}x`)}\\n!$`, 'm'), 'rendered as IOS-style lines');
  t.notMatch(shown, new RegExp(SECRET), 'the secret is not in the running-config');
  const back = parseStartupConfig(shown);
  t.ok(back.ok && JSON.stringify(back.config.enrollment) === JSON.stringify(e), 'parses back to the same model');
  const removed = parseStartupConfig(`${text.replace(/\nend$/, '')}\ndmvpn enrollment\n no token SITE1\n approval auto\nend\n`);
  t.ok(removed.ok && removed.config.enrollment!.tokens.length === 1 && !removed.config.enrollment!.manual, 'no token, approval auto');
  t.ok(parseStartupConfig('dmvpn enrollment\nno dmvpn enrollment\n').ok && !(parseStartupConfig('dmvpn enrollment\nno dmvpn enrollment\n') as { config: { enrollment?: unknown } }).config.enrollment, 'no dmvpn enrollment removes it');
  const refused = (line: string, why: RegExp) => {
    const x = parseStartupConfig(`dmvpn enrollment\n${line}\n`);
    t.ok(!x.ok && why.test(x.errors[0].message) && x.errors[0].line === 2, `refused: ${line.trim()}`);
  };
  refused(' token A short', /at least 16 characters/);
  refused(` token A ${SECRET} expires 31/01/2027`, /YYYY-MM-DD/);
  refused(' pool 192.168.0.20 192.168.0.10', /end is below the start/);
  refused(' pool 10.0.0.0 10.1.0.0', /at most 4096/);
  refused(' template ../../etc/passwd', /".." is not allowed/);
  refused(' token A sha256 abcd', /64 hexadecimal digits/);
  refused(` token SITE/1 ${SECRET}`, /token SITE\/1: a name of letters, digits/); // a request could never carry it
});

t.test('tokens: constant-time secret check, unknown and wrong alike, expiry', async (t) => {
  const tokens = [{ name: 'A', sha256: sha(SECRET) }, { name: 'B', sha256: sha(SECRET), expires: '2026-12-05' }];
  t.same(checkToken(tokens, 'A', SECRET, NOW), { ok: true, token: tokens[0] });
  t.same(checkToken(tokens, 'A', `${SECRET}!`, NOW), { ok: false, reason: 'bad-token' }, 'wrong secret');
  t.same(checkToken(tokens, 'Z', SECRET, NOW), { ok: false, reason: 'bad-token' }, 'unknown name: the same answer');
  t.same(checkToken(tokens, 'B', SECRET, NOW), { ok: false, reason: 'expired-token' }, 'expired from its day on');
  t.same(checkToken(tokens, 'B', SECRET, new Date('2026-12-04T23:59:59Z')).ok, true, 'valid the day before');
  t.same(checkToken(tokens, 'B', 'nope', NOW), { ok: false, reason: 'bad-token' }, 'an expired token with a wrong secret says bad-token, not expired');
});

t.test('admission: pool, same key same address, bound elsewhere, one-time, approval, exhaustion', async (t) => {
  const cfg: EnrollmentConfig = { tokens: [{ name: 'ONE', sha256: sha(SECRET), oneTime: true }, { name: 'MANY', sha256: sha(SECRET) }], pool: { start: '192.168.0.10', end: '192.168.0.11' } };
  const [ONE, MANY] = cfg.tokens; // checked tokens, as checkToken hands them on
  const s: EnrollmentState = emptyState();
  const k = (n: number) => String(n).repeat(64).slice(0, 64);
  const none = new Set<string>();
  const bind = (key: string, d: ReturnType<typeof decide>, oneTime = false) => {
    if (d.kind !== 'admit') throw new Error(`not admitted: ${JSON.stringify(d)}`);
    s.bindings.push({ key, address: d.address, hostname: d.hostname, token: d.token, admitted: NOW.toISOString() });
    if (oneTime) s.usedTokens[d.token] = key;
  };
  const d1 = decide(cfg, s, { token: ONE, key: k(1) }, none);
  t.match(d1, { kind: 'admit', address: '192.168.0.10', hostname: 'spoke-192-168-0-10', again: false }, 'first key: lowest pool address');
  bind(k(1), d1, true);
  t.match(decide(cfg, s, { token: ONE, key: k(1) }, none), { kind: 'admit', address: '192.168.0.10', again: true }, 'the same key again: the same address');
  t.match(decide(cfg, s, { token: ONE, key: k(2) }, none), { kind: 'refused', reason: 'token-used' }, 'one-time token, another key: refused');
  t.match(decide(cfg, s, { token: MANY, key: k(1) }, none), { kind: 'refused', reason: 'key-bound-elsewhere', detail: 'bound to 192.168.0.10 under token ONE' }, 'a bound key under another token: refused');
  const d2 = decide(cfg, s, { token: MANY, key: k(2) }, none);
  t.match(d2, { kind: 'admit', address: '192.168.0.11' }, 'a reusable token admits another key');
  bind(k(2), d2);
  t.equal(freeAddress(s, cfg.pool!), undefined, 'pool used up');
  t.match(decide(cfg, s, { token: MANY, key: k(3) }, none), { kind: 'refused', reason: 'pool-exhausted' }, 'pool exhausted: refused');
  const manual = { ...cfg, manual: true, pool: { start: '192.168.0.10', end: '192.168.0.20' } };
  t.match(decide(manual, s, { token: MANY, key: k(3) }, none), { kind: 'pending' }, 'manual approval: pending');
  t.match(decide(manual, s, { token: MANY, key: k(3) }, new Set([k(3)])), { kind: 'admit', address: '192.168.0.12' }, 'approved: admitted');
  t.match(decide(manual, s, { token: MANY, key: k(2) }, none), { kind: 'admit', again: true }, 'a bound key needs no new approval');
  t.same(parseState(JSON.stringify(s)), s, 'state survives JSON');
  t.type(parseState('{"bindings":[{"key":"zz"}],"usedTokens":{}}'), 'string', 'a damaged state file is refused, not emptied');
});

t.test('codec: length-prefixed frames bounded before buffering; requests checked field by field', async (t) => {
  const r = new FrameReader(MAX_REQUEST);
  const f = frame({ a: 1 });
  t.same(r.push(f.subarray(0, 3)), {}, 'partial header: wait');
  t.same(r.push(f.subarray(3, 6)), {}, 'partial body: wait');
  t.same(r.push(f.subarray(6)).body?.toString(), '{"a":1}');
  const big = Buffer.alloc(4); big.writeUInt32BE(MAX_REQUEST + 1);
  t.match(new FrameReader(MAX_REQUEST).push(big), { error: /message of 8193 bytes/ }, 'too large: refused from the header alone');
  const good = { v: 1, token: 'A', secret: SECRET, csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' };
  t.same(decodeRequest(Buffer.from(JSON.stringify(good))), good);
  for (const [bad, why] of [[{ ...good, v: 2 }, /protocol version 2/], [{ ...good, v: '1\nX' }, /^protocol version missing or not a number/], [{ ...good, token: '../x' }, /token name/], [{ ...good, secret: '' }, /secret/],
    [{ ...good, csr: 'x' }, /csr/], ['nope', /not an object|not JSON/]] as const) {
    const out = decodeRequest(Buffer.from(typeof bad === 'string' ? bad : JSON.stringify(bad)));
    t.match(out, why, `refused: ${String(why)}`);
    t.notMatch(String(out), new RegExp(SECRET), 'the reason does not quote the secret');
    t.notMatch(String(out), /\n/, 'nor puts a line break of the sender\'s in the log');
  }
});

t.test('decide: a key whose device name would be another bound key\'s is refused', async (t) => {
  const cfg: EnrollmentConfig = { tokens: [], pool: { start: '192.168.0.10', end: '192.168.0.20' } };
  const token = { name: 'FLEET', sha256: sha(SECRET) };
  const held = 'a'.repeat(32) + 'b'.repeat(32);
  const s: EnrollmentState = { bindings: [{ key: held, address: '192.168.0.10', hostname: 'spoke-192-168-0-10', token: 'FLEET', admitted: NOW.toISOString() }], usedTokens: {} };
  t.match(decide(cfg, s, { token, key: 'a'.repeat(32) + 'c'.repeat(32) }, new Set()), { kind: 'refused', reason: 'key-bound-elsewhere', detail: /same name prefix holds 192\.168\.0\.10/ }, 'the same 128-bit prefix: refused');
  t.match(decide(cfg, s, { token, key: 'c'.repeat(64) }, new Set()), { kind: 'admit', address: '192.168.0.11' }, 'another prefix: admitted');
  t.match(decide(cfg, s, { token, key: held }, new Set()), { kind: 'admit', address: '192.168.0.10', again: true }, 'the holder itself: admitted again');
});

t.test('template: placeholders filled, unknown one refused, result must load', async (t) => {
  const v = { address: '192.168.0.9', hostname: 'h', name: 'h.0123.dmvpn.invalid' };
  t.equal(fillTemplate('hostname {{hostname}}\n ip address {{ address }} 255.255.255.0\n pki trustpoint {{trustpoint}}\n identity local fqdn {{name}}', v),
    'hostname h\n ip address 192.168.0.9 255.255.255.0\n pki trustpoint DMVPN-ENROLL\n identity local fqdn h.0123.dmvpn.invalid');
  t.throws(() => fillTemplate('x {{serial}}', v), /unknown placeholder \{\{serial\}\}/);
  // a profile on the enrollment trustpoint: the device name as identity, unless the template names another (refused)
  const ca = new TestCa();
  t.teardown(() => ca.close());
  ca.ca('tca');
  const cert = ca.leaf('dev', 'tca', [v.name, v.address], undefined, 'ed25519');
  const named = spokeConfig(TEMPLATE, v, cert, ca.read('tca.pem'));
  t.match(named, /^ identity local fqdn h\.0123\.dmvpn\.invalid$/m, 'identity local fqdn added to the profile on the enrollment trustpoint');
  t.equal(spokeConfig(TEMPLATE.replace(' pki trustpoint {{trustpoint}}', ' pki trustpoint {{trustpoint}}\n identity local fqdn {{name}}'), v, cert, ca.read('tca.pem')), named, 'written by the template: the same');
  t.throws(() => spokeConfig(TEMPLATE.replace(' pki trustpoint {{trustpoint}}', ' pki trustpoint {{trustpoint}}\n identity local fqdn other.example'), v, cert, ca.read('tca.pem')),
    /ikev2 profile IKEV2PROF: identity local fqdn other\.example is not the device name/, 'another name in the template: refused at the hub');
});

/** a CA (EC P-256), the hub's certificate from it, and the credentials the server runs with */
function hubPki(ca: TestCa) {
  const caPem = ca.ca('lab');
  const hubPem = ca.leaf('hub', 'lab', ['172.16.15.2', '192.168.0.1']);
  return { tlsCert: hubPem, tlsKey: ca.read('hub.key'), caCert: caPem, caKey: ca.read('lab.key'), pin: pinOf(hubPem) };
}

function device() {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { key: privateKey, csr: certificateRequest(privateKey, 'CN=factory') };
}

t.test('the exchange in-process: admitted with an openssl-verified certificate and a loadable config; refusals change nothing', async (t) => {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const creds = hubPki(ca);
  const cfg: EnrollmentConfig = { tokens: [{ name: 'SITE1', sha256: sha(SECRET), oneTime: true }], pool: { start: '192.168.0.10', end: '192.168.0.10' }, template: 'spoke.cfg' };
  const saved: EnrollmentState[] = [];
  const logs: string[] = [];
  const state = emptyState();
  const svc = new EnrollmentService({ config: () => cfg, credentials: () => creds, template: () => TEMPLATE, state,
    save: (s) => saved.push(structuredClone(s)), log: (_l, m, x) => logs.push(`${m}: ${x}`), now: () => new Date() });
  const ask = async (token: string, secret: string, csr: string, from = '172.16.25.2') => svc.handle(frame({ v: 1, token, secret, csr }).subarray(4), from);

  const bad = device();
  const r1 = await ask('SITE1', 'wrong-secret-wrong-secret', bad.csr);
  t.match(r1, { status: 'refused', reason: 'bad-token', message: 'the token is unknown or its secret is wrong' }, 'bad token: refused with the reason');
  t.equal(saved.length, 0, 'nothing saved for a refusal');
  t.same(state, emptyState(), 'no binding for a refusal');

  const dev = device();
  const a = await ask('SITE1', SECRET, dev.csr);
  t.equal(a.status, 'admitted', 'good token: admitted');
  if (a.status !== 'admitted') t.comment(JSON.stringify(a));
  if (a.status !== 'admitted') return;
  t.equal(a.address, '192.168.0.10');
  t.equal(answerProblem(a, dev.key), undefined, 'the spoke accepts the answer');
  t.equal(answerProblem(a, bad.key), 'the certificate is not for our device key', 'another device would not');
  t.equal(saved.length, 1, 'the binding saved before the answer');
  t.equal(state.bindings[0].key, keyId(Buffer.from(new X509Certificate(a.certificate).publicKey.export({ type: 'spki', format: 'der' }))), 'bound to the device key');
  t.equal(state.usedTokens.SITE1, state.bindings[0].key, 'the one-time token is used by it');
  // openssl's view of the certificate
  ca.write('dev.pem', a.certificate);
  t.match(ca.ssl('verify', '-CAfile', 'lab.pem', 'dev.pem').toString(), /dev\.pem: OK/, 'openssl verify -CAfile: OK');
  const text = ca.ssl('x509', '-in', 'dev.pem', '-noout', '-text').toString();
  const name = `spoke-192-168-0-10.${state.bindings[0].key.slice(0, 32)}.dmvpn.invalid`;
  t.match(text, new RegExp(`X509v3 Subject Alternative Name: \\n\\s+DNS:${name.replace(/\./g, '\\.')}, IP Address:192\\.168\\.0\\.10\\n`), 'SAN: the device name (hostname and key id), the tunnel address; not the NBMA address it came from');
  t.notMatch(text, /172\.16\.25\.2/, 'the address the request came from is in no field');
  t.match(text, /Public Key Algorithm: ED25519/, 'for the Ed25519 device key');
  t.match(text, /Subject: CN ?= ?spoke-192-168-0-10/, 'subject: the hostname');
  t.match(text, /CA:FALSE/, 'not a CA');
  // the config
  const cfgLoad = parseStartupConfig(a.config);
  t.ok(cfgLoad.ok, 'the config loads');
  t.match(a.config, /^hostname spoke-192-168-0-10$/m);
  t.match(a.config, /^crypto pki trustpoint DMVPN-ENROLL\n enrollment terminal\n revocation-check none\n ed25519keypair DEVICE$/m, 'trustpoint with the device key');
  t.match(a.config, /^crypto pki certificate chain DMVPN-ENROLL\n certificate [0-9A-F]+\n {2}[0-9A-F]{8} /m, 'the chain in IOS form');
  t.match(a.config, /^ ip address 192\.168\.0\.10 255\.255\.255\.0$/m);
  t.match(a.config, new RegExp(`^crypto ikev2 profile IKEV2PROF\\n match identity remote address 172\\.16\\.0\\.0 255\\.255\\.0\\.0\\n identity local fqdn ${name.replace(/\./g, '\\.')}\\n`, 'm'), 'the profile on the enrollment trustpoint: the device name as IKE identity');
  t.match(logs.join('\n'), new RegExp(`ADMITTED: .* as spoke-192-168-0-10 192\\.168\\.0\\.10, IKE identity ${name.replace(/\./g, '\\.')}`), 'the hub logs the name');
  const otherName = `spoke-192-168-0-11.${'ab'.repeat(16)}.dmvpn.invalid`;
  t.equal(answerProblem({ ...a, config: a.config.replace(`identity local fqdn ${name}`, `identity local fqdn ${otherName}`) }, dev.key),
    `the config's identity ${otherName} is not a name the certificate carries`, 'the spoke refuses a config claiming a name its certificate lacks');
  t.equal(renderConfig((cfgLoad as { config: Parameters<typeof renderConfig>[0] }).config), a.config, 'in running-config form');

  const again = await ask('SITE1', SECRET, dev.csr);
  t.match(again, { status: 'admitted', address: '192.168.0.10' }, 'the same device again: the same address (its answer may have been lost)');
  t.equal(saved.length, 2, 'saved again only to record the new certificate\'s serial (issued.ts)');
  t.same(saved[1].bindings, saved[0].bindings, 'the binding unchanged');
  const other = device();
  t.match(await ask('SITE1', SECRET, other.csr), { status: 'refused', reason: 'token-used' }, 'the used one-time token: refused for another key');
  // a CSR whose signature does not verify: no proof of possession
  const der = Buffer.from(device().csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 1] ^= 1; // the last byte of the signature
  const forged = pemBlock('CERTIFICATE REQUEST', der);
  t.match(await ask('SITE1', SECRET, forged), { status: 'refused', reason: 'bad-request' }, 'a CSR that does not verify: refused');
  t.same(svc.counters, { ...svc.counters, requests: 5, admitted: 1, readmitted: 1, refused: 3 }, 'counted');
  t.notMatch(logs.join('\n'), new RegExp(`${SECRET}|PRIVATE KEY`), 'no secret or key in the log');
  t.match(logs.join('\n'), /REFUSED: enrollment from 172\.16\.25\.2 refused: bad-token/, 'refusal logged with the reason');
  const broken = new EnrollmentService({ config: () => ({ ...cfg, tokens: [{ name: 'X', sha256: sha(SECRET) }] }), credentials: () => creds, template: () => 'interface Tunnel0\n bogus line\n',
    state: emptyState(), save: () => { throw new Error('must not save'); }, log: () => undefined });
  t.match(await broken.handle(frame({ v: 1, token: 'X', secret: SECRET, csr: device().csr }).subarray(4), '10.0.0.1'),
    { status: 'refused', reason: 'not-ready', message: /template: the spoke config does not load \(line \d+/ }, 'a template that does not load: refused, nothing bound');
  t.equal(broken.state.bindings.length, 0);
});

t.test('credentials from the config: trustpoint + key store; over TLS with the hub key pinned', async (t) => {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const pki = hubPki(ca);
  const hubCert = new X509Certificate(pki.tlsCert);
  const text = ['crypto pki trustpoint HUB', ' eckeypair HUB-KEY', 'crypto pki certificate chain HUB',
    ...certBlock(pki.tlsCert, hubCert.serialNumber, false), ...certBlock(pki.caCert, new X509Certificate(pki.caCert).serialNumber, true),
    'dmvpn enrollment', ' trustpoint HUB', ' ca-keypair CA-KEY', ` token SITE1 ${SECRET}`, ' pool 192.168.0.10 192.168.0.20', ' template spoke.cfg', 'end'].join('\n');
  const r = parseStartupConfig(text);
  t.ok(r.ok, 'hub config loads');
  if (!r.ok) return;
  const keys = new Map([['HUB-KEY', { kind: 'ec' as const, pem: pki.tlsKey }], ['CA-KEY', { kind: 'ec' as const, pem: pki.caKey }]]);
  const creds = serverCredentials(r.config.enrollment!, r.config.crypto, (l) => keys.get(l));
  t.type(creds, 'object', 'usable');
  if (typeof creds === 'string') { t.comment(creds); return; }
  t.equal(creds.pin, pki.pin);
  t.match(serverCredentials({ ...r.config.enrollment!, caKeypair: 'HUB-KEY' }, r.config.crypto, (l) => keys.get(l)), /key pair HUB-KEY is not the key of a CA certificate of trustpoint HUB/, 'a CA key that is not the CA\'s: refused');
  t.match(serverCredentials({ ...r.config.enrollment!, caKeypair: 'NONE' }, r.config.crypto, (l) => keys.get(l)), /no key pair NONE/);

  // the server asks every 2 s: parsed again only when the config, the two keys or the validity window changed
  let clock = Date.now(), lookups = 0;
  const cache = new ServerCredentialsCache(() => clock);
  const counted = (l: string) => { lookups++; return keys.get(l); };
  const computed = (e = r.config.enrollment!, crypto = r.config.crypto) => { const n = lookups; const v = cache.get(e, crypto, counted); return { v, parsed: lookups - n > 2 }; };
  t.match(computed(), { v: { pin: pki.pin }, parsed: true }, 'cache: computed the first time');
  t.match(computed(), { v: { pin: pki.pin }, parsed: false }, 'cache: nothing changed, not computed again');
  t.match(computed(structuredClone(r.config.enrollment!)), { parsed: true }, 'cache: a new enrollment config (an apply) computes again');
  t.match(computed(undefined, structuredClone(r.config.crypto)), { parsed: true }, 'cache: a new crypto config computes again');
  t.match(computed(undefined, r.config.crypto), { parsed: true });
  const caEntry = keys.get('CA-KEY')!;
  keys.delete('CA-KEY');
  t.match(computed(), { v: /no key pair CA-KEY in the key store/, parsed: true }, 'cache: the CA key zeroized: computed again, refused');
  t.match(computed(), { v: /no key pair CA-KEY/, parsed: false }, 'cache: a refusal is kept too');
  keys.set('CA-KEY', caEntry);
  t.match(computed(), { v: { pin: pki.pin }, parsed: true }, 'cache: the key back: usable again');
  const hubEntry = keys.get('HUB-KEY')!;
  keys.set('HUB-KEY', { kind: 'ec', pem: pki.caKey });
  t.match(computed(), { v: /is not for key pair HUB-KEY/, parsed: true }, 'cache: another key under the trustpoint\'s label: computed again');
  keys.set('HUB-KEY', hubEntry);
  t.match(computed(), { parsed: true });
  clock = new Date(hubCert.validTo).getTime();
  t.match(computed(), { parsed: false }, 'cache: the last instant of the certificate\'s validity: kept');
  clock += 1;
  t.match(computed(), { parsed: true }, 'cache: past the end of the certificate\'s validity: computed again');

  const svc = new EnrollmentService({ config: () => r.config.enrollment, credentials: () => creds, template: () => TEMPLATE, state: emptyState(), save: () => undefined, log: () => undefined });
  const listener = new EnrollmentListener(svc, { perSourcePerMinute: 5, perMinute: 100, concurrent: 4, handshakeMs: 5000, exchangeMs: 5000 });
  const port = await listener.listen(creds, 0, '127.0.0.1');
  t.teardown(() => listener.close());
  const prov = (pin: string, secret = SECRET) => parseProvisioning(`! factory\nhub 127.0.0.1 port ${port}\npin ${pin}\ntoken SITE1 ${secret}\n`);
  const good = prov(creds.pin) as HubTarget | string; // the file has a hub line
  if (typeof good === 'string') { t.fail(good); return; }
  const dev = device();
  const a = await requestEnrollment(good, dev.csr);
  t.match(a, { status: 'admitted', address: '192.168.0.10' }, 'admitted over TLS');
  if (a.status === 'admitted') t.equal(answerProblem(a, dev.key), undefined, 'and the answer passes the spoke\'s checks');
  t.match(await requestEnrollment(prov(creds.pin, 'x'.repeat(20)) as never, device().csr), { status: 'refused', reason: 'bad-token' }, 'bad token over TLS: refused with the reason');
  // a wrong pin: nothing is sent (the server sees no request)
  const before = svc.counters.requests;
  const wrong = prov(`sha256//${Buffer.alloc(32, 7).toString('base64')}`);
  await t.rejects(requestEnrollment(wrong as never, dev.csr), new EnrollError(''), 'a hub key other than the pinned one: refused');
  await t.rejects(requestEnrollment(wrong as never, dev.csr), /not the pinned one: nothing sent/);
  t.equal(svc.counters.requests, before, 'the server got no request (the secret never left the box)');
  // too large: refused from the length prefix
  const tls = await import('node:tls');
  const answer = await new Promise<string>((res) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => { const h = Buffer.alloc(4); h.writeUInt32BE(1 << 20); s.write(h); });
    let got = ''; s.on('data', (b) => { got += b.subarray(4).toString(); }); s.on('close', () => res(got)); s.on('error', () => res(got));
  });
  t.match(answer, /"reason":"bad-request".*1048576 bytes/, 'a 1 MiB request: refused from its header');
  t.equal(svc.counters.tooLarge, 1, 'counted');
  // the per-source limit (5 a minute, 5 used): the next connection is dropped before TLS
  await t.rejects(requestEnrollment(good, dev.csr, 3000), /closed the connection|ECONNRESET|socket disconnected/, 'over the per-source limit: dropped');
  t.ok(svc.counters.rateLimited >= 1, `counted (rateLimited ${svc.counters.rateLimited})`);
  t.match(parseProvisioning('hub 1.2.3.4\ntoken A secretsecretsecret\n'), /no pin line/, 'a provisioning file without a pin: refused');
  t.match(parseProvisioning(`hub 1.2.3.256\npin ${creds.pin}\ntoken A secretsecretsecret\n`), /line 1: expected "hub A\.B\.C\.D/, 'a hub address that is not one: refused');
  t.notMatch(String(parseProvisioning(`hub 1.2.3.4\ntoken A ${SECRET} extra\n`)), new RegExp(SECRET), 'a bad token line: the reason does not quote it');
});

t.test('the pin is curl\'s --pinnedpubkey: curl accepts the hub with the pin the server shows and refuses it with another', needs(t, 'curl'), async (t) => {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const creds = hubPki(ca);
  const svc = new EnrollmentService({ config: () => undefined, credentials: () => creds, template: () => TEMPLATE, state: emptyState(), save: () => undefined, log: () => undefined });
  const listener = new EnrollmentListener(svc);
  const port = await listener.listen(creds, 0, '127.0.0.1');
  t.teardown(() => listener.close());
  // curl speaks HTTP after the handshake, which the listener refuses (a 1.2 GB "length"): only curl's
  // exit code 90 (CURLE_SSL_PINNEDPUBKEYNOTMATCH) says the pin did not match
  const curl = (pin: string) => new Promise<number | null>((res) => {
    const p = spawn('curl', ['-sk', '--max-time', '10', '--pinnedpubkey', pin, `https://127.0.0.1:${port}/`], { stdio: 'ignore' });
    p.on('exit', (code) => res(code));
  });
  const right = await curl(creds.pin);
  t.ok(right !== 90 && right !== 0, `curl --pinnedpubkey with the shown pin: past the pin check (exit ${right}: the listener refuses its HTTP)`);
  t.equal(svc.counters.tooLarge, 1, 'the listener got curl\'s request after the handshake');
  t.equal(await curl(`sha256//${Buffer.alloc(32, 7).toString('base64')}`), 90, 'curl with another pin: 90, public key does not match');
  t.equal(svc.counters.tooLarge, 1, 'and sent nothing');
});

t.test('manual approval through the service, show dmvpn enrollment, and a client that never finishes its request', async (t) => {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const creds = hubPki(ca);
  const cfg: EnrollmentConfig = { tokens: [{ name: 'FLEET', sha256: sha(SECRET) }], pool: { start: '192.168.0.10', end: '192.168.0.20' }, template: 'spoke.cfg', manual: true };
  const logs: string[] = [];
  const { EnrollmentServer } = await import('../appliance/enroll/server.js');
  const { formatEnrollment } = await import('../appliance/supervisor/exec-enroll.js');
  const server = new EnrollmentServer({ running: () => ({ enrollment: cfg, crypto: { lines: [] } }), keys: () => undefined, address: () => '127.0.0.1', template: () => TEMPLATE,
    state: emptyState(), save: () => undefined, log: (_l, m, x) => logs.push(`${m}: ${x}`) });
  const svc = server.service;
  // the server's own credentials are absent (no trustpoint): the service is driven with the test's
  const direct = new EnrollmentService({ config: () => cfg, credentials: () => creds, template: () => TEMPLATE, state: svc.state, save: () => undefined, log: (_l, m, x) => logs.push(`${m}: ${x}`) });
  const dev = device();
  const ask = () => direct.handle(frame({ v: 1, token: 'FLEET', secret: SECRET, csr: dev.csr }).subarray(4), '172.16.25.2');
  t.match(await ask(), { status: 'pending', message: /approval/ }, 'manual: pending');
  t.match(await ask(), { status: 'pending' }, 'still pending when asked again');
  t.equal(direct.pending.size, 1, 'one pending record per device key');
  const id = [...direct.pending.keys()][0];
  t.match(direct.approve('zz'), /at least 8 hexadecimal digits/, 'approve: a malformed key refused');
  t.match(direct.approve('00000000'), /no pending request/, 'approve: an unknown key refused');
  // the hub restarts: the pending request is still listed (a new service over the saved state)
  let saved: EnrollmentState | undefined;
  const restartedOver = (st: EnrollmentState, now?: () => Date) => new EnrollmentService({ config: () => cfg, credentials: () => creds, template: () => TEMPLATE,
    state: structuredClone(st), save: (x) => { saved = structuredClone(x); }, log: (_l, m, x) => logs.push(`${m}: ${x}`), ...(now ? { now } : {}) });
  const before = restartedOver(direct.state);
  t.equal(before.pending.size, 0, '(the shared state object holds no pending list: the service keeps it)');
  const first = new EnrollmentService({ config: () => cfg, credentials: () => creds, template: () => TEMPLATE, state: emptyState(),
    save: (x) => { saved = structuredClone(x); }, log: () => undefined });
  t.match(await first.handle(frame({ v: 1, token: 'FLEET', secret: SECRET, csr: dev.csr }).subarray(4), '172.16.25.2'), { status: 'pending' });
  t.match(saved?.pending, [{ key: id, token: 'FLEET', from: '172.16.25.2' }], 'a new pending request is saved');
  t.same(parseState(JSON.stringify(saved)), saved, 'and reads back');
  const second = restartedOver(saved!);
  t.match([...second.pending.values()], [{ key: id, token: 'FLEET', from: '172.16.25.2', approved: false }], 'after a restart: still pending');
  t.match(second.approve(id.slice(0, 12)), /approved/, 'and the operator can approve it at once');
  t.match(saved?.pending, [{ key: id }], 'the approval saved with the pending list');
  const third = restartedOver(saved!);
  t.match([...third.pending.values()], [{ key: id, approved: true }], 'approved across a restart too');
  t.match(await third.handle(frame({ v: 1, token: 'FLEET', secret: SECRET, csr: dev.csr }).subarray(4), '172.16.25.2'), { status: 'admitted' }, 'admitted');
  t.equal(saved?.pending, undefined, 'no longer pending in the saved state');
  // a device that never asks again is forgotten after an hour, when another request comes
  let clock = Date.now();
  const idle = restartedOver({ ...emptyState(), pending: [{ key: 'ab'.repeat(32), token: 'FLEET', from: '172.16.99.2', since: clock - 7200_000 }] }, () => new Date(clock));
  t.equal(idle.pending.size, 1, 'restored (an hour from the restart to ask again, however old)');
  clock += 3700_000;
  const other = device();
  t.match(await idle.handle(frame({ v: 1, token: 'FLEET', secret: SECRET, csr: other.csr }).subarray(4), '172.16.35.2'), { status: 'pending' });
  t.same([...idle.pending.values()].map((p) => p.from), ['172.16.35.2'], 'the silent one forgotten, the new one pending');
  t.match(logs.join('\n'), /PENDING: device key abababababababab \(token FLEET\) forgotten: it has not asked for 60 minutes/);
  // malformed pending lists are refused when read
  for (const [what, bad] of [['not a list', { pending: 'x' }], ['a bad key', { pending: [{ key: 'zz', token: 'T', from: '1.2.3.4', since: 1 }] }],
    ['a token with a space', { pending: [{ key: 'ab'.repeat(32), token: 'A B', from: '1.2.3.4', since: 1 }] }],
    ['the same key twice', { pending: [0, 1].map(() => ({ key: 'ab'.repeat(32), token: 'T', from: '1.2.3.4', since: 1 })) }],
    ['too many', { pending: Array.from({ length: 65 }, (_v, i) => ({ key: i.toString(16).padStart(64, '0'), token: 'T', from: '1.2.3.4', since: 1 })) }]] as const) {
    t.equal(parseState(JSON.stringify({ ...emptyState(), ...bad })), 'pending is malformed', `state with ${what}: refused`);
  }
  t.match(direct.approve(id.slice(0, 12)), /approved/, 'approve by key prefix');
  t.same(direct.state.approved, [id], 'the approval is kept in the state (saved: it survives a hub restart)');
  t.match(await ask(), { status: 'admitted', address: '192.168.0.10' }, 'admitted at the next attempt');
  t.equal(direct.pending.size, 0, 'no longer pending');
  t.equal(direct.state.approved, undefined, 'the approval used up');
  const admittedRows = structuredClone(direct.state.bindings);
  t.match(direct.unbind('00000000'), /no binding for device key/, 'clear binding: an unknown key refused');
  t.match(direct.unbind(id.slice(0, 10)), /released 192\.168\.0\.10/, 'clear binding: the address released');
  t.equal(direct.state.bindings.length, 0, 'no binding left');
  t.match(await ask(), { status: 'pending' }, 'after release: a new request (manual approval again)');
  t.match(logs.join('\n'), /PENDING: device key [0-9a-f]{16} from 172\.16\.25\.2 \(token FLEET\) waits for approval: dmvpn enrollment approve [0-9a-f]{16}/);
  await server.sync();
  const view = server.view();
  t.match(view, { notListening: /no trustpoint/, approval: 'manual' }, 'the server without credentials does not listen and says why');
  const shown = formatEnrollment({ ...view, admitted: admittedRows, refused: [{ at: Date.now() - 5000, from: '172.16.35.2', reason: 'bad-token', token: 'X' }] }, false);
  t.match(shown, /^Enrollment server: not listening: no trustpoint \(dmvpn enrollment: trustpoint NAME\)\n/, 'show: why not listening');
  t.match(shown, new RegExp(`Admitted:\\n.*\\n  ${id.slice(0, 16)}  192\\.168\\.0\\.10 +spoke-192-168-0-10 +FLEET`), 'show: the admitted device');
  t.match(shown, /Refused \(latest\):\n.*\n {2}00:00:0[45] +172\.16\.35\.2 +X +- +bad-token/, 'show: the refusal with its reason');
  server.stop();

  // a client that connects, handshakes and never sends its request is cut off (and counted)
  const listener = new EnrollmentListener(direct, { perSourcePerMinute: 10, perMinute: 10, concurrent: 2, handshakeMs: 1000, exchangeMs: 1500 });
  const port = await listener.listen(creds, 0, '127.0.0.1');
  t.teardown(() => listener.close());
  const tls = await import('node:tls');
  const closed = await new Promise<boolean>((res) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => s.write(Buffer.from([0, 0])));
    s.on('close', () => res(true)); s.on('error', () => undefined);
    setTimeout(() => res(false), 15000);
  });
  t.ok(closed, 'a request that never completes: the connection is closed');
  t.equal(direct.counters.timeouts, 1, 'counted as a timeout');
});

t.test('the hub box: an enrollment state file that cannot be read or parsed leaves the server off, named in the log, dmvpnd still starting', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enroll-state-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = (level: string, mnemonic: string, text: string) => { lines.push(`${level} ${mnemonic} ${text}`); };
  const cfg = path.join(dir, 'startup-config');
  fs.mkdirSync(`${cfg}.enroll`); // a directory where the state file should be: readFileSync throws EISDIR
  t.equal(boxEnrollmentServer({} as ExecContext, cfg, log), undefined, 'no server, no throw');
  t.match(lines.join('\n'), /error STATE enrollment state .*startup-config\.enroll unreadable \(EISDIR.*\): no enrollment server/);
  fs.rmdirSync(`${cfg}.enroll`);
  fs.writeFileSync(`${cfg}.enroll`, '{not json');
  t.equal(boxEnrollmentServer({} as ExecContext, cfg, log), undefined, 'a state file that does not parse: no server either');
  t.equal(lines.filter((l) => /unreadable/.test(l)).length, 2);
});
