// A factory box's enrollment as its console sees it (enroll/enroll-progress.ts, supervisor/exec-enrolling.ts,
// show/enroll-progress.ts): the loop reports each step; `dmvpn enrollment retry` ends the wait (only a
// wait), `dmvpn enrollment stop` ends the loop and nothing is saved, but an admission already on its way
// is kept; the control handler answers its few commands with IOS abbreviations, `?`, Tab and the caret,
// and every other command with why it is not there yet. The end-to-end case (a real hub refusing, the
// console on a pty, retry after the hub's operator added the token, stop) is
// test/integration-enroll-console.test.ts.
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { EnrollProgress } from '../appliance/enroll/enroll-progress.js';
import { enrollUntilAdmitted } from '../appliance/enroll/enroll-loop.js';
import { enrollingControl } from '../appliance/supervisor/exec-enrolling.js';
import { formatEnrollProgress } from '../appliance/show/enroll-progress.js';
import type { Provisioning } from '../appliance/enroll/provisioning.js';
import { waitFor } from './util/lab.js';

const prov: Provisioning = { port: 4430, pin: Buffer.alloc(32), token: 'SITE1', secret: 'never-shown-0123456789' };
const { privateKey } = generateKeyPairSync('ed25519');
const HOUR = 3_600_000;

/** The loop over a hub that is never found, its waits an hour long: only the operator moves it on. */
function loopWithoutHub(progress: EnrollProgress) {
  const events: string[] = [];
  const locates: number[] = [];
  const done = enrollUntilAdmitted(prov, privateKey, 'csr', {
    log: (_l, m, text) => events.push(`${m} ${text}`),
    locate: async () => { locates.push(Date.now()); return 'no hub line in the provisioning file, and no DHCP lease yet'; },
    save: () => { throw new Error('nothing may be saved'); },
    baseMs: HOUR, capMs: HOUR, observer: progress,
  });
  return { events, locates, done };
}

t.test('retry ends the wait at once; stop ends the loop with nothing saved', async (t) => {
  const p = new EnrollProgress('SITE1', '0123456789abcdef');
  const l = loopWithoutHub(p);
  t.ok(await waitFor(() => p.view().phase === 'waiting', 5000, 10), 'after attempt 1: waiting');
  const v1 = p.view();
  t.equal(v1.attempt, 1);
  t.match(v1.last, { kind: 'no-hub', text: /no DHCP lease yet/ }, 'the reason kept');
  t.ok(v1.nextAt! - Date.now() > HOUR * 0.7, 'the next attempt an hour away (backoff with jitter)');
  t.match(l.events.join('\n'), /NO_HUB .* \(attempt 1\); retrying in \d+ s/, 'logged as before');
  t.equal(p.retryNow(), '% trying again now (attempt 2)\n', 'retry: said');
  t.ok(await waitFor(() => p.view().attempt === 2 && p.view().phase === 'waiting', 5000, 10), 'attempt 2 ran at once, then waits again');
  t.equal(l.locates.length, 2, 'the hub looked up again');
  t.equal(p.view().retriesAsked, 1, 'counted');
  t.match(p.stop(), /^% enrollment stopped: the box starts its factory default/, 'stop: said');
  t.equal(await l.done, undefined, 'the loop ended, not admitted');
  t.equal(l.locates.length, 2, 'no further attempt');
  t.equal(p.view().phase, 'stopped');
  t.equal(p.stop(), '% enrollment already stopped\n', 'a second stop');
  t.match(p.retryNow(), /stopped: nothing to retry/, 'retry after stop');
});

t.test('retry during an attempt waits for it; stop while the hub is asked keeps an admission it brings', async (t) => {
  const p = new EnrollProgress('SITE1', 'k');
  p.attempt(1);
  t.match(p.retryNow(), /attempt 1 is under way \(looking for the hub\)/, 'retry while locating: nothing interrupted');
  p.requesting({ hub: '198.51.100.1', port: 4430, source: 'provisioning file' });
  t.match(p.retryNow(), /under way \(asking the hub\)/);
  t.match(p.stop(), /stops once the request under way is answered \(an admission it brings is kept\)/, 'stop while asking');
  t.ok(p.signal.aborted, 'the loop is told');
  p.result('refused', 'late report');
  t.equal(p.view().phase, 'stopped', 'a late refusal leaves it stopped');
  p.admitted('192.168.0.10');
  t.equal(p.view().phase, 'admitted', 'but an admission stands (the token is spent, the address bound)');
  t.match(p.stop(), /finished: admitted with 192\.168\.0\.10; nothing to stop/);
  t.match(p.retryNow(), /finished: admitted: nothing to retry/);
});

t.test('a stop while the hub is looked up sends no request', async (t) => {
  const p = new EnrollProgress('SITE1', 'k');
  let release!: (v: string) => void;
  const done = enrollUntilAdmitted(prov, privateKey, 'csr', {
    log: () => undefined, save: () => { throw new Error('no save'); }, observer: p, baseMs: HOUR,
    locate: () => new Promise<string>((r) => { release = r; }),
  });
  await waitFor(() => release !== undefined, 2000, 5);
  p.stop();
  release('198.51.100.1 would be tried now');
  t.equal(await done, undefined, 'ended');
  t.equal(p.view().last, undefined, 'no attempt result: nothing was asked');
});

t.test('show dmvpn enrollment', async (t) => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  const base = { token: 'SITE1', deviceKey: '77578cf7bdbcc334', started: now - 125_000, retriesAsked: 0 };
  const waiting = formatEnrollProgress({ ...base, phase: 'waiting', attempt: 3, nextAt: now + 37_400,
    hub: { hub: '172.16.15.2', port: 4430, source: 'DHCP option 43' },
    last: { kind: 'refused', text: 'hub 172.16.15.2 refused enrollment: bad-token: the token is unknown or its secret is wrong', at: now - 4000 } }, false, now);
  t.equal(waiting, [
    'Zero-touch enrollment: waiting before the next attempt, next attempt in 00:00:37 (attempt 3, for 00:02:05)',
    '  Token: SITE1   Device key: 77578cf7bdbcc334',
    '  Hub: 172.16.15.2 port 4430 (source: DHCP option 43)',
    '  Last result (00:00:04 ago): refused: hub 172.16.15.2 refused enrollment: bad-token: the token is unknown or its secret is wrong',
    '',
    'No startup-config yet: the box runs no tunnel until the hub admits it.',
    '  dmvpn enrollment retry   ask the hub again now',
    '  dmvpn enrollment stop    stop enrolling and start the factory default (configure by hand)',
    '',
  ].join('\n'));
  t.match(formatEnrollProgress({ ...base, phase: 'locating', attempt: 1 }, false, now), /^Zero-touch enrollment: looking for the hub \(attempt 1, for 00:02:05\)\n[\s\S]*  Hub: not found yet\n/);
  t.notMatch(formatEnrollProgress({ ...base, phase: 'stopped', attempt: 1 }, false, now), /dmvpn enrollment retry/, 'stopped: no actions offered');
  const j = JSON.parse(formatEnrollProgress({ ...base, phase: 'waiting', attempt: 2, nextAt: now + 1000 }, true, now));
  t.match(j, { phase: 'waiting', attempt: 2, token: 'SITE1', nextAt: now + 1000, now }, 'json');
});

t.test('the control socket while enrolling: its commands, abbreviations, help, the rest not yet there', async (t) => {
  const p = new EnrollProgress('SITE1', '77578cf7bdbcc334');
  p.attempt(1);
  p.result('refused', 'hub 172.16.15.2 refused enrollment: bad-token: the token is unknown or its secret is wrong');
  const waited = p.wait(HOUR);
  const logLines = ['2026-12-06 12:00:00.000 Router: %ENROLL-3-REFUSED: hub 172.16.15.2 refused enrollment: bad-token'];
  const h = enrollingControl({ progress: p, logLines: () => logLines, version: () => 'DMVPN appliance firmware\n' }, () => 'Router');
  const run = async (c: string) => h.run(c);
  t.match(await run('show dmvpn enrollment'), /^Zero-touch enrollment: waiting before the next attempt, next attempt in (00:59:\d\d|01:00:00) \(attempt 1/, 'show dmvpn enrollment');
  t.match(await run('sh dmv enr'), /^Zero-touch enrollment: /, 'abbreviated');
  t.match(JSON.parse(await run('show dmvpn enrollment json')), { phase: 'waiting', attempt: 1, last: { kind: 'refused' } }, 'json');
  t.match(await run('show logging'), /%ENROLL-3-REFUSED/, 'show logging');
  t.equal(await run('show version'), 'DMVPN appliance firmware\n', 'show version');
  for (const c of ['show ip nhrp', 'show running-config', 'configure terminal', 'show dmvpn', 'write memory', 'reload']) {
    t.match(await run(c), /^% Not available while the box enrolls with its hub \(no startup-config yet\): `show dmvpn enrollment` says why/, `${c}: not there yet, and what to do`);
  }
  t.match(await run('dmvpn enrollment bogus'), /\^\n% Invalid input detected at '\^' marker\.\n$/, 'a typo in dmvpn enrollment: the caret');
  t.match(await run('dmvpn enrollment'), /% Incomplete command\./);
  t.match(await run('dmvpn enrollment ?'), /^  retry +Ask the hub again now\n  stop +Stop enrolling/m, 'help');
  t.match(await run('show ?'), /dmvpn[\s\S]*logging[\s\S]*version/, 'show ?');
  const s = h.openSession(true);
  t.equal(s.prompt, 'Router#', 'a session: the exec prompt');
  t.match(await s.feed('configure terminal'), /^% Not available while the box enrolls/, 'configure terminal refused in a session too');
  t.equal(s.prompt, 'Router#', 'still exec (the console leaves its configuration mode)');
  t.equal(s.complete('dmvpn enr'), 'dmvpn enrollment ', 'Tab');
  const user = h.openSession(false);
  t.equal(user.prompt, 'Router>', 'user exec prompt');
  t.equal(await user.feed('dmvpn enrollment stop'), '% This command needs privileged exec (enable)\n', 'user exec: no actions');
  t.match(await user.feed('show dmvpn enrollment'), /^Zero-touch enrollment: /, 'user exec: show');
  t.notOk(p.signal.aborted, 'not stopped by user exec');
  t.equal(await run('dmvpn enrollment retry'), '% trying again now (attempt 2)\n', 'retry through the socket');
  await waited;
  t.match(await s.feed('dmvpn enrollment stop'), /^% enrollment stopped/, 'stop through a session');
  t.ok(p.signal.aborted);
  await s.feed('exit');
  t.ok(s.closed, 'exit ends the session');
});
