// One EIGRP process (one AS): hellos and neighbors, RTP, DUAL and the per-interface advertisement rules
// tied together over a transport, with learned routes handed to a route sink. Time is injected: the
// owner calls tick(now) (a timer in production, a fake clock in tests) and receive() for each packet.
import { inPrefix, networkOf } from '../../net/ipv4.js';
import { advertFor } from './advertise.js';
import type { Advert, InterfaceRules } from './advertise.js';
import { encodeSigned, verifySigned } from './auth.js';
import type { EigrpAuthKey } from './auth.js';
import { decodeEigrp, encodeEigrp } from './codec.js';
import { EigrpCounters } from './counters.js';
import { Dual } from './dual.js';
import type { Dest, DualAction, RouteIn } from './dual.js';
import { connectedVector, DEFAULT_K, fromClassicWire, fromWideWire, ribMetric, toClassicWire, toWideWire, UNREACHABLE } from './metric.js';
import type { KValues, LinkCost, PathVector } from './metric.js';
import { NeighborTable } from './neighbor.js';
import { Rtp } from './rtp.js';
import type { Transmit } from './rtp.js';
import type { EigrpTransport, RouteSink } from './transport.js';
import { EIGRP_MULTICAST, EIGRP_VERSION, ExternalProtocol, Flag, Opcode, RouteFlag, StubFlag } from './types.js';
import type { EigrpDropReason, EigrpPacket, EigrpTlv, ExternalData } from './types.js';
import { dropLine, packetLine } from './debug.js';
import type { LogFn } from '../../log/log.js';

export interface SpeakerInterface {
  name: string; address: string; prefixLen: number;
  bandwidth: number; delay: number; mtu: number; // kbit/s, tens of microseconds, bytes
  rules: InterfaceRules;
  helloInterval: number; holdTime: number;       // seconds
  passive: boolean;
  auth?: EigrpAuthKey[];                           // key chain; the first key signs
  /** `ip summary-address eigrp N P M`: advertised instead of the more specific routes it covers */
  summaries?: Array<{ prefix: string; len: number }>;
}

const covers = (s: { prefix: string; len: number }, d: Dest): boolean => d.len > s.len && inPrefix(d.prefix, s.prefix, s.len);

export interface SpeakerOptions {
  asn: number; routerId: string;
  k?: KValues; wide?: boolean; variance?: number; maxPaths?: number; activeTimeMs?: number;
  interfaces: SpeakerInterface[];
  /** Networks we originate: connected networks matched by `network` (the interface's metric), or
   *  redistributed ones (external, with their own vector). */
  originate: Array<{ prefix: string; len: number; iface: string; vector?: PathVector; external?: ExternalData }>;
  stub?: number; // StubFlag bits; 0/undefined: not a stub
}

/** Most route TLVs per update packet (keeps packets well under a 1400-byte tunnel MTU). */
const ROUTES_PER_PACKET = 30;

export class EigrpSpeaker {
  readonly neighbors = new NeighborTable();
  readonly rtp: Rtp;
  readonly dual: Dual;
  readonly counters = new EigrpCounters();
  private readonly ifaces = new Map<string, SpeakerInterface>();
  private nextHello = new Map<string, number>();
  private readonly k: KValues;
  private installed = new Map<string, string>();
  private t = 0;

  /** `log`: where `debug eigrp packets` lines go (at debug level; the log prints them only while on). */
  constructor(readonly o: SpeakerOptions, private readonly transport: EigrpTransport, private readonly routes: RouteSink, now = 0, private readonly log?: LogFn) {
    this.t = now;
    this.k = o.k ?? DEFAULT_K;
    for (const i of o.interfaces) this.ifaces.set(i.name, i);
    this.rtp = new Rtp(() => this.t);
    this.dual = new Dual({
      k: this.k, wide: !!o.wide, variance: o.variance ?? 1, maxPaths: o.maxPaths ?? 4, activeTimeMs: o.activeTimeMs ?? 180_000,
            // stub neighbors are never queried: they are not transit, so they cannot have another way (stub routing)
      linkCost: (name) => this.linkCost(name), neighbors: () => this.neighbors.up().filter((n) => !n.stub).map((n) => n.address), now: () => this.t,
    });
    transport.onReceive((iface, src, dst, payload) => this.receive(iface, src, payload, dst));
    for (const r of o.originate) {
      if (r.vector) this.dual.local(r.prefix, r.len, r.iface, r.vector, r.external);
      else if (this.ifaces.has(r.iface)) this.dual.local(r.prefix, r.len, r.iface, connectedVector(this.linkCost(r.iface)));
    }
    this.flush();
  }

  /** The redistributed routes (originate entries with their own vector) now wanted: the gone ones are
   *  withdrawn, new or changed ones advertised, without touching the adjacencies (IOS updates in place
   *  when a redistributed static comes or goes). */
  setRedistributed(wanted: SpeakerOptions['originate']): void {
    const key = (r: { prefix: string; len: number }) => `${r.prefix}/${r.len}`;
    const next = new Map(wanted.filter((r) => r.vector).map((r) => [key(r), r]));
    const old = this.o.originate.filter((r) => r.vector);
    for (const r of old) if (!next.has(key(r))) this.dual.local(r.prefix, r.len, r.iface, undefined);
    for (const r of next.values()) {
      const was = old.find((x) => key(x) === key(r));
      if (JSON.stringify(was) !== JSON.stringify(r)) this.dual.local(r.prefix, r.len, r.iface, r.vector, r.external);
    }
    this.o.originate = [...this.o.originate.filter((r) => !r.vector), ...next.values()];
    this.flush();
  }

  /** The interfaces and the `network`-matched connected networks now wanted (a `network` statement
   *  added or removed, an interface's EIGRP settings changed). As IOS, only what the change touches is
   *  reset: an interface gone or changed (or named in `reset`: its OS interface was recreated) says
   *  goodbye on it and drops its own neighbors, its connected networks no longer covered are withdrawn and
   *  those still covered re-advertised at its new cost; an interface added starts saying hello. Neighbors on the other
   *  interfaces keep their adjacency and only receive the updates. */
  setInterfaces(interfaces: SpeakerInterface[], connected: SpeakerOptions['originate'], reset: ReadonlySet<string> = new Set()): void {
    const next = new Map(interfaces.map((i) => [i.name, i]));
    const touched = new Set<string>();
    for (const [name, i] of this.ifaces) {
      const n = next.get(name);
      if (n && !reset.has(name) && JSON.stringify(n) === JSON.stringify(i)) continue;
      touched.add(name);
      if (!i.passive) this.sendHello(i, this.helloTlvs(i, true));
      for (const nb of this.neighbors.list()) if (nb.iface === name) this.neighborDown(nb.address, n ? 'interface changed' : 'interface removed');
      this.ifaces.delete(name);
      this.nextHello.delete(name);
    }
    for (const i of interfaces) if (!this.ifaces.has(i.name)) { this.ifaces.set(i.name, i); touched.add(i.name); }
    const key = (r: { prefix: string; len: number; iface: string }) => `${r.prefix}/${r.len}%${r.iface}`;
    const old = this.o.originate.filter((r) => !r.vector);
    const wanted = connected.filter((r) => !r.vector && this.ifaces.has(r.iface));
    const wantedKeys = new Set(wanted.map(key)), oldKeys = new Set(old.map(key));
    for (const r of old) if (!wantedKeys.has(key(r))) this.dual.local(r.prefix, r.len, r.iface, undefined);
    for (const r of wanted) if (!oldKeys.has(key(r)) || touched.has(r.iface)) this.dual.local(r.prefix, r.len, r.iface, connectedVector(this.linkCost(r.iface)));
    this.o.interfaces = interfaces;
    this.o.originate = [...wanted, ...this.o.originate.filter((r) => r.vector)];
    this.flush();
  }

  private linkCost(name: string): LinkCost {
    const i = this.ifaces.get(name);
    return { bandwidth: i?.bandwidth ?? 100, delay: i?.delay ?? 5000, mtu: i?.mtu ?? 1500, wide: !!this.o.wide };
  }

  // ---- time ----

  tick(now: number): void {
    this.t = now;
    for (const i of this.ifaces.values()) {
      if (i.passive || now < (this.nextHello.get(i.name) ?? 0)) continue;
      this.nextHello.set(i.name, now + i.helloInterval * 1000);
      this.sendHello(i, this.helloTlvs(i));
    }
    for (const n of this.neighbors.expire(now)) this.neighborDown(n.address, 'holding time expired');
    this.rtp.tick(now);
    this.dual.tick(now);
    this.flush();
  }

  private helloTlvs(i: SpeakerInterface, goodbye = false): EigrpTlv[] {
    const tlvs: EigrpTlv[] = [
      { type: 'parameters', k: goodbye ? [255, 255, 255, 255, 255, 255] : [...this.k] as [number, number, number, number, number, number], holdTime: i.holdTime },
      { type: 'software-version', os: [23, 0], tlv: [this.o.wide ? 2 : 1, this.o.wide ? 0 : 2] },
    ];
    if (this.o.stub) tlvs.push({ type: 'stub', flags: this.o.stub });
    return tlvs;
  }

  private sendHello(i: SpeakerInterface, tlvs: EigrpTlv[], ack = 0, to = EIGRP_MULTICAST): void {
    this.put(i, to, { header: this.header(Opcode.Hello, 0, 0, ack), tlvs });
  }

  /** Graceful shutdown: a goodbye (all K values 255) on every interface. */
  shutdown(): void {
    for (const i of this.ifaces.values()) if (!i.passive) this.sendHello(i, this.helloTlvs(i, true));
    for (const key of this.installed.keys()) { const [p, l] = key.split('/'); this.routes.remove(p, Number(l)); }
    this.installed.clear();
  }

  private header(opcode: number, flags: number, seq: number, ack: number) {
    return { version: EIGRP_VERSION, opcode, checksum: 0, flags, seq, ack, vrid: 0, as: this.o.asn };
  }

  private put(i: SpeakerInterface, to: string, p: EigrpPacket): void {
    const bytes = i.auth?.length ? encodeSigned(p, i.auth[0], i.address) : encodeEigrp(p);
    this.counters.sentOne(p.header.opcode, p.header.opcode === Opcode.Hello && p.header.ack !== 0);
    this.log?.('debug', packetLine('Sending', p.header, i.name, to === EIGRP_MULTICAST ? undefined : to));
    this.transport.send(i.name, to, bytes);
  }

  // ---- input ----

  /** A packet dropped: counted, and a debug line (`debug eigrp packets`). */
  private drop(i: SpeakerInterface, reason: EigrpDropReason, src: string, detail: string): void {
    this.counters.drop(reason, src, detail);
    this.log?.('debug', dropLine(i.name, src, reason, detail));
  }

  /** `dst`: the packet's destination address (224.0.0.10 for a multicast; unicast when not given). */
  receive(ifname: string, src: string, bytes: Uint8Array, dst?: string): void {
    const i = this.ifaces.get(ifname);
    if (!i) return;
    const r = decodeEigrp(bytes);
    if (!r.ok) { this.drop(i, r.reason, src, r.error); return; }
    const { header: h, tlvs } = r.packet;
    this.log?.('debug', packetLine('Received', h, i.name, src));
    if (h.as !== this.o.asn) { this.drop(i, 'wrong-as', src, `AS ${h.as}, we are ${this.o.asn}`); return; }
    if (!inPrefix(src, networkOf(i.address, i.prefixLen), i.prefixLen) || src === i.address) { this.drop(i, 'not-on-subnet', src, `${src} is not on ${i.name}'s subnet`); return; }
    if (i.auth?.length) {
      const a = verifySigned(bytes, i.auth, src);
      if (a !== 'ok') { this.drop(i, a === 'missing' ? 'auth-missing' : 'auth-failed', src, `authentication ${a}`); return; }
    } else if (tlvs.some((x) => x.type === 'auth')) { this.drop(i, 'auth-unexpected', src, 'authenticated packet on an interface without authentication'); return; }
    this.counters.receivedOne(h.opcode, h.opcode === Opcode.Hello && h.ack !== 0);
    if (h.opcode === Opcode.Hello) this.hello(i, src, h, tlvs);
    else this.reliable(i, src, h, tlvs, dst !== EIGRP_MULTICAST);
    this.flush();
  }

  private hello(i: SpeakerInterface, src: string, h: EigrpPacket['header'], tlvs: EigrpTlv[]): void {
    const par = tlvs.find((x) => x.type === 'parameters');
    if (par?.type === 'parameters') {
      if (par.k.slice(0, 5).every((v) => v === 255)) { this.neighborDown(src, 'peer goodbye'); return; }
      if (par.k.slice(0, 5).some((v, j) => v !== this.k[j])) { this.drop(i, 'k-mismatch', src, `K values ${par.k.join(' ')} differ from ours`); return; }
      const { neighbor, isNew } = this.neighbors.heard(src, i.name, par.holdTime, this.t);
      const stub = tlvs.find((x) => x.type === 'stub');
      neighbor.stub = stub?.type === 'stub' ? stub.flags : 0;
      const sw = tlvs.find((x) => x.type === 'software-version');
      if (sw?.type === 'software-version') neighbor.softwareVersion = `${sw.os.join('.')}/${sw.tlv.join('.')}`;
      if (isNew) this.rtp.add(src, i.name);
    }
    const seq = tlvs.find((x) => x.type === 'sequence');
    if (seq?.type === 'sequence') this.rtp.sequenceHello(src, i.address, seq.addresses);
    if (this.neighbors.get(src)) this.rtp.receive(src, h);
  }

  private reliable(i: SpeakerInterface, src: string, h: EigrpPacket['header'], tlvs: EigrpTlv[], unicast: boolean): void {
    if (!this.neighbors.get(src)) { this.drop(i, 'not-neighbor', src, `${h.opcode} from ${src}, not a neighbor`); return; }
    if (![Opcode.Update, Opcode.Query, Opcode.Reply, Opcode.SiaQuery, Opcode.SiaReply].includes(h.opcode as 1)) {
      this.drop(i, 'unknown-opcode', src, `opcode ${h.opcode}`); return;
    }
    if (!this.rtp.receive(src, h, unicast)) return;
    for (const t of tlvs) {
      const r = this.routeIn(i, src, t);
      if (!r) continue;
      switch (h.opcode) {
        case Opcode.Update: this.dual.update(src, i.name, r); break;
        case Opcode.Query: this.dual.query(src, i.name, r); break;
        case Opcode.Reply: this.dual.replyFrom(src, i.name, r); break;
        case Opcode.SiaQuery: this.dual.siaQuery(src, r); break;
        case Opcode.SiaReply: this.dual.siaReply(src, r); break;
      }
    }
  }

  /** A route TLV as DUAL's input; the next hop is the sender unless it named another router on the
   *  same subnet (third-party next hop: what `no ip next-hop-self` at a hub sends spokes). */
  private routeIn(i: SpeakerInterface, src: string, t: EigrpTlv): RouteIn | undefined {
    if (t.type !== 'ipv4-route' && t.type !== 'wide-route') return undefined;
    const d = t.destinations[0];
    const reported: PathVector = t.type === 'ipv4-route' ? fromClassicWire(t.metric) : fromWideWire(t.metric);
    const thirdParty = t.nextHop !== '0.0.0.0' && t.nextHop !== i.address && inPrefix(t.nextHop, networkOf(i.address, i.prefixLen), i.prefixLen);
    return { prefix: networkOf(d.prefix, d.len), len: d.len, reported, nextHop: thirdParty ? t.nextHop : src, ...(t.external && { external: t.external }) };
  }

  private neighborDown(address: string, why: string): void {
    this.neighbors.remove(address); // already gone when it expired
    this.rtp.remove(address);
    this.dual.neighborDown(address);
    this.lastChange = { address, why };
  }
  lastChange?: { address: string; why: string };

  // ---- output ----

  /** What a stub lets out of its own routes (`eigrp stub connected|static|summary|redistributed`):
   *  networks under `network` statements and redistributed connected ones with `connected`, redistributed
   *  statics with `static`, any redistributed route with `redistributed`, summaries with `summary`. */
  private stubAdvertises(d: Dest | undefined): boolean {
    const f = this.o.stub ?? 0, ext = d?.successors[0]?.external;
    if (!d) return !!(f & StubFlag.Summary);
    if (!ext) return !!(f & StubFlag.Connected);
    if (f & StubFlag.Redistributed) return true;
    return ext.protocol === ExternalProtocol.Static ? !!(f & StubFlag.Static) : ext.protocol === ExternalProtocol.Connected && !!(f & StubFlag.Connected);
  }

  private routeTlv(d: Dest, i: SpeakerInterface, mustAnswer: boolean): EigrpTlv | undefined {
    // a stub advertises only its own routes, as its flags allow; a receive-only stub nothing (replies
    // still go out, poisoned)
    if (this.o.stub && !mustAnswer && (d.successors[0]?.neighbor || this.o.stub & StubFlag.ReceiveOnly || !this.stubAdvertises(d))) return undefined;
    const summarized = i.summaries?.some((s) => covers(s, d));
    if (summarized && !mustAnswer) return undefined;
    const a = summarized ? { vector: UNREACHABLE, nextHop: '0.0.0.0' } : advertFor(d, i.name, i.rules, mustAnswer);
    if (!a) return undefined;
    return this.tlv(d, a, d.state === 'active' ? RouteFlag.Active : 0);
  }

  private tlv(d: { prefix: string; len: number }, a: Advert, flags: number): EigrpTlv {
    const destinations = [{ prefix: d.prefix, len: d.len }];
    if (this.o.wide) return { type: 'wide-route', topologyId: 0, routerId: this.o.routerId, nextHop: a.nextHop, metric: toWideWire(a.vector, flags), destinations, ...(a.external && { external: a.external }) };
    return { type: 'ipv4-route', nextHop: a.nextHop, metric: toClassicWire(a.vector, flags), destinations, ...(a.external && { external: a.external }) };
  }

  /** Summary routes of interface `i` whose components are among `changed` (all when undefined): the
   *  best component's metric while any component is reachable, unreachable (withdrawn) otherwise. */
  private summaryTlvs(i: SpeakerInterface, changed?: Dest[]): EigrpTlv[] {
    const out: EigrpTlv[] = [];
    if (this.o.stub && !this.stubAdvertises(undefined)) return out;
    for (const s of i.summaries ?? []) {
      if (changed && !changed.some((d) => covers(s, d))) continue;
      let best: Dest | undefined;
      for (const d of this.dual.table.values()) {
        if (covers(s, d) && Number.isFinite(d.distance) && (!best || d.distance < best.distance)) best = d;
      }
      if (!best && !changed) continue; // nothing to withdraw in a full table
      out.push(this.tlv(s, { vector: best ? best.vector : UNREACHABLE, nextHop: '0.0.0.0' }, 0));
    }
    return out;
  }

  /** Send what RTP and DUAL produced. */
  private flush(): void {
    for (let round = 0; round < 8; round++) {
      for (const e of this.rtp.takeEvents()) {
        if (e.kind === 'up') { const n = this.neighbors.get(e.neighbor); if (n) { n.state = 'up'; this.fullTable(n.address, n.iface); } }
        else this.neighborDown(e.neighbor, e.kind === 'give-up' ? 'retry limit exceeded' : 'peer restarted');
      }
      const actions = this.dual.take();
      this.apply(actions);
      const tx = this.rtp.take();
      for (const x of tx) this.transmit(x);
      if (!actions.length && !tx.length) break;
    }
    // what a received packet caused is out: acks it did not carry go now, not at the next tick
    this.rtp.flushAcks();
    for (const x of this.rtp.take()) this.transmit(x);
  }

  private fullTable(address: string, ifname: string): void {
    const i = this.ifaces.get(ifname)!;
    const tlvs = [...this.dual.table.values()].filter((d) => d.state === 'passive' && Number.isFinite(d.distance))
      .map((d) => this.routeTlv(d, i, false)).filter((x): x is EigrpTlv => !!x);
    const chunks = chunk([...tlvs, ...this.summaryTlvs(i)]);
    chunks.forEach((c, j) => this.rtp.send(address, Opcode.Update, j === chunks.length - 1 ? Flag.EOT : 0, c));
  }

  private apply(actions: DualAction[]): void {
    const updates: Dest[] = [];
    for (const a of actions) {
      switch (a.kind) {
        case 'update': updates.push(a.dest); break;
        case 'route': this.program(a.dest); break;
        case 'reset': this.neighborDown(a.neighbor, a.why); break;
        case 'query': for (const n of a.to) this.unicast(n, Opcode.Query, a.dest, true); break;
        case 'reply': this.unicast(a.to, Opcode.Reply, a.dest, true); break;
        case 'sia-query': this.unicast(a.to, Opcode.SiaQuery, a.dest, true); break;
        case 'sia-reply': this.unicast(a.to, Opcode.SiaReply, a.dest, true); break;
      }
    }
    if (!updates.length) return;
    for (const i of this.ifaces.values()) {
      if (i.passive) continue;
      const tlvs = [...updates.map((d) => this.routeTlv(d, i, false)).filter((x): x is EigrpTlv => !!x), ...this.summaryTlvs(i, updates)];
      for (const c of chunk(tlvs)) if (c.length) this.rtp.multicast(i.name, EIGRP_MULTICAST, Opcode.Update, 0, c);
    }
  }

  private unicast(address: string, opcode: number, d: Dest, mustAnswer: boolean): void {
    const n = this.neighbors.get(address);
    const i = n && this.ifaces.get(n.iface);
    if (!i) return;
    const t = this.routeTlv(d, i, mustAnswer);
    if (t) this.rtp.send(address, opcode, 0, [t]);
  }

  private transmit(x: Transmit): void {
    const to = typeof x.to === 'string' ? x.to : x.to.multicast;
    const ifname = typeof x.to === 'string' ? this.neighbors.get(x.to)?.iface : x.to.iface;
    const i = ifname ? this.ifaces.get(ifname) : undefined;
    if (!i) return;
    this.put(i, to, { header: this.header(x.opcode, x.flags, x.seq, x.ack), tlvs: x.tlvs });
  }

  private program(d: Dest): void {
    const learned = d.successors.filter((p) => p.neighbor);
    const key = d.key;
    if (!learned.length || d.successors.some((p) => !p.neighbor)) {
      if (this.installed.delete(key)) this.routes.remove(d.prefix, d.len);
      return;
    }
    const hops = learned.map((p) => ({ via: p.nextHop, dev: p.iface }));
    const external = learned[0].external !== undefined; // a change between internal and external is a new route
    const sig = JSON.stringify([hops, external]);
    if (this.installed.get(key) === sig) return;
    this.installed.set(key, sig);
    this.routes.replace(d.prefix, d.len, hops, this.ribMetric(d), external);
  }

  /** The metric the routing table gets for `d` (and `show ip route` prints): the classic composite, or
   *  the 64-bit wide composite divided by the RIB scale (named mode, IOS `metric rib-scale` 128). */
  ribMetric(d: Dest): number { return this.o.wide ? ribMetric(d.distance) : Math.min(d.distance, 0xffffffff); }
}

function chunk<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let j = 0; j < xs.length; j += ROUTES_PER_PACKET) out.push(xs.slice(j, j + ROUTES_PER_PACKET));
  return out.length ? out : [[]];
}
