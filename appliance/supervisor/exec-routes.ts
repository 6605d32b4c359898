// `show ip route`: what the kernel's main table holds (the forwarding truth) explained with the
// running config, as IOS explains its RIB: connected networks (C) and the router's own addresses
// (L) from the interfaces that are up, static routes (S) that are installed (an inactive static
// route, its next hop unreachable, is not shown, as on IOS; nor one shadowed by a connected network).
// Kernel routes that no config line made are not ours to show.
import type { ExecContext } from './exec-context.js';
import type { RouteView } from '../show/ip-route.js';
import { kernelRoutes, type KernelTableRoute } from './system.js';
import { maskToLen, networkOf } from '../net/ipv4.js';

const keyOf = (prefix: string, len: number) => `${prefix}/${len}`;
const kernelKey = (r: KernelTableRoute) => r.dst === 'default' ? '0.0.0.0/0' : r.dst.includes('/') ? r.dst : `${r.dst}/32`;

export function routeRows(ctx: ExecContext, kernel: KernelTableRoute[] = kernelRoutes()): RouteView[] {
  const cfg = ctx.config();
  const osOf = (name: string, tunnel: boolean) => tunnel ? name : ctx.osNameOf(name) ?? name; // the TUN carries the IOS name
  const rows: RouteView[] = [];
  const installed = new Set(kernel.map(kernelKey));
  // connected: an interface address whose network the kernel routes out of that interface (it
  // does while the link is up); a static route to the same network does not change that
  for (const i of cfg.interfaces) {
    if (!i.address) continue;
    const len = maskToLen(i.address.mask), prefix = networkOf(i.address.address, len), dev = osOf(i.name, i.kind === 'tunnel');
    if (!kernel.some((k) => kernelKey(k) === keyOf(prefix, len) && k.dev === dev && !k.gateway)) continue;
    rows.push({ code: 'C', prefix, len, iface: i.name }, { code: 'L', prefix: i.address.address, len: 32, iface: i.name });
  }
  // static: installed, and not shadowed by a connected network (distance 0 beats 1, as in IOS's RIB)
  const connected = new Set(rows.filter((r) => r.code === 'C').map((r) => keyOf(r.prefix, r.len)));
  for (const r of cfg.routes) {
    const len = maskToLen(r.mask), prefix = networkOf(r.prefix, len), key = keyOf(prefix, len);
    if (!installed.has(key) || connected.has(key)) continue;
    rows.push({ code: 'S', prefix, len, distance: r.distance ?? 1, metric: 0, via: r.nextHop, iface: r.iface });
  }
  return rows;
}
