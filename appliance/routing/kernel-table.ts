// The kernel's IPv4 main routing table, its IPv4 addresses and its links, mirrored from rtnetlink:
// one dump of each at start, then kept in sync by notifications (no polling, no `ip route` text).
// Everything that forwards or decides about routes (the overlay FIB, NHRP's "behind me" and
// resolution forwarding, `show ip route`, the FRR and if-state helpers) reads it here and subscribes
// to its change events. docs/routing.md describes the data flow.
//
// A notification overrun (ENOBUFS: the kernel dropped some because our queue was full) is healed by
// dumping everything again and emitting the difference, so subscribers see every change in the end.
// IPv4 quirk handled here: when a link goes down or away the kernel flushes the routes through it
// without RTM_DELROUTE notifications (zebra does the same bookkeeping), so the table drops them itself.
import {
  AF_INET, IFF, RTM, RTMGRP, RTN, RT_TABLE_MAIN, decodeMessage, dumpRequest, routeRequest, splitMessages,
  type AddrMsg, type Decoded, type LinkMsg, type RouteMsg, type RouteRequest,
} from '../net/netlink-codec.js';
import type { NativeIo, NetlinkStats } from '../io/native.js';

/** What the table needs from the addon (appliance/io/native.ts); tests may give a fake. */
export type NetlinkPort = Pick<NativeIo, 'netlinkOpen' | 'netlinkSend' | 'netlinkClose' | 'netlinkStats'>;

export interface Link { index: number; name: string; up: boolean; lowerUp: boolean; flags: number; mtu?: number }
export interface Address { index: number; ifname?: string; address: string; prefixLen: number; peer?: string; label?: string }
export interface NextHop { gateway?: string; oif?: number; dev?: string }
export interface Route {
  prefix: string; len: number; tos: number; metric: number;
  /** rtm_protocol: 2 kernel, 3 boot (iproute2's default), 4 static, 16 dhcp, 186 bgp, 188 ospf, 192 eigrp, ... */
  protocol: number; scope: number; type: number; flags: number;
  gateway?: string; oif?: number; dev?: string; prefsrc?: string;
  /** ECMP next hops (RTA_MULTIPATH); a single-path route has gateway/oif/dev above and none here */
  nexthops: NextHop[];
}

/** A route to write: the codec's request with interfaces by name (`dev`) where it is handier. */
export interface RouteWrite extends Omit<RouteRequest, 'nexthops'> {
  dev?: string;
  /** ECMP next hops, each with its interface by name */
  nexthops?: Array<{ gateway: string; dev: string }>;
}

export type TableEvent =
  | { kind: 'route'; op: 'add' | 'del'; route: Route }
  | { kind: 'addr'; op: 'add' | 'del'; addr: Address }
  | { kind: 'link'; op: 'add' | 'change' | 'del'; link: Link; was?: Link }
  /** a (re-)dump finished: the table is whole; events for its differences were emitted before */
  | { kind: 'synced' };

export interface KernelTableCounters {
  datagrams: number; messages: number; malformed: number; overruns: number; dumps: number;
  requests: number; refused: number; listenerErrors: number;
}

/** routes by key, and the keys of each destination prefix/len (metric/tos variants), for exact lookups */
interface Snapshot { links: Map<number, Link>; addrs: Map<string, Address>; routes: Map<string, Route>; byPrefix: Map<string, Set<string>> }
const emptySnapshot = (): Snapshot => ({ links: new Map(), addrs: new Map(), routes: new Map(), byPrefix: new Map() });
const prefixKey = (prefix: string, len: number) => `${prefix}/${len}`;
function putRoute(s: Snapshot, k: string, r: Route): void {
  s.routes.set(k, r);
  const pk = prefixKey(r.prefix, r.len);
  let set = s.byPrefix.get(pk);
  if (!set) s.byPrefix.set(pk, set = new Set());
  set.add(k);
}
function dropRoute(s: Snapshot, k: string): void {
  const r = s.routes.get(k);
  if (!r) return;
  s.routes.delete(k);
  const pk = prefixKey(r.prefix, r.len), set = s.byPrefix.get(pk);
  set?.delete(k);
  if (set && !set.size) s.byPrefix.delete(pk);
}

const routeKey = (r: { prefix: string; len: number; tos: number; metric: number }) => `${r.prefix}/${r.len} tos ${r.tos} metric ${r.metric}`;
const addrKey = (a: Address) => `${a.index} ${a.address}/${a.prefixLen}`;
const RTM_F_CLONED = 0x200;
const DUMP_ORDER = [RTM.GETLINK, RTM.GETADDR, RTM.GETROUTE] as const;
/** A dump refused (EBUSY while another runs) is tried again after this long. */
const DUMP_RETRY_MS = 200;
/** A route request the kernel never answers (it always does) fails after this long; a dump step
 *  that gets no answer in that time starts over. These timers also keep the process alive while the
 *  kernel owes us an answer (the socket itself does not). */
const REQUEST_TIMEOUT_MS = 5000;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class KernelTable {
  readonly counters: KernelTableCounters = { datagrams: 0, messages: 0, malformed: 0, overruns: 0, dumps: 0, requests: 0, refused: 0, listenerErrors: 0 };
  private live = emptySnapshot();
  /** while a dump runs: the table being rebuilt (notifications apply to it too, in arrival order) */
  private building?: Snapshot;
  private dumpStep = 0;
  private dumpSeq = 0;
  private redumpAfter = false;
  private seq = 1;
  private id?: number;
  private synced = false;
  private readonly waiters: Array<() => void> = [];
  private readonly listeners = new Set<(ev: TableEvent) => void>();
  private readonly requests = new Map<number, { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout; what: string }>();
  private retryTimer?: NodeJS.Timeout;
  private dumpTimer?: NodeJS.Timeout;
  /** when each route (by key) was last added or changed, as this table saw it (IOS's route age) */
  private readonly seenAt = new Map<string, number>();
  /** bumped on every change event: lets readers cache what they derive (routing/nhrp-routes.ts) */
  generation = 0;

  constructor(private readonly port: NetlinkPort, private readonly log: (level: 'debug' | 'info' | 'notice' | 'warn' | 'error', msg: string) => void = () => {}) {}

  /** Opens the socket and dumps; resolves once the table is whole. */
  start(): Promise<void> {
    if (this.id === undefined) {
      this.id = this.port.netlinkOpen(RTMGRP.LINK | RTMGRP.IPV4_IFADDR | RTMGRP.IPV4_ROUTE, (ev, d) => this.receive(ev, d));
      this.startDump();
    }
    return this.ready();
  }

  /** Resolves when the first dump is complete. */
  ready(): Promise<void> { return this.synced ? Promise.resolve() : new Promise((r) => this.waiters.push(r)); }

  stop(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.dumpTimer);
    for (const [, r] of this.requests) { clearTimeout(r.timer); r.reject(new Error(`${r.what}: kernel table stopped`)); }
    this.requests.clear();
    if (this.id !== undefined) this.port.netlinkClose(this.id);
    this.id = undefined;
    this.building = undefined;
    this.synced = false; // a start() after this dumps again before it resolves
  }

  /** Change events (after the first dump: one per difference; then one per notification). Returns the unsubscribe. */
  subscribe(fn: (ev: TableEvent) => void): () => void { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  routes(): Route[] { return [...this.live.routes.values()]; }
  /** The routes for exactly prefix/len (one per metric/TOS). */
  routesFor(prefix: string, len: number): Route[] {
    return [...this.live.byPrefix.get(prefixKey(prefix, len)) ?? []].map((k) => this.live.routes.get(k)!);
  }
  addresses(): Address[] { return [...this.live.addrs.values()]; }
  links(): Link[] { return [...this.live.links.values()]; }
  link(nameOrIndex: string | number): Link | undefined {
    if (typeof nameOrIndex === 'number') return this.live.links.get(nameOrIndex);
    for (const l of this.live.links.values()) if (l.name === nameOrIndex) return l;
    return undefined;
  }
  /** When this table saw `r` appear or change (ms since the epoch); the kernel keeps no route age. */
  since(r: Route): number | undefined { return this.seenAt.get(routeKey(r)); }
  /** What the C side dropped (foreign senders, truncation) and delivered. */
  socketStats(): NetlinkStats | undefined { return this.id === undefined ? undefined : this.port.netlinkStats(this.id); }

  /** RTM_NEWROUTE (create or replace) in the main table; resolves on the kernel's ACK, rejects with its
   *  error. `dev` names the outgoing interface (or give its index as `oif`); ECMP next hops name theirs. */
  replaceRoute(r: RouteWrite): Promise<void> { return this.request('replace', r); }
  /** RTM_DELROUTE; resolves on the kernel's ACK (ESRCH, already gone, rejects). */
  deleteRoute(r: RouteWrite): Promise<void> { return this.request('delete', r); }

  private request(op: 'replace' | 'delete', req: RouteWrite): Promise<void> {
    if (this.id === undefined) return Promise.reject(new Error('kernel table not started'));
    const { dev, nexthops, ...r } = req;
    const request: RouteRequest = r;
    try {
      if (dev !== undefined) request.oif ??= this.indexOf(dev);
      if (nexthops) request.nexthops = nexthops.map((h) => ({ gateway: h.gateway, oif: this.indexOf(h.dev) }));
    } catch (e) { return Promise.reject(new Error(`route ${op} ${r.prefix}/${r.len}: ${(e as Error).message}`)); }
    const seq = this.nextSeq();
    const what = `route ${op} ${r.prefix}/${r.len}${r.gateway ? ` via ${r.gateway}` : ''}`;
    this.counters.requests++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { this.requests.delete(seq); reject(new Error(`${what}: no answer from the kernel`)); }, REQUEST_TIMEOUT_MS);
      this.requests.set(seq, { resolve, reject, timer, what });
      try { this.port.netlinkSend(this.id!, routeRequest(op, request, seq)); } catch (e) { clearTimeout(timer); this.requests.delete(seq); reject(e as Error); }
    });
  }

  private indexOf(dev: string): number {
    const l = this.link(dev);
    if (!l) throw new Error(`no interface ${dev}`);
    return l.index;
  }

  private nextSeq(): number { this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1; return this.seq; }

  private startDump(): void {
    this.counters.dumps++;
    this.building = emptySnapshot();
    this.dumpStep = 0;
    this.redumpAfter = false;
    this.sendDumpStep();
  }

  private sendDumpStep(): void {
    if (this.id === undefined) return;
    this.dumpSeq = this.nextSeq();
    clearTimeout(this.dumpTimer);
    this.dumpTimer = setTimeout(() => {
      this.log('warn', 'netlink dump got no answer: reading the whole table again');
      this.startDump();
    }, REQUEST_TIMEOUT_MS);
    try { this.port.netlinkSend(this.id, dumpRequest(DUMP_ORDER[this.dumpStep], this.dumpSeq)); } catch (e) {
      this.log('warn', `netlink dump request failed (${(e as Error).message}); retrying`);
      this.retryTimer = setTimeout(() => this.sendDumpStep(), DUMP_RETRY_MS);
    }
  }

  private receive(ev: 'message' | 'overrun', datagram?: Buffer): void {
    if (ev === 'overrun') {
      this.counters.overruns++;
      this.log('warn', 'kernel routing notifications overran the socket queue: reading the whole table again');
      if (this.building) this.redumpAfter = true; else this.startDump();
      return;
    }
    if (!datagram) return;
    this.counters.datagrams++;
    const { messages, problem } = splitMessages(datagram);
    if (problem) { this.counters.malformed++; this.log('warn', `netlink datagram dropped in part: ${problem}`); }
    for (const m of messages) {
      this.counters.messages++;
      const d = decodeMessage(m);
      if (!d.ok) { this.counters.malformed++; this.log('warn', `netlink message dropped: ${d.problem}`); continue; }
      this.handle(d.msg);
    }
  }

  private handle(m: Decoded): void {
    if (m.kind === 'error' || m.kind === 'done') {
      if (m.header.seq === this.dumpSeq && this.building) return this.dumpAnswer(m);
      const req = this.requests.get(m.header.seq);
      if (req && m.kind === 'error') {
        this.requests.delete(m.header.seq);
        clearTimeout(req.timer);
        if (m.errno === 0) req.resolve();
        else { this.counters.refused++; req.reject(new Error(`${req.what}: ${m.message ?? errnoText(m.errno)}`)); }
      }
      return;
    }
    const into = this.building ?? this.live;
    const emit = this.building ? undefined : (e: TableEvent) => this.emit(e);
    if (m.kind === 'link') this.applyLink(into, m.op, m.link, emit);
    else if (m.kind === 'addr') this.applyAddr(into, m.op, m.addr, emit);
    else if (m.kind === 'route') this.applyRoute(into, m.op, m.route, emit);
  }

  private dumpAnswer(m: Decoded & { kind: 'error' | 'done' }): void {
    if (m.kind === 'error' && m.errno !== 0) {
      clearTimeout(this.dumpTimer);
      this.log('warn', `netlink dump refused (${m.message ?? errnoText(m.errno)}); retrying`);
      this.retryTimer = setTimeout(() => this.sendDumpStep(), DUMP_RETRY_MS);
      return;
    }
    clearTimeout(this.dumpTimer);
    if (++this.dumpStep < DUMP_ORDER.length) return this.sendDumpStep();
    if (this.redumpAfter) return this.startDump();
    const next = this.building!, prev = this.live;
    this.building = undefined;
    this.live = next;
    this.emitDifferences(prev, next);
    this.emit({ kind: 'synced' });
    if (!this.synced) {
      this.synced = true;
      this.log('info', `kernel table read: ${next.links.size} links, ${next.addrs.size} IPv4 addresses, ${next.routes.size} main-table routes`);
      for (const w of this.waiters.splice(0)) w();
    }
  }

  private emitDifferences(prev: Snapshot, next: Snapshot): void {
    for (const [i, l] of prev.links) if (!next.links.has(i)) this.emit({ kind: 'link', op: 'del', link: l });
    for (const [i, l] of next.links) {
      const was = prev.links.get(i);
      if (!was) this.emit({ kind: 'link', op: 'add', link: l });
      else if (!sameJson(was, l)) this.emit({ kind: 'link', op: 'change', link: l, was });
    }
    for (const [k, a] of prev.addrs) if (!next.addrs.has(k)) this.emit({ kind: 'addr', op: 'del', addr: a });
    for (const [k, a] of next.addrs) if (!prev.addrs.has(k)) this.emit({ kind: 'addr', op: 'add', addr: a });
    for (const [k, r] of prev.routes) if (!next.routes.has(k) || !sameJson(next.routes.get(k), r)) this.emit({ kind: 'route', op: 'del', route: r });
    for (const [k, r] of next.routes) if (!prev.routes.has(k) || !sameJson(prev.routes.get(k), r)) this.emit({ kind: 'route', op: 'add', route: r });
  }

  private emit(ev: TableEvent): void {
    this.generation++;
    if (ev.kind === 'route') {
      if (ev.op === 'add') this.seenAt.set(routeKey(ev.route), Date.now());
      else if (!this.live.routes.has(routeKey(ev.route))) this.seenAt.delete(routeKey(ev.route));
    }
    for (const fn of this.listeners) {
      try { fn(ev); } catch (e) { this.counters.listenerErrors++; this.log('error', `kernel table subscriber failed on a ${ev.kind} event: ${(e as Error).message}`); }
    }
  }

  private applyLink(s: Snapshot, op: 'new' | 'del', m: LinkMsg, emit?: (e: TableEvent) => void): void {
    if (m.index <= 0) return;
    const was = s.links.get(m.index);
    if (op === 'del') {
      if (!was) return;
      s.links.delete(m.index);
      emit?.({ kind: 'link', op: 'del', link: was });
      this.flushLink(s, m.index, true, emit);
      return;
    }
    const link: Link = { index: m.index, name: m.name ?? was?.name ?? `if${m.index}`, flags: m.flags, up: !!(m.flags & IFF.UP), lowerUp: !!(m.flags & IFF.LOWER_UP), mtu: m.mtu ?? was?.mtu };
    s.links.set(m.index, link);
    // renamed: its addresses and routes carry the new name before anyone hears of the change (a
    // subscriber reading them, or caching what it derives until the next generation, sees them whole)
    if (was && was.name !== link.name) this.renameLink(s, link);
    if (!was) emit?.({ kind: 'link', op: 'add', link });
    else if (!sameJson(was, link)) emit?.({ kind: 'link', op: 'change', link, was });
    // admin down: the kernel removed the routes through it, silently
    if (was?.up && !link.up) this.flushLink(s, m.index, false, emit);
  }

  /** Routes (and, when the link is gone, addresses) through `index`: gone without notifications. */
  private flushLink(s: Snapshot, index: number, gone: boolean, emit?: (e: TableEvent) => void): void {
    for (const [k, r] of s.routes) {
      const via = r.nexthops.length ? r.nexthops.every((n) => n.oif === index) : r.oif === index;
      if (via) { dropRoute(s, k); emit?.({ kind: 'route', op: 'del', route: r }); }
    }
    if (!gone) return;
    for (const [k, a] of s.addrs) if (a.index === index) { s.addrs.delete(k); emit?.({ kind: 'addr', op: 'del', addr: a }); }
  }

  private renameLink(s: Snapshot, l: Link): void {
    for (const a of s.addrs.values()) if (a.index === l.index) a.ifname = l.name;
    for (const r of s.routes.values()) {
      if (r.oif === l.index) r.dev = l.name;
      for (const n of r.nexthops) if (n.oif === l.index) n.dev = l.name;
    }
  }

  private applyAddr(s: Snapshot, op: 'new' | 'del', m: AddrMsg, emit?: (e: TableEvent) => void): void {
    if (m.family !== AF_INET) return;
    const local = m.local ?? m.address;
    if (!local) return;
    const addr: Address = { index: m.index, ifname: s.links.get(m.index)?.name, address: local, prefixLen: m.prefixLen };
    if (m.address && m.local && m.address !== m.local) addr.peer = m.address; // point-to-point: IFA_ADDRESS is the peer
    if (m.label) addr.label = m.label;
    const k = addrKey(addr), had = s.addrs.has(k);
    if (op === 'del') {
      const old = s.addrs.get(k);
      if (old) { s.addrs.delete(k); emit?.({ kind: 'addr', op: 'del', addr: old }); }
      return;
    }
    s.addrs.set(k, addr);
    if (!had) emit?.({ kind: 'addr', op: 'add', addr });
  }

  private applyRoute(s: Snapshot, op: 'new' | 'del', m: RouteMsg, emit?: (e: TableEvent) => void): void {
    if (m.family !== AF_INET || m.table !== RT_TABLE_MAIN || m.flags & RTM_F_CLONED) return;
    const devOf = (i?: number) => (i === undefined ? undefined : s.links.get(i)?.name);
    const route: Route = {
      prefix: m.dst ?? '0.0.0.0', len: m.dstLen, tos: m.tos, metric: m.priority ?? 0,
      protocol: m.protocol, scope: m.scope, type: m.type, flags: m.flags,
      nexthops: m.nexthops.map((n) => ({ gateway: n.gateway, oif: n.oif, dev: devOf(n.oif) })),
    };
    if (m.gateway) route.gateway = m.gateway;
    if (m.oif !== undefined) { route.oif = m.oif; route.dev = devOf(m.oif); }
    if (m.prefsrc) route.prefsrc = m.prefsrc;
    const k = routeKey(route), was = s.routes.get(k);
    if (op === 'del') {
      if (!was) return;
      dropRoute(s, k);
      emit?.({ kind: 'route', op: 'del', route: was });
      return;
    }
    putRoute(s, k, route);
    if (was && sameJson(was, route)) return;
    if (was) emit?.({ kind: 'route', op: 'del', route: was }); // replaced: the old one is gone
    emit?.({ kind: 'route', op: 'add', route });
  }
}

const ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 101: 'ENETUNREACH' };
const errnoText = (n: number) => ERRNO[n] ?? `errno ${n}`;
