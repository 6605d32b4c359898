// Key rollover and expired-certificate recovery end to end in namespaces (docs/enrollment.md "A new key
// at renewal", "A box switched off too long"), kept out of `make test` for its length (about 3
// minutes: it waits out 1-minute certificates twice; run by `make soak`). Hub R1 issues 1-minute device
// certificates with `renewal regenerate`; factory spoke R2 enrolls and comes up, then at 70 % of the
// lifetime renews with a new key pair: key and certificate swapped in place (no tunnel restart), the old
// key gone from its key store, the hub's binding on the new key; a new IKE SA authenticates with it.
// Then R2 is stopped until its certificate has run out and started again: it renews the expired
// certificate (within the hub's grace), again with a new key, and comes back UP.
import t from 'tap';
import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { waitFor, nsExec } from './util/lab.js';
import { enrolledSpokeLab, FAST_RETRY, HUB_NBMA } from './util/enroll-hub.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'openssl']);

const SECRET = 'zt-rekey-token-0123456789ab';

/** R2's own certificate in a config text (the DMVPN-ENROLL chain's first, non-CA entry) */
function ownCert(cfg: string): X509Certificate | undefined {
  const m = /crypto pki certificate chain DMVPN-ENROLL\n certificate [0-9A-F]+\n([\s\S]*?)\n\s*quit/.exec(cfg);
  return m ? new X509Certificate(Buffer.from(m[1].replace(/\s+/g, ''), 'hex')) : undefined;
}
const labelOf = (cfg: string) => /^crypto pki trustpoint DMVPN-ENROLL\n(?: .*\n)*? ed25519keypair (\S+)$/m.exec(cfg)?.[1];

t.test('a spoke renews with a new key in place; stopped past its certificate\'s end, it recovers within the grace', async (t) => {
  const set = await enrolledSpokeLab(t, 'rk', SECRET, [' lifetime certificate 0 1', ' renewal regenerate']);
  if (!set) return;
  const { lab, enrollView, hubPeers, r2cfg, upAt, logs } = set;
  const running = () => lab.ctl('R2', 'show running-config');
  t.match(running(), /^ auto-enroll 70 regenerate$/m, 'R2: the trustpoint renews with a new key (the hub\'s renewal regenerate)');
  t.equal(labelOf(running()), 'DEVICE');
  const first = ownCert(running());
  const keyBefore = enrollView()?.admitted?.[0]?.key as string;
  const spki = (c: X509Certificate) => c.publicKey.export({ type: 'spki', format: 'der' }).toString('hex');

  // the rollover at 70 % of a minute
  const rolled = await waitFor(() => (labelOf(running()) === 'DEVICE.rekey' ? ownCert(running()) : undefined), 90000, 1000);
  t.ok(rolled, 'R2: the running trustpoint names the new key pair DEVICE.rekey');
  if (!rolled || !first) { t.comment(logs()); return; }
  t.not(spki(rolled), spki(first), 'R2: its certificate is for another key');
  t.equal(rolled.subjectAltName, first.subjectAltName, `the same name and address (${rolled.subjectAltName})`);
  const r2log = lab.ctl('R2', 'show logging');
  t.match(r2log, /REKEY: trustpoint DMVPN-ENROLL: generated key pair DEVICE\.rekey to replace DEVICE/, 'R2: logged the new key pair');
  t.match(r2log, /RENEWED: trustpoint DMVPN-ENROLL: certificate [0-9A-F]+ renewed as [0-9A-F]+ for the new key pair DEVICE\.rekey, valid until .*; running and startup config updated/, 'R2: renewed, both configs updated');
  t.match(r2log, /certificates changed; IKE uses them for new SAs, established SAs kept/, 'R2: live apply took key and certificate in place');
  t.notMatch(r2log, /reconfigured, tunnel restarted/, 'R2: the tunnel was not restarted');
  t.notMatch(r2log, /PRIVATE KEY/, 'R2: no key material in its log');
  const store = JSON.parse(fs.readFileSync(`${r2cfg}.keys`, 'utf8')).keys as Record<string, { replaces?: string }>;
  t.same(Object.keys(store), ['DEVICE.rekey'], 'R2: its key store holds the new key pair only');
  t.equal(store['DEVICE.rekey'].replaces, undefined, 'no longer marked staged');
  t.equal(labelOf(fs.readFileSync(r2cfg, 'utf8')), 'DEVICE.rekey', 'R2: the startup-config names it too');
  const hubKey = enrollView()?.admitted?.[0]?.key as string;
  t.not(hubKey, keyBefore, 'hub: the binding moved to the new key');
  t.ok((enrollView()?.counters.rekeyed ?? 0) >= 1, `hub: counted (rekeyed ${enrollView()?.counters.rekeyed})`);
  t.match(lab.ctl('R1', 'show logging'), /its key replaced by device key [0-9a-f]{16} \(the old one no longer bound\)/, 'hub: logged');

  // past the enrolled certificate's end: a new IKE SA must authenticate with the new key
  t.ok(await waitFor(() => Date.now() > upAt + 62_000, 90000, 1000), 'the enrolled certificate has run out');
  lab.ctl('R2', 'clear crypto isakmp');
  const again = await waitFor(() => /172\.16\.25\.2\/\d+ +none\/none +READY/.test(lab.ctl('R1', 'show crypto ikev2 sa')) && hubPeers().some((p) => p.nbma === '172.16.25.2' && p.state === 'UP'), 60000, 1000);
  t.ok(again, 'hub: a new IKE SA with R2, authenticated by the new key\'s certificate; R2 UP again');
  t.ok(nsExec(lab.ns('R2'), ['ping', '-c', '3', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true }).status === 0, 'R2 pings the hub\'s tunnel address');

  // switched off past its certificate's end (nobody at its console): it must come back by itself
  await lab.stop('R2');
  const savedText = fs.readFileSync(r2cfg, 'utf8');
  const saved = ownCert(savedText);
  const nextLabel = labelOf(savedText) === 'DEVICE' ? 'DEVICE.rekey' : 'DEVICE'; // it renewed every ~42 s while it ran
  t.ok(saved, 'R2 stopped; its startup-config holds a certificate');
  if (!saved) return;
  t.ok(await waitFor(() => Date.now() > Date.parse(saved.validTo) + 5000, 120000, 1000), `its certificate has run out (${saved.validTo})`);
  const recoveredBefore = enrollView()?.counters.recovered ?? 0;
  lab.start('R2', r2cfg, FAST_RETRY);
  // (the hub's NHRP entry for R2 may still say UP until its holding time runs out: wait for the renewal)
  const recovered = await waitFor(() => (enrollView()?.counters.recovered ?? 0) > recoveredBefore, 120000, 1000);
  t.ok(recovered, `hub: a renewal of an expired certificate counted (recovered ${enrollView()?.counters.recovered})`);
  if (!recovered) { t.comment(logs()); return; }
  // R2's own view: a new process, so an IKE SA it shows was made with the renewed certificate
  const back = await waitFor(() => /172\.16\.15\.2\/\d+ +none\/none +READY/.test(lab.ctl('R2', 'show crypto ikev2 sa')), 120000, 1000);
  t.ok(back, 'R2: an IKE SA with the hub again, after its expired certificate was renewed');
  if (!back) { t.comment(logs()); return; }
  t.match(lab.ctl('R1', 'show logging'), /renewed \(it had expired \d+ s ago: within the renewal grace\)/, 'hub: logged as within the grace');
  t.match(lab.ctl('R2', 'show logging'), new RegExp(`RENEWED: trustpoint DMVPN-ENROLL: certificate [0-9A-F]+ renewed as [0-9A-F]+ for the new key pair ${nextLabel.replace('.', '\\.')},`), `R2: renewed, with a new key again (${nextLabel})`);
  t.ok(nsExec(lab.ns('R2'), ['ping', '-c', '3', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true }).status === 0, 'R2 pings the hub\'s tunnel address');
  t.match(lab.ctl('R1', 'show dmvpn enrollment'), new RegExp(`listening on ${HUB_NBMA.replace(/\./g, '\\.')} TCP 4430, approval auto, pool .*, renewal grace 30 days, regenerate`), 'hub: show dmvpn enrollment says the grace and regenerate');
});
