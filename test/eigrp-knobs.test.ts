// The EIGRP knobs that change metrics and path choice, from configuration text to what a neighbor
// learns: interface `bandwidth` and `delay` (the metric's inputs), `redistribute static|connected
// [metric ...]` (external routes with that metric or the exit interface's), `distance eigrp` (the
// routing table's distance; external routes show as `D EX`), `variance` and `maximum-paths` (unequal-cost successors), and MD5
// authentication with a key chain between two of our speakers (FRR 8.4 cannot complete an MD5
// adjacency: test/eigrp-frr.test.ts). Speakers run on a simulated LAN with a fake clock.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { speakerOptions } from '../appliance/routing/eigrp/from-config.js';
import { EigrpSpeaker } from '../appliance/routing/eigrp/speaker.js';
import type { SpeakerInterface, SpeakerOptions } from '../appliance/routing/eigrp/speaker.js';
import type { EigrpAuthKey } from '../appliance/routing/eigrp/auth.js';
import { classicComposite } from '../appliance/routing/eigrp/metric.js';
import { eigrpRibMetrics } from '../appliance/supervisor/exec-routing.js';
import { routeRows } from '../appliance/supervisor/exec-routes.js';
import { formatIpRoute } from '../appliance/show/ip-route.js';
import { RTN } from '../appliance/net/netlink-codec.js';
import { Segment, Rib } from './util/eigrp-segment.js';

function load(text: string) {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** Speakers on one LAN (every packet reaches every other speaker), driven by a fake clock. */
function lan(options: Record<string, SpeakerOptions>) {
  const seg = new Segment();
  let now = 0;
  const nodes = Object.fromEntries(Object.entries(options).map(([k, o]) => {
    const rib = new Rib();
    return [k, { sp: new EigrpSpeaker(o, seg.port(o.interfaces[0].address), rib, now), rib }];
  }));
  const run = (ms: number) => { for (let x = 0; x < ms; x += 100) { now += 100; for (const n of Object.values(nodes)) n.sp.tick(now); seg.pump(); } };
  return { nodes, run };
}

/** Classic composite of bandwidth (kbit/s) and delay (tens of microseconds), as IOS computes it. */
const classic = (bw: number, delay: number) => classicComposite({ bandwidth: bw, delay: delay * 1e7, mtu: 1500, hopCount: 0, reliability: 255, load: 1 });

const A = `hostname A
interface Tunnel0
 ip address 10.0.0.1 255.255.255.0
 bandwidth 10000
 delay 1000
!
interface FastEthernet0/1
 ip address 10.1.1.1 255.255.255.0
 bandwidth 50000
 delay 20
!
interface FastEthernet0/2
 ip address 192.168.77.1 255.255.255.0
!
ip route 172.20.0.0 255.255.0.0 10.1.1.254
router eigrp 100
 network 10.0.0.0 0.0.0.255
 network 10.1.1.0 0.0.0.255
 passive-interface FastEthernet0/1
 redistribute static metric 1000 500 255 1 1500
 redistribute connected
!
end
`;
const B = `hostname B
interface Tunnel0
 ip address 10.0.0.2 255.255.255.0
 bandwidth 20000
 delay 3000
!
router eigrp 100
 network 10.0.0.0 0.0.0.255
 distance eigrp 95 175
!
end
`;

t.test('bandwidth and delay: parsed, rendered back, and the metric a neighbor computes', async (t) => {
  const a = load(A);
  t.same(a.eigrp?.links, [{ iface: 'Tunnel0', bandwidth: 10000, delay: 1000 }, { iface: 'FastEthernet0/1', bandwidth: 50000, delay: 20 }]);
  const text = renderConfig(a);
  t.match(text, /interface FastEthernet0\/1\n ip address 10\.1\.1\.1 255\.255\.255\.0\n(?: [^\n]*\n)* bandwidth 50000\n delay 20\n/, 'show running-config keeps them under the interface');
  t.same(load(text).eigrp, a.eigrp, 'and they load back to the same model');
  const o = speakerOptions(a, a.eigrp!.processes[0]);
  t.same(o.interfaces.map((i) => [i.name, i.bandwidth, i.delay]), [['Tunnel0', 10000, 1000], ['FastEthernet0/1', 50000, 20]], 'the speaker gets them');
  const noKnobs = load(A.replace(/ bandwidth \d+\n| delay \d+\n/g, ''));
  t.same(speakerOptions(noKnobs, noKnobs.eigrp!.processes[0]).interfaces.map((i) => [i.bandwidth, i.delay]), [[100, 5000], [1_000_000, 1]], 'without them: IOS defaults (tunnel 100 kbit/s 50 ms, Ethernet 1 Gbit/s 10 us)');
  const cleared = load(`${A.replace(/\nend\n$/, '')}\ninterface FastEthernet0/1\n no bandwidth\n no delay\n!\ninterface Tunnel0\n no bandwidth\n no delay\nend\n`);
  t.equal(cleared.eigrp?.links, undefined, 'no bandwidth / no delay remove them');

  const b = load(B);
  const { nodes, run } = lan({ a: o, b: speakerOptions(b, b.eigrp!.processes[0]) });
  run(20_000);
  const d = nodes.b.sp.dual.table.get('10.1.1.0/24');
  // A's LAN (50000 kbit/s, 20) reported, then B's tunnel (20000 kbit/s, 3000): min bandwidth, summed delay
  t.equal(d?.successors[0]?.rd, classic(50000, 20), `B's reported distance for A's LAN is A's configured LAN metric (${d?.successors[0]?.rd})`);
  t.equal(d?.distance, classic(20000, 3020), `B's distance adds its own configured tunnel (${d?.distance})`);
  t.equal(nodes.b.rib.metrics.get('10.1.1.0/24'), classic(20000, 3020), 'and the routing table gets that metric');
});

t.test('redistribute static (metric given) and connected (interface metric): external routes; distance eigrp', async (t) => {
  const a = load(A), b = load(B);
  const { nodes, run } = lan({ a: speakerOptions(a, a.eigrp!.processes[0]), b: speakerOptions(b, b.eigrp!.processes[0]) });
  run(20_000);
  const st = nodes.b.sp.dual.table.get('172.20.0.0/16');
  t.ok(st?.successors[0]?.external, 'the static route reached B as external');
  t.equal(st?.successors[0]?.external?.protocol, 3, 'origin protocol static');
  t.equal(st?.successors[0]?.external?.originRouter, '10.1.1.1', 'originated by A (its router id)');
  t.equal(st?.successors[0]?.rd, classic(1000, 500), 'reported with `metric 1000 500 255 1 1500`');
  t.equal(st?.distance, classic(1000, 3500), 'plus B\'s tunnel delay');
  const conn = nodes.b.sp.dual.table.get('192.168.77.0/24');
  t.equal(conn?.successors[0]?.external?.protocol, 11, 'the connected network no network statement covers: external, protocol connected');
  t.equal(conn?.successors[0]?.rd, classic(1_000_000, 1), 'with its interface\'s metric (Ethernet default)');
  t.notOk(nodes.b.sp.dual.table.get('10.1.1.0/24')?.successors[0]?.external, 'a network under a network statement stays internal');
  t.equal(nodes.b.rib.routes.get('172.20.0.0/16'), '10.0.0.1%Tunnel0', 'B routes the static\'s prefix via A');
  t.same([...nodes.b.rib.external].sort(), ['172.20.0.0/16', '192.168.77.0/24'], 'B writes both external routes as external (the kernel sink puts them at the external distance), the internal one not');

  const rib = eigrpRibMetrics(nodes.b.sp, b.eigrp!.processes[0].distance);
  t.same(rib.get('10.1.1.0/24'), { distance: 95, metric: classic(20000, 3020) }, 'distance eigrp 95 175: internal routes at 95');
  t.same(rib.get('172.20.0.0/16'), { distance: 175, metric: classic(1000, 3500), external: true }, 'external routes at 175');
  t.same(eigrpRibMetrics(nodes.b.sp).get('172.20.0.0/16')?.distance, 170, 'without it: 170 for external (90 internal)');

  // show ip route: the external route as IOS prints it (D EX, distance 175), the internal one as D
  const kernelRoute = (prefix: string, len: number) => ({ prefix, len, tos: 0, metric: 95, protocol: 192, scope: 0, type: RTN.UNICAST, flags: 0, gateway: '10.0.0.1', dev: 'Tunnel0', nexthops: [] });
  const shown = formatIpRoute(routeRows({ routes: [kernelRoute('172.20.0.0', 16), kernelRoute('10.1.1.0', 24)], addresses: [], iosName: (d) => d, shortcuts: [], since: () => undefined, now: 0, daemonRib: rib }), { legend: false });
  t.match(shown, new RegExp(`\\nD EX\\s+172\\.20\\.0\\.0/16 \\[175/${classic(1000, 3500)}\\] via 10\\.0\\.0\\.1, Tunnel0`), `show ip route: D EX [175/...]:\n${shown}`);
  t.match(shown, new RegExp(`\\nD\\s+10\\.1\\.1\\.0/24 \\[95/${classic(20000, 3020)}\\] via 10\\.0\\.0\\.1, Tunnel0`), 'and the internal route as D [95/...]');

  const none = load(A.replace(/ redistribute [^\n]*\n/g, ''));
  const { nodes: n2, run: run2 } = lan({ a: speakerOptions(none, none.eigrp!.processes[0]), b: speakerOptions(b, b.eigrp!.processes[0]) });
  run2(20_000);
  t.notOk(n2.b.sp.dual.table.has('172.20.0.0/16') || n2.b.sp.dual.table.has('192.168.77.0/24'), 'without redistribute neither reaches B');
});

/** B, C and E originate 10.9.9.0/24 from passive LANs of growing delay; A hears all three. */
function unequal(variance: number, maxPaths: number) {
  const rules = { splitHorizon: true, nextHopSelf: true };
  const tu = (address: string): SpeakerInterface => ({ name: 'Tunnel0', address, prefixLen: 24, bandwidth: 100_000, delay: 100, mtu: 1500, rules, helloInterval: 5, holdTime: 15, passive: false });
  const origin = (address: string, lanDelay: number): SpeakerOptions => ({
    asn: 100, routerId: address, interfaces: [tu(address), { ...tu(address), name: 'Lan0', address: '10.9.9.1', bandwidth: 1_000_000, delay: lanDelay, passive: true }],
    originate: [{ prefix: '10.9.9.0', len: 24, iface: 'Lan0' }],
  });
  return lan({ a: { asn: 100, routerId: '10.0.0.1', variance, maxPaths, interfaces: [tu('10.0.0.1')], originate: [] }, b: origin('10.0.0.2', 10), c: origin('10.0.0.3', 100), e: origin('10.0.0.5', 300) });
}

t.test('variance and maximum-paths: unequal-cost successors among feasible ones, capped', async (t) => {
  // distances at A (bandwidth term 100, delays LAN + 2 x 100): via B 256 x 210 (the FD), via C 256 x 300,
  // via E 256 x 500; reported: B 256 x 20, C 256 x 110, E 256 x 310 > FD, so E fails the feasibility condition
  const at = (v: number, m: number) => { const { nodes, run } = unequal(v, m); run(20_000); return nodes.a; };
  const one = at(1, 4);
  t.same(one.sp.dual.table.get('10.9.9.0/24')?.successors.map((s) => s.neighbor), ['10.0.0.2'], 'variance 1: the best path only');
  t.equal(one.rib.routes.get('10.9.9.0/24'), '10.0.0.2%Tunnel0');
  const two = at(2, 4);
  t.same(two.sp.dual.table.get('10.9.9.0/24')?.successors.map((s) => s.neighbor), ['10.0.0.2', '10.0.0.3'], 'variance 2: C (within 2 x FD, feasible) joins B');
  t.equal(two.rib.routes.get('10.9.9.0/24'), '10.0.0.2%Tunnel0,10.0.0.3%Tunnel0', 'the routing table gets both next hops');
  const three = at(3, 4);
  t.same(three.sp.dual.table.get('10.9.9.0/24')?.successors.map((s) => s.neighbor), ['10.0.0.2', '10.0.0.3'], 'variance 3: E is within 3 x FD but its reported distance is not below FD: never a successor');
  const capped = at(2, 1);
  t.same(capped.sp.dual.table.get('10.9.9.0/24')?.successors.map((s) => s.neighbor), ['10.0.0.2'], 'maximum-paths 1 caps variance 2 at the best path');
});

t.test('MD5 with a key chain between two of our speakers: adjacency and routes; a wrong or missing key: none, counted', async (t) => {
  const rules = { splitHorizon: true, nextHopSelf: true };
  const node = (address: string, lanPrefix: string, auth?: EigrpAuthKey[]): SpeakerOptions => ({
    asn: 100, routerId: address,
    interfaces: [{ name: 'Tunnel0', address, prefixLen: 24, bandwidth: 100, delay: 5000, mtu: 1400, rules, helloInterval: 5, holdTime: 15, passive: false, ...(auth && { auth }) }],
    originate: [{ prefix: lanPrefix, len: 24, iface: 'Tunnel0' }],
  });
  const key = (secret: string): EigrpAuthKey[] => [{ mode: 'md5', keyId: 1, secret }];
  const good = lan({ a: node('10.0.0.1', '10.1.0.0', key('chain-secret')), b: node('10.0.0.2', '10.2.0.0', key('chain-secret')) });
  good.run(20_000);
  t.equal(good.nodes.a.sp.neighbors.up().length, 1, 'same key: adjacency up');
  t.equal(good.nodes.a.rib.routes.get('10.2.0.0/24'), '10.0.0.2%Tunnel0', 'B\'s network reached A in signed updates');
  t.equal(good.nodes.b.rib.routes.get('10.1.0.0/24'), '10.0.0.1%Tunnel0', 'and A\'s reached B');
  t.equal(good.nodes.a.sp.counters.droppedTotal(), 0, 'nothing dropped');

  const wrong = lan({ a: node('10.0.0.1', '10.1.0.0', key('chain-secret')), b: node('10.0.0.2', '10.2.0.0', key('other-secret')) });
  wrong.run(40_000);
  t.equal(wrong.nodes.a.sp.neighbors.list().length, 0, 'wrong key: no neighbor at all');
  t.equal(wrong.nodes.a.rib.routes.size, 0, 'no route');
  t.ok((wrong.nodes.a.sp.counters.dropped.get('auth-failed') ?? 0) >= 8, `every hello of B counted as auth-failed (${wrong.nodes.a.sp.counters.dropped.get('auth-failed')})`);

  const missing = lan({ a: node('10.0.0.1', '10.1.0.0', key('chain-secret')), b: node('10.0.0.2', '10.2.0.0') });
  missing.run(20_000);
  t.equal(missing.nodes.a.sp.neighbors.list().length, 0, 'unsigned neighbor: none');
  t.ok((missing.nodes.a.sp.counters.dropped.get('auth-missing') ?? 0) > 0, 'its packets counted as auth-missing');
  t.ok((missing.nodes.b.sp.counters.dropped.get('auth-unexpected') ?? 0) > 0, 'and the unsigned side drops the signed ones as unexpected');
});

t.test('a stub advertises of its own routes what its flags allow', async (t) => {
  const b = load(B);
  const seen = (stub: string) => {
    const a = load(A.replace(' redistribute connected\n', ` redistribute connected\n ${stub}\n`));
    const { nodes, run } = lan({ a: speakerOptions(a, a.eigrp!.processes[0]), b: speakerOptions(b, b.eigrp!.processes[0]) });
    run(20_000);
    return ['10.1.1.0/24', '192.168.77.0/24', '172.20.0.0/16'].filter((p) => nodes.b.rib.routes.has(p));
  };
  t.same(seen(''), ['10.1.1.0/24', '192.168.77.0/24', '172.20.0.0/16'], 'not a stub: its network, redistributed connected and static');
  t.same(seen('eigrp stub connected'), ['10.1.1.0/24', '192.168.77.0/24'], 'stub connected: networks and connected, not the static');
  t.same(seen('eigrp stub'), ['10.1.1.0/24', '192.168.77.0/24'], 'eigrp stub (connected summary, the IOS default): the same');
  t.same(seen('eigrp stub static'), ['172.20.0.0/16'], 'stub static: the redistributed static only');
  t.same(seen('eigrp stub redistributed'), ['192.168.77.0/24', '172.20.0.0/16'], 'stub redistributed: every redistributed route, no network');
  t.same(seen('eigrp stub receive-only'), [], 'receive-only: nothing');
});

t.test('a change of what is redistributed updates in place: no adjacency reset', async (t) => {
  const a = load(A), b = load(B);
  const { nodes, run } = lan({ a: speakerOptions(a, a.eigrp!.processes[0]), b: speakerOptions(b, b.eigrp!.processes[0]) });
  run(20_000);
  t.ok(nodes.b.rib.routes.has('172.20.0.0/16'), 'B has the first static');
  const sentBefore = nodes.a.sp.counters.sent.get('Update') ?? 0;
  // the operator replaces the static route (the supervisor hands the new options' routes to the speaker)
  const a2 = load(A.replace('ip route 172.20.0.0 255.255.0.0 10.1.1.254', 'ip route 172.21.0.0 255.255.0.0 10.1.1.254'));
  nodes.a.sp.setRedistributed(speakerOptions(a2, a2.eigrp!.processes[0]).originate);
  run(5_000);
  t.ok(nodes.b.rib.routes.has('172.21.0.0/16'), 'B learnt the new one');
  t.notOk(nodes.b.rib.routes.has('172.20.0.0/16'), 'and lost the old one');
  t.ok(nodes.b.rib.routes.has('192.168.77.0/24') && nodes.b.rib.routes.has('10.1.1.0/24'), 'the rest stays');
  t.equal(nodes.b.sp.lastChange, undefined, 'no neighbor went down on either side');
  t.equal(nodes.a.sp.lastChange, undefined);
  t.ok((nodes.a.sp.counters.sent.get('Update') ?? 0) > sentBefore, 'A sent updates for the change');
  nodes.a.sp.setRedistributed([]);
  run(5_000);
  t.notOk(nodes.b.rib.routes.has('172.21.0.0/16') || nodes.b.rib.routes.has('192.168.77.0/24'), 'no redistribute any more: the external routes are withdrawn');
  t.ok(nodes.b.rib.routes.has('10.1.1.0/24'), 'the internal one stays');
});
