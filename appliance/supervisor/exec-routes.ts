// `show ip route`: the kernel's main table (the forwarding truth, read through netlink by
// routing/kernel-table.ts) in IOS's terms. The route's kernel protocol gives the IOS code: connected
// (an interface address's own subnet on that interface, C, with the address as L), static (S: boot,
// static, dhcp and FRR's staticd), OSPF (O, proto 188), BGP (B, 186), EIGRP (D, 192), NHRP (H, 191).
// Routes of other protocols (e.g. IPv6 RA, zebra's own) have no IOS code and are not shown.
// Phase 3 shortcuts, which live in the NHRP engine and the overlay FIB (docs/routing.md), appear as
// IOS 15 shows them: an `H` route [250/1] for a prefix the table has no route for, or the
// existing route's code marked `%` (next-hop override) when the shortcut overrides it.
import type { RouteView } from '../show/ip-route.js';
import type { Address, Route } from '../routing/kernel-table.js';
import { RTN } from '../net/netlink-codec.js';
import { networkOf } from '../net/ipv4.js';

/** IOS default administrative distances, by kernel protocol number (/etc/iproute2/rt_protos, FRR's rt_protos.d). */
const BY_PROTOCOL: Record<number, { code: RouteView['code']; distance: number }> = {
  3: { code: 'S', distance: 1 }, 4: { code: 'S', distance: 1 }, 16: { code: 'S', distance: 1 }, 196: { code: 'S', distance: 1 },
  188: { code: 'O', distance: 110 }, 186: { code: 'B', distance: 20 }, 192: { code: 'D', distance: 90 }, 191: { code: 'H', distance: 250 },
};
/** IOS shows NHRP routes as [250/1] (e.g. `H 192.168.30.0/24 [250/1] via 10.100.0.30, 00:04:38, Tunnel100`). */
const NHRP_DISTANCE = 250, NHRP_METRIC = 1;

export interface RouteSource {
  routes: Route[];
  addresses: Address[];
  /** IOS name of an OS interface (the tunnel's TUN already carries its IOS name) */
  iosName(dev: string): string;
  /** live Phase 3 shortcuts: prefix, length, tunnel next hop, creation time (ms) */
  shortcuts: Array<{ prefix: string; len: number; via: string; created: number }>;
  tunnelName?: string;
  /** when the table saw a route appear (ms), for the age column */
  since(r: Route): number | undefined;
  now: number;
  /** the routing daemons' own distance and metric for a prefix they installed (FRR puts neither in
   *  the kernel: every zebra route has kernel metric 20), so iBGP shows 200 and OSPF its cost */
  daemonRib?: Map<string, { distance: number; metric: number; external?: boolean }>;
  /** false when the OS interface has no carrier (a tunnel `if-state nhrp` took down): IOS drops the
   *  interface's routes from the table while it is down; the kernel keeps them, flagged linkdown */
  linkUp?(dev: string): boolean;
}

/** FRR's `show ip route json` -> the selected, installed route's distance and metric by prefix. */
export function frrRibMetrics(json: unknown): Map<string, { distance: number; metric: number }> {
  const out = new Map<string, { distance: number; metric: number }>();
  if (!json || typeof json !== 'object') return out;
  for (const [prefix, list] of Object.entries(json as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    const sel = list.find((e) => e && typeof e === 'object' && e.selected === true && e.installed === true);
    if (sel && Number.isInteger(sel.distance) && Number.isInteger(sel.metric)) out.set(prefix, { distance: sel.distance, metric: sel.metric });
  }
  return out;
}

const keyOf = (prefix: string, len: number) => `${prefix}/${len}`;

export function routeRows(src: RouteSource): RouteView[] {
  const rows: RouteView[] = [];
  const age = (ms: number | undefined) => (ms === undefined ? undefined : Math.max(0, Math.floor((src.now - ms) / 1000)));
  // connected: the route to an address's own subnet on the address's interface (whatever protocol
  // installed it: `ip route ... <interface>` may have replaced the kernel's own) and the address as L
  const ownSubnet = new Map<string, Address>();
  for (const a of src.addresses) if (a.ifname) ownSubnet.set(`${keyOf(networkOf(a.address, a.prefixLen), a.prefixLen)} ${a.ifname}`, a);
  const devOf = (r: Route) => r.dev ?? r.nexthops[0]?.dev;
  const connectedOf = (r: Route) => { const dev = devOf(r); return !r.gateway && dev ? ownSubnet.get(`${keyOf(r.prefix, r.len)} ${dev}`) : undefined; };
  // the RIB shows one route per prefix, the one that forwards: connected first (distance 0), else
  // the kernel's lowest metric (the one the kernel uses; config apply installs IOS distances as metrics)
  const best = new Map<string, Route>();
  for (const r of src.routes) {
    if (r.type !== RTN.UNICAST && r.type !== RTN.BLACKHOLE) continue;
    const dev = devOf(r);
    if (dev && src.linkUp && !src.linkUp(dev)) continue;
    const k = keyOf(r.prefix, r.len), have = best.get(k);
    const rank = (x: Route) => (connectedOf(x) ? -1 : x.metric);
    if (!have || rank(r) < rank(have)) best.set(k, r);
  }
  for (const r of best.values()) {
    const dev = devOf(r);
    const iface = r.type === RTN.BLACKHOLE ? 'Null0' : dev ? src.iosName(dev) : undefined;
    const connected = connectedOf(r);
    if (connected) {
      rows.push({ code: 'C', prefix: r.prefix, len: r.len, iface }, { code: 'L', prefix: connected.address, len: 32, iface });
      continue;
    }
    const p = BY_PROTOCOL[r.protocol];
    if (!p) continue;
    const via = r.gateway ?? r.nexthops.find((n) => n.gateway)?.gateway;
    const daemon = p.code === 'O' || p.code === 'B' || p.code === 'D' ? src.daemonRib?.get(keyOf(r.prefix, r.len)) : undefined;
    rows.push({ code: p.code, prefix: r.prefix, len: r.len, distance: daemon?.distance ?? (p.code === 'S' ? r.metric || 1 : p.distance),
      metric: daemon?.metric ?? (p.code === 'H' ? NHRP_METRIC : 0),
      via, iface, age: p.code === 'S' ? undefined : age(src.since(r)), ...(p.code === 'D' && daemon?.external && { external: true }) });
  }
  // shortcuts: an override of the route to the same prefix through the tunnel, or an H route of their own
  for (const s of src.shortcuts) {
    const overridden = rows.find((r) => r.prefix === s.prefix && r.len === s.len && r.iface === src.tunnelName && r.code !== 'C' && r.code !== 'L');
    if (overridden) { overridden.override = true; continue; }
    rows.push({ code: 'H', prefix: s.prefix, len: s.len, distance: NHRP_DISTANCE, metric: NHRP_METRIC, via: s.via, iface: src.tunnelName, age: age(s.created) });
  }
  return rows;
}
