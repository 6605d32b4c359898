// The NHRP cache of one tunnel: tunnel (protocol) address -> NBMA address, with IOS entry types and
// flags. Dynamic entries expire after their holding time; every change is reported through
// onChange so the supervisor can mirror usable entries into the data plane's peer table.
import type { Clock, TimerHandle } from './clock.js';

export type CacheType = 'static' | 'dynamic' | 'incomplete' | 'negative' | 'local';

export interface CacheFlags {
  /** registered with the Unique flag: a different NBMA may not take the address over */
  unique?: boolean;
  /** learnt from a Registration Request (IOS "registered") */
  registered?: boolean;
  /** used for forwarding since created (IOS "used"; set by later phases) */
  used?: boolean;
  /** the registrant is behind NAT: `nbma` is the outside address, `claimedNbma` the inside one */
  nat?: boolean;
  /** this entry is one of our NHSes (IOS marks them "nhs") */
  nhs?: boolean;
  /** learnt from a resolution with the Q bit: the peer is a router (IOS "router") */
  router?: boolean;
  /** learnt from the source of a Resolution Request we answered (IOS "implicit") */
  implicit?: boolean;
  /** a next-hop (tunnel address) binding resolved by us (IOS "nhop") */
  nhop?: boolean;
  /** Phase 3 shortcut route installed in the RIB (IOS "rib") */
  rib?: boolean;
  /** the shortcut overrides the routed next hop (IOS "nho") */
  nho?: boolean;
  /** a prefix of ours we gave out in a Resolution Reply (IOS "local") */
  local?: boolean;
}

export interface CacheEntry {
  /** the protocol address; for a shortcut or local entry, the prefix (with prefixLen) */
  tunnelIp: string;
  prefixLen: number;
  /** shortcut/local entries: the tunnel next hop the prefix is reached through (IOS "via") */
  via?: string;
  type: CacheType;
  /** NBMA address to send to (after NAT); undefined for incomplete/negative entries */
  nbma?: string;
  /** NBMA address the registrant put in its packet, when different from `nbma` */
  claimedNbma?: string;
  flags: CacheFlags;
  /** ms */
  created: number;
  /** ms; undefined = never expires (static, local) */
  expires?: number;
  /** seconds, as received */
  holdtime?: number;
  mtu?: number;
}

export type CacheChange = { op: 'set'; entry: CacheEntry } | { op: 'del'; entry: CacheEntry; reason: string };

export class NhrpCache {
  private readonly map = new Map<string, CacheEntry>();
  private readonly timers = new Map<string, TimerHandle>();
  /** NBMA address -> how many usable bindings point at it: "do we know this sender?" in O(1) per
   *  packet, a few bytes per NBMA address even on a hub with thousands of spokes */
  private readonly byNbma = new Map<string, number>();

  constructor(private readonly clock: Clock, private readonly onChange: (c: CacheChange) => void) {}

  get(tunnelIp: string): CacheEntry | undefined {
    return this.map.get(tunnelIp);
  }

  /** Does a usable binding (not incomplete/negative) point at NBMA address `nbma`? */
  knowsNbma(nbma: string): boolean {
    return this.byNbma.has(nbma);
  }

  entries(): CacheEntry[] {
    return [...this.map.values()].map((e) => ({ ...e, flags: { ...e.flags } }));
  }

  /**
   * Create or replace the entry for e.tunnelIp. `holdtime` (s) arms expiry; omitted = permanent.
   * `created` is kept when the same binding is refreshed, so "up since" survives re-registration.
   */
  set(e: Omit<CacheEntry, 'created' | 'expires'>, holdtime?: number): CacheEntry {
    const now = this.clock.now();
    const old = this.map.get(e.tunnelIp);
    const sameBinding = old && old.nbma === e.nbma && old.type === e.type;
    const entry: CacheEntry = {
      ...e,
      flags: { ...e.flags },
      created: sameBinding ? old.created : now,
      expires: holdtime !== undefined ? now + holdtime * 1000 : undefined,
      holdtime: holdtime ?? e.holdtime,
    };
    if (old) this.unindex(old);
    this.map.set(e.tunnelIp, entry);
    this.index(entry);
    this.arm(entry);
    this.onChange({ op: 'set', entry: { ...entry, flags: { ...entry.flags } } });
    return entry;
  }

  delete(tunnelIp: string, reason: string): boolean {
    const e = this.map.get(tunnelIp);
    if (!e) return false;
    this.map.delete(tunnelIp);
    this.unindex(e);
    this.disarm(tunnelIp);
    this.onChange({ op: 'del', entry: e, reason });
    return true;
  }

  /** Drop every entry (of one type, if given), e.g. on shutdown or `clear ip nhrp`. */
  clear(reason: string, type?: CacheType): void {
    for (const e of [...this.map.values()]) if (!type || e.type === type) this.delete(e.tunnelIp, reason);
  }

  private index(e: CacheEntry): void {
    if (e.nbma === undefined || e.type === 'incomplete' || e.type === 'negative') return;
    this.byNbma.set(e.nbma, (this.byNbma.get(e.nbma) ?? 0) + 1);
  }

  private unindex(e: CacheEntry): void {
    if (e.nbma === undefined || e.type === 'incomplete' || e.type === 'negative') return;
    const n = (this.byNbma.get(e.nbma) ?? 0) - 1;
    if (n > 0) this.byNbma.set(e.nbma, n); else this.byNbma.delete(e.nbma);
  }

  private arm(e: CacheEntry): void {
    this.disarm(e.tunnelIp);
    if (e.expires === undefined) return;
    const ip = e.tunnelIp;
    const h = this.clock.timers.setTimeout(() => {
      this.timers.delete(ip);
      const cur = this.map.get(ip);
      // A refresh re-arms with a new timer (clearing this one), so `cur` is the entry this timer was
      // armed for. Node starts a timer from the event loop's cached time, which lags Date.now() under
      // load: the timer can fire a few ms before `expires`. Then arm again for the rest, or the entry
      // would never expire (a dead spoke kept in the hub's cache for good).
      if (!cur || cur.expires === undefined) return;
      if (cur.expires <= this.clock.now()) this.delete(ip, 'expired');
      else this.arm(cur);
    }, Math.max(0, e.expires - this.clock.now()));
    this.timers.set(ip, h);
  }

  private disarm(ip: string): void {
    const h = this.timers.get(ip);
    if (h !== undefined) this.clock.timers.clearTimeout(h);
    this.timers.delete(ip);
  }
}
