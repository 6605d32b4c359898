// Certificate renewal (docs/enrollment.md "Renewal"): the hub re-issues a bound device's certificate to
// a TLS client that presents it (and proves its key in the handshake); anyone else is refused. The
// spoke's side: when a renewal is due, what it accepts, and the config it writes. In process over real
// TLS; certificates checked by openssl as well as by our code.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { createHash, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { emptyState, type EnrollmentState } from '../appliance/enroll/bindings.js';
import { frame, decodeRequest, decodeAnswer } from '../appliance/enroll/codec.js';
import { EnrollmentService } from '../appliance/enroll/service.js';
import { EnrollmentListener } from '../appliance/enroll/listener.js';
import { pinOf } from '../appliance/enroll/credentials.js';
import { requestRenewal, renewalProblem, answerProblem } from '../appliance/enroll/client.js';
import { issueCertificate, keyId } from '../appliance/enroll/issue.js';
import { checkRenewal } from '../appliance/enroll/renew-check.js';
import { renewalPlans, withOwnCertificate, CertRenewal } from '../appliance/enroll/cert-renewal.js';
import { formatPkiTrustpointsStatus } from '../appliance/show/crypto-pki.js';
import { certificateRequest } from '../appliance/ike/pki/csr.js';
import { certLifetimeMs, renewalGraceMs, type EnrollmentConfig } from '../appliance/config/model-enroll.js';
import type { ApplianceConfig } from '../appliance/config/model.js';
import { TestCa } from './util/pki.js';
import { ROOT } from './util/lab.js';
import { requireTools } from './util/needs.js';

requireTools(t, ['openssl']);

const TEMPLATE = fs.readFileSync(path.join(ROOT, 'test/fixtures/enroll-spoke-template.cfg'), 'utf8');
const SECRET = 'correct-horse-battery-staple';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const spkiOf = (k: KeyObject) => createPublicKey(k).export({ type: 'spki', format: 'der' });
const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

function hubPki(ca: TestCa) {
  const caPem = ca.ca('lab');
  const hubPem = ca.leaf('hub', 'lab', ['127.0.0.1']);
  return { tlsCert: hubPem, tlsKey: ca.read('hub.key'), caCert: caPem, caKey: ca.read('lab.key'), pin: pinOf(hubPem) };
}

t.test('config: enrollment url, auto-enroll and lifetime certificate parse, render and parse back; bad ones refused', async (t) => {
  const text = ['crypto pki trustpoint T', ' enrollment url https://198.51.100.1:4430', ' auto-enroll 70', ' ed25519keypair K',
    'dmvpn enrollment', ' lifetime certificate 0 5', ' renewal grace 7', 'end'].join('\n');
  const r = parseStartupConfig(text);
  t.ok(r.ok, 'loads');
  if (!r.ok) return;
  t.match(r.config.crypto.pki?.trustpoints?.[0], { enrollment: 'url https://198.51.100.1:4430', autoEnroll: 70 });
  t.same(r.config.enrollment?.lifetime, { days: 0, minutes: 5 });
  t.equal(certLifetimeMs(r.config.enrollment!), 300_000, '5 minutes');
  t.equal(certLifetimeMs({ tokens: [] }), 365 * 86_400_000, 'default: 365 days');
  const shown = renderConfig(r.config);
  t.match(shown, /^crypto pki trustpoint T\n enrollment url https:\/\/198\.51\.100\.1:4430\n auto-enroll 70\n ed25519keypair K$/m, 'rendered');
  t.match(shown, /^ lifetime certificate 0 5$/m);
  t.match(shown, /^ renewal grace 7$/m);
  t.equal(renewalGraceMs(r.config.enrollment!), 7 * 86_400_000, 'renewal grace 7: 7 days');
  t.equal(renewalGraceMs({ tokens: [] }), 30 * 86_400_000, 'default renewal grace: 30 days');
  const noGrace = parseStartupConfig('dmvpn enrollment\n renewal grace 0\nend\n');
  t.ok(noGrace.ok && noGrace.config.enrollment?.renewalGraceDays === 0 && /^ renewal grace 0$/m.test(renderConfig(noGrace.config)), 'renewal grace 0 (none) kept and shown');
  const undone = parseStartupConfig('dmvpn enrollment\n renewal grace 5\n no renewal grace\nend\n');
  t.ok(undone.ok && undone.config.enrollment?.renewalGraceDays === undefined, 'no renewal grace: back to the default');
  t.notOk(parseStartupConfig('dmvpn enrollment\n renewal grace 3651\nend\n').ok, 'renewal grace 3651: refused (at most 10 years)');
  const back = parseStartupConfig(shown);
  t.ok(back.ok && JSON.stringify(back.config.crypto.pki) === JSON.stringify(r.config.crypto.pki) && JSON.stringify(back.config.enrollment) === JSON.stringify(r.config.enrollment), 'parses back to the same model');
  const ios = parseStartupConfig('crypto pki trustpoint T\n auto-enroll\nend\n');
  t.ok(ios.ok && ios.config.crypto.pki?.trustpoints?.[0].autoEnroll === 80, 'auto-enroll without a percent: 80 (IOS)');
  for (const [line, why] of [[' enrollment url http://198.51.100.1:80', /https:\/\/ADDRESS:PORT/], [' enrollment url https://hub.example.com:4430', /https:\/\/ADDRESS:PORT/], [' auto-enroll 0', /./]] as const) {
    const x = parseStartupConfig(`crypto pki trustpoint T\n${line}\nend\n`);
    t.ok(!x.ok && why.test(x.errors[0].message), `refused: ${line.trim()}`);
  }
  const zero = parseStartupConfig('dmvpn enrollment\n lifetime certificate 0\nend\n');
  t.ok(!zero.ok && /at least one minute/.test(zero.errors[0].message), 'lifetime certificate 0: refused');
});

t.test('the hub renews a bound device\'s certificate over TLS; anyone else is refused; the spoke checks the answer', async (t) => {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const creds = hubPki(ca);
  const cfg: EnrollmentConfig = { tokens: [{ name: 'SITE1', sha256: sha(SECRET), oneTime: true }], pool: { start: '192.168.0.10', end: '192.168.0.20' }, template: 'spoke.cfg', lifetime: { days: 0, minutes: 10 } };
  const state: EnrollmentState = emptyState();
  const logs: string[] = [];
  let port = 0;
  const svc = new EnrollmentService({ config: () => cfg, credentials: () => creds, template: () => TEMPLATE, state,
    save: (s) => Object.assign(state, structuredClone(s)), log: (_l, m, x) => logs.push(`${m}: ${x}`), endpoint: () => ({ address: '127.0.0.1', port }) });
  const listener = new EnrollmentListener(svc, { perSourcePerMinute: 100, perMinute: 1000, concurrent: 4, handshakeMs: 5000, exchangeMs: 5000 });
  port = await listener.listen(creds, 0, '127.0.0.1');
  t.teardown(() => listener.close());

  // enrollment as today: the answer's trustpoint now says where and when to renew
  const { privateKey: key } = generateKeyPairSync('ed25519');
  const a = await svc.handle(frame({ v: 1, token: 'SITE1', secret: SECRET, csr: certificateRequest(key, 'CN=factory') }).subarray(4), '127.0.0.1');
  if (a.status !== 'admitted') { t.fail(JSON.stringify(a)); return; }
  t.equal(answerProblem(a, key), undefined, 'the enrollment answer passes the spoke\'s checks');
  t.match(a.config, new RegExp(`^crypto pki trustpoint DMVPN-ENROLL\\n enrollment url https://127\\.0\\.0\\.1:${port}\\n revocation-check none\\n auto-enroll 70\\n ed25519keypair DEVICE$`, 'm'), 'trustpoint: enrollment url of the listener, auto-enroll 70');
  const first = new X509Certificate(a.certificate);
  const life = Date.parse(first.validTo) - Date.parse(first.validFrom);
  t.ok(life >= 600_000 && life <= 631_000, `lifetime certificate 0 10: valid ${life / 1000} s (10 min, backdated a twentieth)`);

  const renewWith = (certPem: string, keyPem: string) => requestRenewal({ host: '127.0.0.1', port }, { certPem, keyPem, caPem: creds.caCert });
  await new Promise((res) => setTimeout(res, 1100)); // certificate times are in whole seconds: the renewal must end later
  const r = await renewWith(a.certificate, pem(key));
  t.equal(r.status, 'renewed', 'renewed');
  if (r.status !== 'renewed') { t.comment(JSON.stringify(r)); return; }
  t.equal(renewalProblem(r, key, a.certificate, creds.caCert), undefined, 'the spoke accepts the renewed certificate');
  const second = new X509Certificate(r.certificate);
  t.not(second.serialNumber, first.serialNumber, 'a new serial');
  t.equal(second.subjectAltName, first.subjectAltName, `the same names (${second.subjectAltName})`);
  t.ok(Date.parse(second.validTo) > Date.parse(first.validTo), 'lasting longer');
  ca.write('renewed.pem', r.certificate);
  t.match(ca.ssl('verify', '-CAfile', 'lab.pem', 'renewed.pem').toString(), /renewed\.pem: OK/, 'openssl verify -CAfile: OK');
  t.equal(svc.counters.renewed, 1, 'counted');
  t.match(logs.join('\n'), /RENEWED: device key [0-9a-f]{16} from 127\.0\.0\.1: certificate of spoke-192-168-0-10 192\.168\.0\.10 renewed/);
  t.equal(state.bindings.length, 1, 'no new binding');

  // refused: no certificate; another CA's; expired; a key that is not bound; the renewal answer faked
  const refusedFor = async (certPem: string | undefined, keyPem: string | undefined) => {
    const tls = await import('node:tls');
    return new Promise<string>((res) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(certPem ? { cert: certPem, key: keyPem } : {}) }, () => s.write(frame({ v: 1, renew: true })));
      let got = Buffer.alloc(0); s.on('data', (b) => { got = Buffer.concat([got, b]); }); s.on('close', () => res(got.subarray(4).toString())); s.on('error', () => res(got.subarray(4).toString()));
    });
  };
  t.match(await refusedFor(undefined, undefined), /"reason":"bad-certificate".*no TLS client certificate/, 'no client certificate: refused');
  ca.ca('other');
  const foreign = ca.leaf('intruder', 'other', ['192.168.0.10']);
  t.match(await refusedFor(foreign, ca.read('intruder.key')), /"reason":"bad-certificate".*not issued by the enrollment CA/, 'a certificate of another CA naming the same address: refused');
  const expired = ca.expiredLeaf('old', 'lab', ['192.168.0.10']);
  t.match(await refusedFor(expired, ca.read('old.key')), /"reason":"expired-beyond-grace".*ended .*2020.*beyond the renewal grace of 30 d 0 h/, 'a certificate of the CA expired in 2020: beyond the default grace of 30 days, refused');
  const { privateKey: stranger } = generateKeyPairSync('ed25519');
  const strangerCert = await issueCertificate({ caCertPem: creds.caCert, caKeyPem: creds.caKey, spki: spkiOf(stranger), names: ['x.dmvpn.invalid'], addresses: ['192.168.0.99'], hostname: 'x', now: new Date(), lifetimeMs: 600_000 });
  t.match(await refusedFor(strangerCert, pem(stranger)), /"reason":"not-enrolled"/, 'a CA certificate whose key holds no binding (cleared, or never enrolled): refused');
  t.equal(svc.counters.renewed, 1, 'none of them renewed');
  t.equal(svc.counters.refused, 4, 'all four refused and counted');
  t.equal(svc.counters.beyondGrace, 1, 'the expired one counted as beyond the grace');
  // someone holding the certificate (it is public: IKE sends it) but not the key cannot use it
  await t.rejects(renewWith(a.certificate, pem(stranger)), /key values mismatch|KEY_VALUES_MISMATCH|private key/i, 'a certificate without its key: TLS itself refuses to present it');
  // a hub whose TLS certificate our CA did not issue gets nothing
  const asked = svc.counters.requests;
  await t.rejects(requestRenewal({ host: '127.0.0.1', port }, { certPem: a.certificate, keyPem: pem(key), caPem: ca.read('other.pem') }), /its TLS certificate is not issued by our trustpoint's CA: nothing sent/, 'a hub not of our CA: refused before the request');
  t.equal(svc.counters.requests, asked, 'the server got no request');
  // the spoke's checks of a renewal answer
  t.equal(renewalProblem({ ...r, certificate: strangerCert }, key, a.certificate, creds.caCert), 'the certificate is not for our device key');
  t.equal(renewalProblem({ ...r, ca: foreign }, key, a.certificate, creds.caCert), 'the hub names another CA (a CA change needs a new enrollment)');
  t.equal(renewalProblem(r, key, r.certificate, creds.caCert), `the certificate ends ${second.validTo}, not after the one we hold (${second.validTo})`, 'not longer than the one held: refused');
  const renamed = await issueCertificate({ caCertPem: creds.caCert, caKeyPem: creds.caKey, spki: spkiOf(key), names: ['other.dmvpn.invalid'], addresses: ['192.168.0.11'], hostname: 'x', now: new Date(), lifetimeMs: 3600_000 });
  t.match(renewalProblem({ ...r, certificate: renamed }, key, a.certificate, creds.caCert), /^the certificate names DNS:other\.dmvpn\.invalid, IP Address:192\.168\.0\.11, not /, 'other names: refused');
  // codec
  t.same(decodeRequest(frame({ v: 1, renew: true }).subarray(4)), { v: 1, renew: true });
  t.equal(decodeRequest(frame({ v: 1, renew: true, token: 'A' }).subarray(4)), "a renewal carries v and renew: true, and a new key's spki and proof together or not at all");
  t.equal(decodeRequest(frame({ v: 1, renew: 'yes' }).subarray(4)), "a renewal carries v and renew: true, and a new key's spki and proof together or not at all");
  t.equal(decodeAnswer(Buffer.from(JSON.stringify({ v: 1, status: 'renewed', certificate: 1, ca: 'x' }))), 'unknown status or fields missing');
  t.equal(keyId(spkiOf(key)), state.bindings[0].key);
  // checkRenewal alone, at the edges of validity
  const at = (ms: number, graceMs = 0) => checkRenewal(second, creds.caCert, state, new Date(ms), graceMs);
  t.match(at(Date.parse(second.validTo)), { ok: true, expiredMs: 0 }, 'the last second of validity: renewed');
  t.match(at(Date.parse(second.validTo) + 1000), { ok: false, reason: 'expired-beyond-grace' }, 'a second later without grace: refused');
  t.match(at(Date.parse(second.validTo) + 1000, 1000), { ok: true, expiredMs: 1000 }, 'with a grace of a second: renewed, said as expired');
  t.match(at(Date.parse(second.validFrom) - 1000, 1000), { ok: false, reason: 'bad-certificate', detail: /not valid yet/ }, 'a second before its start: refused');
});

t.test('the spoke: due at its percent of the lifetime, the certificate replaced in running and startup config, failures retried', async (t) => {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const creds = hubPki(ca);
  const { privateKey: key } = generateKeyPairSync('ed25519');
  const issue = (lifetimeMs: number, now = new Date()) => issueCertificate({ caCertPem: creds.caCert, caKeyPem: creds.caKey, spki: spkiOf(key), names: ['s.k.dmvpn.invalid'], addresses: ['192.168.0.10'], hostname: 's', now, lifetimeMs });
  const certPem = await issue(1000_000);
  const { spokeConfig } = await import('../appliance/enroll/template.js');
  const text = spokeConfig(TEMPLATE, { address: '192.168.0.10', hostname: 's', name: 's.k.dmvpn.invalid' }, certPem, creds.caCert, { address: '127.0.0.1', port: 4430 });
  const loaded = parseStartupConfig(text);
  if (!loaded.ok) { t.fail(JSON.stringify(loaded.errors)); return; }
  const plans = renewalPlans(loaded.config);
  t.equal(plans.length, 1, 'one trustpoint renews');
  const cert = new X509Certificate(certPem);
  const from = Date.parse(cert.validFrom), end = Date.parse(cert.validTo);
  t.match(plans[0], { trustpoint: 'DMVPN-ENROLL', at: { host: '127.0.0.1', port: 4430 }, percent: 70, label: 'DEVICE', serial: cert.serialNumber, endMs: end });
  t.equal(plans[0].dueMs, from + (end - from) * 0.7, 'due at 70 % of the lifetime');
  t.equal(renewalPlans(parseStartupConfig(text.replace(' auto-enroll 70\n', '')).ok ? (parseStartupConfig(text.replace(' auto-enroll 70\n', '')) as { config: ApplianceConfig }).config : loaded.config).length, 0, 'without auto-enroll: none');

  const newPem = await issue(2000_000);
  const next = withOwnCertificate(loaded.config, 'DMVPN-ENROLL', cert.serialNumber, newPem)!;
  const shown = renderConfig(next);
  const newCert = new X509Certificate(newPem);
  t.match(shown, new RegExp(`^crypto pki certificate chain DMVPN-ENROLL\\n certificate ${newCert.serialNumber}\\n`, 'm'), 'the new certificate in the chain');
  t.notMatch(shown, new RegExp(`certificate ${cert.serialNumber}\\n`), 'the old one gone');
  t.match(shown, new RegExp(`certificate ca ${new X509Certificate(creds.caCert).serialNumber}\\n`), 'the CA certificate kept');
  t.equal(renderConfig(loaded.config).replace(/crypto pki certificate chain[\s\S]*?(?=\ncrypto ikev2)/, ''), shown.replace(/crypto pki certificate chain[\s\S]*?(?=\ncrypto ikev2)/, ''), 'nothing else changed');
  t.equal(withOwnCertificate(loaded.config, 'DMVPN-ENROLL', 'ABCDEF', newPem), undefined, 'a certificate the chain no longer holds: no change');

  // the scheduler against a fake hub and a fake clock
  let clock = from;
  let running = loaded.config;
  let startup: string | undefined = text;
  const logs: string[] = [];
  const answers: Array<() => Promise<never> | { v: number; status: 'renewed'; certificate: string; ca: string }> = [];
  const r = new CertRenewal({
    config: () => running, keyPem: () => pem(key), apply: async (c) => { running = c; return { ok: true }; },
    readStartup: () => startup, saveStartup: (s) => { startup = s; }, log: (_l, m, x) => logs.push(`${m}: ${x}`),
    request: async () => { const f = answers.shift(); if (!f) throw new Error('unexpected request'); return f(); }, now: () => clock,
  });
  clock = plans[0].dueMs - 1;
  await r.tick();
  t.equal(r.counters.attempts, 0, 'not due yet: nothing asked');
  clock = plans[0].dueMs;
  answers.push(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:4430')));
  await r.tick();
  t.match(r.counters, { attempts: 1, failed: 1, renewed: 0 }, 'due: asked; the hub unreachable: failed');
  t.match(logs.join('\n'), /RENEW_FAILED: trustpoint DMVPN-ENROLL: certificate [0-9A-F]+ not renewed: request failed: connect ECONNREFUSED.* expires in \d+ s; retrying in \d+ s/);
  const failedAt = clock;
  const st = r.status();
  t.match(st, [{ trustpoint: 'DMVPN-ENROLL', url: 'https://127.0.0.1:4430', percent: 70, serial: cert.serialNumber, dueMs: plans[0].dueMs, endMs: end,
    last: { at: failedAt, ok: false, text: /request failed: connect ECONNREFUSED/ } }], 'status: the failure and its reason');
  t.ok(st[0].nextRetryAt! - failedAt >= 24_000 && st[0].nextRetryAt! - failedAt <= 36_000, 'status: the next attempt 24-36 s later');
  const shownStatus = formatPkiTrustpointsStatus(running.crypto.pki, st, false, failedAt + 5000);
  t.match(shownStatus, /^Trustpoint DMVPN-ENROLL:\n  Issuing CA certificate configured:\n/, 'show crypto pki trustpoints status: the trustpoint');
  t.match(shownStatus, new RegExp(`  Router General Purpose certificate configured:\\n    Subject Name:\\n[\\s\\S]*?    Serial Number \\(hex\\): ${cert.serialNumber}\\n    Validity: `), 'its certificate');
  t.match(shownStatus, /    Keys generated \.+ Yes \(ed25519 DEVICE\)\n    Issuing CA authenticated \.+ Yes\n/, 'its state, IOS style');
  t.match(shownStatus, /  Auto-enroll: at 70% of the lifetime, with https:\/\/127\.0\.0\.1:4430\n    Renewal due \.+ \d\d:\d\d:\d\d UTC \w+ \d+ \d+ \(00:00:05 ago\)\n    Certificate expires \.+ .* \(in 00:0\d:\d\d\)\n    Last renewal \.+ 00:00:05 ago: failed: request failed: connect ECONNREFUSED[^\n]*\n    Next attempt \.+ in 00:00:[1-3]\d\n/, 'the renewal: due, expiry, the failure, the next attempt');
  await r.tick();
  t.equal(r.counters.attempts, 1, 'not again before the retry wait (24-36 s)');
  clock += 37_000;
  answers.push(() => ({ v: 1, status: 'renewed', certificate: newPem, ca: creds.caCert }));
  await r.tick();
  t.match(r.counters, { attempts: 2, renewed: 1 }, 'retried and renewed');
  t.match(r.status(), [{ serial: newCert.serialNumber, last: { ok: true, text: `certificate ${cert.serialNumber} renewed` } }], 'status: renewed, no retry pending');
  t.equal(r.status()[0].nextRetryAt, undefined);
  t.equal(renewalPlans(running)[0].serial, newCert.serialNumber, 'the running config holds the new certificate');
  t.match(startup, new RegExp(`certificate ${newCert.serialNumber}\\n`), 'so does the startup-config');
  t.match(logs.join('\n'), new RegExp(`RENEWED: trustpoint DMVPN-ENROLL: certificate ${cert.serialNumber} renewed as ${newCert.serialNumber}, valid until .*; running and startup config updated`));
  // a bad answer changes nothing
  const before = running;
  clock = renewalPlans(running)[0].dueMs;
  answers.push(() => ({ v: 1, status: 'renewed', certificate: certPem, ca: creds.caCert }));
  await r.tick();
  t.equal(running, before, 'an answer that does not last longer: nothing changed');
  t.match(logs.at(-1), /answer refused, nothing changed: the certificate ends/);
  // a startup-config without the old certificate (the operator has not saved the enrollment) is left alone
  startup = 'hostname other\nend\n';
  clock += 3600_000;
  const third = await issue(3000_000);
  answers.push(() => ({ v: 1, status: 'renewed', certificate: third, ca: creds.caCert }));
  await r.tick();
  t.equal(renewalPlans(running)[0].serial, new X509Certificate(third).serialNumber, 'renewed in the running config');
  t.equal(startup, 'hostname other\nend\n', 'the startup-config not touched');
  t.match(logs.at(-1), /startup-config not updated: it does not hold certificate/);
});
