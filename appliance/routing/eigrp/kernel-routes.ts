// Learned EIGRP routes into the kernel main table as proto 192 ("eigrp" in iproute2's rt_protos, the
// protocol FRR's eigrpd installs with), through the kernel table's netlink writer (routing/kernel-table.ts),
// where the overlay FIB picks up those through the tunnel. Equal-cost successors (maximum-paths, variance)
// are one ECMP route (RTA_MULTIPATH).
//
// The kernel metric is the process's administrative distance (90 unless `distance eigrp` says otherwise),
// never 0: the kernel keys a route by prefix, TOS and metric, so a replace at metric 0 would overwrite a
// static or OS route (`ip route add`, metric 0) for the same prefix, which IOS would prefer (distance 1).
// At 90 such a route stays and wins the lookup, as its lower distance does on IOS. One metric for
// internal and external routes: a prefix is one kernel route whose metric never changes under it (a
// replace at another metric would leave the old route behind). Failures are counted, kept and logged,
// never thrown.
import type { LogFn } from '../../log/log.js';
import type { KernelTable } from '../kernel-table.js';
import type { RouteSink } from './transport.js';

export const RTPROT_EIGRP = 192;
/** IOS's EIGRP internal distance, the kernel metric of our routes unless configured otherwise */
export const EIGRP_INTERNAL_DISTANCE = 90;

export class KernelRouteSink implements RouteSink {
  readonly stats = { replaced: 0, removed: 0, failed: 0 };
  lastError?: string;

  /** `osOf` maps the speaker's (IOS) interface names to OS names; a name not in it is used as is.
   *  `metric`: the kernel route metric (the process's internal distance). */
  constructor(private readonly kernel: KernelTable, private readonly osOf: ReadonlyMap<string, string>, private readonly log: LogFn,
    readonly metric = EIGRP_INTERNAL_DISTANCE) {}

  replace(prefix: string, len: number, hops: Array<{ via: string; dev: string }>): void {
    const next = hops.map((h) => ({ gateway: h.via, dev: this.osOf.get(h.dev) ?? h.dev }));
    this.kernel.replaceRoute({ prefix, len, protocol: RTPROT_EIGRP, metric: this.metric, ...(next.length === 1 ? next[0] : { nexthops: next }) })
      .then(() => { this.stats.replaced++; }, (e: Error) => this.failed(e));
  }

  remove(prefix: string, len: number): void {
    this.kernel.deleteRoute({ prefix, len, protocol: RTPROT_EIGRP, metric: this.metric })
      .then(() => { this.stats.removed++; }, (e: Error) => this.failed(e));
  }

  private failed(e: Error): void {
    this.stats.failed++;
    this.lastError = e.message;
    this.log('warn', `EIGRP route not written: ${e.message}`);
  }
}
