// Three EIGRP speakers (a DMVPN hub and two spokes) on one simulated multipoint segment, driven by a
// fake clock: the point end to end without the tunnel. With `no ip split-horizon eigrp` and
// `no ip next-hop-self eigrp` on the hub, each spoke learns the other's LAN with the other spoke as next
// hop (Phase 2); with split horizon on (the IOS default) it does not; with next-hop-self on the hub is
// the next hop. A dead spoke expires at hold time and its LAN is withdrawn everywhere; hostile packets
// are dropped and counted.
import t from 'tap';
import { EigrpSpeaker } from '../appliance/routing/eigrp/speaker.js';
import type { SpeakerInterface } from '../appliance/routing/eigrp/speaker.js';
import type { RouteSink } from '../appliance/routing/eigrp/transport.js';
import { Segment, Rib } from './util/eigrp-segment.js';
import type { InterfaceRules } from '../appliance/routing/eigrp/advertise.js';
import { decodeEigrpHeader, encodeEigrp } from '../appliance/routing/eigrp/codec.js';
import { Flag, Opcode } from '../appliance/routing/eigrp/types.js';
import { eigrpNeighborRows, showEigrpNeighbors, showEigrpTopology } from '../appliance/show/eigrp.js';
import { eigrpRibMetrics } from '../appliance/supervisor/exec-routing.js';

const tunnel = (address: string, rules: InterfaceRules): SpeakerInterface => ({
  name: 'Tunnel0', address, prefixLen: 24, bandwidth: 100, delay: 5000, mtu: 1400, rules, helloInterval: 5, holdTime: 15, passive: false,
});

function lab(hubRules: InterfaceRules, hubSummaries?: Array<{ prefix: string; len: number }>) {
  const seg = new Segment('10.0.0.1');
  let now = 0;
  const mk = (addr: string, rules: InterfaceRules, lan?: string) => {
    const rib = new Rib();
    const tu = tunnel(addr, rules);
    if (addr === '10.0.0.1' && hubSummaries) tu.summaries = hubSummaries;
    const sp = new EigrpSpeaker({ asn: 100, routerId: addr, interfaces: [tu], originate: lan ? [{ prefix: lan, len: 24, iface: 'Tunnel0' }] : [] }, seg.port(addr), rib, now);
    return { sp, rib };
  };
  const spoke = { splitHorizon: true, nextHopSelf: true };
  const nodes = { hub: mk('10.0.0.1', hubRules, '10.10.0.0'), s1: mk('10.0.0.11', spoke, '192.168.1.0'), s2: mk('10.0.0.12', spoke, '192.168.2.0') };
  const run = (ms: number, skip = new Set<string>()) => {
    for (let x = 0; x < ms; x += 100) {
      now += 100;
      for (const [k, n] of Object.entries(nodes)) if (!skip.has(k)) n.sp.tick(now);
      seg.pump();
    }
  };
  return { seg, nodes, run };
}

t.test('hub with no split-horizon and no next-hop-self: spokes learn each other direct (Phase 2)', async (t) => {
  const { nodes, run } = lab({ splitHorizon: false, nextHopSelf: false });
  run(20_000);
  t.equal(nodes.hub.sp.neighbors.up().length, 2, 'hub has both spokes up');
  t.same(nodes.s1.sp.neighbors.list().map((n) => n.address), ['10.0.0.1'], 'a spoke neighbors only the hub');
  t.same(Object.fromEntries(nodes.hub.rib.routes), { '192.168.1.0/24': '10.0.0.11%Tunnel0', '192.168.2.0/24': '10.0.0.12%Tunnel0' });
  t.equal(nodes.s1.rib.routes.get('192.168.2.0/24'), '10.0.0.12%Tunnel0', 'spoke 1 reaches spoke 2\'s LAN via spoke 2');
  t.equal(nodes.s2.rib.routes.get('192.168.1.0/24'), '10.0.0.11%Tunnel0', 'spoke 2 reaches spoke 1\'s LAN via spoke 1');
  t.equal(nodes.s1.rib.routes.get('10.10.0.0/24'), '10.0.0.1%Tunnel0', 'the hub\'s own LAN via the hub');
  t.equal(nodes.s1.sp.counters.droppedTotal(), 0, 'nothing dropped');
  t.equal(nodes.s1.sp.dual.stats.stuckInActive + nodes.hub.sp.dual.stats.stuckInActive, 0);
  const nb = showEigrpNeighbors(nodes.hub.sp, 20_000);
  t.match(nb, /^EIGRP-IPv4 Neighbors for AS\(100\)\n/);
  t.match(nb, /\n0   10\.0\.0\.11 +Tu0 +1\d +00:00:\d\d +0 +1000  0 +\d+\n/, `spoke 1 in IOS columns:\n${nb}`);
  t.match(nb, /\n1   10\.0\.0\.12 +Tu0 /);
  const rows = eigrpNeighborRows(nodes.hub.sp, 20_000);
  t.match(rows, [{ asn: 100, handle: 0, address: '10.0.0.11', interface: 'Tunnel0', state: 'up', queue: 0 }, { handle: 1, address: '10.0.0.12', state: 'up' }],
    'the json rows (show ip eigrp neighbors json): the same neighbors, in handle order, up');
  t.ok(rows.every((r) => r.hold > 10 && r.hold <= 15 && r.uptime > 0), `hold left and uptime in seconds (${JSON.stringify(rows)})`);
  const topo = showEigrpTopology(nodes.s1.sp);
  t.match(topo, /EIGRP-IPv4 Topology Table for AS\(100\)\/ID\(10\.0\.0\.11\)/);
  t.match(topo, /\nP 192\.168\.2\.0\/24, 1 successors, FD is \d+\n        via 10\.0\.0\.12 \(\d+\/\d+\), Tunnel0\n/, `spoke 2's LAN via spoke 2:\n${topo}`);
  t.match(topo, /\nP 192\.168\.1\.0\/24, 1 successors, FD is \d+\n        via Connected, Tunnel0\n/);
});

t.test('split horizon left on at the hub (IOS default): spokes do not learn each other', async (t) => {
  const { nodes, run } = lab({ splitHorizon: true, nextHopSelf: true });
  run(20_000);
  t.equal(nodes.hub.rib.routes.size, 2, 'the hub learns both spoke LANs');
  t.notOk(nodes.s1.rib.routes.has('192.168.2.0/24'), 'spoke 1 never hears spoke 2\'s LAN');
  t.notOk(nodes.s2.rib.routes.has('192.168.1.0/24'));
  t.ok(nodes.s1.rib.routes.has('10.10.0.0/24'), 'but does hear the hub\'s LAN');
});

t.test('split horizon off, next-hop-self on: spoke routes point at the hub (Phase 1)', async (t) => {
  const { nodes, run } = lab({ splitHorizon: false, nextHopSelf: true });
  run(20_000);
  t.equal(nodes.s1.rib.routes.get('192.168.2.0/24'), '10.0.0.1%Tunnel0');
});

t.test('Phase 3 hub: ip summary-address eigrp sends only the summary, withdrawn with its last component', async (t) => {
  const { seg, nodes, run } = lab({ splitHorizon: true, nextHopSelf: true }, [{ prefix: '192.168.0.0', len: 16 }]);
  run(20_000);
  t.same(Object.fromEntries(nodes.s1.rib.routes), { '192.168.0.0/16': '10.0.0.1%Tunnel0', '10.10.0.0/24': '10.0.0.1%Tunnel0' }, 'spoke 1: the summary via the hub, no /24s');
  t.notOk(nodes.s1.rib.routes.has('192.168.2.0/24'));
  t.ok(nodes.hub.rib.routes.has('192.168.2.0/24'), 'the hub keeps the specifics');
  seg.down.add('10.0.0.11'); seg.down.add('10.0.0.12');
  run(20_000, new Set(['s1', 's2']));
  seg.down.delete('10.0.0.11');
  run(20_000, new Set(['s2']));
  t.same(Object.fromEntries(nodes.s1.rib.routes), { '192.168.0.0/16': '10.0.0.1%Tunnel0', '10.10.0.0/24': '10.0.0.1%Tunnel0' }, 'spoke 1 back: its own LAN keeps the summary up');
  nodes.s1.sp.dual.local('192.168.1.0', 24, 'Tunnel0', undefined);
  run(5_000, new Set(['s2']));
  t.notOk(nodes.s1.rib.routes.has('192.168.0.0/16'), 'no component left anywhere: the summary is withdrawn');
});

t.test('a spoke dies: hold time expires it at the hub, its LAN is withdrawn at the other spoke', async (t) => {
  const { seg, nodes, run } = lab({ splitHorizon: false, nextHopSelf: false });
  run(20_000);
  t.ok(nodes.s1.rib.routes.has('192.168.2.0/24'));
  seg.down.add('10.0.0.12');
  run(10_000, new Set(['s2']));
  t.equal(nodes.hub.sp.neighbors.up().length, 2, 'within hold time the hub still counts spoke 2');
  run(10_000, new Set(['s2']));
  t.equal(nodes.hub.sp.neighbors.up().length, 1, 'hold time (15 s) expired');
  t.equal(nodes.hub.sp.lastChange?.why, 'holding time expired');
  t.notOk(nodes.hub.rib.routes.has('192.168.2.0/24'), 'hub withdrew spoke 2\'s LAN');
  t.notOk(nodes.s1.rib.routes.has('192.168.2.0/24'), 'spoke 1 converged: route gone');
  t.notOk(nodes.hub.sp.dual.table.has('192.168.2.0/24'), 'nothing left active at the hub');
  t.equal(nodes.hub.sp.dual.stats.stuckInActive, 0);
  // it comes back
  seg.down.delete('10.0.0.12');
  run(20_000);
  t.equal(nodes.s1.rib.routes.get('192.168.2.0/24'), '10.0.0.12%Tunnel0', 'readjacency restores the route');
});

t.test('stub spokes are not queried; a goodbye takes a neighbor down at once', async (t) => {
  const seg = new Segment('10.0.0.1');
  let now = 0;
  const rules = { splitHorizon: false, nextHopSelf: false };
  const mk = (addr: string, lan: string, stub?: number) => new EigrpSpeaker({ asn: 100, routerId: addr, interfaces: [tunnel(addr, rules)], originate: [{ prefix: lan, len: 24, iface: 'Tunnel0' }], ...(stub && { stub }) }, seg.port(addr), new Rib(), now);
  const hub = mk('10.0.0.1', '10.10.0.0'), s1 = mk('10.0.0.11', '192.168.1.0', 1), s2 = mk('10.0.0.12', '192.168.2.0', 1);
  const run = (ms: number, nodes = [hub, s1, s2]) => { for (let x = 0; x < ms; x += 100) { now += 100; nodes.forEach((n) => n.tick(now)); seg.pump(); } };
  run(20_000);
  t.same(hub.neighbors.list().map((n) => n.stub), [1, 1], 'the hub sees both spokes as stubs');
  s2.shutdown();
  seg.pump();
  seg.down.add('10.0.0.12');
  t.equal(hub.lastChange?.why, 'peer goodbye', 'goodbye: down without waiting for hold time');
  run(1_000, [hub, s1]);
  t.equal(hub.dual.stats.queriesSent, 0, 'spoke 2\'s LAN went without a query to the stub spoke 1');
  t.notOk(hub.dual.table.has('192.168.2.0/24'));
});

t.test('a neighbor that says hello but never acknowledges: given up after 16 retransmissions, no stuck state', async (t) => {
  const seg = new Segment('10.0.0.1');
  const hub = new EigrpSpeaker({ asn: 100, routerId: '10.0.0.1', interfaces: [tunnel('10.0.0.1', { splitHorizon: false, nextHopSelf: false })], originate: [{ prefix: '10.10.0.0', len: 24, iface: 'Tunnel0' }] }, seg.port('10.0.0.1'), new Rib(), 0);
  const hello = encodeEigrp({ header: { version: 2, opcode: Opcode.Hello, checksum: 0, flags: 0, seq: 0, ack: 0, vrid: 0, as: 100 }, tlvs: [{ type: 'parameters', k: [1, 0, 1, 0, 0, 0], holdTime: 15 }] });
  let inits = 0;
  seg.members.set('10.0.0.66', (_src, dst, p) => { if (dst === '10.0.0.66' && p[1] === Opcode.Update) inits++; });
  let gaveUp = false;
  for (let now = 0; now < 200_000 && !gaveUp; now += 500) {
    if (now % 5000 === 0) hub.receive('Tunnel0', '10.0.0.66', hello); // keeps the hold timer fresh
    hub.tick(now);
    seg.pump();
    gaveUp = hub.lastChange?.why === 'retry limit exceeded';
  }
  t.ok(gaveUp, `neighbor reset: ${hub.lastChange?.why}`);
  t.equal(inits, 17, 'the INIT update sent once and retransmitted 16 times');
  t.equal(hub.rtp.stats.retransmits, 16);
  t.equal(hub.dual.stats.stuckInActive, 0);
  t.ok(hub.dual.table.has('10.10.0.0/24'), 'our own route untouched');
});

t.test('a reliable packet is acknowledged at once, not at the next timer tick', async (t) => {
  const seg = new Segment('10.0.0.1');
  const hub = new EigrpSpeaker({ asn: 100, routerId: '10.0.0.1', interfaces: [tunnel('10.0.0.1', { splitHorizon: false, nextHopSelf: false })], originate: [] }, seg.port('10.0.0.1'), new Rib(), 0);
  const pkt = (opcode: number, flags: number, seq: number) => encodeEigrp({ header: { version: 2, opcode, checksum: 0, flags, seq, ack: 0, vrid: 0, as: 100 },
    tlvs: opcode === Opcode.Hello ? [{ type: 'parameters', k: [1, 0, 1, 0, 0, 0], holdTime: 15 }] : [] });
  hub.receive('Tunnel0', '10.0.0.66', pkt(Opcode.Hello, 0, 0));
  seg.queue.length = 0; // our INIT update to the new neighbor
  hub.receive('Tunnel0', '10.0.0.66', pkt(Opcode.Update, Flag.Init, 7));
  const acks = seg.queue.filter((f) => f.to === '10.0.0.66').map((f) => decodeEigrpHeader(f.payload)).map((h) => `op${h.opcode} seq${h.seq} ack${h.ack}`);
  t.same(acks, ['op5 seq0 ack7'], 'its INIT update acked by a bare hello before any tick');
});

t.test('named mode (wide metrics): the routing table gets the composite divided by the RIB scale (128)', async (t) => {
  const seg = new Segment('10.0.0.1');
  let now = 0;
  const metrics = new Map<string, number>();
  const rib: RouteSink = { replace: (p, l, _h, m) => { metrics.set(`${p}/${l}`, m); }, remove: (p, l) => { metrics.delete(`${p}/${l}`); } };
  const rules = { splitHorizon: false, nextHopSelf: false };
  const hub = new EigrpSpeaker({ asn: 100, routerId: '10.0.0.1', wide: true, interfaces: [tunnel('10.0.0.1', rules)], originate: [{ prefix: '10.10.0.0', len: 24, iface: 'Tunnel0' }] }, seg.port('10.0.0.1'), new Rib(), now);
  const spoke = new EigrpSpeaker({ asn: 100, routerId: '10.0.0.11', wide: true, interfaces: [tunnel('10.0.0.11', rules)], originate: [] }, seg.port('10.0.0.11'), rib, now);
  for (; now < 20_000; now += 100) { hub.tick(now); spoke.tick(now); seg.pump(); }
  const d = spoke.dual.table.get('10.10.0.0/24');
  t.ok(d && d.distance > 0xffffffff, `the wide composite over two 100 kbit/s tunnel hops needs more than 32 bits (${d?.distance})`);
  const rib32 = Math.floor(d!.distance / 128);
  t.equal(metrics.get('10.10.0.0/24'), rib32, 'the route sink gets FD / 128');
  t.same(eigrpRibMetrics(spoke).get('10.10.0.0/24'), { distance: 90, metric: rib32 }, 'show ip route prints [90/FD/128]');
});

t.test('bad input: wrong AS, garbage, unknown sender, wrong K values: counted drops, no state', async (t) => {
  const { nodes, run } = lab({ splitHorizon: false, nextHopSelf: false });
  run(20_000);
  const hub = nodes.hub.sp;
  const before = hub.neighbors.size;
  const hello = (as: number, k = [1, 0, 1, 0, 0, 0]) => encodeEigrp({ header: { version: 2, opcode: Opcode.Hello, checksum: 0, flags: 0, seq: 0, ack: 0, vrid: 0, as },
    tlvs: [{ type: 'parameters', k: k as [number, number, number, number, number, number], holdTime: 15 }] });
  hub.receive('Tunnel0', '10.0.0.99', hello(200));
  hub.receive('Tunnel0', '10.0.0.99', hello(100, [1, 1, 1, 0, 0, 0]));
  hub.receive('Tunnel0', '10.0.0.99', new Uint8Array([2, 1, 0, 0, 1, 2, 3]));
  hub.receive('Tunnel0', '192.0.2.1', hello(100));
  const upd = encodeEigrp({ header: { version: 2, opcode: Opcode.Update, checksum: 0, flags: 0, seq: 9, ack: 0, vrid: 0, as: 100 }, tlvs: [] });
  hub.receive('Tunnel0', '10.0.0.98', upd);
  t.same(Object.fromEntries(hub.counters.dropped), { 'wrong-as': 1, 'k-mismatch': 1, short: 1, 'not-on-subnet': 1, 'not-neighbor': 1 });
  t.equal(hub.neighbors.size, before, 'no neighbor created by any of them');
});
