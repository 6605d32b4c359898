// Live configuration on real appliances in namespaces (seed-003 lab: hub R1, spokes R2..R4).
//  * The lab configs typed line by line into `configure terminal` on blank appliances (R2 through
//    `dmvpnctl -`, the others over a control-socket session) give the same show running-config and
//    the same running state (addresses, routes, sysctls, NHRP registrations) as loading them from
//    files, and the overlay carries traffic.
//  * Changes on running routers take effect on traffic without a restart: static routes, the NHS,
//    the tunnel address (the hub's NHRP table follows).
//  * A change that cannot be applied is refused with a message and leaves everything as it was.
import t, { type Test } from 'tap';
import { Lab, waitFor, nsExec } from './util/lab.js';
import { labConfig } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { peersOf, nhsOf } from './util/dmvpn.js';
import { typedLines, dmvpnctlSession, typeConfig, runningState } from './util/live-config.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { callControl } from '../appliance/supervisor/control.js';

requireTools(t, LAB_NEEDS);

const lab = new Lab(`ikdlv${process.pid % 10000}`, 3);
t.teardown(() => lab.down());
lab.up();

const ROUTERS = ['R1', 'R2', 'R3', 'R4'];
const IFACES = ['eth0', 'eth1', 'Tunnel0'];
const text = Object.fromEntries(ROUTERS.map((r) => [r, labConfig(r, { holdtime: 30 })]));
const host = (n: number) => lab.ns(`h${n}`);

async function answering(name: string): Promise<boolean> {
  const r = lab.routers.get(name)!;
  return waitFor(async () => { try { await callControl(r.control, 'show version', 2000); return true; } catch { return false; } }, 30000);
}
const allRegistered = () => waitFor(() => peersOf(lab, 'R1').filter((p) => p.state === 'UP').length === 3 &&
  ['R2', 'R3', 'R4'].every((s) => nhsOf(lab, s).some((n) => n.up)), 90000, 500);
const expectedRunning = (cfg: string) => {
  const r = parseStartupConfig(cfg);
  if (!r.ok) throw new Error('lab config does not load');
  return renderConfig(r.config);
};
const running = (name: string) => lab.ctl(name, 'show running-config').replace(/^[\s\S]*?Current configuration : \d+ bytes\n/, '');

/** Lines of one session through `dmvpnctl -` on `name`; fails the test on a refusal. */
function configure(t: Test, name: string, lines: string[]): string {
  const r = dmvpnctlSession(lab, name, ['configure terminal', ...lines, 'end']);
  t.equal(r.status, 0, `${name}: ${lines.join(' / ')} accepted`) || t.comment(r.out);
  return r.out;
}

const states: Record<string, Record<string, ReturnType<typeof runningState>>> = {};

t.test('lab configs typed into configure terminal on blank appliances', async (t) => {
  for (const r of ROUTERS) lab.start(r, lab.writeConfig(`${r}-blank`, '!\n'));
  for (const r of ROUTERS) t.ok(await answering(r), `${r} (blank) answers`);
  const viaDmvpnctl = dmvpnctlSession(lab, 'R2', ['configure terminal', ...typedLines(text.R2), 'end']);
  t.equal(viaDmvpnctl.status, 0, 'R2: every line accepted through dmvpnctl -') || t.comment(viaDmvpnctl.out);
  t.match(viaDmvpnctl.out, /Router\(config\)#hostname R2\nR2\(config\)#interface FastEthernet0\/0\n/, 'the transcript shows the prompts, hostname applied at once');
  for (const r of ['R1', 'R3', 'R4']) t.same(await typeConfig(lab.routers.get(r)!.control, typedLines(text[r])), [], `${r}: every line accepted`);
  for (const r of ROUTERS) t.equal(running(r), expectedRunning(text[r]), `${r}: show running-config as if loaded from the file`);
  t.ok(await allRegistered(), 'the spokes registered with the hub');
  states.typed = Object.fromEntries(ROUTERS.map((r) => [r, runningState(lab, r, IFACES)]));
  t.ok(await waitFor(() => lab.ping(host(2), '10.0.3.10'), 30000, 1000), 'h2 reaches h3 through the typed tunnels');
});

t.test('the same configs loaded from files give the same running state', async (t) => {
  for (const r of ROUTERS) await lab.stop(r);
  for (const r of ROUTERS) lab.start(r, lab.writeConfig(r, text[r]));
  for (const r of ROUTERS) t.ok(await answering(r), `${r} (from file) answers`);
  t.ok(await allRegistered(), 'the spokes registered with the hub');
  states.loaded = Object.fromEntries(ROUTERS.map((r) => [r, runningState(lab, r, IFACES)]));
  for (const r of ROUTERS) t.same(states.typed?.[r], states.loaded[r], `${r}: typed and loaded agree`);
  t.ok(await waitFor(() => lab.ping(host(2), '10.0.3.10'), 30000, 1000), 'h2 reaches h3');
});

t.test('static routes: no ip route takes the route out of the kernel and traffic stops; ip route brings both back', async (t) => {
  const routeTo10 = () => nsExec(lab.ns('R2'), ['ip', 'route', 'show', '10.0.0.0/8']).stdout.trim();
  t.match(routeTo10(), /dev Tunnel0/);
  configure(t, 'R2', ['no ip route 10.0.0.0 255.0.0.0 192.168.0.1']);
  t.equal(routeTo10(), '', 'the kernel route is gone');
  t.notMatch(running('R2'), /ip route 10\.0\.0\.0/, 'and the running config says so');
  t.notOk(lab.ping(host(2), '10.0.1.10', 2), 'h2 no longer reaches h1');
  configure(t, 'R2', ['ip route 10.0.0.0 255.0.0.0 192.168.0.1']);
  t.match(routeTo10(), /dev Tunnel0/, 'the route is back');
  t.ok(await waitFor(() => lab.ping(host(2), '10.0.1.10', 2), 20000, 500), 'h2 reaches h1 again');
});

t.test('NHRP attributes change in place: the hub keeps its registrations', async (t) => {
  const up = () => peersOf(lab, 'R1').filter((p) => p.state === 'UP').map((p) => p.tunnel).sort();
  const before = up();
  t.equal(before.length, 3, 'three spokes registered');
  configure(t, 'R1', ['interface Tunnel0', 'ip nhrp holdtime 45', 'no ip nhrp redirect']);
  t.same(up(), before, 'right after the change: the same registrations, nothing relearnt');
  t.match(running('R1'), / ip nhrp holdtime 45\n/);
  t.notMatch(running('R1'), /ip nhrp redirect/);
  configure(t, 'R1', ['interface Tunnel0', 'ip nhrp holdtime 30', 'ip nhrp redirect']);
  t.same(up(), before);
  t.ok(await waitFor(() => lab.ping(host(2), '10.0.3.10', 2), 20000, 500), 'h2 still reaches h3');
});

t.test('NHS: removing it stops registration, adding it back registers again', async (t) => {
  configure(t, 'R2', ['interface Tunnel0', 'no ip nhrp nhs 192.168.0.1']);
  t.same(nhsOf(lab, 'R2'), [], 'no NHS in show ip nhrp nhs');
  configure(t, 'R2', ['int tu0', 'ip nhrp nhs 192.168.0.1']);
  t.ok(await waitFor(() => nhsOf(lab, 'R2').some((n) => n.tunnelIp === '192.168.0.1' && n.up), 30000, 500), 'registered again');
});

t.test('tunnel address change: the hub learns the new address, routes follow, traffic flows', async (t) => {
  configure(t, 'R2', ['interface Tunnel0', 'ip address 192.168.0.12 255.255.255.0']);
  t.ok(await waitFor(() => peersOf(lab, 'R1').some((p) => p.tunnel === '192.168.0.12' && p.nbma === '172.16.25.2' && p.state === 'UP'), 30000, 500),
    'the hub has 192.168.0.12 registered from R2\'s NBMA');
  t.match(nsExec(lab.ns('R2'), ['ip', '-4', '-o', 'addr', 'show', 'dev', 'Tunnel0']).stdout, /192\.168\.0\.12\/24/, 'the TUN carries the new address');
  configure(t, 'R1', ['no ip route 10.0.2.0 255.255.255.0 192.168.0.2', 'ip route 10.0.2.0 255.255.255.0 192.168.0.12']);
  t.ok(await waitFor(() => lab.ping(host(1), '10.0.2.10', 2), 30000, 500), 'h1 reaches h2 through the new address');
});

t.test('interface Loopback0: created with its address, reachable through the tunnel, removed by no interface', async (t) => {
  const r2 = lab.ns('R2');
  configure(t, 'R2', ['interface Loopback0', 'ip address 10.2.255.1 255.255.255.255']);
  t.match(nsExec(r2, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'lo0']).stdout, /10\.2\.255\.1\/32/, 'lo0 exists with the address');
  configure(t, 'R1', ['ip route 10.2.255.1 255.255.255.255 192.168.0.12']);
  t.ok(await waitFor(() => lab.ping(host(1), '10.2.255.1', 2), 20000, 500), 'h1 reaches R2\'s Loopback0');
  t.match(lab.ctl('R2', 'show ip interface brief'), /Loopback0\s+10\.2\.255\.1\s+YES\s+\S+\s+up\s+up/);
  configure(t, 'R2', ['no interface Loopback0']);
  t.equal(nsExec(r2, ['ip', 'link', 'show', 'lo0'], { allowFail: true }).status !== 0, true, 'lo0 is gone');
  t.notMatch(running('R2'), /Loopback0/);
  t.notOk(lab.ping(host(1), '10.2.255.1', 2), 'and no longer answers');
  configure(t, 'R1', ['no ip route 10.2.255.1 255.255.255.255 192.168.0.12']);
});

t.test('shutdown / no shutdown and ip mtu on a running spoke', async (t) => {
  const r4 = lab.ns('R4');
  const link = (dev: string) => nsExec(r4, ['ip', '-o', 'link', 'show', 'dev', dev], { allowFail: true });
  const registered = () => peersOf(lab, 'R1').some((p) => p.tunnel === '192.168.0.4' && p.state === 'UP');
  configure(t, 'R4', ['interface Tunnel0', 'shutdown']);
  t.not(link('Tunnel0').status, 0, 'the tunnel device is gone');
  t.match(lab.ctl('R4', 'show ip interface brief'), /Tunnel0\s+192\.168\.0\.4\s+YES\s+\S+\s+administratively down\s+down/);
  t.notOk(lab.ping(host(4), '10.0.1.10', 2), 'h4 cut off');
  configure(t, 'R4', ['interface Tunnel0', 'no shutdown', 'ip mtu 1380']);
  t.match(link('Tunnel0').stdout, /mtu 1380/, 'back, with the new MTU');
  t.ok(await waitFor(registered, 30000, 500), 'registered with the hub again');
  t.ok(await waitFor(() => lab.ping(host(4), '10.0.1.10', 2), 20000, 500), 'h4 reaches h1 again');
  configure(t, 'R4', ['interface FastEthernet0/1', 'shutdown']);
  t.notMatch(link('eth1').stdout, /[<,]UP[,>]/, 'eth1 administratively down in the kernel');
  configure(t, 'R4', ['interface FastEthernet0/1', 'no shutdown']);
  t.match(link('eth1').stdout, /[<,]UP[,>]/, 'and up again');
});

t.test('a change that cannot be applied is refused and changes nothing', async (t) => {
  // NHRP entries come and go with traffic (resolutions, shortcuts): compared are the config, the
  // kernel and the NHS registration
  const steady = () => { const { dmvpn: _, ...rest } = runningState(lab, 'R2', IFACES); return rest; };
  const before = steady();
  let out = dmvpnctlSession(lab, 'R2', ['configure terminal', 'interface FastEthernet0/1', 'ip address 172.16.25.1 255.255.255.0', 'end']);
  t.equal(out.status, 1, 'refused');
  t.match(out.out, /% interface FastEthernet0\/1: 172\.16\.25\.0 overlaps with FastEthernet0\/0/, 'names the overlap');
  out = dmvpnctlSession(lab, 'R2', ['configure terminal', 'interface Tunnel0', 'tunnel source FastEthernet0/9', 'end']);
  t.equal(out.status, 1, 'refused');
  t.match(out.out, /% interface Tunnel0: tunnel source FastEthernet0\/9: no such interface/);
  out = dmvpnctlSession(lab, 'R2', ['configure terminal', 'interface Tunnel1', 'end']);
  t.match(out.out, /% only one tunnel interface per appliance is supported/);
  out = dmvpnctlSession(lab, 'R2', ['configure terminal', 'no interface FastEthernet0/1', 'end']);
  t.match(out.out, /% FastEthernet0\/1 is a physical interface: it cannot be removed/);
  t.same(steady(), before, 'config, addresses, links, routes, sysctls and the NHS as they were');
  t.ok(lab.ping(host(2), '10.0.1.10', 2), 'traffic still flows');
});

t.test('abbreviations, help and the caret over dmvpnctl', async (t) => {
  const r = dmvpnctlSession(lab, 'R3', ['conf t', 'int tu0', 'ip nhrp holdt banana', 'ip nhrp hold ?', 'do sh ip int br', 'ip nhrp holdtime 40', 'end']);
  t.equal(r.status, 1, 'one line was refused');
  // the caret sits under "banana": prompt "R3(config-if)#" (14) + "ip nhrp holdt " (14)
  t.match(r.out, `R3(config-if)#ip nhrp holdt banana\n${' '.repeat(28)}^\n% Invalid input detected at '^' marker.\n`);
  t.match(r.out, /<1-65535>\s+Number of seconds/, '? lists the parameter');
  t.match(r.out, /Tunnel0\s+192\.168\.0\.3\s+YES/, 'do show ip interface brief');
  t.match(running('R3'), / ip nhrp holdtime 40\n/, 'the good line applied');
  t.match(lab.ctl('R3', 'configure terminal'), /% Configuration mode needs a session/, 'one-shot dmvpnctl configure terminal says what to use')
});

t.test('a change that fails part-way in the kernel is undone: the tunnel stays as it was', async (t) => {
  // R3 restarted with a test fault: the kernel "refuses" 10.55.0.0/16 (system.ts DMVPN_TEST_REFUSE_ROUTE)
  await lab.stop('R3');
  process.env.DMVPN_TEST_REFUSE_ROUTE = '10.55.0.0/16';
  try { lab.start('R3', lab.writeConfig('R3', text.R3)); } finally { delete process.env.DMVPN_TEST_REFUSE_ROUTE; }
  t.ok(await answering('R3'), 'R3 answers');
  const registered = () => peersOf(lab, 'R1').some((p) => p.tunnel === '192.168.0.3' && p.state === 'UP');
  t.ok(await waitFor(registered, 30000, 500), 'R3 registered');
  const tunnelDevice = () => nsExec(lab.ns('R3'), ['ip', 'link', 'show', 'Tunnel0'], { allowFail: true }).status === 0;
  // with the tunnel shut down the overlay route is only config; bringing the tunnel up installs it
  configure(t, 'R3', ['interface Tunnel0', 'shutdown', 'exit', 'ip route 10.55.0.0 255.255.0.0 192.168.0.1']);
  t.notOk(tunnelDevice(), 'shut down: no tunnel device');
  const before = running('R3');
  const r = dmvpnctlSession(lab, 'R3', ['configure terminal', 'interface Tunnel0', 'no shutdown', 'end']);
  t.equal(r.status, 1, 'no shutdown refused');
  t.match(r.out, /% .*10\.55\.0\.0\/16: refused \(DMVPN_TEST_REFUSE_ROUTE test fault\); nothing changed/, 'the kernel\'s refusal, and that nothing changed');
  t.equal(running('R3'), before, 'the running config still has the tunnel shut down');
  t.notOk(tunnelDevice(), 'the tunnel started for the change is gone again');
  t.match(lab.ctl('R3', 'show ip interface brief'), /Tunnel0\s+\S+\s+YES\s+\S+\s+administratively down/);
  configure(t, 'R3', ['no ip route 10.55.0.0 255.255.0.0 192.168.0.1', 'interface Tunnel0', 'no shutdown']);
  t.ok(await waitFor(registered, 30000, 500), 'without the refused route the tunnel comes up and registers');
});
