// `dataplane workers N` (global): how many data-plane workers forward (docs/dataplane.md "Every core
// forwards"): each has a TUN queue, a share of the NBMA receive traffic and a thread. Absent (and after
// `no dataplane workers`): automatic, one worker per CPU beyond the first, at most MAX_DATAPLANE_WORKERS.
// A change restarts the tunnel (live-config.ts).
import { Node, define, Args } from '../cli/tree.js';
import type { ConfigCtx } from './modes.js';
import type { ApplianceConfig } from './model.js';

/** At most this many: each worker beyond the first takes about 45 MiB of rings (dataplane/layout.ts MAX_FORWARDING_WORKERS). */
export const MAX_DATAPLANE_WORKERS = 4;

/**
 * The automatic count on a box with `cpus` CPUs: one CPU is left to the supervisor's event loop and the
 * pump threads that feed the workers (a worker per CPU on this 2-CPU lab machine cost 25-35% more CPU
 * per packet for no gain: docs/status.md); 1 on 1 or 2 CPUs, 3 on 4, 4 from 5 on.
 */
export const autoDataplaneWorkers = (cpus: number): number => Math.min(MAX_DATAPLANE_WORKERS, Math.max(1, Math.floor(cpus) - 1));

const HELP: Record<string, string> = {
  dataplane: 'Configure the packet forwarding data plane', workers: 'Forwarding workers (one core each)',
  '{n}': `Number of workers (default: one per CPU beyond the first, at most ${MAX_DATAPLANE_WORKERS})`,
};

export function dataplaneGlobal(g: Node): void {
  const set = (ctx: ConfigCtx, a: Args) => {
    if (a.no || a.p.n === undefined) delete ctx.cfg.dataplaneWorkers; else ctx.cfg.dataplaneWorkers = Number(a.p.n);
  };
  define(g, `dataplane workers {n:range:1-${MAX_DATAPLANE_WORKERS}}`, set, HELP);
  define(g, 'dataplane workers', set, HELP); // `no dataplane workers`: back to automatic
}

/** The worker count: the configured one, or the automatic count for `cpus` CPUs. */
export const dataplaneWorkers = (c: Pick<ApplianceConfig, 'dataplaneWorkers'>, cpus: number): number =>
  c.dataplaneWorkers ?? autoDataplaneWorkers(cpus);

/** Rendered before the services lines; nothing when automatic. */
export function dataplaneLines(c: ApplianceConfig): string[] {
  return c.dataplaneWorkers === undefined ? [] : [`dataplane workers ${c.dataplaneWorkers}`, '!'];
}
