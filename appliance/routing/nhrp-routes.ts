// NHRP's routing decisions from the kernel table (RFC 2332 5.2.1 and 5.3; IOS Phase 3 behaviour):
// which networks are "behind this router" (it answers Resolution Requests for them as the egress
// router), and where a Resolution Request for another destination goes next (the tunnel next hop of
// the kernel's route to it). Configuration is not consulted: a LAN configured by the OS counts as
// much as one from the startup-config, and routes a routing daemon installed count as soon as it does.
import type { KernelTable, Route } from './kernel-table.js';
import { tunnelNextHop } from './overlay-fib.js';
import { RTN } from '../net/netlink-codec.js';
import { ipToU32, networkOf, parseIpv4, prefixMask } from '../net/ipv4.js';

export interface OwnedNetwork { prefix: string; len: number }

/**
 * Networks behind this router: every main-table unicast route that does not leave through the tunnel
 * (connected LANs, OS-configured LANs, routes to routers on a LAN) and host addresses (/32 loopbacks,
 * which the main table has no route for). Not: the default route (that would claim the whole
 * Internet), nor anything out of the interface that carries the tunnel's NBMA source (the underlay:
 * answering for it would pull overlay traffic for underlay addresses into the tunnel itself).
 */
export function networksBehind(table: KernelTable, tunnelDev: string, nbmaSource?: string): OwnedNetwork[] {
  return perGeneration(behindCache, table, `${tunnelDev} ${nbmaSource ?? ''}`, () => deriveBehind(table, tunnelDev, nbmaSource));
}
const behindCache = new WeakMap<KernelTable, Derived<OwnedNetwork[]>>();

/** What these functions derive from the table, kept until the table changes: both are asked for every
 *  Resolution Request (which a hostile peer can send many of), the table changes far less often. */
interface Derived<T> { generation: number; key: string; value: T }
function perGeneration<T>(cache: WeakMap<KernelTable, Derived<T>>, table: KernelTable, key: string, derive: () => T): T {
  const hit = cache.get(table);
  if (hit && hit.generation === table.generation && hit.key === key) return hit.value;
  const value = derive();
  cache.set(table, { generation: table.generation, key, value });
  return value;
}

function deriveBehind(table: KernelTable, tunnelDev: string, nbmaSource?: string): OwnedNetwork[] {
  const nbmaIndex = nbmaSource ? table.addresses().find((a) => a.address === nbmaSource)?.index : undefined;
  const out = new Map<string, OwnedNetwork>();
  const add = (prefix: string, len: number) => { out.set(`${prefix}/${len}`, { prefix, len }); };
  const viaUnderlay = (r: Route) => nbmaIndex !== undefined &&
    (r.nexthops.length ? r.nexthops.every((n) => n.oif === nbmaIndex) : r.oif === nbmaIndex);
  for (const r of table.routes()) {
    if (r.type !== RTN.UNICAST || r.len === 0 || viaUnderlay(r)) continue;
    if (tunnelNextHop(r, tunnelDev) !== undefined) continue;
    if (r.dev === undefined && !r.nexthops.length) continue;
    add(networkOf(r.prefix, r.len), r.len);
  }
  for (const a of table.addresses()) {
    const link = table.link(a.index);
    if (a.prefixLen !== 32 || a.index === nbmaIndex || !link?.up || link.name === tunnelDev || a.address.startsWith('127.')) continue;
    add(a.address, 32);
  }
  return [...out.values()];
}

/** The tunnel next hop a Resolution Request for `dst` is forwarded to: the kernel's longest route to it
 *  through the tunnel with a gateway, the lowest metric among equals (undefined: none; NHRP then uses its NHS). */
export function overlayNextHop(table: KernelTable, tunnelDev: string, dst: string): { nextHop: string } | undefined {
  const routes = perGeneration(gatewayCache, table, tunnelDev, () => gatewayRoutes(table, tunnelDev));
  if (!routes.length) return undefined;
  const d = parseIpv4(dst);
  const r = routes.find((x) => ((d & x.mask) >>> 0) === x.net);
  return r && { nextHop: r.nextHop };
}
const gatewayCache = new WeakMap<KernelTable, Derived<GatewayRoute[]>>();

interface GatewayRoute { net: number; mask: number; len: number; metric: number; nextHop: string }
/** The routes through the tunnel with a gateway, as numbers, in lookup order: longest prefix first,
 *  then lowest metric (the first match is the answer). */
function gatewayRoutes(table: KernelTable, tunnelDev: string): GatewayRoute[] {
  const out: GatewayRoute[] = [];
  for (const r of table.routes()) {
    const nextHop = tunnelNextHop(r, tunnelDev);
    if (!nextHop) continue;
    const mask = prefixMask(r.len);
    out.push({ net: (ipToU32(r.prefix) & mask) >>> 0, mask, len: r.len, metric: r.metric, nextHop });
  }
  return out.sort((a, b) => b.len - a.len || a.metric - b.metric);
}
