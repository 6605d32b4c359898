// EIGRP over the DMVPN in seed 003's addressing, run by our own speaker in the supervisor: hellos to
// 224.0.0.10 leave on the tunnel's TUN and the data plane replicates them to the `ip nhrp map
// multicast` destinations, so the hub has both spokes as neighbors and each spoke only the hub. With
// `no ip split-horizon eigrp 100` and `no ip next-hop-self eigrp 100` on the hub (what seed 003's
// readers added), each spoke learns the other's LAN with the other spoke as next hop (Phase 2); with
// split horizon left on at the hub, as on IOS, the spokes do not learn each other's LANs.
import t from 'tap';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Lab, waitFor, sleep, nsExec } from './util/lab.js';
import { dmvpnctlSession } from './util/live-config.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { baseConfig, withTunnelLines, withStanza, routeTo, routingLabDown, startRouting, echoRequestsFrom, dmvpnPeers } from './util/routing-lab.js';
import { tsharkFields } from './util/tshark.js';

requireTools(t, [...LAB_NEEDS, 'tshark']);

/** Hello/hold of the tests (IOS default 5/15 on a fast link, 60/180 on a low-speed tunnel). */
const HELLO = 1, HOLD = 4;

function eigrpConfig(name: string, hubSplitHorizon: boolean): string {
  const n = Number(name.slice(1));
  const hub = n === 1;
  const lines = [`ip hello-interval eigrp 100 ${HELLO}`, `ip hold-time eigrp 100 ${HOLD}`];
  if (hub) lines.push(...(hubSplitHorizon ? [] : ['no ip split-horizon eigrp 100']), 'no ip next-hop-self eigrp 100');
  return withStanza(withTunnelLines(baseConfig(name, 2), lines), `router eigrp 100
 network 192.168.0.0 0.0.0.255
 network 10.0.${n}.0 0.0.0.255
 passive-interface FastEthernet0/1
 no auto-summary`);
}

/** Neighbor addresses in `show ip eigrp neighbors` of router `name`. */
const neighbors = (lab: Lab, name: string): string[] => [...lab.ctl(name, 'show ip eigrp neighbors').matchAll(/^\d+\s+(\S+)\s+Tu0\s/gm)].map((m) => m[1]);

t.test('EIGRP hub (no split horizon, no next-hop-self) and two spokes: neighbors, D routes via the other spoke, direct traffic', async (t) => {
  const lab = new Lab(`qe-a${process.pid % 10000}`, 2);
  t.teardown(() => routingLabDown(lab));
  lab.up();
  for (const r of ['R1', 'R2', 'R3']) startRouting(lab, r, eigrpConfig(r, false));
  const both = await waitFor(() => { try { const n = neighbors(lab, 'R1'); return n.length === 2 ? n : undefined; } catch { return undefined; } }, 60000, 1000);
  if (!both) for (const r of ['R1', 'R2']) console.error(`${r}:\n${lab.ctl(r, 'show ip eigrp neighbors')}\n${lab.routers.get(r)!.log.slice(-30).join('\n')}`);
  t.same(both?.sort(), ['192.168.0.2', '192.168.0.3'], 'the hub has both spokes as EIGRP neighbors');
  // the hub lists a spoke from its first hello; the spoke lists the hub from the hub's first hello,
  // which may come up to a hello interval later (a CI run once checked in between)
  const spokes = await waitFor(() => { try { const n = neighbors(lab, 'R2'); return n.length ? n : undefined; } catch { return undefined; } }, 60000, 1000);
  t.same(spokes, ['192.168.0.1'], 'a spoke has only the hub');
  t.match(lab.ctl('R1', 'show ip eigrp interfaces'), /Tu0\s+2\s/, 'show ip eigrp interfaces: two peers on Tu0');
  // on the wire: R3 gets the hub's EIGRP (GRE from the hub's NBMA address), never a spoke's (no spoke-to-spoke adjacency)
  const eigrpAtR3 = (nbma: string) => tsharkFields(lab.routers.get('R3')!.pcap, `gre && eigrp && ip.src == ${nbma}`, ['frame.number']).length;
  t.ok(eigrpAtR3('172.16.15.2') > 0, `R3 received the hub's EIGRP packets inside GRE (${eigrpAtR3('172.16.15.2')})`);
  t.equal(eigrpAtR3('172.16.25.2'), 0, 'and no EIGRP packet from R2');
  const traffic = lab.ctl('R1', 'show ip eigrp traffic');
  const [, hs, hr] = /Hellos sent\/received: (\d+)\/(\d+)/.exec(traffic) ?? [];
  t.ok(Number(hs) > 0 && Number(hr) > 0, `the hub counts hellos both ways (${hs}/${hr})`);
  t.match(traffic, /Updates sent\/received: [1-9]\d*\/[1-9]\d*/, 'and updates');
  // the only drop allowed: a spoke's first update arriving before the hub heard its hello (a start-up race IOS has too)
  const reasons = /Packets dropped: \d+ \(([^)]*)\)/.exec(traffic)?.[1].split(', ').map((x) => x.split(' ')[0]) ?? [];
  t.same(reasons.filter((r) => r !== 'not-neighbor'), [], `no malformed, foreign or unauthenticated packet dropped: ${traffic}`);

  const r2to3 = await waitFor(() => routeTo(lab.ns('R2'), '10.0.3.0/24'), 30000, 500);
  t.match(r2to3, { gateway: '192.168.0.3', dev: 'Tunnel0', protocol: 'eigrp' }, 'R2 reaches R3\'s LAN via R3 (not the hub)');
  t.match(await waitFor(() => routeTo(lab.ns('R3'), '10.0.2.0/24'), 30000, 500), { gateway: '192.168.0.2', dev: 'Tunnel0', protocol: 'eigrp' }, 'and R3 R2\'s LAN via R2');
  t.match(routeTo(lab.ns('R1'), '10.0.2.0/24'), { gateway: '192.168.0.2', protocol: 'eigrp' }, 'the hub learns the spoke LANs');
  t.match(lab.ctl('R2', 'show ip route'), /\nD\s+10\.0\.3\.0(\/24)? \[90\/\d{5,}\] via 192\.168\.0\.3\b[^\n]*Tunnel0/, 'show ip route: a D route via R3 with its composite metric');
  const onlyD = lab.ctl('R2', 'show ip route eigrp');
  t.match(onlyD, /D\s+10\.0\.3\.0/, 'show ip route eigrp lists it');
  t.notMatch(onlyD, /^[CLS]\s/m, 'and nothing else');
  t.match(lab.ctl('R2', 'show ip eigrp topology'), /P 10\.0\.3\.0\/24, 1 successors, FD is \d+\n\s+via 192\.168\.0\.3 \(\d+\/\d+\), Tunnel0/, 'the topology table has R3 as successor');
  const fd = /P 10\.0\.3\.0\/24, 1 successors, FD is (\d+)/.exec(lab.ctl('R2', 'show ip eigrp topology'))?.[1];
  t.match(lab.ctl('R2', 'show ip route'), new RegExp(`\\nD\\s+10\\.0\\.3\\.0\\S* \\[90/${fd}\\]`), `the D route's metric is the topology's FD (${fd})`);

  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 3), 'host behind R2 pings host behind R3');
  t.ok(await waitFor(() => dmvpnPeers(lab, 'R2').includes('192.168.0.3'), 15000, 500), 'R2 resolved R3 (dynamic NHRP entry)');
  const before = echoRequestsFrom(lab, 'R3', '172.16.25.2', '10.0.3.10');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 10), '10 more pings');
  await sleep(500);
  const direct = echoRequestsFrom(lab, 'R3', '172.16.25.2', '10.0.3.10') - before;
  t.ok(direct >= 10, `R3 received them straight from R2's NBMA address (${direct} echo requests, outer source 172.16.25.2)`);

  // clear ip eigrp neighbors: the adjacencies reset and come back, the routes with them
  lab.ctl('R2', 'clear ip eigrp neighbors');
  t.ok(await waitFor(() => neighbors(lab, 'R2').length === 1 && routeTo(lab.ns('R2'), '10.0.3.0/24')?.gateway === '192.168.0.3', 30000, 500), 'after clear, R2 has the hub and R3\'s LAN again');

  // R2's EIGRP socket: a raw socket for IP protocol 88 held by dmvpnd itself (the native addon), no helper process
  const rawInodes = nsExec(lab.ns('R2'), ['cat', '/proc/net/raw']).stdout.split('\n')
    .filter((l) => /^\s*\d+: [0-9A-F]{8}:0058 /.test(l)).map((l) => l.trim().split(/\s+/)[9]);
  t.equal(rawInodes.length, 1, `one raw socket for protocol 88 in R2's namespace (${rawInodes.join(', ')})`);
  const pids = execFileSync('ip', ['netns', 'pids', lab.ns('R2')], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
  const cmdline = (pid: string) => { try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { return ''; } };
  const holder = pids.find((pid) => { try { return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => { try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${rawInodes[0]}]`; } catch { return false; } }); } catch { return false; } });
  t.match(holder && cmdline(holder), /dmvpnd/, `held by R2's dmvpnd (pid ${holder}: ${holder && cmdline(holder)})`);
  t.notOk(pids.some((pid) => /python/.test(cmdline(pid))), 'no python process in R2\'s namespace');

  // a live change restarts R3's speaker with it: a loopback added in configuration mode reaches R2 via R3
  const add = dmvpnctlSession(lab, 'R3', ['configure terminal', 'interface Loopback0', 'ip address 10.3.3.3 255.255.255.255', 'router eigrp 100', 'network 10.3.3.3 0.0.0.0', 'end']);
  t.notMatch(add.out, /%/, `configuration accepted: ${add.out}`);
  t.match(await waitFor(() => routeTo(lab.ns('R2'), '10.3.3.3'), 30000, 500), { gateway: '192.168.0.3', protocol: 'eigrp' }, 'R2 learnt R3\'s new network via R3');

  // `no router eigrp 100` on R3: its goodbye takes it out of the hub's table, its LAN leaves R2
  const off = dmvpnctlSession(lab, 'R3', ['configure terminal', 'no router eigrp 100', 'end']);
  t.notMatch(off.out, /%/, 'no router eigrp accepted');
  t.ok(await waitFor(() => !neighbors(lab, 'R1').includes('192.168.0.3'), 20000, 500), 'the hub dropped R3');
  t.ok(await waitFor(() => !routeTo(lab.ns('R2'), '10.0.3.0/24'), 20000, 500), 'R2 dropped the route to R3\'s LAN');
  t.equal(routeTo(lab.ns('R3'), '10.0.2.0/24'), undefined, 'R3 removed its learned routes');
});

t.test('EIGRP with split horizon on at the hub (the IOS default): the spokes do not learn each other\'s LANs', async (t) => {
  const lab = new Lab(`qe-s${process.pid % 10000}`, 2);
  t.teardown(() => routingLabDown(lab));
  lab.up();
  for (const r of ['R1', 'R2', 'R3']) startRouting(lab, r, eigrpConfig(r, true));
  t.ok(await waitFor(() => { try { return neighbors(lab, 'R1').length === 2; } catch { return false; } }, 60000, 1000), 'the hub has both spokes');
  t.ok(await waitFor(() => routeTo(lab.ns('R1'), '10.0.3.0/24') && routeTo(lab.ns('R1'), '10.0.2.0/24'), 30000, 500), 'the hub learns both spoke LANs');
  t.ok(await waitFor(() => routeTo(lab.ns('R2'), '10.0.1.0/24'), 30000, 500), 'R2 learns the hub\'s LAN');
  await sleep(HOLD * 3 * 1000);
  t.equal(routeTo(lab.ns('R2'), '10.0.3.0/24'), undefined, 'R2 has no route to R3\'s LAN');
  t.equal(routeTo(lab.ns('R3'), '10.0.2.0/24'), undefined, 'and R3 none to R2\'s');
  t.notMatch(lab.ctl('R2', 'show ip route'), /\nD\s+10\.0\.3\.0/, 'no D route to R3\'s LAN in show ip route');

  // R3 dies (its WAN link cut, no goodbye): the hub's neighbor expires at hold time, its LAN goes, the
  // hub is not stuck in active and R2 keeps what it had
  nsExec(lab.ns('inet'), ['ip', 'link', 'set', 'r3', 'down']);
  t.ok(await waitFor(() => !neighbors(lab, 'R1').includes('192.168.0.3'), HOLD * 5 * 1000, 500), 'the hub dropped R3 after its hold time');
  t.ok(await waitFor(() => !routeTo(lab.ns('R1'), '10.0.3.0/24'), 20000, 500), 'and its route to R3\'s LAN');
  t.same(neighbors(lab, 'R1'), ['192.168.0.2'], 'R2 stays the hub\'s neighbor');
  t.notMatch(lab.ctl('R1', 'show ip eigrp topology'), /^A /m, 'no destination left active at the hub');
  t.match(routeTo(lab.ns('R2'), '10.0.1.0/24'), { gateway: '192.168.0.1', protocol: 'eigrp' }, 'R2 still reaches the hub\'s LAN');
});
