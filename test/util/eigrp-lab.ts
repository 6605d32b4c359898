// Seed-003 lab configs with our EIGRP speaker on every router, and a reader of its neighbor table.
import type { Lab } from './lab.js';
import { baseConfig, withStanza, withTunnelLines } from './routing-lab.js';

/** Hello/hold of the lab tests (IOS default 5/15 on a fast link, 60/180 on a low-speed tunnel). */
export const HELLO = 1, HOLD = 4;

/** Router `name` with `router eigrp 100` over its tunnel and LAN (LAN passive); `tunnel` lines go on
 *  Tunnel0 after the timers, `process` lines into the router stanza. */
export function eigrpConfig(name: string, phase: 2 | 3, tunnel: string[] = [], process: string[] = []): string {
  const n = Number(name.slice(1));
  return withStanza(withTunnelLines(baseConfig(name, phase), [`ip hello-interval eigrp 100 ${HELLO}`, `ip hold-time eigrp 100 ${HOLD}`, ...tunnel]), `router eigrp 100
 network 192.168.0.0 0.0.0.255
 network 10.0.${n}.0 0.0.0.255
 passive-interface FastEthernet0/1
 no auto-summary${process.map((l) => `\n ${l}`).join('')}`);
}

/** Neighbor addresses in `show ip eigrp neighbors` of router `name`. */
export const eigrpNeighbors = (lab: Lab, name: string): string[] =>
  [...lab.ctl(name, 'show ip eigrp neighbors').matchAll(/^\d+\s+(\S+)\s+Tu0\s/gm)].map((m) => m[1]);
