// Running-config text of `router ospf`, `router bgp` and the interface's `ip ospf ...` lines
// (grammar-routing.ts parses it back). BGP is written flat, without `address-family ipv4`, as IOS
// 12.4 does; loading either form gives the same model.
import type { ApplianceConfig } from './model.js';
import type { InterfaceOspf, BgpPeerSettings } from './model-routing.js';

export function ospfInterfaceLines(o: InterfaceOspf | undefined): string[] {
  if (!o) return [];
  const out: string[] = [];
  if (o.network !== undefined) out.push(` ip ospf network ${o.network}`);
  if (o.helloInterval !== undefined) out.push(` ip ospf hello-interval ${o.helloInterval}`);
  if (o.deadInterval !== undefined) out.push(` ip ospf dead-interval ${o.deadInterval}`);
  if (o.priority !== undefined) out.push(` ip ospf priority ${o.priority}`);
  if (o.cost !== undefined) out.push(` ip ospf cost ${o.cost}`);
  if (o.mtuIgnore) out.push(' ip ospf mtu-ignore');
  out.push(...ospfAuthLines(o));
  return out;
}

/** `router ospf` then `router bgp` sections, each followed by `!`. */
export function routerLines(c: ApplianceConfig): string[] {
  const out: string[] = [];
  const o = c.ospf;
  if (o) {
    out.push(`router ospf ${o.processId}`);
    if (o.routerId !== undefined) out.push(` router-id ${o.routerId}`);
    if (o.logAdjacencyChanges) out.push(` log-adjacency-changes${o.logAdjacencyChanges === 'detail' ? ' detail' : ''}`);
    for (const a of o.areaAuth ?? []) out.push(` area ${a.area} authentication${a.messageDigest ? ' message-digest' : ''}`);
    for (const s of o.stubAreas) out.push(` area ${s.area} stub${s.noSummary ? ' no-summary' : ''}`);
    for (const r of o.redistribute) out.push(` redistribute ${r.source}${r.subnets ? ' subnets' : ''}`);
    if (o.passiveDefault) out.push(' passive-interface default');
    for (const p of o.passive) out.push(` passive-interface ${p}`);
    for (const p of o.active) out.push(` no passive-interface ${p}`);
    for (const n of o.networks) out.push(` network ${n.address} ${n.wildcard} area ${n.area}`);
    if (o.defaultOriginate) out.push(` default-information originate${o.defaultOriginate.always ? ' always' : ''}`);
    out.push('!');
  }
  const b = c.bgp;
  if (b) {
    out.push(`router bgp ${b.asn}`);
    if (b.routerId !== undefined) out.push(` bgp router-id ${b.routerId}`);
    if (b.logNeighborChanges) out.push(' bgp log-neighbor-changes');
    if (b.timers) out.push(` timers bgp ${b.timers.keepalive} ${b.timers.hold}`);
    for (const g of b.peerGroups) { out.push(` neighbor ${g.name} peer-group`); out.push(...peerLines(g.name, g)); }
    // after the peer-groups they name (a range naming a group not yet defined is refused)
    for (const r of b.listenRanges) out.push(` bgp listen range ${r.prefix}/${r.len} peer-group ${r.peerGroup}`);
    if (b.listenLimit !== undefined) out.push(` bgp listen limit ${b.listenLimit}`);
    for (const n of b.neighbors) {
      if (n.remoteAs !== undefined) out.push(` neighbor ${n.address} remote-as ${n.remoteAs}`);
      if (n.peerGroup !== undefined) out.push(` neighbor ${n.address} peer-group ${n.peerGroup}`);
      out.push(...peerLines(n.address, { ...n, remoteAs: undefined }));
    }
    for (const n of b.networks) out.push(` network ${n.prefix} mask ${n.mask}`);
    for (const a of b.aggregates) out.push(` aggregate-address ${a.prefix} ${a.mask}${a.summaryOnly ? ' summary-only' : ''}`);
    for (const r of b.redistribute) out.push(` redistribute ${r.source}`);
    if (b.defaultOriginate) out.push(' default-information originate');
    out.push('!');
  }
  return out;
}

function peerLines(who: string, p: BgpPeerSettings): string[] {
  const out: string[] = [];
  if (p.remoteAs !== undefined) out.push(` neighbor ${who} remote-as ${p.remoteAs}`);
  if (p.description !== undefined) out.push(` neighbor ${who} description ${p.description}`);
  if (p.updateSource !== undefined) out.push(` neighbor ${who} update-source ${p.updateSource}`);
  if (p.timers) out.push(` neighbor ${who} timers ${p.timers.keepalive} ${p.timers.hold}`);
  if (p.routeReflectorClient) out.push(` neighbor ${who} route-reflector-client`);
  if (p.nextHopSelf) out.push(` neighbor ${who} next-hop-self`);
  if (p.shutdown) out.push(` neighbor ${who} shutdown`);
  return out;
}

/** `ip ospf authentication ...` lines: IOS and FRR write them the same way (translate.ts uses this too). */
export function ospfAuthLines(o: InterfaceOspf): string[] {
  const out: string[] = [];
  if (o.authentication) out.push(` ip ospf authentication${o.authentication === 'text' ? '' : ` ${o.authentication}`}`);
  if (o.authKey !== undefined) out.push(` ip ospf authentication-key ${o.authKey}`);
  for (const k of o.md5Keys ?? []) out.push(` ip ospf message-digest-key ${k.id} md5 ${k.key}`);
  return out;
}
