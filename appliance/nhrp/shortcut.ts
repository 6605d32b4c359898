// Phase 3 shortcut routes on a spoke: prefix -> tunnel next hop, installed in the RIB through the
// supervisor's `routes` hooks. Aging follows FRR (nhrp_shortcut.c): at 2/3 of the CIE holding time
// the shortcut starts expiring; if the data plane reported it used it is re-resolved (a reply
// refreshes it), otherwise it is removed when the holding time is over. A shortcut also goes when
// the cache entry of its next hop goes, or when the owner purges the prefix.
import type { CacheEntry } from './cache.js';
import type { Clock, TimerHandle } from './clock.js';
import type { ShortcutRoutes } from './context.js';
import type { LogFn } from '../log/log.js';
import { inPrefix } from '../net/ipv4.js';

interface Shortcut {
  prefix: string;
  len: number;
  via: string;
  /** the address whose resolution produced it (re-resolved on refresh) */
  target: string;
  created: number;
  expires: number;
  holdtime: number;
  nbma?: string;
  used: boolean;
  expiring: boolean;
  timer?: TimerHandle;
}

export class ShortcutTable {
  private readonly map = new Map<string, Shortcut>();

  constructor(private readonly clock: Clock, private readonly routes: ShortcutRoutes | undefined,
    private readonly log: LogFn, private readonly refresh: (target: string) => void) {}

  install(prefix: string, len: number, via: string, holdtime: number, target: string, nbma?: string): void {
    const key = `${prefix}/${len}`;
    const now = this.clock.now();
    let s = this.map.get(key);
    if (s && s.via !== via) { this.remove(s, `next hop changed to ${via}`); s = undefined; }
    if (!s) {
      s = { prefix, len, via, target, created: now, expires: 0, holdtime, used: false, expiring: false };
      this.map.set(key, s);
      this.routes?.installShortcut(prefix, len, via);
      this.log('info', `NHRP: shortcut ${key} via ${via} installed`);
    }
    Object.assign(s, { target, holdtime, nbma, expires: now + holdtime * 1000, expiring: false, used: false });
    this.arm(s, (holdtime * 1000 * 2) / 3, () => this.startExpiring(s!));
  }

  markUsedVia(tunnelIp: string): void {
    for (const s of this.map.values()) {
      if (s.via !== tunnelIp) continue;
      // Used while already expiring: renew now rather than wait for a timer that will not come.
      if (s.expiring && !s.used) this.refresh(s.target);
      s.used = true;
    }
  }

  removeVia(tunnelIp: string, reason: string): void {
    for (const s of [...this.map.values()]) if (s.via === tunnelIp) this.remove(s, reason);
  }

  /** Remove shortcuts inside prefix/len (a purge names the owner's prefix), optionally only those
   *  whose owner's NBMA address passes `owner`. */
  removeCovered(prefix: string, len: number, reason: string, owner?: (nbma: string | undefined) => boolean): number {
    let n = 0;
    for (const s of [...this.map.values()]) {
      if (s.len >= len && inPrefix(s.prefix, prefix, len) && (!owner || owner(s.nbma))) { this.remove(s, reason); n++; }
    }
    return n;
  }

  clear(reason: string): void {
    for (const s of [...this.map.values()]) this.remove(s, reason);
  }

  covering(addr: string): boolean {
    return [...this.map.values()].some((s) => inPrefix(addr, s.prefix, s.len));
  }

  /** As cache entries, for `show ip nhrp` / `show ip nhrp shortcut` (IOS flags: router rib nho). */
  entries(): CacheEntry[] {
    return [...this.map.values()].map((s) => ({
      tunnelIp: s.prefix, prefixLen: s.len, via: s.via, type: 'dynamic' as const, nbma: s.nbma,
      flags: { router: true, rib: true, nho: true, used: s.used || undefined },
      created: s.created, expires: s.expires, holdtime: s.holdtime,
    }));
  }

  private startExpiring(s: Shortcut): void {
    s.expiring = true;
    this.arm(s, Math.max(0, s.expires - this.clock.now()), () => this.remove(s, 'expired'));
    if (s.used) { s.used = false; this.refresh(s.target); }
  }

  private remove(s: Shortcut, reason: string): void {
    const key = `${s.prefix}/${s.len}`;
    if (this.map.get(key) !== s) return;
    if (s.timer !== undefined) this.clock.timers.clearTimeout(s.timer);
    this.map.delete(key);
    this.routes?.removeShortcut(s.prefix, s.len);
    this.log('info', `NHRP: shortcut ${key} via ${s.via} removed (${reason})`);
  }

  private arm(s: Shortcut, ms: number, fn: () => void): void {
    if (s.timer !== undefined) this.clock.timers.clearTimeout(s.timer);
    s.timer = this.clock.timers.setTimeout(() => { s.timer = undefined; fn(); }, ms);
  }
}
