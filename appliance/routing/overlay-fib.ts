// The overlay FIB in WASM, derived from the kernel table (one source): every main-table route out of
// the tunnel interface becomes a FIB entry — with its gateway as the tunnel next hop, or on-link
// (next hop 0: the destination itself, resolved by NHRP) for the tunnel's connected subnet and
// `dev`-only routes. Deleted kernel routes leave the FIB. Phase 3 shortcuts (NHRP) take precedence
// for their prefix while they live; when one goes, the kernel's route for that prefix comes back.
import type { KernelTable, Route, TableEvent } from './kernel-table.js';
import { RTN } from '../net/netlink-codec.js';
import { ipToU32 } from '../net/ipv4.js';

/** The data-plane commands this needs (appliance/dataplane/commands.ts). */
export interface FibSink {
  fibAdd(prefix: number, prefixLen: number, nextHop?: number): boolean;
  fibDel(prefix: number, prefixLen: number): boolean;
}

interface FibEntry { prefix: string; len: number; nextHop?: string; source: 'kernel' | 'shortcut' }

const keyOf = (prefix: string, len: number) => `${prefix}/${len}`;
/** how soon a prefix whose command the full control ring refused is tried again (the worker drains it in microseconds) */
const RETRY_MS = 50;

/** The tunnel next hop of `r` if it leaves through `dev`: a gateway, '' for on-link, undefined if not via the tunnel. */
export function tunnelNextHop(r: Route, dev: string): string | undefined {
  if (r.type !== RTN.UNICAST) return undefined;
  if (r.nexthops.length) {
    const nh = r.nexthops.find((n) => n.dev === dev);
    return nh ? nh.gateway ?? '' : undefined;
  }
  return r.dev === dev ? r.gateway ?? '' : undefined;
}

export class OverlayFib {
  /** what the FIB holds now, by prefix/len */
  private readonly installed = new Map<string, FibEntry>();
  private readonly shortcuts = new Map<string, string>();
  private unsubscribe?: () => void;
  /** commands the data plane's control ring refused (full); each such prefix is tried again shortly */
  refused = 0;
  private readonly retry = new Set<string>();
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly table: KernelTable, private readonly tunnelDev: string, private readonly sink: FibSink,
    private readonly log: (level: 'warn' | 'debug', msg: string) => void = () => {}) {}

  /** Installs what the table holds through the tunnel now, then follows its changes. */
  start(): void {
    this.unsubscribe = this.table.subscribe((ev) => this.changed(ev));
    for (const r of this.table.routes()) if (tunnelNextHop(r, this.tunnelDev) !== undefined) this.sync(r.prefix, r.len);
  }

  stop(): void { this.unsubscribe?.(); this.unsubscribe = undefined; clearTimeout(this.retryTimer); this.retryTimer = undefined; this.retry.clear(); }

  /** NHRP Phase 3: `prefix/len` via tunnel address `nextHop`, over whatever the kernel says. */
  installShortcut(prefix: string, len: number, nextHop: string): void { this.shortcuts.set(keyOf(prefix, len), nextHop); this.sync(prefix, len); }
  removeShortcut(prefix: string, len: number): void { this.shortcuts.delete(keyOf(prefix, len)); this.sync(prefix, len); }

  private changed(ev: TableEvent): void {
    // a route elsewhere than the tunnel matters only if its prefix is in the FIB (it may have replaced a tunnel route)
    if (ev.kind === 'route' && (tunnelNextHop(ev.route, this.tunnelDev) !== undefined || this.installed.has(keyOf(ev.route.prefix, ev.route.len)))) this.sync(ev.route.prefix, ev.route.len);
    else if (ev.kind === 'synced') for (const e of [...this.installed.values()]) this.sync(e.prefix, e.len);
  }

  /** Lowest-metric kernel route for exactly prefix/len that leaves through the tunnel. */
  private best(prefix: string, len: number): Route | undefined {
    let best: Route | undefined;
    for (const r of this.table.routesFor(prefix, len)) {
      if (tunnelNextHop(r, this.tunnelDev) === undefined) continue;
      if (!best || r.metric < best.metric) best = r;
    }
    return best;
  }

  private retryRefused(): void {
    this.retryTimer = undefined;
    if (!this.unsubscribe) return;
    for (const key of [...this.retry]) {
      this.retry.delete(key);
      const [prefix, len] = key.split('/');
      this.sync(prefix, Number(len));
    }
  }

  private sync(prefix: string, len: number): void {
    const key = keyOf(prefix, len);
    const sc = this.shortcuts.get(key);
    const kr = sc === undefined ? this.best(prefix, len) : undefined;
    const want: FibEntry | undefined = sc !== undefined ? { prefix, len, nextHop: sc, source: 'shortcut' }
      : kr ? { prefix, len, nextHop: tunnelNextHop(kr, this.tunnelDev) || undefined, source: 'kernel' } : undefined;
    const have = this.installed.get(key);
    if (want && have && have.nextHop === want.nextHop) { this.installed.set(key, want); return; }
    if (!want && !have) return;
    const ok = want ? this.sink.fibAdd(ipToU32(prefix), len, want.nextHop ? ipToU32(want.nextHop) : 0) : this.sink.fibDel(ipToU32(prefix), len);
    if (!ok) {
      this.refused++;
      this.log('warn', `overlay FIB ${want ? 'add' : 'delete'} ${key} refused: data-plane command ring full; retrying`);
      this.retry.add(key);
      this.retryTimer ??= setTimeout(() => this.retryRefused(), RETRY_MS);
      return;
    }
    this.retry.delete(key);
    this.log('debug', want ? `overlay FIB ${key} via ${want.nextHop ?? 'on-link'} (${want.source})` : `overlay FIB ${key} removed`);
    if (want) this.installed.set(key, want); else this.installed.delete(key);
  }
}
