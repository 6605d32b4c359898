// The hardware watchdog's feeder (appliance/entry/hardware-watchdog.ts): the timer is fed only while
// the supervisor's heartbeats arrive. First the decisions on a fake clock, then the real processes:
// dmvpnd's watchdog (dist/watchdog.mjs) with a plain file standing in for /dev/watchdog (each feed
// appends a byte, the magic close a 'V'), its supervisor in a namespace of its own, hung on purpose
// through the `test supervisor hang` hook (an endless loop on its event loop: not a crash).
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { HardwareWatchdogFeeder } from '../appliance/entry/hardware-watchdog.js';
import { ROOT, sh, sleep, waitFor } from './util/lab.js';
import { requireTools } from './util/needs.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oimg-hwd-'));
t.teardown(() => { if (t.passing()) fs.rmSync(dir, { recursive: true, force: true }); else t.comment(`evidence kept in ${dir}`); });

t.test('feeding decisions (fake clock, fake device)', async (t) => {
  let now = 1_000_000;
  const logged: string[] = [];
  const device = path.join(dir, 'unit-watchdog');
  const f = new HardwareWatchdogFeeder({ device, feedMs: 3_600_000, hungMs: 30_000, startGraceMs: 300_000, log: (m) => logged.push(m), now: () => now });
  t.ok(f.start(), 'the device opens');
  t.equal(fs.readFileSync(device).length, 1, 'fed once at once (the timer is armed by the open)');
  now += 299_000; f.tick();
  t.equal(f.state, 'starting', 'no heartbeat yet: starting');
  t.equal(fs.readFileSync(device).length, 2, 'fed within the start-up grace');
  f.heartbeat(); now += 29_000; f.tick();
  t.equal(f.state, 'running'); t.equal(fs.readFileSync(device).length, 3, 'fed: last heartbeat 29 s ago');
  f.supervisorGone(); now += 60_000; f.tick();
  t.equal(fs.readFileSync(device).length, 4, 'restarting after a crash (the watchdog is alive, waiting out its backoff): fed');
  f.supervisorStarted(); f.heartbeat(); now += 30_001; f.tick();
  t.equal(f.state, 'hung', 'no heartbeat for 30.001 s: hung');
  t.equal(fs.readFileSync(device).length, 4, 'not fed once hung');
  t.match(logged.join('\n'), /supervisor hung: no heartbeat for 30\.0 s \(limit 30 s\); hardware watchdog no longer fed/);
  f.heartbeat(); f.supervisorStarted(); now += 1; f.tick();
  t.equal(f.state, 'hung', 'a late heartbeat or a restart does not take the hang back (the reset is due)');
  t.equal(fs.readFileSync(device).length, 4, 'still not fed');
  t.equal(logged.filter((l) => /hung/.test(l)).length, 1, 'the hang is logged once');

  const g = new HardwareWatchdogFeeder({ device: path.join(dir, 'unit-grace'), feedMs: 3_600_000, hungMs: 30_000, startGraceMs: 300_000, log: (m) => logged.push(m), now: () => now });
  g.start(); now += 300_001; g.tick();
  t.equal(g.state, 'hung', 'a supervisor that never sends a heartbeat is hung once the start-up grace is over');
  t.match(logged.at(-1), /no heartbeat within 300 s of its start/);
  g.close();
  t.equal(fs.readFileSync(path.join(dir, 'unit-grace'), 'latin1'), '\0V', 'close: the magic V (disarm) after the one feed');
  f.close();

  const missing = new HardwareWatchdogFeeder({ device: path.join(dir, 'no-such-dir', 'watchdog'), feedMs: 1000, hungMs: 1000, startGraceMs: 1000, log: (m) => logged.push(m) });
  t.notOk(missing.start(), 'a device that cannot be opened: no feeding');
  t.match(logged.at(-1), /cannot be opened .*a hung supervisor will not reset the box/, 'and it says what that means');
});

requireTools(t, ['root', 'ip']);

interface Run { proc: ChildProcess; log: () => string; device: string; control: string; ns: string }

/** dist/watchdog.mjs (what bin/dmvpnd runs) in namespace `ns`, feeding the plain file `device`;
 *  `factory`: no config file, these dmvpnd arguments (--provision FILE) and environment instead. */
function startWatchdog(name: string, factory?: { args: string[]; env: Record<string, string> }): Run {
  const ns = `oimg-hwd-${name}-${process.pid % 10000}`;
  sh('ip', ['netns', 'add', ns]);
  const cfg = path.join(dir, `${name}.cfg`); if (!factory) fs.writeFileSync(cfg, `hostname HW${name}\nend\n`);
  const device = path.join(dir, `${name}-watchdog`); fs.writeFileSync(device, '');
  const control = path.join(dir, `${name}.sock`);
  let out = '';
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, path.join(ROOT, 'dist/watchdog.mjs'), '--config', cfg, '--control', control, ...factory?.args ?? []], {
    stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    env: { ...process.env, DMVPN_TEST_HOOKS: '1', DMVPN_HARDWARE_WATCHDOG: device, DMVPN_WATCHDOG_FEED_MS: '200', DMVPN_HEARTBEAT_TIMEOUT_MS: '3000', DMVPN_STARTUP_GRACE_MS: '120000', ...factory?.env },
  });
  proc.stdout!.on('data', (d) => { out += d; }); proc.stderr!.on('data', (d) => { out += d; });
  return { proc, log: () => out, device, control, ns };
}

function stopRun(r: Run): void {
  try { process.kill(-r.proc.pid!, 'SIGKILL'); } catch { /* gone */ }
  sh('ip', ['netns', 'del', r.ns], { allowFail: true });
}

const ctl = (r: Run, cmd: string) =>
  sh('ip', ['netns', 'exec', r.ns, path.join(ROOT, 'bin/dmvpnctl'), '--control', r.control, ...cmd.split(' ')], { allowFail: true }).stdout;
const size = (r: Run) => fs.statSync(r.device).size;

t.test('a supervisor hung on purpose stops the feeding; the watchdog does not restart it', async (t) => {
  const r = startWatchdog('hang');
  t.teardown(() => stopRun(r));
  t.ok(await waitFor(() => /^DMVPN appliance firmware/.test(ctl(r, 'show version')), 120_000, 500), 'the supervisor answers');
  t.match(r.log(), /%SYS-3-WATCHDOG: hardware watchdog \S+ fed while the supervisor's heartbeats arrive \(limit 3 s\)/);
  const before = size(r);
  t.ok(await waitFor(() => size(r) >= before + 5, 60_000, 100), 'fed while heartbeats arrive');
  t.match(ctl(r, 'test supervisor hang'), /supervisor will hang/, 'the hook answers before the loop stops');
  t.ok(await waitFor(() => /supervisor hung: no heartbeat for/.test(r.log()), 120_000, 200), 'the watchdog declares the supervisor hung');
  const atHang = size(r);
  await sleep(3000); // 15 feed periods
  t.equal(size(r), atHang, 'no feed after the hang was declared (the hardware timer runs out: reset)');
  t.notOk(fs.readFileSync(r.device, 'latin1').includes('V'), 'no magic close: the timer stays armed');
  t.notMatch(r.log(), /%SYS-3-RESTART/, 'a hang is not a crash: nothing restarted');
  t.equal(r.proc.exitCode, null, 'the watchdog process itself runs on (its job is done by the timer)');
});

t.test('a crash is restarted and fed through; stopping on purpose disarms the timer', async (t) => {
  const r = startWatchdog('crash');
  t.teardown(() => stopRun(r));
  t.ok(await waitFor(() => /^DMVPN appliance firmware/.test(ctl(r, 'show version')), 120_000, 500), 'the supervisor answers');
  t.match(ctl(r, 'test supervisor crash'), /supervisor will throw/);
  t.ok(await waitFor(() => /restart 1 in \d+ ms/.test(r.log()), 60_000, 200), 'the crash is restarted');
  t.ok(await waitFor(() => /^DMVPN appliance firmware/.test(ctl(r, 'show version')), 120_000, 500), 'the restarted supervisor answers');
  const after = size(r);
  t.ok(await waitFor(() => size(r) >= after + 5, 60_000, 100), 'fed after the restart');
  t.notMatch(r.log(), /supervisor hung/, 'a crash and its restart are not a hang');
  const exited = new Promise<number | null>((res) => r.proc.once('exit', (code) => res(code)));
  process.kill(r.proc.pid!, 'SIGTERM'); // `ip netns exec` execs: this is the watchdog
  t.equal(await Promise.race([exited, sleep(30_000).then(() => -1)]), 0, 'SIGTERM: the watchdog exits 0');
  t.equal(fs.readFileSync(r.device, 'latin1').at(-1), 'V', 'the magic close: the driver disarms the timer');
});

t.test('a factory box waiting for its hub is not hung: it beats while it enrolls', async (t) => {
  // the hub cannot be reached (nothing listens in this namespace): dmvpnd retries for ever before its
  // appliance starts. Without heartbeats meanwhile the feeder would declare it hung once the start-up
  // grace (30 s here, 300 s on the image) ran out, and the box would reset while it waits for its hub.
  const prov = path.join(dir, 'factory.provision');
  fs.writeFileSync(prov, `hub 127.0.0.1 port 9\npin sha256//${Buffer.alloc(32, 7).toString('base64')}\ntoken SITE1 factory-token-0123456789\n`, { mode: 0o600 });
  const t0 = Date.now();
  const r = startWatchdog('factory', { args: ['--provision', prov], env: { DMVPN_STARTUP_GRACE_MS: '30000', DMVPN_ENROLL_RETRY_MS: '500', DMVPN_ENROLL_RETRY_CAP_MS: '2000' } });
  t.teardown(() => stopRun(r));
  t.ok(await waitFor(() => /%ENROLL-3-FAILED: .*\(attempt 2\); retrying/.test(r.log()), 60_000, 200), 'dmvpnd enrolls and retries (the hub unreachable)');
  await waitFor(() => Date.now() - t0 > 40_000 || /supervisor hung/.test(r.log()), 60_000, 500);
  t.notMatch(r.log(), /supervisor hung/, `still not hung ${((Date.now() - t0) / 1000).toFixed(0)} s after the start (grace 30 s)`);
  const before = size(r);
  t.ok(await waitFor(() => size(r) >= before + 5, 30_000, 100), 'and fed');
  t.notOk(fs.existsSync(path.join(dir, 'factory.cfg')), 'nothing saved');
});
