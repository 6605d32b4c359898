// Certificate renewal end to end in namespaces (docs/enrollment.md "Renewal"): hub R1 issues 1-minute
// device certificates (`lifetime certificate 0 1`); factory spoke R2 enrolls, comes up over IKEv2 with
// its certificate, and renews it at 70 % of its lifetime, again and again, with no SA dropped (IKE takes
// the new certificate in place); once the first certificate has expired a new IKE SA authenticates with
// a renewed one; the startup-config follows. Then the operator clears R2's binding on the hub: the next
// renewal is refused (not-enrolled), as the note in R2's log says.
import t from 'tap';
import fs from 'node:fs';
import { waitFor, nsExec } from './util/lab.js';
import { enrolledSpokeLab } from './util/enroll-hub.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'openssl']);

const SECRET = 'zt-renewal-token-0123456789';

/** the serial of R2's own certificate in a config text */
const ownSerial = (cfg: string) => /crypto pki certificate chain DMVPN-ENROLL\n certificate ([0-9A-F]+)\n/.exec(cfg)?.[1];

t.test('an enrolled spoke renews its certificate before it runs out, without dropping its SAs; a cleared binding ends renewals', async (t) => {
  const set = await enrolledSpokeLab(t, 'rn', SECRET, [' lifetime certificate 0 1']);
  if (!set) return;
  const { lab, enrollView, hubPeers, r2cfg, upAt, logs } = set;
  const running = () => lab.ctl('R2', 'show running-config');
  t.match(running(), /^crypto pki trustpoint DMVPN-ENROLL\n enrollment url https:\/\/172\.16\.15\.2:4430\n revocation-check none\n auto-enroll 70\n ed25519keypair DEVICE$/m, 'R2: the trustpoint says where and when to renew');
  const s1 = ownSerial(running());
  t.ok(s1, `R2: enrolled certificate ${s1}`);
  const ikeBefore = lab.ctl('R1', 'show crypto ikev2 sa');

  // the renewal at 70 % of a minute (about 45 s after issue), and its effects
  const renewed = await waitFor(() => { const s = ownSerial(running()); return s && s !== s1 ? s : undefined; }, 90000, 1000);
  t.ok(renewed, `R2: the running config holds a renewed certificate (${renewed})`);
  if (!renewed) { t.comment(logs()); return; }
  const r2log = lab.ctl('R2', 'show logging');
  t.match(r2log, new RegExp(`RENEWED: trustpoint DMVPN-ENROLL: certificate ${s1} renewed as [0-9A-F]+, valid until .*; running and startup config updated`), 'R2: logged, both configs updated');
  t.match(r2log, /certificates changed; IKE uses them for new SAs, established SAs kept/, 'R2: live apply took the certificate in place');
  t.match(lab.ctl('R2', 'show crypto pki trustpoints status'), new RegExp(`    Last renewal \\.+ [\\d:]+ ago: certificate ${s1} renewed\\n`), 'R2: show crypto pki trustpoints status: renewed');
  t.notMatch(r2log, /reconfigured, tunnel restarted/, 'R2: the tunnel was not restarted');
  t.ok((enrollView()?.counters.renewed ?? 0) >= 1, `hub: renewals counted (${enrollView()?.counters.renewed})`);
  t.match(ownSerial(fs.readFileSync(r2cfg, 'utf8')) ?? '', /^[0-9A-F]+$/, 'R2: the startup-config holds a certificate');
  t.not(ownSerial(fs.readFileSync(r2cfg, 'utf8')), s1, 'R2: not the enrolled one any more');
  const spiOf = (s: string) => /^\s*\d+\s+172\.16\.25\.2\/\d+\s.*$/m.exec(s)?.[0];
  t.equal(spiOf(lab.ctl('R1', 'show crypto ikev2 sa')), spiOf(ikeBefore), 'hub: the same IKE SA as before the renewal (no SA dropped)');

  // past the enrolled certificate's end (issued before R2 came up, for a minute): a new IKE SA must
  // authenticate with a renewed certificate
  const expiredAlready = await waitFor(() => Date.now() > upAt + 62_000, 90000, 1000);
  t.ok(expiredAlready, 'the enrolled certificate has run out');
  lab.ctl('R2', 'clear crypto isakmp');
  const again = await waitFor(() => /172\.16\.25\.2\/\d+ +none\/none +READY/.test(lab.ctl('R1', 'show crypto ikev2 sa')) && hubPeers().some((p) => p.nbma === '172.16.25.2' && p.state === 'UP'), 60000, 1000);
  t.ok(again, 'hub: a new IKE SA with R2, authenticated by its renewed certificate; R2 UP again');
  t.ok(nsExec(lab.ns('R2'), ['ping', '-c', '3', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true }).status === 0, 'R2 pings the hub\'s tunnel address over it');

  // the operator clears R2's binding: renewals end
  const key = (enrollView()?.admitted ?? [])[0]?.key as string;
  t.match(lab.ctl('R1', `clear dmvpn enrollment binding ${key.slice(0, 16)}`), /released 192\.168\.0\.10/, 'hub: binding cleared');
  const refused = await waitFor(() => /RENEW_FAILED: .*hub refused: not-enrolled/.test(lab.ctl('R2', 'show logging')), 90000, 1000);
  t.ok(refused, 'R2: its next renewal refused, not-enrolled, in its log');
  if (!refused) t.comment(logs());
  const status = lab.ctl('R2', 'show crypto pki trustpoints status');
  t.match(status, /^Trustpoint DMVPN-ENROLL:\n[\s\S]*  Auto-enroll: at 70% of the lifetime, with https:\/\/172\.16\.15\.2:4430\n    Renewal due \.+ .*\n    Certificate expires \.+ .*\n    Last renewal \.+ [\d:]+ ago: failed: hub refused: not-enrolled[^\n]*\n    Next attempt \.+ in [\d:]+\n/m, 'R2: show crypto pki trustpoints status: the refusal and the next attempt');
  t.ok((enrollView()?.refused ?? []).some((r: { reason: string }) => r.reason === 'not-enrolled'), 'hub: listed as refused, not-enrolled');
});
