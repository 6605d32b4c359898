// Config generator and observers for the namespace tests that need other designs than the seed-003
// lab configs (hierarchies, dual hubs, authentication). Addressing follows topology.sh: router n has
// WAN 172.16.n5.2/30 (Internet at .1), LAN 10.0.n.1/24, tunnel 192.168.0.n/24.
import type { Lab } from './lab.js';

export const wan = (n: number) => `172.16.${n}5.2`;
export const tun = (n: number) => `192.168.0.${n}`;
export const lan = (n: number) => `10.0.${n}.0`;
export const host = (n: number) => `10.0.${n}.10`;

export interface RouterSpec {
  n: number;
  /** NHSes by router number (tunnel 192.168.0.m, mapped to its WAN address) */
  nhs?: Array<{ n: number; priority?: number }>;
  redirect?: boolean;
  shortcut?: boolean;
  /** hub side: replicate multicast to registered spokes */
  multicastDynamic?: boolean;
  holdtime?: number;
  registrationTimeout?: number;
  authentication?: string;
  /** undefined: network-id 1; null: no `ip nhrp network-id` line */
  networkId?: number | null;
  /** overlay routes: [prefix, mask, next hop] */
  routes?: Array<[string, string, string]>;
}

/** An IOS-style config for router n. */
export function routerConfig(s: RouterSpec): string {
  const n = s.n;
  const lines = [
    `hostname R${n}`, '!',
    'interface FastEthernet0/0', ` ip address ${wan(n)} 255.255.255.252`, '!',
    'interface FastEthernet0/1', ` ip address 10.0.${n}.1 255.255.255.0`, '!',
    'interface Tunnel0', ` ip address ${tun(n)} 255.255.255.0`, ' ip mtu 1400', ' ip tcp adjust-mss 1360',
  ];
  if (s.authentication !== undefined) lines.push(` ip nhrp authentication ${s.authentication}`);
  for (const h of s.nhs ?? []) lines.push(` ip nhrp map ${tun(h.n)} ${wan(h.n)}`, ` ip nhrp map multicast ${wan(h.n)}`);
  if (s.multicastDynamic) lines.push(' ip nhrp map multicast dynamic');
  if (s.networkId !== null) lines.push(` ip nhrp network-id ${s.networkId ?? 1}`);
  for (const h of s.nhs ?? []) lines.push(` ip nhrp nhs ${tun(h.n)}${h.priority !== undefined ? ` priority ${h.priority}` : ''}`);
  lines.push(` ip nhrp holdtime ${s.holdtime ?? 60}`);
  if (s.registrationTimeout) lines.push(` ip nhrp registration timeout ${s.registrationTimeout}`);
  if (s.redirect) lines.push(' ip nhrp redirect');
  if (s.shortcut) lines.push(' ip nhrp shortcut');
  lines.push(' tunnel source FastEthernet0/0', ' tunnel mode gre multipoint', '!');
  lines.push(`ip route 0.0.0.0 0.0.0.0 172.16.${n}5.1`);
  for (const [p, m, nh] of s.routes ?? []) lines.push(`ip route ${p} ${m} ${nh}`);
  lines.push('end', '');
  return lines.join('\n');
}

export type Peer = { nbma: string; tunnel: string; state: string; attrs: string };
export type NhsStatus = { tunnelIp?: string; nbma: string; up: boolean; flags: string; requestsSent: number;
  requestsFailed: number; repliesReceived: number; lastNak?: { code: number; meaning: string } };
export type Traffic = { in: Record<string, number>; out: Record<string, number>; drops: Record<string, number> };

/** `show dmvpn json` peers of router r ([] while it is not answering). */
export function peersOf(lab: Lab, r: string): Peer[] {
  try { return lab.ctlJson(r, 'show dmvpn').interfaces[0].peers; } catch { return []; }
}

export function nhsOf(lab: Lab, r: string): NhsStatus[] {
  try { return lab.ctlJson(r, 'show ip nhrp nhs'); } catch { return []; }
}

export function trafficOf(lab: Lab, r: string): Traffic {
  try { return lab.ctlJson(r, 'show ip nhrp traffic'); } catch { return { in: {}, out: {}, drops: {} }; }
}

export function shortcutOf(lab: Lab, r: string, prefix: string): { prefix: string; prefixLen: number; via: string } | undefined {
  try { return (lab.ctlJson(r, 'show ip nhrp shortcut') as any[]).find((e) => e.prefix === prefix); } catch { return undefined; }
}

/** Data packets router r decapsulated: GRE received minus NHRP (periodic registrations are not data). */
export function greData(lab: Lab, r: string): number {
  const c = lab.ctlJson(r, 'show dataplane counters');
  return c.greRxPackets - c.nhrpIn;
}

/** t.ok, with the routers' state (diag(), long) in the message only when it fails. */
export function okOr(t: { ok(v: unknown, msg: string): unknown }, v: unknown, msg: string, diag: () => string): void {
  t.ok(v, v ? msg : `${msg}:\n${diag()}`);
}

/** Everything worth seeing when a namespace test fails: per router its log tail and NHRP state. */
export function diagnostics(lab: Lab, names: string[], tail = 40): string {
  return names.map((r) => {
    const log = lab.routers.get(r)?.log ?? [];
    return `--- ${r}\n${lab.ctl(r, 'show dmvpn')}${lab.ctl(r, 'show ip nhrp nhs')}${lab.ctl(r, 'show ip nhrp traffic')}` +
      `${log.slice(-tail).join('\n')}`;
  }).join('\n');
}

/** Kept here for the tests that import it from this module; it lives with the other tshark runners. */
export { tsharkAll } from './tshark.js';
