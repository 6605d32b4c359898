// In-memory NBMA network of NHRP engines for Phase 2/3 tests: bytes really go through
// encodeNhrp/decodeNhrp, delivery is by destination NBMA, time is a FakeClock. Nodes record peer
// events, shortcut route calls and logs so tests can assert on what the supervisor would see.
import { NhrpEngine } from '../../appliance/nhrp/engine.js';
import type { NhrpEngineOptions, PeerChange } from '../../appliance/nhrp/engine.js';
import { decodeNhrp } from '../../appliance/nhrp/codec.js';
import { ipv4ToBytes } from '../../appliance/net/ipv4.js';
import type { TunnelConfig } from '../../appliance/config/model.js';
import type { NhrpMessage } from '../../appliance/nhrp/types.js';
import { FakeClock } from './fake-clock.js';

export const HOLD = 600;

export function tunnel(p: Partial<TunnelConfig['nhrp']> = {}, t: Partial<TunnelConfig> = {}): TunnelConfig {
  return {
    kind: 'tunnel', name: 'Tunnel0', number: 0, shutdown: false, mtu: 1400, mode: 'gre-multipoint',
    ...t,
    nhrp: {
      networkId: 1, holdtime: HOLD, nhs: [], maps: [], multicast: [], redirect: false, shortcut: false,
      registrationNoUnique: false, ...p,
    },
  } as TunnelConfig;
}

export interface Addr { ip: string; nbma: string }

/** Spoke (or lower-level hub) config registering with the given NHSes (nhs ... nbma ...). */
export function clientOf(nhs: Array<Addr & { priority?: number }>, p: Partial<TunnelConfig['nhrp']> = {}): TunnelConfig {
  return tunnel({ nhs: nhs.map((n) => ({ tunnelIp: n.ip, nbma: n.nbma, priority: n.priority })), ...p });
}

export interface Sent { t: number; from: string; to: string; msg: NhrpMessage; bytes: Uint8Array }

export class Net {
  nodes = new Map<string, Node>();
  queue: Array<() => void> = [];
  flushing = false;
  sent: Sent[] = [];
  cut = new Set<string>(); // NBMAs whose packets are lost both ways
  nat = new Map<string, string>(); // inside NBMA -> outside address seen by others
  readonly clock = new FakeClock();
  constructor() { this.clock.t = 1_000_000; }

  deliver(from: string, to: string, bytes: Uint8Array): void {
    const d = decodeNhrp(bytes);
    if (d.ok) this.sent.push({ t: this.clock.t, from, to, msg: d.msg, bytes });
    if (this.cut.has(from) || this.cut.has(to)) return;
    const outerSrc = this.nat.get(from) ?? from;
    // reverse NAT: packets to the outside address reach the inside host
    const inside = [...this.nat].find(([, out]) => out === to)?.[0] ?? to;
    this.queue.push(() => this.nodes.get(inside)?.engine.receive(outerSrc, to, bytes));
    if (this.flushing) return;
    this.flushing = true;
    while (this.queue.length) this.queue.shift()!();
    this.flushing = false;
  }

  /** Registration Requests (type 3) sent from `from`. */
  requests(from: string): Sent[] { return this.of(3, from); }

  of(type: number, from?: string, to?: string): Sent[] {
    return this.sent.filter((s) => s.msg.type === type && (!from || s.from === from) && (!to || s.to === to));
  }

  settle(ms = 0): void { this.clock.advance(ms); }
}

export class Node {
  logs: Array<[string, string]> = [];
  peers: PeerChange[] = [];
  routes: string[] = []; // "+prefix/len via x" / "-prefix/len"
  engine: NhrpEngine;
  constructor(readonly net: Net, readonly me: Addr, config: TunnelConfig,
    extra: Partial<Pick<NhrpEngineOptions, 'localPrefixes' | 'routeLookup' | 'ownership'>> = {}) {
    this.engine = new NhrpEngine({
      config, tunnelIp: me.ip, tunnelPrefixLen: 24, nbmaSource: me.nbma,
      send: (dst, bytes) => net.deliver(me.nbma, dst, bytes),
      peerChanged: (ev) => this.peers.push(ev),
      log: (level, msg) => this.logs.push([level, msg]),
      now: net.clock.now, timers: net.clock.timers,
      routes: {
        installShortcut: (p, l, nh) => this.routes.push(`+${p}/${l} via ${nh}`),
        removeShortcut: (p, l) => this.routes.push(`-${p}/${l}`),
      },
      ...extra,
    });
    net.nodes.set(me.nbma, this);
  }
  logged(re: RegExp): string[] {
    return this.logs.filter(([, m]) => re.test(m)).map(([l, m]) => `${l}: ${m}`);
  }
  entry(ip: string, len?: number) {
    return this.engine.cacheEntries().find((e) => e.tunnelIp === ip && (len === undefined || e.prefixLen === len));
  }
}

/** A minimal IPv4/UDP packet from src to dst (what the data plane hands to trafficIndication). */
export function udpPacket(src: string, dst: string, payloadLen = 12): Uint8Array {
  const p = new Uint8Array(28 + payloadLen);
  const v = new DataView(p.buffer);
  p[0] = 0x45; v.setUint16(2, p.length); v.setUint16(4, 0x1234); p[8] = 63; p[9] = 17;
  p.set(ipv4ToBytes(src), 12); p.set(ipv4ToBytes(dst), 16);
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (p[i] << 8) | p[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  v.setUint16(10, ~s & 0xffff);
  v.setUint16(20, 40000); v.setUint16(22, 5001); v.setUint16(24, 8 + payloadLen);
  return p;
}
