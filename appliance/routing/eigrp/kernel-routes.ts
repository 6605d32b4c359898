// Learned EIGRP routes into the kernel main table as proto 192 ("eigrp" in iproute2's rt_protos, the
// protocol FRR's eigrpd installs with), through the kernel table's netlink writer (routing/kernel-table.ts),
// where the overlay FIB picks up those through the tunnel. Equal-cost successors (maximum-paths, variance)
// are one ECMP route (RTA_MULTIPATH).
//
// The kernel metric is the route's administrative distance: internal routes at the process's internal
// distance (90), external ones (D EX) at its external distance (170), or what `distance eigrp INT EXT`
// says; never 0. The kernel keys a route by prefix, TOS and metric, so a replace at metric 0 would
// overwrite a static or OS route (`ip route add`, metric 0) for the same prefix, which IOS would prefer
// (distance 1); at the distance such a route stays beside ours and wins the lookup, and the kernel's
// metric order is IOS's distance order (a static at `ip route ... 120` beats a D EX at 170, loses to a D
// at 90). Because the metric is part of the key, a prefix that moves between internal and external is
// written at its new metric first and then deleted at the old one (never a moment without a route, never
// the old one left behind); the operations on one prefix run one after another so a quick flip back
// cannot delete what a later write put in. A withdraw deletes only our route, at the metric it was
// written at. Failures are counted, kept and logged, never thrown.
import type { LogFn } from '../../log/log.js';
import type { KernelTable } from '../kernel-table.js';
import type { RouteSink } from './transport.js';

export const RTPROT_EIGRP = 192;
/** IOS's EIGRP distances: internal 90, external 170 (`distance eigrp INT EXT` changes them) */
export interface EigrpDistances { internal: number; external: number }
export const IOS_EIGRP_DISTANCES: Readonly<EigrpDistances> = { internal: 90, external: 170 };

export class KernelRouteSink implements RouteSink {
  readonly stats = { replaced: 0, removed: 0, failed: 0 };
  lastError?: string;
  /** the metric each prefix's route is in the kernel at, as the kernel acknowledged it */
  private readonly inKernel = new Map<string, number>();
  /** the tail of each prefix's queue of kernel operations */
  private readonly queues = new Map<string, Promise<void>>();

  /** `osOf` maps the speaker's (IOS) interface names to OS names; a name not in it is used as is.
   *  `distances`: the kernel metrics of internal and external routes (the process's distances). */
  constructor(private readonly kernel: KernelTable, private readonly osOf: ReadonlyMap<string, string>, private readonly log: LogFn,
    readonly distances: Readonly<EigrpDistances> = IOS_EIGRP_DISTANCES) {}

  replace(prefix: string, len: number, hops: Array<{ via: string; dev: string }>, _metric?: number, external = false): void {
    const next = hops.map((h) => ({ gateway: h.via, dev: this.osOf.get(h.dev) ?? h.dev }));
    const metric = external ? this.distances.external : this.distances.internal;
    this.queue(prefix, len, async (key) => {
      try {
        await this.kernel.replaceRoute({ prefix, len, protocol: RTPROT_EIGRP, metric, ...(next.length === 1 ? next[0] : { nexthops: next }) });
      } catch (e) { this.failed(e as Error); return; } // the old route (if any) stays and still forwards
      this.stats.replaced++;
      const old = this.inKernel.get(key);
      this.inKernel.set(key, metric);
      if (old !== undefined && old !== metric) await this.delete(prefix, len, old);
    });
  }

  remove(prefix: string, len: number): void {
    this.queue(prefix, len, async (key) => {
      const metric = this.inKernel.get(key) ?? this.distances.internal; // never written: the delete says so
      this.inKernel.delete(key);
      await this.delete(prefix, len, metric);
    });
  }

  /** Resolves once every operation asked for so far has had the kernel's answer. */
  async settled(): Promise<void> { while (this.queues.size) await Promise.all([...this.queues.values()]); }

  private async delete(prefix: string, len: number, metric: number): Promise<void> {
    try {
      await this.kernel.deleteRoute({ prefix, len, protocol: RTPROT_EIGRP, metric });
      this.stats.removed++;
    } catch (e) { this.failed(e as Error); }
  }

  private queue(prefix: string, len: number, op: (key: string) => Promise<void>): void {
    const key = `${prefix}/${len}`;
    const tail = (this.queues.get(key) ?? Promise.resolve()).then(() => op(key)).catch((e: Error) => this.failed(e));
    this.queues.set(key, tail);
    void tail.then(() => { if (this.queues.get(key) === tail) this.queues.delete(key); });
  }

  private failed(e: Error): void {
    this.stats.failed++;
    this.lastError = e.message;
    this.log('warn', `EIGRP route not written: ${e.message}`);
  }
}
