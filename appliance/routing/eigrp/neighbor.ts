// The EIGRP neighbor table: who we heard a hello from, on which interface, and until when they stay
// (their hold time, RFC 7868 5.3). Time is passed in (ms), so tests drive it without timers.
export interface Neighbor {
  address: string;
  iface: string;
  /** Hold time the neighbor announced in its hello, seconds. */
  holdTime: number;
  lastHeard: number;
  upSince: number;
  /** pending until the init exchange completed both ways (rtp.ts), then up */
  state: 'pending' | 'up';
  /** Handle number as IOS numbers neighbors in `show ip eigrp neighbors`. */
  handle: number;
  /** Stub flags from its hello (StubFlag), 0 if not a stub. */
  stub: number;
  softwareVersion?: string;
}

export class NeighborTable {
  private readonly byAddr = new Map<string, Neighbor>();
  private nextHandle = 0;

  get(address: string): Neighbor | undefined { return this.byAddr.get(address); }
  list(): Neighbor[] { return [...this.byAddr.values()]; }
  up(): Neighbor[] { return this.list().filter((n) => n.state === 'up'); }
  get size(): number { return this.byAddr.size; }

  /** A hello from `address`: refresh its hold timer, or create it (pending). */
  heard(address: string, iface: string, holdTime: number, now: number): { neighbor: Neighbor; isNew: boolean } {
    const n = this.byAddr.get(address);
    if (n && n.iface === iface) { n.lastHeard = now; n.holdTime = holdTime; return { neighbor: n, isNew: false }; }
    if (n) this.byAddr.delete(address); // moved interface: a new adjacency
    const fresh: Neighbor = { address, iface, holdTime, lastHeard: now, upSince: now, state: 'pending', handle: this.nextHandle++, stub: 0 };
    this.byAddr.set(address, fresh);
    return { neighbor: fresh, isNew: true };
  }

  /** Seconds left before `n` expires (what IOS shows as Hold). */
  holdLeft(n: Neighbor, now: number): number { return Math.max(0, Math.ceil((n.lastHeard + n.holdTime * 1000 - now) / 1000)); }

  /** Remove and return every neighbor whose hold time ran out. */
  expire(now: number): Neighbor[] {
    const gone = this.list().filter((n) => now - n.lastHeard > n.holdTime * 1000);
    for (const n of gone) this.byAddr.delete(n.address);
    return gone;
  }

  remove(address: string): Neighbor | undefined {
    const n = this.byAddr.get(address);
    this.byAddr.delete(address);
    if (!this.byAddr.size) this.nextHandle = 0;
    return n;
  }
}
