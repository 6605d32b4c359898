// `show ip route [static|connected]` formatter: a pure function of plain rows, in the IOS 15 layout
// (codes legend, gateway of last resort, subnets grouped under their classful network with the
// "is subnetted" / "is variably subnetted" header lines, L routes for the router's own addresses).
// The filtered forms print no legend, as seed 004's transcript shows (`show ip route static`).
import { parseIpv4 } from '../net/ipv4.js';
import { iosTime } from './time.js';

export interface RouteView {
  /** IOS source code: C connected, L local, S static, O OSPF, B BGP, D EIGRP, H NHRP */
  code: 'C' | 'L' | 'S' | 'O' | 'B' | 'D' | 'H';
  prefix: string;
  len: number;
  /** administrative distance and metric, shown for routes with a next hop */
  distance?: number;
  metric?: number;
  via?: string;
  /** IOS interface name */
  iface?: string;
  /** seconds since the route appeared (shown for dynamic routes, as IOS does) */
  age?: number;
  /** an NHRP shortcut overrides this route's next hop (IOS `%`, next-hop override) */
  override?: boolean;
  /** an EIGRP external (redistributed) route: IOS's `D EX` */
  external?: boolean;
}

const LEGEND = `Codes: L - local, C - connected, S - static, R - RIP, M - mobile, B - BGP
       D - EIGRP, EX - EIGRP external, O - OSPF, IA - OSPF inter area 
       N1 - OSPF NSSA external type 1, N2 - OSPF NSSA external type 2
       E1 - OSPF external type 1, E2 - OSPF external type 2
       i - IS-IS, su - IS-IS summary, L1 - IS-IS level-1, L2 - IS-IS level-2
       ia - IS-IS inter area, * - candidate default, U - per-user static route
       o - ODR, P - periodic downloaded static route, H - NHRP, l - LISP
       + - replicated route, % - next hop override
`;

const u32 = (ip: string) => parseIpv4(ip) >>> 0;
/** The classful network length of an address (A /8, B /16, C /24; D/E: 32, never grouped). */
function classfulLen(prefix: string): number {
  const first = u32(prefix) >>> 24;
  return first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 32;
}
function majorOf(prefix: string, len: number): string {
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const m = (u32(prefix) & mask) >>> 0;
  return [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.');
}
const isDefault = (r: RouteView) => r.len === 0;
const body = (r: RouteView) => r.via
  ? `[${r.distance ?? 1}/${r.metric ?? 0}] via ${r.via}${r.age !== undefined ? `, ${iosTime(r.age)}` : ''}${r.iface && r.code !== 'S' ? `, ${r.iface}` : ''}`
  : `is directly connected, ${r.age !== undefined && r.code !== 'C' && r.code !== 'L' ? `${iosTime(r.age)}, ` : ''}${r.iface ?? 'Null0'}`;
/** the code column: the source, * for a default candidate, % (in the fourth column) for a next-hop override */
const code = (r: RouteView) => {
  const c = `${r.code}${isDefault(r) ? '*' : ''}${r.external ? ' EX' : ''}`;
  return r.override ? c.padEnd(4) + '%' : c;
};

export function formatIpRoute(rows: RouteView[], opts: { legend: boolean }, json = false): string {
  const sorted = [...rows].sort((a, b) => u32(a.prefix) - u32(b.prefix) || a.len - b.len || a.code.localeCompare(b.code));
  if (json) return JSON.stringify(sorted) + '\n';
  const out: string[] = [];
  if (opts.legend) out.push(LEGEND);
  const def = sorted.find(isDefault);
  out.push(def ? `Gateway of last resort is ${def.via ?? '0.0.0.0'} to network 0.0.0.0\n` : 'Gateway of last resort is not set\n');
  // a major (classful) network with subnets gets one header line, its routes (the major network
  // itself included, as IOS lists 192.168.0.0/24 beside 192.168.0.1/32) listed under it
  const done = new Set<RouteView>();
  for (const r of sorted) {
    if (done.has(r)) continue;
    const cl = classfulLen(r.prefix);
    const major = majorOf(r.prefix, cl);
    const group = r.len < cl || cl === 32 ? [r]
      : sorted.filter((x) => !done.has(x) && x.len >= cl && classfulLen(x.prefix) === cl && majorOf(x.prefix, cl) === major);
    if (!group.some((x) => x.len > cl)) { out.push(`${code(r).padEnd(6)}${r.prefix}/${r.len} ${body(r)}`); done.add(r); continue; }
    const masks = new Set(group.map((x) => x.len));
    out.push(masks.size === 1
      ? `      ${major}/${group[0].len} is subnetted, ${group.length} subnets`
      : `      ${major}/${cl} is variably subnetted, ${group.length} subnets, ${masks.size} masks`);
    for (const x of group) { out.push(`${code(x).padEnd(9)}${x.prefix}/${x.len} ${body(x)}`); done.add(x); }
  }
  return out.join('\n') + '\n';
}
