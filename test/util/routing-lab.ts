// Seed-003 lab configs with dynamic routing instead of static overlay routes, and helpers to read the
// kernel routing table and FRR state of a router in the lab.
import fs from 'node:fs';
import { Lab, labConfig, nsExec } from './lab.js';
import { tsharkFields } from './tshark.js';

/** Hello/dead timers of the OSPF tests (IOS default 10/40: the tests would wait minutes). */
export const HELLO = 1, DEAD = 4;

/** R1..Rn of seed 003 without static routes over the tunnel (the underlay default stays), Phase 2 or 3. */
export function baseConfig(name: string, phase: 2 | 3): string {
  return labConfig(name, { holdtime: 60, registrationTimeout: 5, phase1: phase === 2 })
    .replace(/^ip route 10\.\S+ \S+ 192\.168\.0\.\d+\n/gm, '');
}

/** Interface lines for the tunnel, inserted after `ip address` of Tunnel0. */
export function withTunnelLines(cfg: string, lines: string[]): string {
  return cfg.replace(/(interface Tunnel0\n ip address [^\n]+\n)/, `$1${lines.map((l) => ` ${l}\n`).join('')}`);
}

/** Adds a stanza before the final `end`. */
export const withStanza = (cfg: string, stanza: string): string => cfg.replace(/\nend\s*$/, `\n${stanza.trimEnd()}\n!\nend\n`);

export interface KRoute { dst: string; gateway?: string; dev?: string; protocol?: string }
/** The kernel's IPv4 main table in namespace `ns`. */
export function kernelRoutes(ns: string): KRoute[] {
  const r = nsExec(ns, ['ip', '-j', '-4', 'route', 'show', 'table', 'main'], { allowFail: true });
  try { return JSON.parse(r.stdout || '[]') as KRoute[]; } catch { return []; }
}
export const routeTo = (ns: string, dst: string): KRoute | undefined => kernelRoutes(ns).find((r) => r.dst === dst);

/** Stops every router gracefully (their FRR daemons with them), then removes the namespaces. */
export async function routingLabDown(lab: Lab): Promise<void> {
  for (const r of lab.routers.keys()) await lab.stop(r);
  lab.down();
}

/** The FRR state directory the router's dmvpnd uses (set through DMVPN_FRR_DIR). */
export function frrDirOf(lab: Lab, name: string): string { return `${lab.dir}/${name}.frr`; }

/** Starts router `name` with its FRR state in the lab's directory (made traversable for user frr). */
export function startRouting(lab: Lab, name: string, cfg: string) {
  fs.chmodSync(lab.dir, 0o755);
  return lab.start(name, lab.writeConfig(name, cfg), { DMVPN_FRR_DIR: frrDirOf(lab, name) });
}

/** `command json` on router `name`, or undefined while it does not answer (starting up). */
export function ctlJsonOrUndefined<T = unknown>(lab: Lab, name: string, command: string): T | undefined {
  try { return lab.ctlJson<T>(name, command); } catch { return undefined; }
}

/** The last lines of FRR daemon `d`'s log of router `name` (for failure reports). */
export function frrLog(lab: Lab, name: string, d: string, lines = 30): string {
  try { return fs.readFileSync(`${frrDirOf(lab, name)}/${d}.log`, 'utf8').trim().split('\n').slice(-lines).join('\n'); } catch { return `(no ${d} log)`; }
}

/** Echo requests from `fromNbma` (outer source) that router `name` received on its NBMA side:
 *  those R2 sends straight to R3 have R2's NBMA address outside, those relayed by the hub the hub's.
 *  `sinceMs`: only those captured from then on (a count taken before may miss packets the capture
 *  had not yet written out). */
export function echoRequestsFrom(lab: Lab, name: string, fromNbma: string, innerDst: string, sinceMs = 0): number {
  return tsharkFields(lab.routers.get(name)!.pcap, `gre && ip.src == ${fromNbma} && ip.dst == ${innerDst} && icmp.type == 8`, ['frame.time_epoch'])
    .filter((p) => Number(p['frame.time_epoch']) * 1000 >= sinceMs).length;
}

/** The tunnel addresses of router `name`'s NHRP peers (`show dmvpn`). */
export function dmvpnPeers(lab: Lab, name: string): string[] {
  const j = ctlJsonOrUndefined<{ interfaces: Array<{ peers: Array<{ tunnel: string }> }> }>(lab, name, 'show dmvpn');
  return j?.interfaces?.[0]?.peers.map((p) => p.tunnel) ?? [];
}
