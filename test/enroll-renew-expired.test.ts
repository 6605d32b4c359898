// Expired-certificate recovery (docs/enrollment.md "Renewal", "A box switched off too long"): a box
// powered off past its certificate's end renews with the expired certificate within the hub's `renewal
// grace`; beyond it, and for a revoked or unbound key, or a certificate not valid yet, it is refused with
// the reason on both sides. In process over real TLS; the spoke's scheduler with the real client.
import t from 'tap';
import { createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { parseStartupConfig } from '../appliance/config/load.js';
import { requestRenewal, renewalProblem } from '../appliance/enroll/client.js';
import { issueCertificate } from '../appliance/enroll/issue.js';
import { spokeConfig } from '../appliance/enroll/template.js';
import { renewalPlans, CertRenewal } from '../appliance/enroll/cert-renewal.js';
import { formatEnrollment } from '../appliance/supervisor/exec-enroll.js';
import { renewHub, pemOf, TEMPLATE } from './util/renew-hub.js';
import { requireTools } from './util/needs.js';

requireTools(t, ['openssl']);

const DAY = 86_400_000;
const spkiOf = (k: KeyObject) => createPublicKey(k).export({ type: 'spki', format: 'der' });

t.test('the hub renews an expired certificate within the renewal grace, refuses beyond it, a revoked or unbound key, a certificate not valid yet', async (t) => {
  const hub = await renewHub(t);
  const { key, answer } = await hub.enroll();
  const enrolled = new X509Certificate(answer.certificate);
  const b = hub.state.bindings[0];
  const saved = hub.saves.length;
  // a certificate of the same key and names that ended `agoMs` ago (10-minute lifetime, as issued)
  const endedAgo = (agoMs: number, k: KeyObject = key) => issueCertificate({ caCertPem: hub.creds.caCert, caKeyPem: hub.creds.caKey, spki: spkiOf(k), names: enrolled.subjectAltName!.split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
    addresses: [b.address], hostname: b.hostname, now: new Date(Date.now() - agoMs - 600_000), lifetimeMs: 600_000 });
  const renewWith = (certPem: string, k: KeyObject = key) => requestRenewal({ host: '127.0.0.1', port: hub.port() }, { certPem, keyPem: pemOf(k), caPem: hub.creds.caCert });

  const dayOld = await endedAgo(DAY);
  const r = await renewWith(dayOld);
  t.equal(r.status, 'renewed', 'a certificate expired a day ago (default grace 30 days): renewed');
  if (r.status !== 'renewed') { t.comment(JSON.stringify(r)); return; }
  t.equal(renewalProblem(r, key, dayOld, hub.creds.caCert), undefined, 'the spoke accepts the answer');
  const fresh = new X509Certificate(r.certificate);
  t.ok(Date.parse(fresh.validFrom) <= Date.now() && Date.parse(fresh.validTo) > Date.now() + 500_000, `valid from now: ${fresh.validFrom} to ${fresh.validTo}`);
  t.equal(fresh.subjectAltName, enrolled.subjectAltName, 'the same names (from the binding)');
  t.match(hub.svc.counters, { renewed: 1, recovered: 1, beyondGrace: 0 }, 'counted as renewed after expiry');
  t.match(hub.logs.join('\n'), /RENEWED: device key [0-9a-f]{16} from 127\.0\.0\.1: certificate of spoke-192-168-0-10 192\.168\.0\.10 renewed \(it had expired \d+ s ago: within the renewal grace\)/);
  t.equal(hub.saves.length, saved + 1, 'a renewal writes only the new certificate\'s serial (issued.ts)');
  t.same(hub.saves.at(-1)?.bindings, hub.state.bindings, 'the bindings as they were');

  // beyond the grace: refused with the reason, counted, listed
  const monthOld = await endedAgo(31 * DAY);
  const beyond = await renewWith(monthOld);
  t.match(beyond, { status: 'refused', reason: 'expired-beyond-grace', message: /expired longer ago than the hub's renewal grace .*31 d 0 h ago: beyond the renewal grace of 30 d 0 h \(enroll the device again\)/ }, 'expired 31 days ago: refused, the spoke told why');
  t.equal(hub.svc.counters.beyondGrace, 1, 'counted');
  t.match(hub.svc.refusals.at(-1), { reason: 'expired-beyond-grace', key: b.key });
  // the operator widens the grace: the same box renews
  hub.cfg.renewalGraceDays = 40;
  t.equal((await renewWith(monthOld)).status, 'renewed', 'renewal grace 40: the same certificate renews');
  hub.cfg.renewalGraceDays = 0;
  t.match(await renewWith(await endedAgo(60_000)), { status: 'refused', reason: 'expired-beyond-grace' }, 'renewal grace 0: a minute after its end, refused');
  delete hub.cfg.renewalGraceDays;

  // not valid yet: a certificate the CA dated in the future is never a box that slept
  const future = await issueCertificate({ caCertPem: hub.creds.caCert, caKeyPem: hub.creds.caKey, spki: spkiOf(key), names: ['x.dmvpn.invalid'], addresses: [b.address], hostname: b.hostname, now: new Date(Date.now() + DAY), lifetimeMs: 600_000 });
  t.match(await renewWith(future), { status: 'refused', reason: 'bad-certificate', message: /not valid yet/ }, 'a certificate not valid yet: refused');

  // an expired certificate of a key with no binding
  const { privateKey: stranger } = generateKeyPairSync('ed25519');
  t.match(await renewWith(await endedAgo(DAY, stranger), stranger), { status: 'refused', reason: 'not-enrolled' }, 'an expired certificate of an unbound key: refused');
  // someone holding the expired certificate (IKE sent it in the clear) but not its key cannot present it
  await t.rejects(renewWith(dayOld, stranger), /key values mismatch|KEY_VALUES_MISMATCH|private key/i, 'the expired certificate without its key: TLS refuses to present it');
  // a revoked key: refused as revoked, expired or not
  t.match(hub.svc.revoke(b.key.slice(0, 16)), /revoked, 192\.168\.0\.10 released/);
  t.match(await renewWith(dayOld), { status: 'refused', reason: 'key-revoked' }, 'revoked, expired within the grace: refused as revoked');
  t.match(await renewWith(r.certificate), { status: 'refused', reason: 'key-revoked' }, 'revoked, valid: refused as revoked');
  const shown = formatEnrollment({ listening: { address: '127.0.0.1', port: hub.port(), pin: hub.creds.pin }, notListening: undefined, approval: 'auto', pool: hub.cfg.pool, renewalGraceDays: 30, renewalRegenerate: false,
    counters: { ...hub.svc.counters }, ike: { refused: 0, tornDown: 0 }, admitted: [], revoked: [b.key], pending: [], refused: hub.svc.refusals }, false);
  t.match(shown, /^Enrollment server: listening on 127\.0\.0\.1 TCP \d+, approval auto, pool 192\.168\.0\.10 - 192\.168\.0\.20, renewal grace 30 days$/m, 'show: the grace');
  t.match(shown, /renewed 2 \(2 expired, 0 new key\), .*expired beyond grace 2\)/, 'show: renewals after expiry and refusals beyond the grace counted');
  t.match(shown, /expired-beyond-grace \(the client certificate ended /, 'show: the refusal with its reason');
});

t.test('the spoke keeps renewing an expired certificate: over TLS to the enrollment url, then running and startup config updated', async (t) => {
  const hub = await renewHub(t);
  const { key, answer } = await hub.enroll();
  const b = hub.state.bindings[0];
  const names = new X509Certificate(answer.certificate).subjectAltName!.split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
  const expired = await issueCertificate({ caCertPem: hub.creds.caCert, caKeyPem: hub.creds.caKey, spki: spkiOf(key), names, addresses: [b.address], hostname: b.hostname, now: new Date(Date.now() - 3 * DAY), lifetimeMs: DAY });
  const text = spokeConfig(TEMPLATE, { address: b.address, hostname: b.hostname, name: names[0] }, expired, hub.creds.caCert, { address: '127.0.0.1', port: hub.port() });
  const loaded = parseStartupConfig(text);
  if (!loaded.ok) { t.fail(JSON.stringify(loaded.errors)); return; }
  let running = loaded.config, startup: string | undefined = text;
  const logs: string[] = [];
  const r = new CertRenewal({ config: () => running, keyPem: () => pemOf(key), apply: async (c) => { running = c; return { ok: true }; },
    readStartup: () => startup, saveStartup: (s) => { startup = s; }, log: (_l, m, x) => logs.push(`${m}: ${x}`) });
  // first the hub refuses (no grace): the spoke says why and that the certificate has expired
  hub.cfg.renewalGraceDays = 1;
  await r.tick();
  t.match(r.counters, { attempts: 1, failed: 1 });
  t.match(logs.at(-1), /RENEW_FAILED: trustpoint DMVPN-ENROLL: certificate [0-9A-F]+ not renewed: hub refused: expired-beyond-grace: .*; it has EXPIRED: IKE cannot authenticate with it; the hub still renews it within its renewal grace \(else: enroll again\); retrying in \d+ s/, 'the spoke logs the hub\'s reason');
  hub.cfg.renewalGraceDays = 30;
  // the retry wait is the scheduler's: a new scheduler (as after a reboot) asks at once
  const again = new CertRenewal({ config: () => running, keyPem: () => pemOf(key), apply: async (c) => { running = c; return { ok: true }; },
    readStartup: () => startup, saveStartup: (s) => { startup = s; }, log: (_l, m, x) => logs.push(`${m}: ${x}`) });
  await again.tick();
  t.match(again.counters, { attempts: 1, renewed: 1 }, 'within the grace: renewed');
  const now = renewalPlans(running)[0];
  t.ok(now.endMs > Date.now(), 'the running config holds a valid certificate');
  t.match(startup, new RegExp(`certificate ${now.serial}\\n`), 'and so does the startup-config');
});
