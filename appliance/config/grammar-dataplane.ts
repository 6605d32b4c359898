// `dataplane workers N` (global): how many data-plane workers forward (docs/dataplane.md "Every core
// forwards"): each has a TUN queue, a share of the NBMA receive traffic and a thread; 1 (the default,
// not rendered) is the single worker of before. A change restarts the tunnel (live-config.ts).
import { Node, define, Args } from '../cli/tree.js';
import type { ConfigCtx } from './modes.js';
import type { ApplianceConfig } from './model.js';

/** At most this many: each worker beyond the first takes about 45 MiB of rings (dataplane/layout.ts MAX_FORWARDING_WORKERS). */
export const MAX_DATAPLANE_WORKERS = 4;
export const DEFAULT_DATAPLANE_WORKERS = 1;

const HELP: Record<string, string> = {
  dataplane: 'Configure the packet forwarding data plane', workers: 'Forwarding workers (one core each)',
  '{n}': `Number of workers (default ${DEFAULT_DATAPLANE_WORKERS})`,
};

export function dataplaneGlobal(g: Node): void {
  const set = (ctx: ConfigCtx, a: Args) => {
    const n = a.no || a.p.n === undefined ? DEFAULT_DATAPLANE_WORKERS : Number(a.p.n);
    if (n === DEFAULT_DATAPLANE_WORKERS) delete ctx.cfg.dataplaneWorkers; else ctx.cfg.dataplaneWorkers = n;
  };
  define(g, `dataplane workers {n:range:1-${MAX_DATAPLANE_WORKERS}}`, set, HELP);
  define(g, 'dataplane workers', set, HELP); // `no dataplane workers`: back to the default
}

/** The configured worker count (absent: the default). */
export const dataplaneWorkers = (c: Pick<ApplianceConfig, 'dataplaneWorkers'>): number => c.dataplaneWorkers ?? DEFAULT_DATAPLANE_WORKERS;

/** Rendered before the services lines; nothing for the default. */
export function dataplaneLines(c: ApplianceConfig): string[] {
  return c.dataplaneWorkers === undefined ? [] : [`dataplane workers ${c.dataplaneWorkers}`, '!'];
}
