// Revoking an enrolled spoke in namespaces (docs/enrollment.md "Revoking a device", issue 15): hub R1
// runs the enrollment server (test/util/enroll-hub.ts); factory spokes R2 and R3 enroll with one-time
// tokens and come UP over certificate IKEv2. `clear dmvpn enrollment binding <R3's key>` on the hub
// takes R3's IKE SA down (a Delete to R3) and withdraws its NHRP registration at once; R3 keeps trying
// and the hub refuses its still unexpired certificate (AUTHENTICATION_FAILED on R3's side, the IKE
// refusal counted in show dmvpn enrollment) - also after R3 restarts. R2 stays UP and passes ESP traffic.
import t from 'tap';
import { waitFor, nsExec } from './util/lab.js';
import { enrollHubLab, startFactorySpoke, FAST_RETRY } from './util/enroll-hub.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'openssl']);

const SECRET2 = 'zt-revoke-token-r2-0123456789', SECRET3 = 'zt-revoke-token-r3-0123456789';
const R2_NBMA = '172.16.25.2', R3_NBMA = '172.16.35.2';

t.test('clear dmvpn enrollment binding cuts the spoke off at once and keeps it out; the other spoke stays up', async (t) => {
  const hub = await enrollHubLab(t, 'zv', [`SITE2 ${SECRET2} one-time`, `SITE3 ${SECRET3} one-time`]);
  if (!hub) return;
  const { lab, listening, enrollView, hubPeers, logs } = hub;
  startFactorySpoke(lab, 'R2', { wan: '172.16.25.2/30', gateway: '172.16.25.1', pin: listening.pin, token: `SITE2 ${SECRET2}` });
  const r3cfg = startFactorySpoke(lab, 'R3', { wan: '172.16.35.2/30', gateway: '172.16.35.1', pin: listening.pin, token: `SITE3 ${SECRET3}` });
  const isUp = (nbma: string) => hubPeers().some((p) => p.nbma === nbma && p.state === 'UP');
  const bothUp = await waitFor(() => isUp(R2_NBMA) && isUp(R3_NBMA), 120000);
  t.ok(bothUp, 'hub: R2 and R3 enrolled and UP');
  if (!bothUp) { t.comment(logs()); return; }
  const hubSas = () => lab.ctl('R1', 'show crypto ikev2 sa');
  const r3Sa = () => new RegExp(`${R3_NBMA.replace(/\./g, '\\.')}/\\d+ +none/none +READY`).test(hubSas());
  t.ok(r3Sa(), 'hub: an IKEv2 SA READY with R3');
  // the pool hands addresses out in the order the spokes enroll, and either may be first
  const r3Addr = hubPeers().find((p) => p.nbma === R3_NBMA)?.tunnel ?? '?';
  const r3Esc = r3Addr.replace(/\./g, '\\.'), r3Dash = r3Addr.replace(/\./g, '-');
  const r3 = (enrollView()?.admitted ?? []).find((b: { address: string }) => b.address === r3Addr);
  t.ok(r3, `hub: R3 bound to ${r3Addr}`);
  const short = String(r3?.key).slice(0, 16);

  // the operator unbinds R3: its SA and its registration go at once, said on the CLI
  const out = lab.ctl('R1', `clear dmvpn enrollment binding ${short}`);
  t.match(out, new RegExp(`% device key ${short} released ${r3Esc}`), 'the binding released');
  t.match(out, new RegExp(`% IKE SA with 172\\.16\\.35\\.2 \\(spoke-${r3Dash}\\.[0-9a-f]{32}\\.dmvpn\\.invalid\\) taken down: device key ${short} is not enrolled on this hub .*; NHRP registration ${r3Esc} withdrawn`), 'the CLI says which SA and registration went, and why');
  t.notOk(hubPeers().some((p) => p.tunnel === r3Addr), 'hub: R3 gone from show dmvpn at once');
  t.notOk(r3Sa(), 'hub: no IKE SA with R3 at once');
  t.ok(await waitFor(() => /172\.16\.15\.2 deleted the IKE SA/.test(lab.ctl('R3', 'show logging')), 10000), 'R3: told by a Delete');

  // R3 keeps trying with its unexpired certificate: refused every time, never back
  let back = false;
  const refusedTwice = await waitFor(() => {
    back ||= hubPeers().some((p) => p.tunnel === r3Addr) || r3Sa();
    return (enrollView()?.ike?.refused ?? 0) >= 2;
  }, 90000, 500);
  t.ok(refusedTwice, `hub: R3's new attempts refused and counted (${enrollView()?.ike?.refused})`);
  t.notOk(back, 'hub: R3 never came back meanwhile');
  const r3log = lab.ctl('R3', 'show logging');
  t.match(r3log, /peer refused our authentication \(AUTHENTICATION_FAILED\)/, 'R3: AUTHENTICATION_FAILED');
  const hubLog = lab.ctl('R1', 'show logging');
  t.match(hubLog, new RegExp(`IKE_AUTH: spoke-${r3Dash}\\.[0-9a-f]{32}\\.dmvpn\\.invalid: device key ${short} is not enrolled on this hub`), 'hub: the refusal logged with its reason');
  t.notMatch(hubLog, new RegExp(String(r3?.key)), 'hub: no more of the key id than its prefix in the log');
  t.match(lab.ctl('R1', 'show dmvpn enrollment'), /^ {2}IKE: refused [2-9]\d* \(device key not enrolled\), SAs taken down 1 \(binding cleared\)$/m, 'show dmvpn enrollment: the counters');

  // R2 untouched
  t.ok(isUp(R2_NBMA), 'hub: R2 still UP');
  const before = Number(/#pkts decaps: (\d+)/.exec(lab.ctl('R2', 'show crypto ipsec sa'))?.[1] ?? 0);
  t.equal(nsExec(lab.ns('R2'), ['ping', '-c', '3', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true }).status, 0, 'R2 pings the hub\'s tunnel address');
  const after = Number(/#pkts decaps: (\d+)/.exec(lab.ctl('R2', 'show crypto ipsec sa'))?.[1] ?? 0);
  t.ok(after > before, `R2: through ESP (decaps ${before} -> ${after})`);

  // R3 restarted (down when the binding went, back later): still out
  await lab.stop('R3');
  const refusedBefore = enrollView()?.ike?.refused ?? 0;
  lab.start('R3', r3cfg, FAST_RETRY);
  back = false;
  const refusedAgain = await waitFor(() => {
    back ||= hubPeers().some((p) => p.tunnel === r3Addr) || r3Sa();
    return (enrollView()?.ike?.refused ?? 0) > refusedBefore;
  }, 60000, 500);
  t.ok(refusedAgain, 'hub: R3 restarted, refused again');
  t.notOk(back, 'hub: R3 not back after its restart');
  t.ok(isUp(R2_NBMA), 'hub: R2 still UP');
  if (!refusedAgain || back) t.comment(logs());
});
