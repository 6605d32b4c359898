// A renewal with a new device key (`auto-enroll regenerate`, docs/enrollment.md "A new key at
// renewal"): the hub moves the binding to the new key after its proof of possession over the TLS
// session, the device keeps its name and address, the old key is no longer bound; every way to cheat
// is refused. The spoke with a real key store: key and certificate swapped together, a rollover cut
// short finished with the same staged key. In process over real TLS.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { requestRenewal, renewalProblem } from '../appliance/enroll/client.js';
import { keyId } from '../appliance/enroll/issue.js';
import { parseState, type EnrollmentState } from '../appliance/enroll/bindings.js';
import { frame, decodeRequest } from '../appliance/enroll/codec.js';
import { proveKey, sessionBinder, keyProven } from '../appliance/enroll/key-proof.js';
import { unenrolledReason } from '../appliance/enroll/revocation.js';
import { renewalPlans, CertRenewal } from '../appliance/enroll/cert-renewal.js';
import { rolloverLabel, type RolloverKeys } from '../appliance/enroll/key-rollover.js';
import { KeyStore } from '../appliance/supervisor/key-store.js';
import { pkiRefusal } from '../appliance/supervisor/exec-pki.js';
import type { ApplianceConfig } from '../appliance/config/model.js';
import { renewHub, pemOf } from './util/renew-hub.js';
import { requireTools } from './util/needs.js';

requireTools(t, ['openssl']);

const ed = () => generateKeyPairSync('ed25519').privateKey;
const spkiOf = (k: KeyObject) => createPublicKey(k).export({ type: 'spki', format: 'der' });
const idOf = (k: KeyObject) => keyId(spkiOf(k));

t.test('config: auto-enroll [PERCENT] regenerate parses, renders and parses back', async (t) => {
  for (const [line, pct] of [[' auto-enroll 70 regenerate', 70], [' auto-enroll regenerate', 80]] as const) {
    const r = parseStartupConfig(`crypto pki trustpoint T\n enrollment url https://198.51.100.1:4430\n${line}\n ed25519keypair K\nend\n`);
    t.ok(r.ok && r.config.crypto.pki?.trustpoints?.[0].autoEnroll === pct && r.config.crypto.pki.trustpoints[0].autoEnrollRegenerate === true, `${line.trim()}: ${pct} %, regenerate`);
    if (!r.ok) continue;
    const shown = renderConfig(r.config);
    t.match(shown, new RegExp(`^ auto-enroll ${pct} regenerate$`, 'm'), 'rendered');
    const back = parseStartupConfig(shown);
    t.ok(back.ok && JSON.stringify(back.config.crypto.pki) === JSON.stringify(r.config.crypto.pki), 'parses back to the same model');
  }
  const plain = parseStartupConfig('crypto pki trustpoint T\n auto-enroll 70 regenerate\n auto-enroll 60\nend\n');
  t.ok(plain.ok && plain.config.crypto.pki?.trustpoints?.[0].autoEnrollRegenerate === undefined, 'auto-enroll without regenerate: the key is kept again');
  const hubCfg = parseStartupConfig('dmvpn enrollment\n renewal regenerate\nend\n');
  t.ok(hubCfg.ok && hubCfg.config.enrollment?.renewalRegenerate === true && /^ renewal regenerate$/m.test(renderConfig(hubCfg.config)), 'the hub\'s renewal regenerate: kept and rendered');
  const undone = parseStartupConfig('dmvpn enrollment\n renewal regenerate\n no renewal regenerate\nend\n');
  t.ok(undone.ok && undone.config.enrollment?.renewalRegenerate === undefined, 'no renewal regenerate');
  t.equal(rolloverLabel('DEVICE'), 'DEVICE.rekey');
  t.equal(rolloverLabel('DEVICE.rekey'), 'DEVICE', 'the labels alternate');
});

t.test('the hub moves a binding to a proven new key; the old key is no longer bound; cheats refused', async (t) => {
  const hub = await renewHub(t);
  const { key, answer } = await hub.enroll();
  const old = new X509Certificate(answer.certificate);
  const renew = (certPem: string, k: KeyObject, newKey?: KeyObject) =>
    requestRenewal({ host: '127.0.0.1', port: hub.port() }, { certPem, keyPem: pemOf(k), caPem: hub.creds.caCert, ...(newKey ? { newKeyPem: pemOf(newKey) } : {}) });
  const savesBefore = hub.saves.length;
  const n = ed();
  await new Promise((res) => setTimeout(res, 1100)); // certificate times are whole seconds: the renewal must end later
  const r = await renew(answer.certificate, key, n);
  t.equal(r.status, 'renewed', 'renewed with a new key');
  if (r.status !== 'renewed') { t.comment(JSON.stringify(r)); return; }
  t.equal(renewalProblem(r, n, answer.certificate, hub.creds.caCert), undefined, 'the spoke accepts it for its new key');
  const fresh = new X509Certificate(r.certificate);
  t.ok(fresh.publicKey.export({ type: 'spki', format: 'der' }).equals(spkiOf(n)), 'the certificate is for the new key');
  t.equal(fresh.subjectAltName, old.subjectAltName, `the same name and address: ${fresh.subjectAltName}`);
  hub.ca.write('check.pem', r.certificate);
  t.match(hub.ca.ssl('verify', '-CAfile', 'lab.pem', 'check.pem').toString(), /check\.pem: OK/, 'openssl verify -CAfile: OK');
  const b = hub.state.bindings[0];
  t.match(b, { key: idOf(n), previous: idOf(key), name: old.subjectAltName!.split(', ')[0].slice(4), address: '192.168.0.10' }, 'the binding moved to the new key, keeping the name');
  t.equal(hub.state.bindings.length, 1, 'still one binding');
  t.equal(hub.saves.length, savesBefore + 1, 'saved once, before the answer');
  t.same(hub.saves.at(-1)!.bindings, hub.state.bindings, 'what was saved is the state');
  t.equal(hub.state.usedTokens.FLEET, undefined, 'a reusable token records no user');
  t.match(hub.svc.counters, { renewed: 1, rekeyed: 1 });
  t.match(hub.logs.join('\n'), new RegExp(`RENEWED: device key ${idOf(key).slice(0, 16)} from 127\\.0\\.0\\.1: certificate of spoke-192-168-0-10 192\\.168\\.0\\.10 renewed; its key replaced by device key ${idOf(n).slice(0, 16)} \\(the old one no longer bound\\)`));
  // IKE on the hub: the old certificate is refused from now on, the new one accepted
  const cas = [new X509Certificate(hub.creds.caCert)];
  t.match(unenrolledReason(old, cas, hub.state), /is not enrolled on this hub/, 'IKE: the old key\'s certificate refused');
  t.equal(unenrolledReason(fresh, cas, hub.state), undefined, 'IKE: the new certificate accepted');

  // the old key alone gets nothing: a plain renewal, or a rollover to a key of its choosing
  t.match(await renew(answer.certificate, key), { status: 'refused', reason: 'not-enrolled' }, 'the old certificate, plain renewal: refused');
  t.match(await renew(answer.certificate, key, ed()), { status: 'refused', reason: 'not-enrolled' }, 'the old certificate with another new key: refused');
  // the answer was lost: the old certificate with the same new key (its proof) gets its certificate again
  const saves = hub.saves.length;
  const again = await renew(answer.certificate, key, n);
  t.equal(again.status, 'renewed', 'the old certificate with the same new key (answer lost): the new key\'s certificate again');
  if (again.status === 'renewed') t.ok(new X509Certificate(again.certificate).publicKey.export({ type: 'spki', format: 'der' }).equals(spkiOf(n)), 'for the new key');
  t.equal(hub.saves.length, saves + 1, 'saved once: only the certificate\'s serial recorded (issued.ts)');
  t.same(hub.saves.at(-1)?.bindings, hub.saves.at(-2)?.bindings, 'the binding unchanged');
  t.match(hub.logs.at(-1), /for its new device key [0-9a-f]{16} again \(the answer of its key change lost\?\)/);

  // the new key renews as any bound key, with or without another new key
  t.equal((await renew(r.certificate, n)).status, 'renewed', 'the new key, plain renewal: renewed');
  // cheats: the proof by another key; a proof from another session (replayed); another kind of key;
  // the same key; the key replaced before; another device's key; a revoked key
  const m = ed(), p = ed();
  const hostile = (body: (s: import('node:tls').TLSSocket) => object) => hub.raw(body, r.certificate, pemOf(n));
  const forged = await hostile((s) => { const pr = proveKey(p, sessionBinder(s)); return { v: 1, renew: true, spki: spkiOf(m).toString('base64'), proof: pr.sig.toString('base64') }; });
  t.match(forged, /"reason":"bad-request".*proof of possession does not verify/, 'a proof signed by another key: refused');
  let captured: { spki: Buffer; sig: Buffer } | undefined;
  await hostile((s) => { captured = proveKey(m, sessionBinder(s)); return { v: 1, renew: 'no' }; });
  t.ok(captured && !keyProven(captured.spki, captured.sig, Buffer.alloc(32)), 'a proof is bound to its session');
  const replayed = await hostile(() => ({ v: 1, renew: true, spki: captured!.spki.toString('base64'), proof: captured!.sig.toString('base64') }));
  t.match(replayed, /"reason":"bad-request".*proof of possession does not verify/, 'a valid proof replayed in another TLS session: refused');
  t.match(await renew(r.certificate, n, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey), { status: 'refused', reason: 'bad-request', message: /the new key is ec\/prime256v1, the one it replaces ed25519: a new key of the same kind/ }, 'another kind of key: refused');
  t.match(await renew(r.certificate, n, n), { status: 'refused', reason: 'bad-request', message: /the one it replaces/ }, 'the same key: refused');
  t.match(await renew(r.certificate, n, key), { status: 'refused', reason: 'bad-request', message: /the one replaced before/ }, 'the key it replaced before: refused');
  const second = await hub.enroll();
  t.match(await renew(r.certificate, n, second.key), { status: 'refused', reason: 'key-bound-elsewhere', message: /192\.168\.0\.11/ }, 'another device\'s key (its private key in hand): refused');
  const revoked = ed();
  hub.state.revoked = [idOf(revoked)];
  t.match(await renew(r.certificate, n, revoked), { status: 'refused', reason: 'key-revoked' }, 'a revoked key: refused');
  delete hub.state.revoked;
  t.match(await hub.svc.handle(frame({ v: 1, renew: true, spki: spkiOf(m).toString('base64'), proof: Buffer.alloc(64).toString('base64') }).subarray(4), '127.0.0.1', fresh), { status: 'refused', reason: 'bad-request', message: /proof of possession/ }, 'no TLS session to bind to: refused');
  t.equal(hub.state.bindings.find((x) => x.address === '192.168.0.10')!.key, idOf(n), 'after all that the binding still holds the new key');
  // the same device enrolling again with its token (its config wiped) keeps the name too
  const re = await hub.enroll(n);
  t.equal(new X509Certificate(re.answer.certificate).subjectAltName, old.subjectAltName, 'the device enrolling again with its token (config wiped): the same name and address');
  t.match(re.answer.config, new RegExp(`identity local fqdn ${old.subjectAltName!.split(', ')[0].slice(4).replace(/\./g, '\\.')}`), 'its config claims that name');
  // codec bounds
  t.match(decodeRequest(Buffer.from(JSON.stringify({ v: 1, renew: true, spki: 'AAAA' }))), /together or not at all/, 'spki without proof: refused');
  t.match(decodeRequest(Buffer.from(JSON.stringify({ v: 1, renew: true, spki: 'A'.repeat(1028), proof: 'AAAA' }))), /in base64 \(at most 1024/, 'an oversized spki: refused');
  t.match(decodeRequest(Buffer.from(JSON.stringify({ v: 1, renew: true, spki: 'AA!A', proof: 'AAAA' }))), /in base64/, 'not base64: refused');
  t.match(decodeRequest(Buffer.from(JSON.stringify({ v: 1, renew: true, spki: 12, proof: 'AAAA' }))), /in base64/, 'not a string: refused');
  // the state file keeps the name and the previous key, and refuses them malformed
  const text = JSON.stringify(hub.state);
  t.same(parseState(text), JSON.parse(text), 'the state file round trip');
  const bad = (f: (s: EnrollmentState) => void) => { const s = JSON.parse(text) as EnrollmentState; f(s); return parseState(JSON.stringify(s)); };
  t.equal(bad((s) => { s.bindings[0].name = 'evil.example.com'; }), 'a binding\'s device name is malformed');
  t.equal(bad((s) => { s.bindings[0].previous = 'zz'; }), 'a binding\'s previous key is malformed');
});


t.test('the spoke: a new key pair in the key store, key and certificate swapped together in running and startup config; a rollover cut short finished', async (t) => {
  const hub = await renewHub(t, { renewalRegenerate: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rekey-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new KeyStore(path.join(dir, 'startup-config.keys'));
  const device = createPrivateKey(store.generate('ed25519', 'DEVICE', 256).pem);
  const { answer } = await hub.enroll(device);
  const text = answer.config;
  t.match(text, /^ auto-enroll 70 regenerate$/m, 'the hub with renewal regenerate: the spoke\'s trustpoint says auto-enroll 70 regenerate');
  const loaded = parseStartupConfig(text);
  if (!loaded.ok) { t.fail(JSON.stringify(loaded.errors)); return; }
  let running: ApplianceConfig = loaded.config, startup: string | undefined = text;
  let failApply = false;
  const applied: string[] = [];
  const logs: string[] = [];
  const keys: RolloverKeys = {
    staged: (l, s) => store.staged(l, s)?.pem, generate: async (l, k, b, s) => (await store.generateAsync(k, l, b, s)).pem,
    settle: (l) => store.settle(l), drop: (l) => { store.zeroize(l); }, has: (l) => store.lookup(l) !== undefined,
  };
  let clock = renewalPlans(running)[0].dueMs;
  const r = new CertRenewal({
    config: () => running, keyPem: (l) => store.lookup(l)?.pem, keys, now: () => clock,
    // the appliance's own check of a new certificate against the key store (Appliance.reconfigure)
    apply: async (c) => {
      const why = pkiRefusal(running, c, store);
      if (why) return { ok: false, message: why };
      if (failApply) return { ok: false, message: 'IKE refused (test)' };
      running = c; applied.push(renderConfig(c)); return { ok: true };
    },
    readStartup: () => startup, saveStartup: (s) => { startup = s; }, log: (_l, m, x) => logs.push(`${m}: ${x}`),
  });
  t.equal(renewalPlans(running)[0].regenerate, true, 'the plan regenerates');
  await new Promise((res) => setTimeout(res, 1100)); // certificate times are whole seconds
  await r.tick();
  t.match(r.counters, { attempts: 1, renewed: 1, failed: 0 }, 'renewed');
  const tp = () => running.crypto.pki!.trustpoints!.find((x) => x.name === 'DMVPN-ENROLL')!;
  t.equal(tp().keyPair?.label, 'DEVICE.rekey', 'the running trustpoint names the new key pair');
  const plan = renewalPlans(running)[0];
  const newKey = createPrivateKey(store.lookup('DEVICE.rekey')!.pem);
  t.ok(new X509Certificate(plan.certPem).checkPrivateKey(newKey), 'its certificate is the new key\'s');
  t.equal(store.lookup('DEVICE'), undefined, 'the old key pair is gone from the key store');
  t.equal(store.staged('DEVICE.rekey', plan.serial), undefined, 'the new one is no longer marked staged');
  t.notOk(JSON.parse(fs.readFileSync(store.file, 'utf8')).keys['DEVICE.rekey'].replaces, 'nor in the file');
  t.equal(hub.state.bindings[0].key, idOf(newKey), 'the hub binds the new key');
  t.match(startup, /^ ed25519keypair DEVICE\.rekey$/m, 'the startup-config names the new key pair');
  t.match(startup, new RegExp(`^ certificate ${plan.serial}$`, 'm'), 'and holds the new certificate');
  t.equal(applied.length, 1, 'one live apply: key and certificate together');
  t.match(logs.join('\n'), /REKEY: trustpoint DMVPN-ENROLL: generated key pair DEVICE\.rekey to replace DEVICE/);
  t.match(logs.join('\n'), new RegExp(`RENEWED: trustpoint DMVPN-ENROLL: certificate [0-9A-F]+ renewed as ${plan.serial} for the new key pair DEVICE\\.rekey, valid until .*; running and startup config updated`));
  t.notMatch(logs.join('\n'), /PRIVATE KEY/, 'no key material in the log');

  // the next rollover is cut short after the hub answered (the apply refused): nothing half-done on the
  // spoke, the staged key kept; the next attempt, before the certificate is due, finishes it
  clock = plan.dueMs;
  failApply = true;
  await new Promise((res) => setTimeout(res, 1100));
  await r.tick();
  t.match(r.counters, { attempts: 2, failed: 1 }, 'the apply refused: failed');
  t.match(logs.at(-1), /RENEW_FAILED: .*the new certificate was not applied: IKE refused \(test\)/);
  t.equal(tp().keyPair?.label, 'DEVICE.rekey', 'the running config keeps the old key pair');
  t.equal(renewalPlans(running)[0].serial, plan.serial, 'and its certificate');
  const staged = store.staged('DEVICE', plan.serial);
  t.ok(staged, 'the new key pair is kept, staged for the certificate in use');
  t.equal(hub.state.bindings[0].key, idOf(createPrivateKey(staged!.pem)), 'the hub already binds the staged key: the old one is no longer bound');
  t.equal(new KeyStore(store.file).staged('DEVICE', plan.serial)?.pem, staged!.pem, 'the staged mark survives a restart (the key store file)');
  const damaged = path.join(dir, 'damaged.keys');
  const j = JSON.parse(fs.readFileSync(store.file, 'utf8'));
  j.keys.DEVICE.replaces = 'not a serial';
  fs.writeFileSync(damaged, JSON.stringify(j), { mode: 0o600 });
  const warned: string[] = [];
  t.equal(new KeyStore(damaged, (m) => warned.push(m)).lookup('DEVICE'), undefined, 'a malformed mark: the key store file is not trusted');
  t.match(warned.join(), /unreadable/);
  failApply = false;
  clock = plan.dueMs - 3600_000 + 40 * 60_000; // before the due point, after the retry wait
  const fresh = new CertRenewal({ config: () => running, keyPem: (l) => store.lookup(l)?.pem, keys, now: () => clock, apply: async (c) => { running = c; return { ok: true }; },
    readStartup: () => startup, saveStartup: (s) => { startup = s; }, log: (_l, m, x) => logs.push(`${m}: ${x}`) });
  clock = Math.min(clock, plan.dueMs - 1);
  await new Promise((res) => setTimeout(res, 1100));
  await fresh.tick();
  t.match(fresh.counters, { attempts: 1, renewed: 1 }, 'not due, but a staged key: the rollover finished (as after a reboot)');
  t.match(logs.join('\n'), /REKEY: trustpoint DMVPN-ENROLL: using the staged key pair DEVICE to replace DEVICE\.rekey/);
  t.equal(tp().keyPair?.label, 'DEVICE', 'the running trustpoint names the staged key pair');
  t.ok(new X509Certificate(renewalPlans(running)[0].certPem).checkPrivateKey(createPrivateKey(store.lookup('DEVICE')!.pem)), 'with its certificate');
  t.equal(store.lookup('DEVICE.rekey'), undefined, 'the replaced key pair is gone');
  t.match(startup, /^ ed25519keypair DEVICE$/m, 'the startup-config follows');
  t.match(hub.logs.at(-1), /for its new device key [0-9a-f]{16} again/, 'the hub issued the staged key\'s certificate again');
});
