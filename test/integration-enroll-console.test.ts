// The factory box's console while it enrolls (docs/enrollment.md "At the console while the box enrolls"),
// end to end in namespaces: hub R1 of seed 003 runs the enrollment server; factory spoke R2's token is
// not on the hub, and its retries are 10 minutes apart, so only the operator can move it on within this
// test. The serial console's program on a pty is offered at once (no wait for a supervisor that cannot
// start yet), `show dmvpn enrollment` says the hub refused it and why, other commands say they are not
// there yet, configuration mode is refused; the hub's operator adds the token, and `dmvpn enrollment
// retry` at the spoke's console gets it admitted now, not in 10 minutes: it comes UP under IKEv2. Factory
// spoke R3 is stopped by its operator (`dmvpn enrollment stop` through dmvpnctl): dmvpnd ends with
// EXIT.ENROLL_STOPPED and nothing saved, which the image's init turns into the factory default.
import t from 'tap';
import fs from 'node:fs';
import { waitFor } from './util/lab.js';
import { enrollHubLab, startFactorySpoke } from './util/enroll-hub.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { dmvpnctlSession } from './util/live-config.js';
import { PtyConsole } from './util/pty-console.js';
import { EXIT } from '../appliance/entry/exit-codes.js';

requireTools(t, [...LAB_NEEDS, 'script']);

const SITE_SECRET = 'zt-console-site-token-0123';
const FLEET_SECRET = 'zt-console-fleet-token-4567';
const SLOW_RETRY = { DMVPN_ENROLL_RETRY_MS: '600000', DMVPN_ENROLL_RETRY_CAP_MS: '600000' };

t.test('the console of a refused factory box: why, retry after the hub is fixed, stop', async (t) => {
  const hub = await enrollHubLab(t, 'ztc', [`SITE1 ${SITE_SECRET} one-time`]);
  if (!hub) return;
  const { lab, listening, hubPeers, logs } = hub;
  const r2cfg = startFactorySpoke(lab, 'R2', { wan: '172.16.25.2/30', gateway: '172.16.25.1', pin: listening.pin, token: `FLEET ${FLEET_SECRET}`, env: SLOW_RETRY });
  const r2log = () => lab.routers.get('R2')!.log.join('\n');
  const refused = await waitFor(() => /refused enrollment: bad-token: .* \(attempt 1\); retrying in \d{3} s/.test(r2log()), 30000);
  t.ok(refused, 'R2: refused (bad-token), the next attempt 10 minutes away');
  if (!refused) { t.comment(logs()); return; }

  const c = new PtyConsole(lab.routers.get('R2')!.control, 60000);
  t.teardown(() => { c.proc.kill('SIGKILL'); });
  t.ok(await waitFor(() => /Press RETURN to get started/.test(c.out), 30000, 200), 'console: offered while the box enrolls');
  t.notMatch(c.out, /waiting for the supervisor/, 'console: no wait for a supervisor');
  c.type('\r');
  await c.expect(/>$/);
  c.type('show dmvpn enrollment\r');
  const shown = await c.expect(/dmvpn enrollment stop[^\n]*\n[\s\S]*>$/);
  t.match(shown, /Zero-touch enrollment: waiting before the next attempt, next attempt in 00:(0[789]|1[012]):\d\d \(attempt 1, for /, 'console: show dmvpn enrollment: waiting, when it tries again');
  t.match(shown, /  Token: FLEET   Device key: [0-9a-f]{16}\n  Hub: 172\.16\.15\.2 port 4430 \(source: provisioning file\)\n  Last result \([\d:]+ ago\): refused: hub 172\.16\.15\.2 refused enrollment: bad-token: the token is unknown or its secret is wrong/, 'console: the hub and its reason');
  c.type('show ip nhrp\r');
  t.match(await c.expect(/>$/), /% Not available while the box enrolls with its hub \(no startup-config yet\)/, 'console: other commands say why they are not there');
  c.type('enable\r');
  await c.expect(/#$/);
  c.type('configure terminal\r');
  const conf = await c.expect(/#$/);
  t.match(conf, /% Not available while the box enrolls/, 'console: configuration mode refused while enrolling');
  t.notMatch(conf, /\(config\)#/, 'console: not left in configuration mode');
  t.match(lab.ctl('R2', 'show version'), /Zero-touch enrollment in progress/, 'dmvpnctl: show version answers');

  // the hub's operator adds the token; the spoke's operator asks again at once
  t.equal(dmvpnctlSession(lab, 'R1', ['configure terminal', 'dmvpn enrollment', `token FLEET ${FLEET_SECRET}`, 'end']).status, 0, 'hub: token FLEET typed live');
  c.type('dmvpn enrollment retry\r');
  t.match(await c.expect(/#$/), /% trying again now \(attempt 2\)/, 'console: dmvpn enrollment retry');
  const admitted = await waitFor(() => /enrolled with hub 172\.16\.15\.2: spoke-192-168-0-10, tunnel address 192\.168\.0\.10; startup-config saved/.test(r2log()), 60000);
  t.ok(admitted, 'R2: admitted at attempt 2, minutes before its backoff ended');
  t.notMatch(r2log(), /\(attempt 2\)/, 'R2: attempt 2 was not refused');
  const up = await waitFor(() => hubPeers().some((p) => p.nbma === '172.16.25.2' && p.tunnel === '192.168.0.10' && p.state === 'UP'), 90000);
  t.ok(up, 'hub: R2 UP in show dmvpn');
  if (!up) t.comment(logs());
  // the console's prompt follows the hostname after a show command (console.ts refreshHostname)
  c.type('show ip nhrp\r');
  const nhrp = await c.expect(/#$/);
  t.match(nhrp, /192\.168\.0\.1\/32 via 192\.168\.0\.1/, 'console: the same session now reaches the enrolled supervisor (show ip nhrp)');
  c.type('\r');
  t.match(await c.expect(/spoke-192-168-0-10#$/), /spoke-192-168-0-10#$/, 'console: its prompt the enrolled hostname');

  // R3: its operator gives up on zero touch
  const r3cfg = startFactorySpoke(lab, 'R3', { wan: '172.16.35.2/30', gateway: '172.16.35.1', pin: listening.pin, token: `SITE1 not-the-secret-${SITE_SECRET}`, env: SLOW_RETRY });
  const r3 = lab.routers.get('R3')!;
  t.ok(await waitFor(() => /refused enrollment: bad-token/.test(r3.log.join('\n')), 30000), 'R3: refused');
  t.match(lab.ctl('R3', 'dmvpn enrollment stop'), /^% enrollment stopped: the box starts its factory default/, 'R3: dmvpn enrollment stop');
  const code = await waitFor(() => r3.proc?.exitCode ?? undefined, 15000, 100);
  t.equal(code, EXIT.ENROLL_STOPPED, 'R3: dmvpnd ended with EXIT.ENROLL_STOPPED');
  t.match(r3.log.join('\n'), /%ENROLL-5-STOPPED: zero-touch enrollment stopped by the operator/, 'R3: logged');
  t.notOk(fs.existsSync(r3cfg), 'R3: nothing saved');
  t.ok(fs.existsSync(r2cfg), 'R2: its startup-config saved');
  for (const r of ['R2', 'R3']) t.notMatch(lab.routers.get(r)!.log.join('\n') + c.out, new RegExp(`${SITE_SECRET}|${FLEET_SECRET}|PRIVATE KEY`), `${r}: no secret in its log or on the console`);
});
