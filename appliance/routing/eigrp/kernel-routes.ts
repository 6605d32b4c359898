// Learned EIGRP routes into the kernel main table as proto 192 ("eigrp" in iproute2's rt_protos, the
// protocol FRR's eigrpd installs with), through the kernel table's netlink writer (routing/kernel-table.ts),
// where the overlay FIB picks up those through the tunnel. Equal-cost successors (maximum-paths, variance)
// are one ECMP route (RTA_MULTIPATH). Failures are
// counted, kept and logged, never thrown.
import type { LogFn } from '../../log/log.js';
import type { KernelTable } from '../kernel-table.js';
import type { RouteSink } from './transport.js';

export const RTPROT_EIGRP = 192;

export class KernelRouteSink implements RouteSink {
  readonly stats = { replaced: 0, removed: 0, failed: 0 };
  lastError?: string;

  /** `osOf` maps the speaker's (IOS) interface names to OS names; a name not in it is used as is. */
  constructor(private readonly kernel: KernelTable, private readonly osOf: ReadonlyMap<string, string>, private readonly log: LogFn) {}

  replace(prefix: string, len: number, hops: Array<{ via: string; dev: string }>): void {
    const next = hops.map((h) => ({ gateway: h.via, dev: this.osOf.get(h.dev) ?? h.dev }));
    this.kernel.replaceRoute({ prefix, len, protocol: RTPROT_EIGRP, ...(next.length === 1 ? next[0] : { nexthops: next }) })
      .then(() => { this.stats.replaced++; }, (e: Error) => this.failed(e));
  }

  remove(prefix: string, len: number): void {
    this.kernel.deleteRoute({ prefix, len, protocol: RTPROT_EIGRP })
      .then(() => { this.stats.removed++; }, (e: Error) => this.failed(e));
  }

  private failed(e: Error): void {
    this.stats.failed++;
    this.lastError = e.message;
    this.log('warn', `EIGRP route not written: ${e.message}`);
  }
}
