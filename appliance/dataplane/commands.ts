// Encoders for the ctlTx commands (docs/dataplane.md "Commands") and readers of what the worker
// publishes (counters, peer table, FIB, tunnel state) for show commands.
import {
  CTL_OUT, COUNTER_NAMES, PEER_ENTRY, PEER_EMPTY, PEER_DELETED, TUNNEL_STATE, FIB_BITMAP_BYTES,
  FIB_ENTRY_SIZE, type CounterName, type Layout, OFFLOAD_COUNTER_BASE, OFFLOAD_COUNTER_NAMES,
  HEAL_COUNTER_BASE, HEAL_COUNTER_NAMES,
} from './layout.js';
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
    const w = this.w;
    w[0] = c.source; w[1] = c.tunnelIp; w[2] = c.tunnelPrefixLen;
    w[3] = c.flags ?? ((c.key !== undefined ? 1 : 0) | (c.pointToPoint ? 2 : 0) | (c.strict ? 4 : 0));
    w[4] = c.key ?? 0; w[5] = c.ipMtu ?? 1400; w[6] = c.tcpMss ?? 0; w[7] = c.ttl ?? 255;
    w[8] = c.p2pDestination ?? 0; w[9] = c.nhsFallback ?? 0;
    return this.put(CTL_OUT.CFG_TUNNEL, 10);
  }
  fibAdd(prefix: number, prefixLen: number, nextHop = 0): boolean {
    this.w[0] = prefix; this.w[1] = prefixLen; this.w[2] = nextHop;
    return this.put(CTL_OUT.FIB_ADD, 3);
  }
  fibDel(prefix: number, prefixLen: number): boolean {
    this.w[0] = prefix; this.w[1] = prefixLen;
    return this.put(CTL_OUT.FIB_DEL, 2);
  }
  peerSet(tunnelIp: number, nbma: number, flags = 0): boolean {
    this.w[0] = tunnelIp; this.w[1] = nbma; this.w[2] = flags;
    return this.put(CTL_OUT.PEER_SET, 3);
  }
  peerDel(tunnelIp: number): boolean { this.w[0] = tunnelIp; return this.put(CTL_OUT.PEER_DEL, 1); }
  fibFlush(): boolean { return this.put(CTL_OUT.FIB_FLUSH, 0); }
  peerFlush(): boolean { return this.put(CTL_OUT.PEER_FLUSH, 0); }
  /** `ip nhrp map multicast`: replicate multicast/broadcast to this NBMA address. */
  mcastAdd(nbma: number): boolean { this.w[0] = nbma; return this.put(CTL_OUT.MCAST_ADD, 1); }
  mcastDel(nbma: number): boolean { this.w[0] = nbma; return this.put(CTL_OUT.MCAST_DEL, 1); }
  /** NHRP packet to send in GRE 0x2001 to `nbma`; `sa` = outbound SA index + 1 to use (0 = newest for nbma). */
  /** Test hook: makes the worker trap (refused unless the layout's testHooks word is 1). */
  testTrap(): boolean { return this.put(CTL_OUT.TEST_TRAP, 0); }
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

/** Global counters by name, as numbers (exact below 2^53). */
export function readCounters(
  buffer: ArrayBufferLike, l: Pick<Layout, 'counters'>,
): Record<CounterName | (typeof OFFLOAD_COUNTER_NAMES)[number] | (typeof HEAL_COUNTER_NAMES)[number], number> {
  const v = new BigUint64Array(buffer, l.counters, HEAL_COUNTER_BASE + HEAL_COUNTER_NAMES.length);
  const out = {} as Record<CounterName | (typeof OFFLOAD_COUNTER_NAMES)[number] | (typeof HEAL_COUNTER_NAMES)[number], number>;
  COUNTER_NAMES.forEach((n, i) => { out[n] = Number(v[i]); });
  OFFLOAD_COUNTER_NAMES.forEach((n, i) => { out[n] = Number(v[OFFLOAD_COUNTER_BASE + i]); });
  HEAL_COUNTER_NAMES.forEach((n, i) => { out[n] = Number(v[HEAL_COUNTER_BASE + i]); });
  return out;
}

/** Global counters by name, exact (u64 as bigint). */
export function readCountersBig(buffer: ArrayBufferLike, l: Pick<Layout, 'counters'>): Record<CounterName, bigint> {
  const v = new BigUint64Array(buffer, l.counters, COUNTER_NAMES.length);
  const out = {} as Record<CounterName, bigint>;
  COUNTER_NAMES.forEach((n, i) => { out[n] = v[i]; });
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
      const ip = u32[e >>> 2];
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
  for (let len = 32; len >= 0; len--) {
    const t = l.fib + FIB_BITMAP_BYTES + len * l.fibCapacity * FIB_ENTRY_SIZE;
    for (let i = 0; i < l.fibCapacity; i++) {
      const e = (t + i * FIB_ENTRY_SIZE) >>> 2;
      if (u32[e + 1] === len) rows.push({ prefix: u32[e], prefixLen: len, nextHop: u32[e + 2] });
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
      ? Array.from(u32.subarray((l.tunnelState + off) >>> 2, ((l.tunnelState + off) >>> 2) + 33))
      : u32[(l.tunnelState + off) >>> 2];
  }
  return out as TunnelState;
}
