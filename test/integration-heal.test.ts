// A data plane that heals itself, between real appliances in namespaces (hub R1, spokes R2, R3):
// the WASM worker traps (test hook `test dataplane crash`, enabled by DMVPN_TEST_HOOKS=1), the
// supervisor restarts it on the same shared memory, traffic resumes, NHRP registrations are untouched,
// the restart is counted; a crash loop backs off; with ESP, no (SPI, sequence) pair is ever reused.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { Lab, labConfig, waitFor, sleep, uniquePrefix } from './util/lab.js';
import { tsharkFields } from './util/tshark.js';
import { protect } from './util/esp-lab.js';
import { withSeedCrypto } from './util/seed003-crypto.js';
import { ikev2IosBlock } from './util/ikev2-ios.js';
import path from 'node:path';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'tshark', 'python3']);

process.env.DMVPN_TEST_HOOKS = '1'; // inherited by the daemons the lab starts

const registered = (lab: Lab, hub: string, n: number) => () => {
  try { return lab.ctlJson(hub, 'show dmvpn').interfaces[0].peers.filter((p: any) => p.state === 'UP').length === n; } catch { return false; }
};
const counters = (lab: Lab, r: string) => lab.ctlJson(r, 'show dataplane counters');
/** Absolute creation times (ms, +-1 s) of the hub's NHRP entries, by tunnel address. */
function createdAt(lab: Lab, r: string): Map<string, number> {
  const now = Date.now();
  return new Map(lab.ctlJson(r, 'show ip nhrp').map((e: any) => [e.prefix, now - e.createdSeconds * 1000]));
}
const logOf = (lab: Lab, r: string) => lab.routers.get(r)!.log.join('\n');
/** Waits (reading the daemon's stderr meanwhile) until its log matches; returns the log. */
const logged = async (lab: Lab, r: string, re: RegExp) => { await waitFor(() => re.test(logOf(lab, r)), 5000); return logOf(lab, r); };

t.test('worker trap on the hub and on a spoke: traffic resumes, registrations stay, restarts counted', async (t) => {
  const lab = new Lab(uniquePrefix('hl'), 2);
  t.teardown(() => lab.down());
  lab.up();
  for (const r of ['R1', 'R2', 'R3']) lab.start(r, lab.writeConfig(r, labConfig(r, { holdtime: 60, registrationTimeout: 5 })));
  t.ok(await waitFor(registered(lab, 'R1', 2), 20000), 'both spokes registered');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 5), 'h2 -> h3 before');
  await sleep(3000); // so an entry re-created after the crash would show a different creation time
  const before = createdAt(lab, 'R1');
  t.ok(before.has('192.168.0.2') && before.has('192.168.0.3'));

  for (const r of ['R1', 'R2']) {
    t.match(lab.ctl(r, 'test dataplane crash'), /told to trap/);
    t.ok(await waitFor(() => counters(lab, r).dataplaneRestarts === 1, 10000), `${r}: restart counted`);
  }
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.3.10', 2), 15000), 'h2 -> h3 after both workers trapped');
  t.ok(lab.ping(lab.ns('h3'), '10.0.2.10', 3), 'h3 -> h2');
  const after = createdAt(lab, 'R1');
  for (const ip of ['192.168.0.2', '192.168.0.3']) {
    t.ok(Math.abs(after.get(ip)! - before.get(ip)!) <= 1500, `hub still holds ${ip} from its original registration`);
  }
  t.ok(registered(lab, 'R1', 2)(), 'both spokes UP at the hub');
  for (const r of ['R1', 'R2']) {
    const c = counters(lab, r);
    t.equal(c.dataplaneRestarts, 1, `${r}: dataplaneRestarts 1`);
    t.equal(c.restartSlotSkipped, 1, `${r}: the trapping command was skipped, not replayed`);
    t.match(lab.ctl(r, 'show dataplane counters'), /dataplaneRestarts\s+1/);
    t.match(await logged(lab, r, /worker died/), /data-plane worker died \(RuntimeError: unreachable at worker\/commands\/applyCommand\+0x[0-9a-f]+.*processing ctlTx slot \d+ \(kind 32/,
      `${r}: the trap is logged with its module location and the slot`);
    t.match(await logged(lab, r, /worker restarted/), /data-plane worker restarted \(restart 1\)/);
  }
  t.equal(counters(lab, 'R3').dataplaneRestarts, 0, 'R3 untouched');

  // crash loop: R3's worker trapped four times in a row -> restarts back off (logged, counted)
  for (let i = 1; i <= 4; i++) {
    lab.ctl('R3', 'test dataplane crash');
    t.ok(await waitFor(() => counters(lab, 'R3').dataplaneRestarts === i, 20000), `R3 restart ${i}`);
  }
  const c3 = counters(lab, 'R3');
  t.ok(c3.dataplaneRestartBackoffs >= 1, `crash loop backed off (${c3.dataplaneRestartBackoffs})`);
  t.match(await logged(lab, 'R3', /crash loop/), /crash loop: \d+ deaths within 10 s of a start; next restart in \d+ ms/);
  t.ok(await waitFor(() => lab.ping(lab.ns('h3'), '10.0.2.10', 2), 15000), 'traffic resumes after the crash loop');
  t.ok(registered(lab, 'R1', 2)(), 'still both spokes UP');
});

t.test('without DMVPN_TEST_HOOKS the crash command does not exist', async (t) => {
  const lab = new Lab(uniquePrefix('hn'), 1);
  t.teardown(() => lab.down());
  lab.up();
  delete process.env.DMVPN_TEST_HOOKS;
  try {
    lab.start('R1', lab.writeConfig('R1', labConfig('R1')));
    t.ok(await waitFor(() => { try { return lab.ctlJson('R1', 'show dataplane counters').cmdApplied > 0; } catch { return false; } }, 20000));
    t.match(lab.ctl('R1', 'test dataplane crash'), /% Invalid input/, 'refused as an unknown command');
    await sleep(500);
    t.equal(counters(lab, 'R1').dataplaneRestarts, 0);
  } finally { process.env.DMVPN_TEST_HOOKS = '1'; }
});

t.test('ESP (manual SAs): the sender\'s worker traps during pings; no (SPI, sequence) pair repeats', async (t) => {
  const lab = new Lab(uniquePrefix('he'), 1);
  t.teardown(() => lab.down());
  lab.up();
  const K1 = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' + 'a1b2c3d4';
  const K2 = '1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100' + 'd4c3b2a1';
  const base = { holdtime: 60, registrationTimeout: 5 };
  lab.start('R1', lab.writeConfig('R1', protect(labConfig('R1', base), { peer: '172.16.25.2', inSpi: 0x1001, outSpi: 0x2002, inKey: K1, outKey: K2, transform: 'esp-gcm 256', persist: path.join(lab.dir, 'seq-R1') })));
  lab.start('R2', lab.writeConfig('R2', protect(labConfig('R2', base), { peer: '172.16.15.2', inSpi: 0x2002, outSpi: 0x1001, inKey: K2, outKey: K1, transform: 'esp-gcm 256', persist: path.join(lab.dir, 'seq-R2') })));
  t.ok(await waitFor(registered(lab, 'R1', 1), 20000), 'R2 registered through ESP');
  const ping = spawn('ip', ['netns', 'exec', lab.ns('h2'), 'ping', '-c', '60', '-i', '0.05', '-W', '1', '10.0.1.10'], { stdio: 'ignore' });
  const pinged = new Promise<number>((r) => ping.once('exit', (code) => r(code ?? -1)));
  for (let i = 1; i <= 2; i++) {
    await sleep(800);
    lab.ctl('R2', 'test dataplane crash');
    t.ok(await waitFor(() => counters(lab, 'R2').dataplaneRestarts === i, 10000), `R2 worker restart ${i}`);
  }
  await pinged;
  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'traffic flows after the restarts');
  await sleep(500);
  const esp = tsharkFields(lab.routers.get('R2')!.pcap, 'esp', ['esp.spi', 'esp.sequence']);
  const pairs = esp.map((p) => `${p['esp.spi']}/${p['esp.sequence']}`);
  const dup = pairs.filter((p, i) => pairs.indexOf(p) !== i);
  t.ok(pairs.length >= 40, `ESP packets captured (${pairs.length})`);
  t.same(dup, [], 'no (SPI, sequence) pair occurs twice');
  const out = lab.ctlJson('R2', 'show crypto ipsec sa').find((s: any) => s.dir === 'out');
  t.ok(out.seq >= 40, `outbound sequence kept counting (${out.seq})`);
  t.equal(lab.ctlJson('R1', 'show crypto ipsec sa').find((s: any) => s.dir === 'in').drops.replay, 0, 'the hub saw no replay');
});

/** The supervisor process under R's watchdog (bin/dmvpnd execs the watchdog: same pid as the lab's). */
function supervisorPid(lab: Lab, r: string): number | undefined {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(lab.routers.get(r)!.proc!.pid)], { encoding: 'utf8' }).stdout.trim();
  return out ? Number(out.split('\n')[0]) : undefined;
}
const hubLists = (lab: Lab, ip: string) => () => { try { return lab.ctlJson('R1', 'show ip nhrp').some((e: any) => e.prefix === ip); } catch { return false; } };
const nhsUp = (lab: Lab, r: string) => () => { try { return lab.ctlJson(r, 'show ip nhrp nhs').some((s: any) => s.up); } catch { return false; } };

t.test('supervisor crash (uncaught exception, SIGSEGV): the watchdog restarts it and the spoke re-registers', async (t) => {
  const lab = new Lab(uniquePrefix('hw'), 1);
  t.teardown(() => lab.down());
  lab.up();
  for (const r of ['R1', 'R2']) lab.start(r, lab.writeConfig(r, labConfig(r, { holdtime: 60, registrationTimeout: 5 })));
  t.ok(await waitFor(registered(lab, 'R1', 1), 20000), 'R2 registered');
  const crashes: Array<[string, () => void, RegExp]> = [
    ['uncaught exception', () => lab.ctl('R2', 'test supervisor crash'), /%SYS-3-BUG: uncaught exception: Error: test supervisor crash[^]*?exiting \(code 70\)/],
    ['SIGSEGV', () => process.kill(supervisorPid(lab, 'R2')!, 'SIGSEGV'), /killed by SIGSEGV/],
  ];
  let n = 0;
  for (const [what, crash, logRe] of crashes) {
    n++;
    const pid = supervisorPid(lab, 'R2');
    t.ok(pid, `${what}: supervisor pid ${pid}`);
    crash();
    t.ok(await waitFor(() => { const p = supervisorPid(lab, 'R2'); return p !== undefined && p !== pid; }, 15000), `${what}: a new supervisor runs`);
    // the hub forgets R2 while it is down; only R2 itself can put it back (re-registration)
    lab.ctl('R1', 'clear ip nhrp');
    t.ok(await waitFor(hubLists(lab, '192.168.0.2'), 30000), `${what}: the hub lists R2 again (re-registered, no operator)`);
    t.ok(await waitFor(nhsUp(lab, 'R2'), 20000), `${what}: R2's NHS is up in the new supervisor`);
    t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 2), 20000), `${what}: h2 -> h1 again`);
    const log = await logged(lab, 'R2', new RegExp(`restart ${n}\\b.*`));
    t.match(log, logRe, `${what}: logged`);
    t.match(log, new RegExp(`dmvpnd-watchdog: .*restart ${n} in \\d+ ms`), `${what}: the watchdog counted restart ${n}`);
    t.match(await logged(lab, 'R2', new RegExp(`supervisor restarted by its watchdog \\(restart ${n}`)), new RegExp(`supervisor restarted by its watchdog \\(restart ${n}`));
  }
  t.match(lab.ctl('R2', 'show version'), /restarted 2 times by its watchdog/);
  // SIGTERM stops for good: the watchdog exits 0 and nothing is restarted
  const proc = lab.routers.get('R2')!.proc!;
  await lab.stop('R2');
  t.equal(proc.exitCode, 0, 'watchdog exited 0 on SIGTERM');
  await sleep(1500);
  t.equal(spawnSync('ip', ['netns', 'pids', lab.ns('r2')], { encoding: 'utf8' }).stdout.trim(), '', 'no supervisor left running in R2');
});

/** seed 003's crypto block, and its IKEv2 form (an ikev2 profile named by the ipsec profile, as IOS) */
const IKE_VARIANTS: Array<[string, (cfg: string) => string]> = [
  ['IKEv1, seed 003 crypto', (cfg) => withSeedCrypto(cfg)],
  ['IKEv2', (cfg) => cfg.replace(/\nend\n?$/, `\n${ikev2IosBlock()}!\ninterface Tunnel0\n tunnel protection ipsec profile MyProfile\nend\n`)],
];
for (const [variant, withCrypto] of IKE_VARIANTS) t.test(`the hub's supervisor killed under ${variant}, no DPD: the spokes notice the silent NHS and negotiate afresh`, async (t) => {
  const lab = new Lab(uniquePrefix('hk'), 2);
  t.teardown(() => lab.down());
  lab.up();
  for (const r of ['R1', 'R2', 'R3']) lab.start(r, lab.writeConfig(r, withCrypto(labConfig(r, { holdtime: 60, registrationTimeout: 5 }))));
  t.ok(await waitFor(registered(lab, 'R1', 2), 60000), 'both spokes registered through ESP');
  const espIn = () => Number(/#pkts decaps: (\d+)/.exec(lab.ctl('R1', 'show crypto ipsec sa'))?.[1] ?? 0);
  const pid = supervisorPid(lab, 'R1');
  t.ok(pid, `hub supervisor pid ${pid}`);
  const killedAt = Date.now();
  process.kill(pid!, 'SIGKILL');
  t.ok(await waitFor(() => { const p = supervisorPid(lab, 'R1'); return p !== undefined && p !== pid; }, 15000), 'a new hub supervisor runs (no SA, no NHRP entry)');
  // the spokes' SAs with the hub are stale now: what they send in them is dropped there as an unknown SPI
  const back = await waitFor(registered(lab, 'R1', 2), 90000);
  t.ok(back, `both spokes UP at the hub again, no operator (${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill)`);
  if (process.env.HEAL_DEBUG) t.comment([...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-60).join('\n')}`).join('\n'));
  if (!back) t.comment([...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-30).join('\n')}`).join('\n'));
  for (const r of ['R2', 'R3']) {
    const log = () => lab.routers.get(r)!.log.join('\n');
    // (the daemon's output is read as it comes: wait for the lines rather than race them)
    t.ok(await waitFor(() => /NHRP: NHS 192\.168\.0\.1 \(NBMA 172\.16\.15\.2\) down \(3 registration requests unanswered\)/.test(log()), 10000), `${r}: the NHS declared down, unanswered`);
    t.ok(await waitFor(() => /ISAKMP: NHS 172\.16\.15\.2 stopped answering registrations: its \d+ SAs cleared, negotiated afresh/.test(log()), 10000), `${r}: its SAs cleared and negotiated afresh`);
    t.ok((lab.ctlJson(r, 'show crypto isakmp statistics').nhsSilentCleared ?? 0) >= 1, `${r}: counted (nhsSilentCleared, show crypto isakmp statistics)`);
  }
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 2), 30000), 'h2 -> h1 through the hub again');
  t.ok(espIn() > 0, 'through ESP (the new hub supervisor decapsulates)');
});

t.test('a flood of non-ESP datagrams on UDP 4500 while spokes re-register: all stay UP, JS gets at most the limit', async (t) => {
  const lab = new Lab(uniquePrefix('hf'), 2);
  t.teardown(() => lab.down());
  lab.up();
  const key = (n: number) => n.toString(16).padStart(2, '0').repeat(32) + 'a1b2c3d4';
  const sa = (peer: string, inSpi: number, outSpi: number, inKey: string, outKey: string) =>
    ({ peer, inSpi, outSpi, inKey, outKey, transform: 'esp-gcm 256', udp: true, persist: path.join(lab.dir, `seq-${inSpi.toString(16)}`) });
  const base = { holdtime: 60, registrationTimeout: 5 };
  lab.start('R1', lab.writeConfig('R1', protect(labConfig('R1', base), [
    sa('172.16.25.2', 0x2101, 0x1201, key(1), key(2)), sa('172.16.35.2', 0x3101, 0x1301, key(3), key(4))])));
  lab.start('R2', lab.writeConfig('R2', protect(labConfig('R2', base), sa('172.16.15.2', 0x1201, 0x2101, key(2), key(1)))));
  lab.start('R3', lab.writeConfig('R3', protect(labConfig('R3', base), sa('172.16.15.2', 0x1301, 0x3101, key(4), key(3)))));
  t.ok(await waitFor(registered(lab, 'R1', 2), 30000), 'both spokes registered through ESP in UDP');
  const before = counters(lab, 'R1');
  // 12000 IKE-marked datagrams from the Internet namespace (no peer) to the hub, ~6 s, bounded
  const FLOOD = 12000;
  const t0 = Date.now();
  const flood = spawn('ip', ['netns', 'exec', lab.ns('inet'), 'timeout', '30', 'python3', '-c', `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(${FLOOD}):
    s.sendto(b'\\0\\0\\0\\0' + bytes(28) + b'flood-%05d' % i, ('172.16.15.2', 4500))
    if i % 20 == 19: time.sleep(0.01)
`], { stdio: 'ignore' });
  const flooded = new Promise<void>((r) => flood.once('exit', () => r()));
  await sleep(1000);
  lab.ctl('R1', 'clear ip nhrp'); // the spokes must register again, through the flood
  t.ok(await waitFor(registered(lab, 'R1', 2), 20000), 'both spokes re-registered during the flood');
  await flooded;
  const elapsed = (Date.now() - t0) / 1000;
  await sleep(500);
  const c = counters(lab, 'R1');
  const passed = c.udpControlPassed - before.udpControlPassed, dropped = c.udpControlDropped - before.udpControlDropped;
  const ikeToJs = c.ikeIn - before.ikeIn;
  t.comment(`flood ${FLOOD} in ${elapsed.toFixed(1)} s: ${passed} admitted, ${dropped} dropped in the pump, ${ikeToJs} handed to JS`);
  const limit = 300 + Math.ceil(300 * elapsed) + 1; // burst + rate x time (UDP_CONTROL_BURST / _RATE)
  t.ok(passed <= limit, `admitted ${passed} <= ${limit}`);
  t.ok(ikeToJs <= passed, `handed to JS (${ikeToJs}) <= admitted`);
  t.ok(dropped >= FLOOD / 2, `most of the flood dropped in the pump (${dropped})`);
  t.match(lab.ctl('R1', 'show dataplane counters'), /udpControlDropped\s+\d+/);
  t.ok(registered(lab, 'R1', 2)(), 'both spokes UP after the flood');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 3), 'spoke-to-spoke traffic flows');
});
