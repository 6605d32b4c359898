// A simulated EIGRP segment for speaker tests: an mGRE tunnel as DMVPN builds it (the hub maps
// multicast to every spoke, a spoke only to the hub) or, without a hub, a LAN where everyone hears
// everyone; and a route sink recording what a speaker would put into the routing table.
import type { EigrpTransport, RouteSink } from '../../appliance/routing/eigrp/transport.js';

export interface Frame { from: string; to: string; payload: Uint8Array }

/** With a hub: an mGRE segment (`ip nhrp map multicast dynamic` at the hub, the hub only at a spoke), so
 *  EIGRP packets pass only between the hub and a spoke. Without: a LAN. */
export class Segment {
  constructor(readonly hub?: string) {}
  readonly queue: Frame[] = [];
  readonly members = new Map<string, (src: string, dst: string, p: Uint8Array) => void>();
  down = new Set<string>();
  sent = 0;
  port(addr: string): EigrpTransport {
    return {
      send: (_iface, dst, payload) => { if (!this.down.has(addr)) { this.sent++; this.queue.push({ from: addr, to: dst, payload }); } },
      onReceive: (cb) => { this.members.set(addr, (src, dst, p) => cb('Tunnel0', src, dst, p)); },
      close: () => {},
    };
  }
  pump(): void {
    for (let n = 0; this.queue.length && n < 100000; n++) {
      const f = this.queue.shift()!;
      for (const [addr, deliver] of this.members) {
        if (addr === f.from || this.down.has(addr) || (this.hub !== undefined && f.from !== this.hub && addr !== this.hub)) continue;
        if (f.to === '224.0.0.10' || f.to === addr) deliver(f.from, f.to, f.payload);
      }
    }
  }
}

export class Rib implements RouteSink {
  readonly routes = new Map<string, string>();
  readonly metrics = new Map<string, number>();
  /** the prefixes the speaker wrote as external (D EX: the kernel sink's external distance) */
  readonly external = new Set<string>();
  replace(prefix: string, len: number, hops: Array<{ via: string; dev: string }>, metric?: number, external = false): void {
    this.routes.set(`${prefix}/${len}`, hops.map((h) => `${h.via}%${h.dev}`).join(','));
    if (metric !== undefined) this.metrics.set(`${prefix}/${len}`, metric);
    if (external) this.external.add(`${prefix}/${len}`); else this.external.delete(`${prefix}/${len}`);
  }
  remove(prefix: string, len: number): void { this.routes.delete(`${prefix}/${len}`); this.external.delete(`${prefix}/${len}`); }
}

