// Pure IPv4 prefix helpers over the config: which routes go through the tunnel, what this router
// answers NHRP resolutions for, and where a resolution is forwarded.
import type { ApplianceConfig, EthernetConfig, InterfaceConfig, StaticRoute, TunnelConfig } from '../config/model.js';
import { inPrefix, maskToLen, networkOf } from '../net/ipv4.js';

/** A static route whose next hop is on the tunnel subnet (or that names the tunnel) is an overlay route. */
export function isOverlayRoute(r: StaticRoute, t: TunnelConfig | undefined): boolean {
  if (!t) return false;
  if (r.iface) return r.iface.toLowerCase() === t.name.toLowerCase();
  return !!(r.nextHop && t.address && inPrefix(r.nextHop, t.address.address, maskToLen(t.address.mask)));
}

/** Connected LAN networks: what this router answers NHRP resolutions for (Phase 3). */
export function localPrefixes(config: ApplianceConfig): Array<{ prefix: string; len: number }> {
  return config.interfaces.filter((i): i is EthernetConfig => i.kind === 'ethernet' && !!i.address && !i.shutdown)
    .map((i) => { const len = maskToLen(i.address!.mask); return { prefix: networkOf(i.address!.address, len), len }; });
}

/** Longest configured overlay route for `dst`: where NHRP forwards a resolution request. */
export function overlayRoute(config: ApplianceConfig, t: TunnelConfig, dst: string): { nextHop: string } | undefined {
  let best: { len: number; nextHop: string } | undefined;
  for (const r of config.routes) {
    const len = maskToLen(r.mask);
    if (!r.nextHop || !isOverlayRoute(r, t) || !inPrefix(dst, r.prefix, len)) continue;
    if (!best || len > best.len) best = { len, nextHop: r.nextHop };
  }
  return best && { nextHop: best.nextHop };
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
