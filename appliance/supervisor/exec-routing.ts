// Exec commands of the dynamic routing: EIGRP (our speaker: neighbors, topology, interfaces, traffic, clear) and
// FRR's: `show ip ospf neighbor`, `show ip bgp summary` in IOS
// form from FRR's JSON, and `show routing daemons` (which FRR daemons run, restarts) for operators.
import type { Args } from '../cli/tree.js';
import type { ExecContext } from './exec-context.js';
import { ospfNeighborRows, formatOspfNeighbors } from '../show/ospf-neighbor.js';
import { bgpSummaryOf, formatBgpSummary } from '../show/bgp-summary.js';
import { eigrpNeighborRows, showEigrpInterfaces, showEigrpNeighbors, showEigrpTopology, showEigrpTraffic } from '../show/eigrp.js';
import type { EigrpSpeaker } from '../routing/eigrp/speaker.js';
import { IOS_EIGRP_DISTANCES } from '../routing/eigrp/kernel-routes.js';
import type { EigrpDistances } from '../routing/eigrp/kernel-routes.js';

type Handler = (a: Args) => string | Promise<string>;

/** The EIGRP speaker's distance (90 internal, 170 external, or `distance eigrp`) and composite metric
 *  of the routes it learned, by prefix, for `show ip route` (the kernel route carries neither). */
export function eigrpRibMetrics(sp: EigrpSpeaker, distance: EigrpDistances = IOS_EIGRP_DISTANCES): Map<string, { distance: number; metric: number; external?: boolean }> {
  const out = new Map<string, { distance: number; metric: number; external?: boolean }>();
  for (const d of sp.dual.table.values()) {
    const s = d.successors[0];
    if (!s?.neighbor || !Number.isFinite(d.distance)) continue;
    out.set(d.key, s.external ? { distance: distance.external, metric: sp.ribMetric(d), external: true } : { distance: distance.internal, metric: sp.ribMetric(d) });
  }
  return out;
}

export function routingCommands(ctx: ExecContext): Record<string, Handler> {
  const both = (spec: string, f: (json: boolean) => string | Promise<string>): Record<string, Handler> => ({ [spec]: () => f(false), [`${spec} json`]: () => f(true) });
  // FRR reports OS interface names; shows use the IOS names of the config
  const iosName = (os: string) => ctx.config().interfaces.find((i) => (ctx.osNameOf(i.name) ?? i.name) === os)?.name ?? os;
  // one block per running EIGRP process, as IOS lists every AS
  const eigrp = (f: (sp: EigrpSpeaker) => string) => () => (ctx.eigrpSpeakers?.() ?? []).map(f).join('');
  return {
    'show ip eigrp neighbors': eigrp((sp) => showEigrpNeighbors(sp, Date.now())),
    'show ip eigrp neighbors json': () => JSON.stringify((ctx.eigrpSpeakers?.() ?? []).flatMap((sp) => eigrpNeighborRows(sp, Date.now()))) + '\n',
    'show ip eigrp topology': eigrp((sp) => showEigrpTopology(sp)),
    'show ip eigrp topology all-links': eigrp((sp) => showEigrpTopology(sp, true)),
    'show ip eigrp interfaces': eigrp(showEigrpInterfaces),
    'show ip eigrp traffic': eigrp(showEigrpTraffic),
    'clear ip eigrp neighbors': () => { void ctx.clearEigrpNeighbors?.(); return ''; },
    // the speakers log every packet at debug level to facility EIGRP (routing/eigrp/debug.ts)
    'debug eigrp packets': () => { ctx.debugOn('eigrp'); return 'EIGRP Packets debugging is on\n    (UPDATE, REQUEST, QUERY, REPLY, HELLO, ACK, STUB, SIAQUERY, SIAREPLY)\n'; },
    ...both('show ip ospf neighbor', async (json) => formatOspfNeighbors(ospfNeighborRows(ctx.config().ospf ? await ctx.routingJson?.('show ip ospf neighbor json') : undefined, iosName), json)),
    ...both('show ip bgp summary', async (json) => formatBgpSummary(
      ctx.config().bgp ? bgpSummaryOf(await ctx.routingJson?.('show ip bgp summary json'), ctx.config().bgp!.listenRanges.length) : undefined, json)),
    ...both('show routing daemons', (json) => {
      const ds = ctx.routingDaemons?.() ?? [];
      if (json) return JSON.stringify(ds) + '\n';
      if (!ds.length) return 'No routing protocol is configured (router ospf / router bgp)\n';
      return ['Daemon   PID      State    Restarts  Last exit', ...ds.map((d) =>
        `${d.daemon.padEnd(8)} ${String(d.pid ?? '-').padEnd(8)} ${(d.running ? 'running' : 'down').padEnd(8)} ${String(d.restarts).padEnd(9)} ${d.lastExit ?? ''}`.trimEnd())].join('\n') + '\n';
    }),
  };
}
