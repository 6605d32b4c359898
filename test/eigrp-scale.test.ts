// EIGRP at hub scale (what bench/eigrp.mjs measures, asserted as behaviour, not speed): one hub as seed
// 003 configures it (no split horizon, no next-hop-self) and 50 spoke speakers on a simulated mGRE
// segment, one fake clock. Every spoke learns every other spoke's LAN with that spoke as next hop; a
// spoke that goes silent leaves every routing table after the hold time; a spoke that flaps (silent
// death, goodbye, restart inside the hold time) ten times never leaves anyone stuck in active and
// everything reconverges each time; after two minutes of 40% frame loss everything reconverges (this
// found one-sided adjacencies: a spoke whose hold timer ran out while the hub's did not stayed pending
// for good, see rtp.ts receive()).
import t from 'tap';
import { EigrpSpeaker } from '../appliance/routing/eigrp/speaker.js';
import type { SpeakerInterface } from '../appliance/routing/eigrp/speaker.js';
import { Rib, Segment } from './util/eigrp-segment.js';

const N = 50;
const HUB = '10.0.0.1';
const addr = (i: number) => `10.0.0.${i + 11}`;
const lan = (i: number) => `192.168.${i}.0`;

/** `loss` (0..1, both ways, a seeded generator) and `drop` (a predicate) decide which frames are lost. */
function star(n = N, loss = 0, seed = 1) {
  const seg = new Segment(HUB);
  let now = 0, rnd = seed;
  const rand = () => { rnd = (rnd * 1103515245 + 12345) & 0x7fffffff; return rnd / 0x7fffffff; };
  const link = { loss, drop: (_from: string, _to: string, _opcode: number) => false };
  const iface = (a: string): SpeakerInterface => ({
    name: 'Tunnel0', address: a, prefixLen: 24, bandwidth: 1000, delay: 1000, mtu: 1400, helloInterval: 5, holdTime: 15, passive: false,
    rules: a === HUB ? { splitHorizon: false, nextHopSelf: false } : { splitHorizon: true, nextHopSelf: true },
  });
  const ribs = new Map<string, Rib>();
  const mk = (a: string, prefix: string) => {
    const rib = new Rib();
    ribs.set(a, rib);
    const sp = new EigrpSpeaker({ asn: 100, routerId: a, interfaces: [iface(a)], originate: [{ prefix, len: 24, iface: 'Tunnel0' }] }, seg.port(a), rib, now);
    const deliver = seg.members.get(a)!;
    seg.members.set(a, (src, dst, p) => { if (!(link.loss && rand() < link.loss) && !link.drop(src, a, p[1])) deliver(src, dst, p); });
    return sp;
  };
  const hub = mk(HUB, '10.10.0.0');
  const spokes = Array.from({ length: n }, (_, i) => mk(addr(i), lan(i)));
  const silent = new Set<number>();
  const run = (ms: number) => {
    for (let x = 0; x < ms; x += 100) {
      now += 100;
      hub.tick(now);
      spokes.forEach((s, i) => { if (!silent.has(i)) s.tick(now); });
      seg.pump();
    }
  };
  /** Spoke i's view: which other spokes' LANs it lacks or reaches other than directly. */
  const wrong = (i: number) => spokes.flatMap((_, k) => (k !== i && !silent.has(k) && ribs.get(addr(i))!.routes.get(`${lan(k)}/24`) !== `${addr(k)}%Tunnel0` ? [k] : []));
  const converged = () => hub.neighbors.up().length === n - silent.size && ribs.get(HUB)!.routes.size === n - silent.size && spokes.every((_, i) => silent.has(i) || wrong(i).length === 0);
  const sia = () => [hub, ...spokes].reduce((m, s) => m + s.dual.stats.stuckInActive, 0);
  const holders = (i: number) => [HUB, ...spokes.map((_, k) => addr(k))].filter((a) => a !== addr(i) && ribs.get(a)!.routes.has(`${lan(i)}/24`));
  const fail = (i: number) => { silent.add(i); seg.down.add(addr(i)); };
  const restart = (i: number) => { seg.down.delete(addr(i)); silent.delete(i); spokes[i] = mk(addr(i), lan(i)); };
  return { seg, hub, spokes, ribs, run, wrong, converged, sia, holders, fail, restart, link };
}

t.test(`${N} spokes on one hub: every spoke learns every other spoke's LAN via that spoke`, async (t) => {
  const s = star();
  s.run(10_000);
  t.equal(s.hub.neighbors.up().length, N, 'the hub has every spoke up');
  t.equal(s.ribs.get(HUB)!.routes.size, N, 'the hub has every spoke LAN');
  const bad = s.spokes.map((_, i) => [i, s.wrong(i)] as const).filter(([, w]) => w.length);
  t.same(bad, [], 'no spoke lacks a LAN or reaches one through the hub');
  t.equal(s.ribs.get(addr(7))!.routes.get('10.10.0.0/24'), `${HUB}%Tunnel0`, 'the hub LAN via the hub');
  t.equal(s.spokes[0].neighbors.size, 1, 'a spoke neighbors only the hub');
  t.equal(s.sia(), 0);
});

t.test('a silent spoke: its LAN leaves the hub and every other spoke after the hold time, not before', async (t) => {
  const s = star();
  s.run(10_000);
  s.fail(20);
  s.run(10_000);
  t.equal(s.holders(20).length, N, 'inside the hold time (15 s) everyone still has it');
  s.run(7_000);
  t.same(s.holders(20), [], 'after the hold time nobody has it');
  t.equal(s.hub.lastChange?.why, 'holding time expired');
  t.ok(s.hub.dual.stats.queriesSent > 0, 'the hub had no feasible successor and queried the spokes');
  t.notOk(s.hub.dual.table.has(`${lan(20)}/24`), 'no topology entry left at the hub');
  t.ok([...s.hub.dual.table.values()].every((d) => d.state === 'passive'), 'every destination passive at the hub');
  t.ok(s.converged(), 'the others are untouched');
  t.equal(s.sia(), 0);
});

t.test('a spoke flapping ten times (silent, goodbye, restart within the hold time): never stuck in active, always reconverges', async (t) => {
  const s = star();
  s.run(10_000);
  const victim = 33;
  for (let flap = 0; flap < 10; flap++) {
    const how = ['silent', 'goodbye', 'restart'][flap % 3];
    if (how === 'goodbye') { s.spokes[victim].shutdown(); s.seg.pump(); }
    s.fail(victim);
    s.run(how === 'restart' ? 3_000 : 17_000);
    if (how !== 'restart') t.same(s.holders(victim), [], `flap ${flap} (${how}): the LAN is gone everywhere`);
    s.restart(victim);
    s.run(10_000);
    t.ok(s.converged(), `flap ${flap} (${how}): back, every spoke has every LAN via its spoke`);
    t.equal(s.holders(victim).length, N, `flap ${flap}: everyone has the flapping spoke's LAN again`);
  }
  t.equal(s.hub.dual.stats.stuckInActive, 0, 'the hub never stuck in active');
  t.equal(s.sia(), 0, 'nor any spoke');
  t.ok([...s.hub.dual.table.values()].every((d) => d.state === 'passive'), 'every destination passive at the hub');
  t.equal(s.hub.neighbors.up().length, N);
});

t.test('20 spokes over a segment losing 40% of frames for two minutes, then clean: everything reconverges, nobody stuck in active', async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const s = star(20, 0.4, seed);
    s.run(60_000);
    s.fail(5); s.run(20_000); s.restart(5);
    s.spokes[6].shutdown(); s.seg.pump(); s.fail(6); s.run(10_000); s.restart(6);
    s.run(30_000);
    s.link.loss = 0;
    s.run(60_000);
    t.ok(s.converged(), `seed ${seed}: ${s.hub.neighbors.up().length} up at the hub, ${s.ribs.get(HUB)!.routes.size} LANs there; spokes missing LANs: ${JSON.stringify(s.spokes.map((_, i) => s.wrong(i)).filter((w) => w.length))}`);
    t.equal(s.sia(), 0, `seed ${seed}: no stuck-in-active`);
    t.ok([...s.hub.dual.table.values()].every((d) => d.state === 'passive'), `seed ${seed}: every destination passive at the hub`);
  }
});
