// Seed 004 verbatim: its four routers' configurations (test/lab/configs/seed004, prompts and all) run
// as real appliance processes in namespaces wired as in the seed (seed004-topology.sh). R2 is a plain
// router (no tunnel) forwarding the underlay; R1 is the Phase 1 hub, R3/R4 point-to-point spokes.
// Checked against the seed's own output: `show ip nhrp` fields and the traceroutes through the hub.
// Also: a tunnel whose source address is missing stays down and comes up when it appears, and a
// config whose apply fails part-way is rolled back (addresses, sysctls, routes, the tunnel).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, ROOT, sh, nsExec, waitFor, uniquePrefix } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'traceroute']);

// the seed's exec commands and their output, verbatim (from ../shared/seeds/004_d026c4fa9276f30e.txt)
const SEED = path.join(ROOT, 'test/fixtures/cli/seed004-show.txt');
const CFG = path.join(ROOT, 'test/lab/configs/seed004');
const cfg = (name: string) => fs.readFileSync(path.join(CFG, `${name}.cfg`), 'utf8');
const lab = new Lab(uniquePrefix('s4'), 0);
t.teardown(() => lab.down());

/** The block of output after `R1#show ip nhrp` (any case) in the seed, up to the next prompt. */
function seedOutput(router: string, command: RegExp): string[] {
  const lines = fs.readFileSync(SEED, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${router}#`) && command.test(l.slice(router.length + 1)));
  if (at < 0) throw new Error(`seed has no ${command} for ${router}`);
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) { if (/^R\d[#(]/.test(l) || l.startsWith('http')) break; out.push(l); }
  return out;
}

/** show ip nhrp as records, timers left out (they differ by nature). */
function nhrpRecords(lines: string[]) {
  const recs: Array<Record<string, string>> = [];
  for (const raw of lines.map((l) => l.trim()).filter(Boolean)) {
    let m;
    if ((m = /^(\S+) via (\S+)$/.exec(raw))) recs.push({ prefix: m[1], via: m[2] });
    else if ((m = /^(\S+) created \S+, (never expire|expire \S+)$/.exec(raw))) Object.assign(recs.at(-1)!, { iface: m[1], expire: m[2].startsWith('never') ? 'never' : 'timer' });
    else if ((m = /^Type: (\S+), Flags:(.*)$/.exec(raw))) Object.assign(recs.at(-1)!, { type: m[1], flags: m[2].trim() });
    else if ((m = /^NBMA address: (\S+)$/.exec(raw))) recs.at(-1)!.nbma = m[1];
  }
  return recs;
}

/** Hop addresses of the seed's `traceroute` ("1 192.168.1.1 12 msec 48 msec 40 msec"). */
const seedHops = (router: string, to: string) =>
  seedOutput(router, new RegExp(`^traceroute ${to.replace(/\./g, '\\.')}$`)).map((l) => /^\s*\d+ (\S+) /.exec(l)?.[1]).filter((x): x is string => !!x);

/**
 * Hop addresses of `traceroute -n`: the first address that answered at each hop. One probe at a time,
 * three per hop: the kernel rate-limits ICMP errors per destination (a burst of 6, then one a second),
 * and traceroute's default of 16 probes in flight at once spends that burst on the first hop.
 */
function traceroute(ns: string, to: string): string[] {
  const r = nsExec(ns, ['traceroute', '-n', '-N', '1', '-q', '3', '-w', '3', '-m', '5', to], { allowFail: true });
  return r.stdout.split('\n').slice(1).map((l) => /^\s*\d+\s+(.*)$/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .map((probes) => /(\d+\.\d+\.\d+\.\d+)/.exec(probes)?.[1] ?? '*');
}

const peers = (r: string) => { try { return lab.ctlJson(r, 'show dmvpn').interfaces[0]?.peers ?? []; } catch { return []; } };
const exited = (r: string) => new Promise<number | null>((res) => {
  const p = lab.routers.get(r)!.proc!;
  if (p.exitCode !== null) res(p.exitCode); else p.once('exit', (c) => res(c));
});
const addrs = (ns: string, dev: string) => (JSON.parse(nsExec(ns, ['ip', '-j', '-4', 'addr', 'show', 'dev', dev]).stdout)[0]?.addr_info ?? []).map((a: any) => `${a.local}/${a.prefixlen}`);
const sysctl = (ns: string, key: string) => nsExec(ns, ['sysctl', '-n', key]).stdout.trim();

t.before(() => { sh('bash', [path.join(ROOT, 'test/lab/seed004-topology.sh'), 'up', lab.prefix]); });

t.test('apply failure part-way rolls back everything and names the line (real process)', async (t) => {
  const r1 = lab.ns('R1');
  nsExec(r1, ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'se4-0']);
  nsExec(r1, ['sysctl', '-qw', 'net.ipv4.ip_forward=0']);
  // the kernel refuses a route (test fault, as it would refuse e.g. a full table): placed before R1's
  // default route, after a good one
  const text = cfg('R1').replace('R1(config)#ip route 0.0.0.0', 'ip route 60.0.0.0 255.0.0.0 serial 4/0\nip route 50.0.0.0 255.0.0.0 99.1.1.1\nR1(config)#ip route 0.0.0.0');
  process.env.DMVPN_TEST_REFUSE_ROUTE = '50.0.0.0/8';
  try {
    lab.start('R1', lab.writeConfig('R1', text));
    t.equal(await exited('R1'), 1, 'dmvpnd exits non-zero');
  } finally { delete process.env.DMVPN_TEST_REFUSE_ROUTE; }
  const log = lab.routers.get('R1')!.log.join('\n');
  const line = text.split('\n').findIndex((l) => l.startsWith('ip route 50.0.0.0')) + 1;
  t.match(log, new RegExp(`config apply failed, rolled back .*\\n.*R1\\.cfg:${line}: "ip route 50\\.0\\.0\\.0 255\\.0\\.0\\.0 99\\.1\\.1\\.1": .*refused`), 'names the line and the error');
  t.same(addrs(r1, 'se4-0'), ['192.0.2.1/24'], 'Serial4/0 has its address from before again');
  t.same(addrs(r1, 'fa0-0'), [], 'FastEthernet0/0 has no address again');
  t.equal(sysctl(r1, 'net.ipv4.conf.se4-0.proxy_arp'), '0', 'proxy_arp back');
  t.equal(sysctl(r1, 'net.ipv4.ip_forward'), '0', 'ip_forward back');
  t.equal(nsExec(r1, ['ip', 'route', 'show', '60.0.0.0/8']).stdout.trim(), '', 'the route applied before the failure is gone');

  // a failure after the tunnel came up: the tunnel goes too (test fault: the route is refused as the kernel would)
  process.env.DMVPN_TEST_REFUSE_ROUTE = '172.20.0.0/16';
  try {
    lab.start('R1', lab.writeConfig('R1', `${cfg('R1')}ip route 172.20.0.0 255.255.0.0 Tunnel999\n`));
    t.equal(await exited('R1'), 1);
  } finally { delete process.env.DMVPN_TEST_REFUSE_ROUTE; }
  t.match(lab.routers.get('R1')!.log.join('\n'), /rolled back \(\d+ changes undone\)[^]*"ip route 172\.20\.0\.0 255\.255\.0\.0 Tunnel999"/);
  t.equal(nsExec(r1, ['ip', 'link', 'show', 'Tunnel999'], { allowFail: true }).status !== 0, true, 'the tunnel interface is gone');
  t.same(addrs(r1, 'se4-0'), ['192.0.2.1/24']);
  nsExec(r1, ['ip', 'addr', 'flush', 'dev', 'se4-0']);
});

t.test('a static route whose next hop is not reachable yet is kept inactive, then installed (as IOS)', async (t) => {
  const r1 = lab.ns('R1');
  // before R1's default route (`ip route 0.0.0.0 0.0.0.0 serial 4/0`), 99.1.1.1 is on no connected network
  const text = cfg('R1').replace('R1(config)#ip route 0.0.0.0', 'ip route 50.0.0.0 255.0.0.0 99.1.1.1\nR1(config)#ip route 0.0.0.0');
  lab.start('R1', lab.writeConfig('R1', text));
  const log = () => lab.routers.get('R1')!.log.join('\n');
  t.ok(await waitFor(() => /CONFIG_I/.test(log()), 20000), 'the config is applied, not refused');
  t.match(log(), /IPRT-4-INACTIVE: ip route 50\.0\.0\.0\/8 via 99\.1\.1\.1: next hop not reachable/, 'the route is logged as inactive');
  t.equal(lab.routers.get('R1')!.proc!.exitCode, null, 'dmvpnd keeps running');
  t.ok(await waitFor(() => nsExec(r1, ['ip', 'route', 'show', '50.0.0.0/8']).stdout.includes('via 99.1.1.1'), 20000),
    'installed once the default route makes the next hop reachable');
  // the log line comes through the daemon's stderr pipe: it may trail the kernel's table
  t.ok(await waitFor(() => /IPRT-5-ACTIVE: ip route 50\.0\.0\.0\/8 via 99\.1\.1\.1: next hop reachable, route installed/.test(log()), 10000),
    'logged as installed');
  await lab.stop('R1');
  nsExec(r1, ['ip', 'route', 'del', '50.0.0.0/8'], { allowFail: true });
  nsExec(r1, ['ip', 'addr', 'flush', 'dev', 'fa0-0']);
  nsExec(r1, ['ip', 'addr', 'flush', 'dev', 'se4-0']);
});

t.test('R2 (no tunnel, Serial4/0 and FastEthernet0/0) forwards the underlay with interface routes', async (t) => {
  for (const r of ['R2', 'R3', 'R4']) lab.start(r, path.join(CFG, `${r}.cfg`));
  lab.start('R1', path.join(CFG, 'R1-as-transcribed.cfg'));
  const ok = await waitFor(() => peers('R3').length > 0 && peers('R4').length > 0, 20000);
  t.ok(ok, 'spokes running');
  t.ok(lab.ping(lab.ns('h3'), '40.1.1.10'), 'host behind R3 reaches host behind R4 through R2 (proxy ARP both ways)');
  t.ok(lab.ping(lab.ns('h3'), '20.1.1.10'), 'and R2\'s own LAN');
  const routes = nsExec(lab.ns('R2'), ['ip', 'route']).stdout;
  t.match(routes, /10\.0\.0\.0\/8 dev se4-0/);
  t.match(routes, /40\.0\.0\.0\/8 dev se4-2/);
});

t.test('R1 as transcribed: tunnel source 1.1.1.1 on no interface -> tunnel down, daemon alive; up when it appears', async (t) => {
  t.equal(lab.routers.get('R1')!.proc!.exitCode, null, 'dmvpnd still running');
  t.same(addrs(lab.ns('R1'), 'se4-0'), ['10.1.1.1/8'], 'the second ip address replaced the first');
  const log = () => lab.routers.get('R1')!.log.join('\n');
  t.ok(await waitFor(() => /Tunnel999: tunnel source 1\.1\.1\.1 is not on any interface; the tunnel stays down/.test(log()), 5000), 'logged');
  t.match(lab.ctl('R1', 'show dmvpn detail'), /Interface Tunnel999 is up\/down/);
  t.match(lab.ctl('R1', 'show ip interface brief'), /Tunnel999\s+192\.168\.1\.1\s+YES manual up\s+down/);
  nsExec(lab.ns('R1'), ['ip', 'addr', 'add', '1.1.1.1/8', 'dev', 'se4-0']);
  t.ok(await waitFor(() => /Tunnel999: tunnel source 1\.1\.1\.1 is present: tunnel up/.test(log()), 10000), 'tunnel comes up');
  t.match(lab.ctl('R1', 'show dmvpn detail'), /Interface Tunnel999 is up\/up/);
  t.same(traceroute(lab.ns('R3'), '192.168.1.1'), ['192.168.1.1'], 'R3 reaches the hub');
  // the source address goes away: the tunnel goes down (not the daemon), and comes back with it
  const downs = () => (log().match(/tunnel source 1\.1\.1\.1 is not on any interface/g) ?? []).length;
  const ups = () => (log().match(/tunnel source 1\.1\.1\.1 is present: tunnel up/g) ?? []).length;
  nsExec(lab.ns('R1'), ['ip', 'addr', 'del', '1.1.1.1/8', 'dev', 'se4-0']);
  t.ok(await waitFor(() => downs() === 2, 10000), 'down again when the address goes');
  t.match(lab.ctl('R1', 'show dmvpn detail'), /Interface Tunnel999 is up\/down/);
  t.equal(lab.routers.get('R1')!.proc!.exitCode, null, 'dmvpnd still running');
  nsExec(lab.ns('R1'), ['ip', 'addr', 'add', '1.1.1.1/8', 'dev', 'se4-0']);
  t.ok(await waitFor(() => ups() === 2, 10000), 'up again');
  t.ok(await waitFor(() => traceroute(lab.ns('R4'), '192.168.1.1').join() === '192.168.1.1', 10000), 'R4 reaches the hub again');
  await lab.stop('R1');
});

t.test('seed 004 R1 verbatim: show ip nhrp and the traceroutes read as the seed\'s', async (t) => {
  lab.start('R1', path.join(CFG, 'R1.cfg'));
  t.ok(await waitFor(() => peers('R1').length === 2, 15000), 'hub up');
  // every traceroute of the seed, hop for hop: spoke to spoke goes through the hub (first hop 192.168.1.1)
  const traces: Array<[string, string]> = [['R4', '192.168.1.1'], ['R4', '192.168.1.2'], ['R3', '192.168.1.1'], ['R3', '192.168.1.3'],
    ['R1', '192.168.1.2'], ['R1', '192.168.1.3']];
  t.same(seedHops('R4', '192.168.1.2'), ['192.168.1.1', '192.168.1.2'], 'seed traceroutes parsed');
  for (const [r, to] of traces) t.same(traceroute(lab.ns(r), to), seedHops(r, to), `${r} traceroute ${to} as in the seed`);
  // the hub's entries are "used" once traffic went through them (usage is polled every few seconds)
  const want = { R1: nhrpRecords(seedOutput('R1', /^show ip nhrp$/i)), R3: nhrpRecords(seedOutput('R3', /^show ip nhrp$/i)), R4: nhrpRecords(seedOutput('R4', /^show ip nhrp$/i)) };
  t.equal(want.R1.length, 2, 'seed parsed');
  await waitFor(() => JSON.stringify(nhrpRecords(lab.ctl('R1', 'show ip nhrp').split('\n'))) === JSON.stringify(want.R1), 15000);
  for (const r of ['R1', 'R3', 'R4'] as const) t.same(nhrpRecords(lab.ctl(r, 'show ip nhrp').split('\n')), want[r], `${r} show ip nhrp matches the seed`);
  // show dmvpn in the 12.4T layout: the hub and its two static Phase 1 spokes; the p2p spokes are Spokes
  const hub = lab.ctl('R1', 'show dmvpn');
  t.match(hub, /\nTunnel999, Type:Hub, NHRP Peers:2, \n # Ent  Peer NBMA Addr Peer Tunnel Add State  UpDn Tm Attrb\n ----- --------------- --------------- ----- -------- -----\n     1         3\.3\.3\.2     192\.168\.1\.2    UP [ 0-9:dhwy]{8} S\n     1         4\.4\.4\.2     192\.168\.1\.3    UP [ 0-9:dhwy]{8} S\n$/);
  t.match(lab.ctl('R4', 'show dmvpn'), /\nTunnel999, Type:Spoke, NHRP Peers:1, \n[^]*\n     1         1\.1\.1\.1     192\.168\.1\.1    UP [ 0-9:dhwy]{8} S\n$/);
  t.match(lab.ctl('R4', 'show dmvpn detail'), /Tunnel Src\.\/Dest\. addr: 4\.4\.4\.2\/1\.1\.1\.1, Tunnel VRF ""\n   Protocol\/Transport: "GRE\/IP", Protect ""/);
  t.match(lab.ctl('R1', 'show dmvpn detail'), /Tunnel Src\.\/Dest\. addr: 1\.1\.1\.1\/MGRE/);
  // show ip interface brief: the seed's rows (interface, address, OK, method, status, protocol)
  for (const r of ['R1', 'R2', 'R3', 'R4']) {
    const rows = (lines: string[]) => lines.map((l) => l.trim().split(/\s+/).join(' ')).filter((l) => l && !l.startsWith('Interface') && !l.startsWith('Tunnel'));
    t.same(rows(lab.ctl(r, 'show ip interface brief').split('\n')), rows(seedOutput(r, /^show ip interface brief$/i)), `${r} show ip interface brief matches the seed`);
  }
  // show ip route static: the seed's lines (its web copy collapsed the spacing). R2's static routes to
  // its own connected networks (1/8, 3/8, 4/8) are shadowed by them, as on IOS.
  for (const r of ['R1', 'R2', 'R3', 'R4']) {
    const norm = (lines: string[]) => lines.map((l) => l.trim().split(/\s+/).join(' ')).filter((l) => l);
    const want = norm(seedOutput(r, /^show ip route static$/i));
    t.ok(want.length >= 2, `${r}: seed show ip route static parsed`);
    t.same(norm(lab.ctl(r, 'show ip route static').split('\n')), want, `${r} show ip route static matches the seed`);
  }
  // show interfaces: live counters of the OS interfaces (the traceroutes above crossed R2's serials)
  const se = lab.ctl('R2', 'show interfaces serial4/0');
  t.match(se, /^Serial4\/0 is up, line protocol is up \n  Hardware is Ethernet, address is [0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4} /, 'R2 show interfaces Serial4/0: status and hardware');
  t.match(se, /\n  Internet address is 1\.1\.1\.2\/8\n/);
  t.ok(Number(/\n {5}(\d+) packets input/.exec(se)?.[1]) > 0 && Number(/\n {5}(\d+) packets output/.exec(se)?.[1]) > 0, 'packets counted both ways');
  t.match(lab.ctl('R1', 'show interfaces Tunnel999'), /^Tunnel999 is up, line protocol is up \n  Hardware is Tunnel\n  Internet address is 192\.168\.1\.1\/24\n[^]*\n  Tunnel source 1\.1\.1\.1, destination UNKNOWN\n  Tunnel protocol\/transport multi-GRE\/IP\n/);
  t.match(lab.ctl('R1', 'show interfaces Serial9/9'), /^% Interface Serial9\/9 is not configured/);
});
