// Learned EIGRP routes into the kernel routing table with `ip route replace ... proto 192` (192 is
// "eigrp" in iproute2's rt_protos, the protocol FRR's eigrpd installs with), optionally in a network
// namespace. One small module behind RouteSink so the netlink writer (issue 12's kernel table) can
// replace it without touching the speaker. Failures are counted and kept, never thrown.
import { spawnSync } from 'node:child_process';
import type { RouteSink } from './transport.js';

export const RTPROT_EIGRP = 192;

export class IprouteSink implements RouteSink {
  readonly stats = { replaced: 0, removed: 0, failed: 0 };
  lastError?: string;

  constructor(private readonly netns?: string) {}

  private ip(args: string[]): boolean {
    const r = spawnSync('ip', [...(this.netns ? ['-n', this.netns] : []), ...args], { encoding: 'utf8' });
    if (r.status === 0) return true;
    this.stats.failed++;
    this.lastError = `ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`;
    return false;
  }

  replace(prefix: string, len: number, nextHops: Array<{ via: string; dev: string }>, _metric: number): void {
    const hops = nextHops.length === 1 ? ['via', nextHops[0].via, 'dev', nextHops[0].dev]
      : nextHops.flatMap((h) => ['nexthop', 'via', h.via, 'dev', h.dev]);
    if (this.ip(['route', 'replace', `${prefix}/${len}`, 'proto', String(RTPROT_EIGRP), ...hops])) this.stats.replaced++;
  }

  remove(prefix: string, len: number): void {
    if (this.ip(['route', 'del', `${prefix}/${len}`, 'proto', String(RTPROT_EIGRP)])) this.stats.removed++;
  }
}
