// EIGRP at hub scale (issue 13 benchmark), run by bench/eigrp.mjs (esbuild bundle, node --expose-gc):
//  1. convergence: one hub (seed 003's: no split horizon, no next-hop-self) and N real EigrpSpeaker
//     spokes on a simulated mGRE segment (test/util/eigrp-segment.ts: the hub reaches every spoke, a
//     spoke only the hub), one fake clock ticked every 100 ms. Figures: simulated time and CPU ms until
//     every spoke is adjacent and holds every other spoke's LAN; then one spoke fails silently (hold
//     timer) and, after it came back, with a goodbye: time until the hub and every other spoke dropped
//     its LAN, packets per opcode exchanged meanwhile, stuck-in-active count;
//  2. memory: one hub and N synthetic spokes driven through the hub's real receive path (hellos, the
//     INIT exchange, acks, updates with K routes each), heap used after gc() before and after, at
//     several (N, K), each in a fresh process, median of 3: bytes per neighbor and per route from the
//     slopes (100 to 1000 neighbors, 1 to 5 routes each);
//  3. absorb rate: the same synthetic spokes send the hub update packets of K changed routes each as
//     fast as it processes them (decode, RTP, DUAL, its own multicast update and every spoke's ack).
// Prints figures and one JSON line, asserts nothing.
import { EigrpSpeaker } from '../appliance/routing/eigrp/speaker.js';
import type { SpeakerInterface } from '../appliance/routing/eigrp/speaker.js';
import type { EigrpTransport } from '../appliance/routing/eigrp/transport.js';
import { decodeEigrpHeader, encodeEigrp } from '../appliance/routing/eigrp/codec.js';
import { toClassicWire } from '../appliance/routing/eigrp/metric.js';
import { EIGRP_MULTICAST, Flag, Opcode } from '../appliance/routing/eigrp/types.js';
import type { EigrpTlv } from '../appliance/routing/eigrp/types.js';
import { Rib, Segment } from '../test/util/eigrp-segment.js';
import { spawnSync } from 'node:child_process';

declare const gc: () => void;
const HUB = '10.0.0.1';
const TICK_MS = 100;
const spokeAddr = (i: number) => `10.0.${(i + 2) >> 8}.${(i + 2) & 255}`;
/** Spoke i's j-th LAN, a /24. */
const lanOf = (i: number, j: number) => `${100 + j}.${i >> 8}.${i & 255}.0`;
const tunnel = (address: string, hub: boolean): SpeakerInterface => ({
  name: 'Tunnel0', address, prefixLen: 16, bandwidth: 1000, delay: 1000, mtu: 1400, helloInterval: 5, holdTime: 15, passive: false,
  rules: hub ? { splitHorizon: false, nextHopSelf: false } : { splitHorizon: true, nextHopSelf: true },
});
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

// ---- 1. convergence with real spokes ----

function convergence(n: number, lans: number) {
  const seg = new Segment(HUB);
  let now = 0, cpu = 0;
  const mk = (addr: string, i: number) => new EigrpSpeaker({ asn: 100, routerId: addr, interfaces: [tunnel(addr, i < 0)],
    originate: i < 0 ? [{ prefix: '10.10.0.0', len: 24, iface: 'Tunnel0' }] : Array.from({ length: lans }, (_, j) => ({ prefix: lanOf(i, j), len: 24, iface: 'Tunnel0' })) },
  seg.port(addr), ribs.get(addr)!, now);
  const ribs = new Map<string, Rib>([[HUB, new Rib()], ...Array.from({ length: n }, (_, i) => [spokeAddr(i), new Rib()] as [string, Rib])]);
  const hub = mk(HUB, -1);
  const spokes = Array.from({ length: n }, (_, i) => mk(spokeAddr(i), i));
  const all = () => [hub, ...spokes];
  const dead = new Set<number>();
  const step = () => {
    const c0 = cpuMs();
    now += TICK_MS;
    hub.tick(now);
    spokes.forEach((s, i) => { if (!dead.has(i)) s.tick(now); });
    seg.pump();
    cpu += cpuMs() - c0;
  };
  const until = (cond: () => boolean, limitMs: number) => {
    const t0 = now, c0 = cpu;
    while (!cond() && now - t0 < limitMs) step();
    return { simMs: now - t0, cpuMs: Math.round(cpu - c0), ok: cond() };
  };
  const hasLan = (rib: Rib, i: number) => { for (let j = 0; j < lans; j++) if (!rib.routes.has(`${lanOf(i, j)}/24`)) return false; return true; };
  const lacksLan = (rib: Rib, i: number) => { for (let j = 0; j < lans; j++) if (rib.routes.has(`${lanOf(i, j)}/24`)) return false; return true; };
  const everyone = () => hub.neighbors.up().length === n - dead.size && spokes.every((_, i) => dead.has(i) || spokes.every((_, k) => k === i || dead.has(k) || hasLan(ribs.get(spokeAddr(i))!, k)));
  const traffic = () => {
    const m: Record<string, number> = {};
    for (const s of all()) for (const [k, v] of s.counters.sent) m[k] = (m[k] ?? 0) + v;
    return m;
  };
  const diff = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]).filter(([, v]) => v));
  const sia = () => all().reduce((m, s) => m + s.dual.stats.stuckInActive, 0);

  const start = until(everyone, 120_000);
  const routes = [...ribs.values()].reduce((m, r) => m + r.routes.size, 0);
  const fail = (victim: number, how: 'silent' | 'goodbye') => {
    const before = traffic();
    const addr = spokeAddr(victim);
    const gone = () => lacksLan(ribs.get(HUB)!, victim) && spokes.every((_, i) => i === victim || lacksLan(ribs.get(spokeAddr(i))!, victim));
    const c0 = cpuMs(), cpu0 = cpu;
    if (how === 'goodbye') spokes[victim].shutdown();
    dead.add(victim);
    seg.pump();
    seg.down.add(addr);
    cpu += cpuMs() - c0;
    const r = until(gone, 60_000);
    r.cpuMs = Math.round(cpu - cpu0);
    const hubQueries = hub.dual.stats.queriesSent;
    const out = { how, ...r, packets: diff(before, traffic()), hubWentActive: hub.dual.stats.wentActive, hubQueriesSent: hubQueries };
    // it comes back (a fresh process) and everyone reconverges before the next measurement
    seg.down.delete(addr);
    dead.delete(victim);
    spokes[victim] = mk(addr, victim);
    const back = until(everyone, 120_000);
    return { ...out, recoveredSimMs: back.simMs, recovered: back.ok };
  };
  const silent = fail(n >> 1, 'silent');
  const goodbye = fail(n >> 2, 'goodbye');
  return { spokes: n, lansPerSpoke: lans, adjacentAndFull: start, routesInstalledTotal: routes, silent, goodbye, stuckInActive: sia(),
    dropped: all().reduce((m, s) => { for (const [k, v] of s.counters.dropped) m[k] = (m[k] ?? 0) + v; return m; }, {} as Record<string, number>) };
}

// ---- 2 and 3. synthetic spokes against the hub's real receive path ----

const header = (opcode: number, flags: number, seq: number, ack: number) => ({ version: 2, opcode, checksum: 0, flags, seq, ack, vrid: 0, as: 100 });
const HELLO_TLVS: EigrpTlv[] = [{ type: 'parameters', k: [1, 0, 1, 0, 0, 0], holdTime: 600 }, { type: 'software-version', os: [23, 0], tlv: [1, 2] }];
const vector = (delay10us: number) => ({ bandwidth: 100_000, delay: delay10us * 10_000_000, mtu: 1500, hopCount: 0, reliability: 255, load: 1 });

/** A hub speaker with N spokes that are only packet generators: they say hello, answer the INIT
 *  exchange and ack every reliable packet at once (one ack encoding per sequence number, shared). */
class SyntheticStar {
  readonly hub: EigrpSpeaker;
  private readonly outbox: Array<{ dst: string; payload: Uint8Array }> = [];
  private readonly seq = new Map<string, number>();
  private readonly acks = new Map<number, Uint8Array>();
  readonly up: string[] = [];
  constructor(readonly n: number) {
    const t: EigrpTransport = { send: (_i, dst, payload) => { this.outbox.push({ dst, payload }); }, onReceive: () => {}, close: () => {} };
    this.hub = new EigrpSpeaker({ asn: 100, routerId: HUB, interfaces: [tunnel(HUB, true)], originate: [{ prefix: '10.10.0.0', len: 24, iface: 'Tunnel0' }] }, t, { replace: () => {}, remove: () => {} }, 0);
  }
  private ack(seq: number): Uint8Array {
    let a = this.acks.get(seq);
    if (!a) { a = encodeEigrp({ header: header(Opcode.Hello, 0, 0, seq), tlvs: [] }); if (this.acks.size > 1000) this.acks.clear(); this.acks.set(seq, a); }
    return a;
  }
  /** Answer what the hub sent until it is quiet. */
  drain(): void {
    while (this.outbox.length) {
      const f = this.outbox.shift()!;
      const h = decodeEigrpHeader(f.payload);
      if (!h.seq) continue; // hellos, acks, sequence hellos
      const to = f.dst === EIGRP_MULTICAST ? this.up : [f.dst];
      for (const s of to) {
        if (h.opcode === Opcode.Update && h.flags & Flag.Init) {
          const mine = this.next(s);
          this.hub.receive('Tunnel0', s, encodeEigrp({ header: header(Opcode.Update, Flag.Init, mine, h.seq), tlvs: [] }));
        } else this.hub.receive('Tunnel0', s, this.ack(h.seq));
      }
    }
  }
  private next(s: string): number { const v = (this.seq.get(s) ?? 0) + 1; this.seq.set(s, v); return v; }
  connectAll(): void {
    const hello = encodeEigrp({ header: header(Opcode.Hello, 0, 0, 0), tlvs: HELLO_TLVS });
    for (let i = 0; i < this.n; i++) {
      const s = spokeAddr(i);
      this.hub.receive('Tunnel0', s, hello);
      this.drain();
      this.up.push(s);
    }
  }
  /** Spoke i's update: its K routes with delay `delay10us`. */
  update(i: number, k: number, delay10us: number): Uint8Array {
    const s = spokeAddr(i);
    const metric = toClassicWire(vector(delay10us));
    const tlvs: EigrpTlv[] = Array.from({ length: k }, (_, j) => ({ type: 'ipv4-route', nextHop: '0.0.0.0', metric, destinations: [{ prefix: lanOf(i, j), len: 24 }] }));
    return encodeEigrp({ header: header(Opcode.Update, 0, this.next(s), 0), tlvs });
  }
  /** Drop the generator's own caches (memory figures count the hub only). */
  forgetAcks(): void { this.acks.clear(); }
  feed(i: number, bytes: Uint8Array): void { this.hub.receive('Tunnel0', spokeAddr(i), bytes); this.drain(); }
}

function heapAfterGc(): number { gc(); gc(); return process.memoryUsage().heapUsed; }

function memory(n: number, k: number) {
  const base = heapAfterGc();
  let star: SyntheticStar | undefined = new SyntheticStar(n);
  star.connectAll();
  for (let i = 0; i < n; i++) star.feed(i, star.update(i, k, 10));
  star.forgetAcks();
  const up = star.hub.neighbors.up().length, routes = star.hub.dual.table.size;
  const used = heapAfterGc() - base;
  star = undefined;
  return { spokes: n, routesPerSpoke: k, neighborsUp: up, topologyEntries: routes, heapBytes: used };
}

function absorb(n: number, k: number, seconds: number) {
  const star = new SyntheticStar(n);
  star.connectAll();
  for (let i = 0; i < n; i++) star.feed(i, star.update(i, k, 10));
  // packets made ahead of the clock: per round every spoke flips its routes' delay (10 <-> 11 tens of
  // microseconds: worse or better, always feasible, so a local computation and a multicast update)
  const rounds = 20;
  const pkts = Array.from({ length: rounds }, (_, r) => Array.from({ length: n }, (_, i) => star.update(i, k, r % 2 ? 10 : 11)));
  const mc0 = star.hub.rtp.stats.multicasts;
  const c0 = cpuMs(), w0 = performance.now();
  let packets = 0;
  while (cpuMs() - c0 < seconds * 1000) {
    for (const round of pkts) for (let i = 0; i < n; i++) star.feed(i, round[i]);
    packets += rounds * n;
    // the next pass needs fresh sequence numbers
    for (let r = 0; r < rounds; r++) for (let i = 0; i < n; i++) pkts[r][i] = star.update(i, k, r % 2 ? 10 : 11);
  }
  // the re-encoding above is the generator's work: measure it alone and take it out
  const cpu = cpuMs() - c0, wall = performance.now() - w0;
  const g0 = cpuMs();
  for (let r = 0; r < rounds; r++) for (let i = 0; i < n; i++) pkts[r][i] = star.update(i, k, r % 2 ? 10 : 11);
  const genPerPass = cpuMs() - g0;
  const hubCpu = cpu - genPerPass * (packets / (rounds * n));
  const installed = star.hub.dual.table.size;
  return { spokes: n, routesPerPacket: k, packets, hubCpuMs: Math.round(hubCpu), wallMs: Math.round(wall),
    packetsPerSec: Math.round(packets / (hubCpu / 1000)), routesPerSec: Math.round((packets * k) / (hubCpu / 1000)),
    hubMulticastUpdates: star.hub.rtp.stats.multicasts - mc0, acksAbsorbed: (star.hub.rtp.stats.multicasts - mc0) * n, topologyEntries: installed,
    stuckInActive: star.hub.dual.stats.stuckInActive };
}

// each memory size in a fresh process (a heap that ran the other phases keeps garbage gc() may not return)
if (process.argv[2] === 'mem') {
  // the same build twice first: code the JIT compiles lives in the heap too, and is not per neighbor
  const n = Number(process.argv[3]), k = Number(process.argv[4]);
  memory(n, k); memory(n, k);
  const runs = [memory(n, k), memory(n, k), memory(n, k)].sort((a, b) => a.heapBytes - b.heapBytes);
  console.log(JSON.stringify(runs[1])); // the median
  process.exit(0);
}
const memoryInChild = (n: number, k: number): ReturnType<typeof memory> =>
  JSON.parse(spawnSync(process.execPath, ['--expose-gc', process.argv[1], 'mem', String(n), String(k)], { encoding: 'utf8' }).stdout);

const N = Number(process.argv[2] ?? 100);
const LANS = Number(process.argv[3] ?? 3);
const conv = convergence(N, LANS);
const f = (x: { simMs: number; cpuMs: number; ok: boolean }) => `${(x.simMs / 1000).toFixed(1)} s simulated, ${x.cpuMs} ms CPU${x.ok ? '' : ' (NOT reached)'}`;
console.log(`convergence, ${N} spokes x ${LANS} LANs on one hub (no split horizon, no next-hop-self):`);
console.log(`  all adjacent, every spoke has every LAN: ${f(conv.adjacentAndFull)}; ${conv.routesInstalledTotal} routes installed over ${N + 1} routers`);
for (const x of [conv.silent, conv.goodbye]) {
  console.log(`  spoke fails (${x.how}): its LANs gone from the hub and all ${N - 1} others in ${f(x)}; packets ${JSON.stringify(x.packets)}; back and reconverged in ${(x.recoveredSimMs / 1000).toFixed(1)} s`);
}
console.log(`  stuck in active: ${conv.stuckInActive}, drops: ${JSON.stringify(conv.dropped)}`);

const sizes: Array<[number, number]> = [[100, 1], [250, 1], [1000, 1], [1000, 5]];
const mem = sizes.map(([n, k]) => memoryInChild(n, k));
const perRoute = (mem[3].heapBytes - mem[2].heapBytes) / (mem[3].topologyEntries - mem[2].topologyEntries);
// from 250 to 1000 (Maps grow their tables in doublings: a slope across whole doublings counts them fairly)
const perNeighbor = (mem[2].heapBytes - mem[1].heapBytes) / (mem[2].spokes - mem[1].spokes) - perRoute;
console.log('memory at the hub (heap after gc, synthetic spokes):');
for (const m of mem) console.log(`  ${m.spokes} neighbors x ${m.routesPerSpoke} routes (${m.topologyEntries} topology entries): ${(m.heapBytes / 1024).toFixed(0)} KiB`);
console.log(`  slope: ${Math.round(perNeighbor + perRoute)} bytes per neighbor with its one route, ${Math.round(perRoute)} per further route, so ${Math.round(perNeighbor)} per neighbor alone (heap noise: +-150 KiB a point)`);

const rates = [absorb(100, 10, 2), absorb(100, 30, 2)];
console.log('updates the hub absorbs (100 neighbors, each update re-advertised to all and acked by all):');
for (const r of rates) console.log(`  ${r.routesPerPacket} routes/packet: ${r.packetsPerSec} packets/s, ${r.routesPerSec} routes/s (${r.packets} packets, ${r.hubMulticastUpdates} multicast updates out, ${r.acksAbsorbed} acks in, SIA ${r.stuckInActive})`);
console.log(JSON.stringify({ bench: 'eigrp', convergence: conv, memory: { sizes: mem, bytesPerNeighbor: Math.round(perNeighbor), bytesPerRoute: Math.round(perRoute) }, absorb: rates }));
