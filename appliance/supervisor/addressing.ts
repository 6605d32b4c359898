// Pure IPv4 prefix helpers over the config: which static routes go through the tunnel, and address
// overlap. (What NHRP answers for and where it forwards come from the kernel table: routing/nhrp-routes.ts.)
import type { InterfaceConfig, StaticRoute, TunnelConfig } from '../config/model.js';
import { inPrefix, maskToLen, networkOf } from '../net/ipv4.js';

/** A static route whose next hop is on the tunnel subnet (or that names the tunnel) is an overlay route. */
export function isOverlayRoute(r: StaticRoute, t: TunnelConfig | undefined): boolean {
  if (!t) return false;
  if (r.iface) return r.iface.toLowerCase() === t.name.toLowerCase();
  return !!(r.nextHop && t.address && inPrefix(r.nextHop, t.address.address, maskToLen(t.address.mask)));
}

/** IOS refuses an interface address whose subnet overlaps another interface's: the message, or undefined. */
export function addressOverlap(ifs: InterfaceConfig[]): string | undefined {
  const seen: Array<{ name: string; net: string; len: number }> = [];
  for (const i of ifs) {
    if (!i.address) continue;
    const len = maskToLen(i.address.mask);
    const net = networkOf(i.address.address, len);
    const other = seen.find((o) => inPrefix(net, o.net, Math.min(len, o.len)) || inPrefix(o.net, net, Math.min(len, o.len)));
    if (other) return `interface ${i.name}: ${net} overlaps with ${other.name}`;
    seen.push({ name: i.name, net, len });
  }
  return undefined;
}
