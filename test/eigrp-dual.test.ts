// DUAL as RFC 7868 section 3 describes it, driven event by event: a feasible successor takes over
// without a query; a topology without one goes active, queries and settles on the replies; queries are
// answered; stuck-in-active resets the silent neighbor; and the per-interface rules a DMVPN hub needs
// (split horizon, next-hop-self) decide what each interface hears.
import t from 'tap';
import { Dual } from '../appliance/routing/eigrp/dual.js';
import type { DualAction, RouteIn } from '../appliance/routing/eigrp/dual.js';
import { advertFor } from '../appliance/routing/eigrp/advertise.js';
import { DEFAULT_K, PS_PER_TEN_US, classicComposite } from '../appliance/routing/eigrp/metric.js';
import type { PathVector } from '../appliance/routing/eigrp/metric.js';

const FE = { bandwidth: 100_000, delay: 10, mtu: 1500, wide: false };
const vec = (delayTens: number, bandwidth = 100_000): PathVector => ({ bandwidth, delay: delayTens * PS_PER_TEN_US, mtu: 1500, hopCount: 1, reliability: 255, load: 1 });
const X = (delayTens: number, nextHop = '0.0.0.0'): RouteIn => ({ prefix: '192.168.9.0', len: 24, reported: vec(delayTens), nextHop });

function lab(neighbors: string[]) {
  let now = 0;
  const up = new Set(neighbors);
  const dual = new Dual({ k: DEFAULT_K, wide: false, variance: 1, maxPaths: 4, activeTimeMs: 180_000, linkCost: () => FE, neighbors: () => [...up], now: () => now });
  const kinds = (a: DualAction[]) => a.map((x) => x.kind + ('to' in x ? `:${Array.isArray(x.to) ? x.to.join('+') : x.to}` : '') + (x.kind === 'reset' ? `:${x.neighbor}` : ''));
  return { dual, up, kinds, advance: (ms: number) => { now += ms; dual.tick(now); }, x: () => dual.table.get('192.168.9.0/24') };
}

t.test('successor fails, the feasible successor takes over without a query', async (t) => {
  const { dual, up, kinds, x } = lab(['10.0.0.1', '10.0.1.1']);
  dual.update('10.0.0.1', 'e0', X(10)); // via A: 256 x (100 + 20) = 30720
  dual.update('10.0.1.1', 'e1', X(15)); // B reports 29440 < FD 30720: feasible, distance 32000
  t.same(kinds(dual.take()), ['route', 'update'], 'first path: route and update');
  const d = x()!;
  t.equal(d.fd, 30720);
  t.same(d.successors.map((p) => p.neighbor), ['10.0.0.1']);
  t.same(dual.feasibleSuccessors(d).map((p) => p.neighbor), ['10.0.1.1'], 'B is a feasible successor');
  up.delete('10.0.0.1');
  dual.neighborDown('10.0.0.1');
  t.same(kinds(dual.take()), ['route', 'update'], 'no query: straight to B');
  t.equal(d.state, 'passive');
  t.same(d.successors.map((p) => [p.neighbor, p.distance]), [['10.0.1.1', 32000]]);
  t.equal(d.fd, 30720, 'a local computation keeps the feasible distance');
  t.equal(dual.stats.queriesSent, 0);
});

t.test('no feasible successor: active, query, settle on the reply', async (t) => {
  const { dual, up, kinds, x } = lab(['10.0.0.1', '10.0.1.1']);
  dual.update('10.0.0.1', 'e0', X(10));
  dual.update('10.0.1.1', 'e1', X(30)); // RD 33280 >= FD 30720: B might route through us
  dual.take();
  t.same(dual.feasibleSuccessors(x()!), [], 'B fails the feasibility condition');
  up.delete('10.0.0.1');
  dual.neighborDown('10.0.0.1');
  t.same(kinds(dual.take()), ['route', 'query:10.0.1.1'], 'route withdrawn, B queried');
  t.equal(x()!.state, 'active');
  dual.replyFrom('10.0.1.1', 'e1', X(30));
  t.same(kinds(dual.take()), ['route', 'update'], 'B replied: passive again via B');
  t.equal(x()!.state, 'passive');
  t.same(x()!.successors.map((p) => p.neighbor), ['10.0.1.1']);
  t.equal(x()!.fd, classicComposite({ ...vec(40) }), 'new computation, new feasible distance');
});

t.test('queries: answered at once with a feasible successor; a query from the successor without one diffuses first', async (t) => {
  const { dual, kinds, x } = lab(['10.0.0.1', '10.0.1.1', '10.0.2.1']);
  dual.update('10.0.0.1', 'e0', X(10));
  dual.update('10.0.1.1', 'e1', X(15));
  dual.take();
  dual.query('10.0.2.1', 'e2', { ...X(0), reported: { ...vec(0), delay: Infinity } });
  t.same(kinds(dual.take()), ['reply:10.0.2.1'], 'a query we can answer: reply, no diffusion');
  // our successor A queries (it lost the route); B is still feasible: reply with B's distance
  dual.query('10.0.0.1', 'e0', { ...X(0), reported: { ...vec(0), delay: Infinity } });
  t.same(kinds(dual.take()), ['route', 'update', 'reply:10.0.0.1']);
  // now B, our only path, queries too: no feasible successor -> active, query the others, reply to B at the end
  dual.query('10.0.1.1', 'e1', { ...X(0), reported: { ...vec(0), delay: Infinity } });
  const a = kinds(dual.take());
  t.same(a, ['route', 'query:10.0.0.1+10.0.2.1'], 'B is owed a reply; A and C are asked');
  dual.replyFrom('10.0.0.1', 'e0', { ...X(0), reported: { ...vec(0), delay: Infinity } });
  t.same(kinds(dual.take()), [], 'still waiting for C');
  dual.replyFrom('10.0.2.1', 'e2', X(50));
  t.same(kinds(dual.take()), ['route', 'update', 'reply:10.0.1.1'], 'C had a way: passive via C, B answered');
  t.same(x()!.successors.map((p) => p.neighbor), ['10.0.2.1']);
});

t.test('stuck in active: SIA-query at half time, reset at the deadline', async (t) => {
  const { dual, up, kinds, advance, x } = lab(['10.0.0.1', '10.0.1.1']);
  dual.update('10.0.0.1', 'e0', X(10));
  dual.take();
  up.delete('10.0.0.1');
  dual.neighborDown('10.0.0.1');
  t.same(kinds(dual.take()), ['route', 'query:10.0.1.1']);
  advance(60_000);
  t.same(kinds(dual.take()), []);
  advance(40_000);
  t.same(kinds(dual.take()), ['sia-query:10.0.1.1'], 'half the active time: SIA-query');
  dual.siaReply('10.0.1.1', { prefix: '192.168.9.0', len: 24 });
  advance(80_000);
  t.same(kinds(dual.take()), ['sia-query:10.0.1.1'], 'an SIA-reply bought another half period, then asked again');
  advance(20_000);
  t.same(kinds(dual.take()), ['reset:10.0.1.1', 'update'], 'no answer: the neighbor is reset, the route goes passive unreachable');
  t.notOk(x(), 'and leaves the table');
  t.equal(dual.stats.stuckInActive, 1);
});

t.test('variance: an unequal feasible path joins the successors', async (t) => {
  const { dual, x } = lab(['10.0.0.1', '10.0.1.1']);
  dual.o.variance = 2;
  dual.update('10.0.0.1', 'e0', X(10));
  dual.update('10.0.1.1', 'e1', X(15));
  t.same(x()!.successors.map((p) => p.neighbor), ['10.0.0.1', '10.0.1.1']);
});

t.test('DMVPN hub: split horizon and next-hop-self decide what Tunnel0 hears', async (t) => {
  const { dual, x } = lab(['10.0.0.11', '10.0.0.12']);
  // spoke 1 advertises its LAN to the hub over Tunnel0 with next hop "me" (0.0.0.0)
  dual.update('10.0.0.11', 'Tunnel0', X(10));
  const d = x()!;
  t.equal(d.successors[0].nextHop, '0.0.0.0', 'as advertised');
  dual.local('10.10.0.0', 16, 'Ethernet0', vec(1));
  const lan = dual.table.get('10.10.0.0/16')!;
  t.equal(advertFor(d, 'Tunnel0', { splitHorizon: true, nextHopSelf: true }), undefined, 'split horizon on (IOS default): spoke 2 never hears spoke 1');
  t.equal(advertFor(d, 'Tunnel0', { splitHorizon: true, nextHopSelf: true }, true)!.vector.delay, Infinity, '...and queries/replies poison it instead');
  t.same(advertFor(d, 'Tunnel0', { splitHorizon: false, nextHopSelf: true })!.nextHop, '0.0.0.0', 'split horizon off: advertised, hub as next hop (Phase 1)');
  t.equal(advertFor(lan, 'Tunnel0', { splitHorizon: true, nextHopSelf: false })!.nextHop, '0.0.0.0', 'our own LAN: always us');
  t.equal(advertFor(d, 'Ethernet0', { splitHorizon: true, nextHopSelf: false })!.nextHop, '0.0.0.0', 'another interface: us');
  t.ok(Number.isFinite(advertFor(d, 'Ethernet0', DEFAULT_RULES())!.vector.delay), 'other interfaces always hear it');
  // the spoke's own next hop must survive: with next-hop-self off the route carries spoke 1's address
  // (RFC 7868 third-party next hop), which is what the speaker puts in nextHop when the field was 0.0.0.0
  d.successors[0].nextHop = '10.0.0.11';
  t.equal(advertFor(d, 'Tunnel0', { splitHorizon: false, nextHopSelf: false })!.nextHop, '10.0.0.11', 'next-hop-self off: spoke 1 stays the next hop (Phase 2)');
});

function DEFAULT_RULES() { return { splitHorizon: true, nextHopSelf: true }; }
