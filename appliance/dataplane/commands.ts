// Encoders for the ctlTx commands (docs/dataplane.md "Commands") and readers of what the worker
// publishes (counters, peer table, FIB, tunnel state) for show commands.
import { type CounterName, type CounterLayout, type Layout, counterArrays, sumCounter } from './layout.js';
import {
  CTL_OUT, CTL_OUT_RECORD, COUNTER_NAMES, PEER_ENTRY, PEER_EMPTY, PEER_DELETED, TUNNEL_STATE, TUNNEL_FLAG,
  FIB_BITMAP_BYTES, FIB_ENTRY, FIB_LENGTHS, OFFLOAD_COUNTER_BASE, OFFLOAD_COUNTER_NAMES, HEAL_COUNTER_BASE,
  HEAL_COUNTER_NAMES, CONTROL_COUNTER_BASE, CONTROL_COUNTER_NAMES, CRYPTO_COUNTER_BASE, CRYPTO_COUNTER_NAMES,
} from './abi.js';
import { Ring } from './ring.js';

export interface TunnelConfig {
  source: number; // NBMA (outer source), u32
  tunnelIp: number;
  tunnelPrefixLen: number;
  key?: number; // present = key on (unless `flags` is given)
  /** raw CFG_TUNNEL flags (TUNNEL_FLAG bits); when given, pointToPoint/strict/key presence are ignored. */
  flags?: number;
  pointToPoint?: boolean;
  strict?: boolean;
  ipMtu?: number; // default 1400
  tcpMss?: number; // 0 = off
  ttl?: number; // default 255
  p2pDestination?: number;
  nhsFallback?: number; // 0 = drop
}

/**
 * Writes commands into ctlTx. Each call fills one slot and returns false if the ring is full. With
 * `autoPublish` every command is published at once; otherwise call publish() once per batch.
 * `wakeWorker` is called when the worker sleeps on its doorbell (the addon's futex wake).
 */
export class Commands {
  private readonly w = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  constructor(readonly ring: Ring, private readonly wakeWorker?: () => void, readonly autoPublish = false) {}

  private put(kind: number, n: number): boolean {
    return this.emit(kind, 0, 0, n === this.w.length ? this.w : this.w.slice(0, n), true);
  }
  /** Fills one slot (data as u32 words or bytes); subclasses may queue instead. */
  protected emit(kind: number, addr: number, aux: number, data: Uint8Array | number[], words: boolean): boolean {
    const ok = this.ring.fill(kind, addr, aux, data, words);
    if (ok && this.autoPublish) this.publish();
    return ok;
  }

  cfgTunnel(c: TunnelConfig): boolean {
    const R = CTL_OUT_RECORD.CFG_TUNNEL, w = this.w;
    w[R.source >>> 2] = c.source; w[R.tunnelIp >>> 2] = c.tunnelIp; w[R.tunnelPrefixLen >>> 2] = c.tunnelPrefixLen;
    w[R.flags >>> 2] = c.flags ??
      ((c.key !== undefined ? TUNNEL_FLAG.KEY : 0) | (c.pointToPoint ? TUNNEL_FLAG.P2P : 0) | (c.strict ? TUNNEL_FLAG.STRICT : 0));
    w[R.key >>> 2] = c.key ?? 0; w[R.ipMtu >>> 2] = c.ipMtu ?? 1400; w[R.tcpMss >>> 2] = c.tcpMss ?? 0; w[R.ttl >>> 2] = c.ttl ?? 255;
    w[R.p2pDestination >>> 2] = c.p2pDestination ?? 0; w[R.nhsFallback >>> 2] = c.nhsFallback ?? 0;
    return this.put(CTL_OUT.CFG_TUNNEL, R.size >>> 2);
  }
  fibAdd(prefix: number, prefixLen: number, nextHop = 0): boolean {
    const R = CTL_OUT_RECORD.FIB_ADD;
    this.w[R.prefix >>> 2] = prefix; this.w[R.prefixLen >>> 2] = prefixLen; this.w[R.nextHop >>> 2] = nextHop;
    return this.put(CTL_OUT.FIB_ADD, R.size >>> 2);
  }
  fibDel(prefix: number, prefixLen: number): boolean {
    const R = CTL_OUT_RECORD.FIB_DEL;
    this.w[R.prefix >>> 2] = prefix; this.w[R.prefixLen >>> 2] = prefixLen;
    return this.put(CTL_OUT.FIB_DEL, R.size >>> 2);
  }
  peerSet(tunnelIp: number, nbma: number, flags = 0): boolean {
    const R = CTL_OUT_RECORD.PEER_SET;
    this.w[R.tunnelIp >>> 2] = tunnelIp; this.w[R.nbma >>> 2] = nbma; this.w[R.flags >>> 2] = flags;
    return this.put(CTL_OUT.PEER_SET, R.size >>> 2);
  }
  peerDel(tunnelIp: number): boolean {
    this.w[CTL_OUT_RECORD.PEER_DEL.tunnelIp >>> 2] = tunnelIp;
    return this.put(CTL_OUT.PEER_DEL, CTL_OUT_RECORD.PEER_DEL.size >>> 2);
  }
  fibFlush(): boolean { return this.put(CTL_OUT.FIB_FLUSH, 0); }
  peerFlush(): boolean { return this.put(CTL_OUT.PEER_FLUSH, 0); }
  /** `ip nhrp map multicast`: replicate multicast/broadcast to this NBMA address. */
  mcastAdd(nbma: number): boolean {
    this.w[CTL_OUT_RECORD.MCAST_ADD.nbma >>> 2] = nbma;
    return this.put(CTL_OUT.MCAST_ADD, CTL_OUT_RECORD.MCAST_ADD.size >>> 2);
  }
  mcastDel(nbma: number): boolean {
    this.w[CTL_OUT_RECORD.MCAST_DEL.nbma >>> 2] = nbma;
    return this.put(CTL_OUT.MCAST_DEL, CTL_OUT_RECORD.MCAST_DEL.size >>> 2);
  }
  /** Test hook: makes the worker trap (refused unless the layout's testHooks word is 1). */
  testTrap(): boolean { return this.put(CTL_OUT.TEST_TRAP, 0); }
  /** NHRP packet to send in GRE 0x2001 to `nbma`; `sa` = outbound SA index + 1 to use (0 = newest for nbma). */
  nhrpOut(nbma: number, packet: Uint8Array, sa = 0): boolean {
    return this.emit(CTL_OUT.NHRP_OUT, nbma, sa, packet, false);
  }
  /** Publishes the filled commands and rings the worker's doorbell. */
  publish(): void {
    const wake = this.wakeWorker;
    this.ring.publish(wake ? () => wake() : undefined);
  }
}

/** Most commands the supervisor may hold back while ctlTx is full before refusing more. */
const MAX_BACKLOG = 65536;

/**
 * Commands for the supervisor. A burst (a registration storm: peer, multicast member and reply per
 * spoke) is published once per event-loop turn, one doorbell for the lot; when ctlTx is full the
 * commands wait here, in order, and are retried as the worker frees slots, so none is lost.
 */
export class DataplaneCommands extends Commands {
  private readonly backlog: Array<[number, number, number, Uint8Array | number[], boolean]> = [];
  private scheduled = false;
  constructor(ring: Ring, wakeWorker?: () => void) { super(ring, wakeWorker, false); }

  protected override emit(kind: number, addr: number, aux: number, data: Uint8Array | number[], words: boolean): boolean {
    if (this.backlog.length === 0 && this.ring.fill(kind, addr, aux, data, words)) { this.schedule(0); return true; }
    if (this.backlog.length >= MAX_BACKLOG) return false;
    this.backlog.push([kind, addr, aux, words ? Array.from(data) : Uint8Array.from(data), words]);
    this.schedule(0);
    return true;
  }

  /** Commands waiting for room in ctlTx. */
  get pending(): number { return this.backlog.length; }

  private schedule(delayMs: number): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (delayMs === 0) queueMicrotask(() => this.flush());
    else setTimeout(() => this.flush(), delayMs);
  }

  private flush(): void {
    this.scheduled = false;
    while (this.backlog.length > 0 && this.ring.fill(...this.backlog[0])) this.backlog.shift();
    this.publish();
    if (this.backlog.length > 0) this.schedule(1);
  }
}

type GlobalCounterName = CounterName | (typeof OFFLOAD_COUNTER_NAMES)[number] | (typeof HEAL_COUNTER_NAMES)[number]
  | (typeof CONTROL_COUNTER_NAMES)[number] | (typeof CRYPTO_COUNTER_NAMES)[number];

/** Global counters by name, summed over the workers, as numbers (exact below 2^53). */
export function readCounters(buffer: ArrayBufferLike, l: CounterLayout): Record<GlobalCounterName, number> {
  const v = counterArrays(buffer, l, 0, CRYPTO_COUNTER_BASE + CRYPTO_COUNTER_NAMES.length);
  const out = {} as Record<GlobalCounterName, number>;
  COUNTER_NAMES.forEach((n, i) => { out[n] = Number(sumCounter(v, i)); });
  OFFLOAD_COUNTER_NAMES.forEach((n, i) => { out[n] = Number(sumCounter(v, OFFLOAD_COUNTER_BASE + i)); });
  HEAL_COUNTER_NAMES.forEach((n, i) => { out[n] = Number(sumCounter(v, HEAL_COUNTER_BASE + i)); });
  CONTROL_COUNTER_NAMES.forEach((n, i) => { out[n] = Number(sumCounter(v, CONTROL_COUNTER_BASE + i)); });
  CRYPTO_COUNTER_NAMES.forEach((n, i) => { out[n] = Number(sumCounter(v, CRYPTO_COUNTER_BASE + i)); });
  return out;
}

/** Global counters by name, summed over the workers, exact (u64 as bigint). */
export function readCountersBig(buffer: ArrayBufferLike, l: CounterLayout): Record<CounterName, bigint> {
  const v = counterArrays(buffer, l, 0, COUNTER_NAMES.length);
  const out = {} as Record<CounterName, bigint>;
  COUNTER_NAMES.forEach((n, i) => { out[n] = sumCounter(v, i); });
  return out;
}

export interface PeerRow {
  tunnelIp: number; nbma: number; flags: number;
  /** counters as numbers (exact below 2^53); bytes are inner-packet bytes. */
  txPackets: number; txBytes: number; rxPackets: number; rxBytes: number;
}

/** Live peer-table entries. Entries being rewritten (odd/changed gen) are re-read. */
export function readPeers(buffer: ArrayBufferLike, l: Pick<Layout, 'peerTable' | 'peerCapacity'>): PeerRow[] {
  const u32 = new Uint32Array(buffer);
  const u64 = new BigUint64Array(buffer);
  const rows: PeerRow[] = [];
  for (let i = 0; i < l.peerCapacity; i++) {
    const e = l.peerTable + i * PEER_ENTRY.size;
    for (let attempt = 0; attempt < 100; attempt++) {
      const g = Atomics.load(u32, (e + PEER_ENTRY.gen) >>> 2);
      if (g & 1) continue;
      const ip = u32[(e + PEER_ENTRY.tunnelIp) >>> 2];
      if (ip === PEER_EMPTY || ip === PEER_DELETED) { if (Atomics.load(u32, (e + PEER_ENTRY.gen) >>> 2) === g) break; continue; }
      const row: PeerRow = {
        tunnelIp: ip, nbma: u32[(e + PEER_ENTRY.nbma) >>> 2], flags: u32[(e + PEER_ENTRY.flags) >>> 2],
        txPackets: Number(u64[(e + PEER_ENTRY.txPackets) >>> 3]), txBytes: Number(u64[(e + PEER_ENTRY.txBytes) >>> 3]),
        rxPackets: Number(u64[(e + PEER_ENTRY.rxPackets) >>> 3]), rxBytes: Number(u64[(e + PEER_ENTRY.rxBytes) >>> 3]),
      };
      if (Atomics.load(u32, (e + PEER_ENTRY.gen) >>> 2) === g) { rows.push(row); break; }
    }
  }
  return rows;
}

export interface RouteRow { prefix: number; prefixLen: number; nextHop: number }

/** FIB routes, longest prefixes first. */
export function readFib(buffer: ArrayBufferLike, l: Pick<Layout, 'fib' | 'fibCapacity'>): RouteRow[] {
  const u32 = new Uint32Array(buffer);
  const rows: RouteRow[] = [];
  for (let len = FIB_LENGTHS - 1; len >= 0; len--) {
    const t = l.fib + FIB_BITMAP_BYTES + len * l.fibCapacity * FIB_ENTRY.size;
    for (let i = 0; i < l.fibCapacity; i++) {
      const e = t + i * FIB_ENTRY.size;
      if (u32[(e + FIB_ENTRY.len) >>> 2] === len) {
        rows.push({ prefix: u32[(e + FIB_ENTRY.prefix) >>> 2], prefixLen: len, nextHop: u32[(e + FIB_ENTRY.nextHop) >>> 2] });
      }
    }
  }
  return rows;
}

export type TunnelState = { [K in keyof typeof TUNNEL_STATE]: K extends 'routesPerLen' ? number[] : number };

/** The tunnel state block (applied configuration and table sizes). */
export function readTunnelState(buffer: ArrayBufferLike, l: Pick<Layout, 'tunnelState'>): TunnelState {
  const u32 = new Uint32Array(buffer);
  const out = {} as Record<string, number | number[]>;
  for (const [k, off] of Object.entries(TUNNEL_STATE)) {
    out[k] = k === 'routesPerLen'
      ? Array.from(u32.subarray((l.tunnelState + off) >>> 2, ((l.tunnelState + off) >>> 2) + FIB_LENGTHS))
      : u32[(l.tunnelState + off) >>> 2];
  }
  return out as TunnelState;
}
