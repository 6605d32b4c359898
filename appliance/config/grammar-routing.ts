// `router ospf N`, `router bgp N` (with `address-family ipv4`) and the interface's `ip ospf ...` lines.
// Kept out of grammar.ts, which registers them with one call each (as grammar-eigrp.ts does `router
// eigrp`); other protocols stay with grammar.ts's catch-all. A line this file does not know is refused (not silently ignored):
// what is accepted here is what routing/frr/translate.ts gives FRR.
import { Node, define, CliError, Args } from '../cli/tree.js';
import type { ConfigCtx, ModeId } from './modes.js';
import type { InterfaceConfig } from './model.js';
import type { OspfConfig, BgpConfig, BgpPeerSettings, InterfaceOspf, OspfNetworkType } from './model-routing.js';
import { ipToU32, isContiguousMask, parseIpv4, prefixMask, u32ToIp } from '../net/ipv4.js';

type Act = (ctx: ConfigCtx, a: Args) => string | void;

const OSPF_NETWORK_TYPES: OspfNetworkType[] = ['broadcast', 'point-to-multipoint', 'non-broadcast', 'point-to-point'];

function ospfOf(ctx: ConfigCtx): OspfConfig {
  if (!ctx.cfg.ospf || String(ctx.cfg.ospf.processId) !== ctx.mode.ref) throw new CliError(`router ospf ${ctx.mode.ref} no longer exists`);
  return ctx.cfg.ospf;
}
function bgpOf(ctx: ConfigCtx): BgpConfig {
  if (!ctx.cfg.bgp || String(ctx.cfg.bgp.asn) !== ctx.mode.ref) throw new CliError(`router bgp ${ctx.mode.ref} no longer exists`);
  return ctx.cfg.bgp;
}
/** Set or clear an optional field without leaving `key: undefined` behind (configs compare deeply). */
function put<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v === undefined) delete o[k]; else o[k] = v;
}
/** Add `v` to a list once, or take it out (`no`). */
function toggle<T>(xs: T[], same: (x: T) => boolean, v: T | undefined): T[] {
  const rest = xs.filter((x) => !same(x));
  return v === undefined ? rest : [...rest, v];
}
function checkPrefix(prefix: string, mask: string): void {
  if (!isContiguousMask(mask) || (ipToU32(prefix) & ~ipToU32(mask)) !== 0) throw new CliError('Inconsistent address and mask');
}
/** IOS area ids: a number or a dotted quad; the same area compares equal either way. */
const areaId = (a: string): number => (/^\d+$/.test(a) ? Number(a) >>> 0 : parseIpv4(a));

// ---- global: router ospf / router bgp -------------------------------------------------------

export function routingGlobal(g: Node): void {
  define(g, 'router ospf {id:range:1-65535}', (ctx, a) => {
    const id = Number(a.p.id);
    if (a.no) { if (ctx.cfg.ospf?.processId === id) delete ctx.cfg.ospf; return; }
    const cur = ctx.cfg.ospf;
    if (cur && cur.processId !== id) throw new CliError(`only one OSPF process is supported (router ospf ${cur.processId} exists)`);
    ctx.cfg.ospf ??= { processId: id, passive: [], active: [], networks: [], redistribute: [], stubAreas: [] };
    ctx.enter({ id: 'config-router-ospf', ref: String(id) });
  }, { ospf: 'Open Shortest Path First (OSPF)', '{id}': 'Process ID' });
  define(g, 'router bgp {asn:range:1-4294967295}', (ctx, a) => {
    const asn = Number(a.p.asn);
    if (a.no) { if (ctx.cfg.bgp?.asn === asn) delete ctx.cfg.bgp; return; }
    const cur = ctx.cfg.bgp;
    if (cur && cur.asn !== asn) throw new CliError(`BGP is already running; AS is ${cur.asn}`);
    ctx.cfg.bgp ??= { asn, peerGroups: [], neighbors: [], listenRanges: [], networks: [], redistribute: [], aggregates: [] };
    ctx.enter({ id: 'config-router-bgp', ref: String(asn) });
  }, { bgp: 'Border Gateway Protocol (BGP)', '{asn}': 'Autonomous system number' });
}

// ---- interface: ip ospf ... ----------------------------------------------------------------

export function ospfInterfaceCommands(t: Node, iface: (ctx: ConfigCtx) => InterfaceConfig): void {
  const set = <K extends keyof InterfaceOspf>(k: K, v: (a: Args) => InterfaceOspf[K]): Act => (ctx, a) => {
    const i = iface(ctx);
    const o: InterfaceOspf = { ...(i.ospf ?? {}) };
    put(o, k, a.no ? undefined : v(a));
    if (Object.keys(o).length) i.ospf = o; else delete i.ospf;
  };
  const net = set('network', (a) => OSPF_NETWORK_TYPES.find((x) => a.kw.has(x)));
  for (const ty of OSPF_NETWORK_TYPES) define(t, `ip ospf network ${ty}`, net, { network: 'Network type' });
  define(t, 'ip ospf priority {n:range:0-255}', set('priority', (a) => Number(a.p.n)), { priority: 'Router priority', '{n}': 'Priority' });
  define(t, 'ip ospf hello-interval {n:range:1-65535}', set('helloInterval', (a) => Number(a.p.n)),
    { 'hello-interval': 'Time between HELLO packets', '{n}': 'Seconds' });
  define(t, 'ip ospf dead-interval {n:range:1-65535}', set('deadInterval', (a) => Number(a.p.n)),
    { 'dead-interval': 'Interval after which a neighbor is declared dead', '{n}': 'Seconds' });
  define(t, 'ip ospf cost {n:range:1-65535}', set('cost', (a) => Number(a.p.n)), { cost: 'Interface cost', '{n}': 'Cost' });
  define(t, 'ip ospf mtu-ignore', set('mtuIgnore', () => true), { 'mtu-ignore': 'Ignores the MTU in DBD packets' });
  const auth = set('authentication', (a) => (a.kw.has('message-digest') ? 'message-digest' : a.kw.has('null') ? 'null' : 'text'));
  define(t, 'ip ospf authentication', auth, { authentication: 'Enable authentication' });
  define(t, 'ip ospf authentication message-digest', auth, { 'message-digest': 'Use message-digest authentication' });
  define(t, 'ip ospf authentication null', auth, { null: 'Use no authentication' });
  define(t, 'ip ospf authentication-key {key:word}', set('authKey', (a) => {
    if (a.p.key.length > 8) throw new CliError('OSPF authentication key is at most 8 characters');
    return a.p.key;
  }), { 'authentication-key': 'Authentication password (key)', '{key}': 'The OSPF password (key)' });
  define(t, 'ip ospf message-digest-key {id:range:1-255} md5 {key:word}', (ctx, a) => {
    if (!a.no && a.p.key.length > 16) throw new CliError('OSPF MD5 key is at most 16 characters');
    const i = iface(ctx), id = Number(a.p.id);
    const keys = toggle(i.ospf?.md5Keys ?? [], (k) => k.id === id, a.no ? undefined : { id, key: a.p.key });
    const o: InterfaceOspf = { ...(i.ospf ?? {}) };
    put(o, 'md5Keys', keys.length ? keys.sort((x, y) => x.id - y.id) : undefined);
    if (Object.keys(o).length) i.ospf = o; else delete i.ospf;
  }, { 'message-digest-key': 'Message digest authentication password (key)', '{id}': 'Key ID', md5: 'Use MD5 algorithm', '{key}': 'The OSPF password (key)' });
}

// ---- router ospf -----------------------------------------------------------------------------

function ospfTree(t: Node): Node {
  define(t, 'router-id {id:ipv4}', (ctx, a) => { put(ospfOf(ctx), 'routerId', a.no ? undefined : a.p.id); },
    { 'router-id': 'router-id for this OSPF process (in IP address format)', '{id}': 'OSPF router-id in IP address format' });
  const lac: Act = (ctx, a) => { put(ospfOf(ctx), 'logAdjacencyChanges', a.no ? undefined : a.kw.has('detail') ? 'detail' : 'on'); };
  define(t, 'log-adjacency-changes', lac, { 'log-adjacency-changes': 'Log changes in adjacency state' });
  define(t, 'log-adjacency-changes detail', lac, { detail: 'Log all state changes' });

  define(t, 'passive-interface default', (ctx, a) => {
    const o = ospfOf(ctx);
    put(o, 'passiveDefault', a.no ? undefined : true);
    o.passive = []; o.active = []; // IOS: switching the default clears the per-interface exceptions
  }, { 'passive-interface': 'Suppress routing updates on an interface', default: 'Suppress routing updates on all interfaces' });
  define(t, 'passive-interface {name:iface}', (ctx, a) => {
    const o = ospfOf(ctx), name = a.p.name;
    const same = (x: string) => x.toLowerCase() === name.toLowerCase();
    // under `passive-interface default` the list that matters is the exceptions (`no passive-interface X`)
    if (o.passiveDefault) o.active = toggle(o.active, same, a.no ? name : undefined);
    else o.passive = toggle(o.passive, same, a.no ? undefined : name);
  });

  const network = (ctx: ConfigCtx, a: Args) => {
    const o = ospfOf(ctx);
    const w = ipToU32(a.p.wild);
    if (!isContiguousMask(u32ToIp(~w >>> 0))) throw new CliError(`wildcard ${a.p.wild} is not contiguous (FRR takes prefixes)`);
    const n = { address: a.p.addr, wildcard: a.p.wild, area: a.p.area };
    const same = (x: typeof n) => x.address === n.address && x.wildcard === n.wildcard;
    if (!a.no) {
      const other = o.networks.find((x) => same(x) && areaId(x.area) !== areaId(n.area));
      if (other) throw new CliError(`This network is already defined in area ${other.area}`);
    }
    o.networks = toggle(o.networks, same, a.no ? undefined : n);
  };
  const nh = { network: 'Enable routing on an IP network', '{addr}': 'Network number', '{wild}': 'OSPF wild card bits', area: 'Set the OSPF area ID',
    '{area}': 'OSPF area ID as a decimal value or in IP address format' };
  define(t, 'network {addr:ipv4} {wild:mask} area {area:range:0-4294967295}', network, nh);
  define(t, 'network {addr:ipv4} {wild:mask} area {area:ipv4}', network, nh);

  const redist: Act = (ctx, a) => {
    const o = ospfOf(ctx);
    const source = a.kw.has('static') ? 'static' as const : 'connected' as const;
    const r: OspfConfig['redistribute'][number] = { source };
    if (a.kw.has('subnets')) r.subnets = true;
    o.redistribute = toggle(o.redistribute, (x) => x.source === source, a.no ? undefined : r);
  };
  for (const s of ['static', 'connected']) {
    define(t, `redistribute ${s}`, redist, { redistribute: 'Redistribute information from another routing protocol' });
    define(t, `redistribute ${s} subnets`, redist, { subnets: 'Consider subnets for redistribution into OSPF' });
  }
  const dio: Act = (ctx, a) => { put(ospfOf(ctx), 'defaultOriginate', a.no ? undefined : a.kw.has('always') ? { always: true } : {}); };
  define(t, 'default-information originate', dio, { 'default-information': 'Control distribution of default information', originate: 'Distribute a default route' });
  define(t, 'default-information originate always', dio, { always: 'Always advertise default route' });

  const stub = (ctx: ConfigCtx, a: Args) => {
    const o = ospfOf(ctx);
    if (!a.no && areaId(a.p.area) === 0) throw new CliError('Backbone can not be configured as stub area');
    const s: OspfConfig['stubAreas'][number] = { area: a.p.area };
    if (a.kw.has('no-summary')) s.noSummary = true;
    o.stubAreas = toggle(o.stubAreas, (x) => areaId(x.area) === areaId(a.p.area), a.no ? undefined : s);
  };
  const areaAuth = (ctx: ConfigCtx, a: Args) => {
    const o = ospfOf(ctx);
    const v: NonNullable<OspfConfig['areaAuth']>[number] = { area: a.p.area };
    if (a.kw.has('message-digest')) v.messageDigest = true;
    const list = toggle(o.areaAuth ?? [], (x) => areaId(x.area) === areaId(a.p.area), a.no ? undefined : v);
    put(o, 'areaAuth', list.length ? list : undefined);
  };
  for (const k of ['{area:range:0-4294967295}', '{area:ipv4}']) {
    define(t, `area ${k} authentication`, areaAuth, { authentication: 'Enable authentication' });
    define(t, `area ${k} authentication message-digest`, areaAuth, { 'message-digest': 'Use message-digest authentication' });
    define(t, `area ${k} stub`, stub, { area: 'OSPF area parameters', stub: 'Specify a stub area' });
    define(t, `area ${k} stub no-summary`, stub, { 'no-summary': 'Do not send summary LSA into stub area' });
  }
  return t;
}

// ---- router bgp ------------------------------------------------------------------------------

/** A neighbor (address) or a peer-group (name) the `neighbor X ...` line is about; created if new. */
function peer(b: BgpConfig, who: string, create: boolean): BgpPeerSettings {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(who)) {
    const n = b.neighbors.find((x) => x.address === who);
    if (n) return n;
    if (!create) throw new CliError(`Specify remote-as or peer-group commands first`);
    const fresh: BgpConfig['neighbors'][number] = { address: who };
    b.neighbors.push(fresh);
    return fresh;
  }
  const g = b.peerGroups.find((x) => x.name === who);
  if (!g) throw new CliError(`peer-group ${who} does not exist (create it with neighbor ${who} peer-group)`);
  return g;
}

function bgpCommands(t: Node): void {
  const nb = (f: (p: BgpPeerSettings, a: Args, b: BgpConfig) => void, create = false): Act => (ctx, a) => {
    const b = bgpOf(ctx);
    f(peer(b, a.p.who, create && !a.no), a, b);
  };
  const whoHelp = { neighbor: 'Specify a neighbor router', '{who}': 'Neighbor address or peer-group name' };
  define(t, 'neighbor {who:word} remote-as {asn:range:1-4294967295}', (ctx, a) => {
    const b = bgpOf(ctx);
    if (a.no && /^\d+\.\d+\.\d+\.\d+$/.test(a.p.who)) { b.neighbors = b.neighbors.filter((x) => x.address !== a.p.who); return; }
    put(peer(b, a.p.who, true), 'remoteAs', a.no ? undefined : Number(a.p.asn));
  }, { ...whoHelp, 'remote-as': 'Specify a BGP neighbor', '{asn}': 'AS of remote neighbor' });
  define(t, 'neighbor {who:word} peer-group', (ctx, a) => {
    const b = bgpOf(ctx), name = a.p.who;
    if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) throw new CliError('Incomplete command.');
    if (a.no) {
      b.peerGroups = b.peerGroups.filter((x) => x.name !== name);
      b.neighbors = b.neighbors.filter((x) => x.peerGroup !== name);
      b.listenRanges = b.listenRanges.filter((x) => x.peerGroup !== name);
      return;
    }
    if (!b.peerGroups.some((x) => x.name === name)) b.peerGroups.push({ name });
  }, { 'peer-group': 'Configure peer-group' });
  define(t, 'neighbor {who:word} peer-group {group:word}', (ctx, a) => {
    const b = bgpOf(ctx);
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(a.p.who)) throw new CliError('a peer-group cannot be a member of another peer-group');
    if (!a.no && !b.peerGroups.some((x) => x.name === a.p.group)) throw new CliError(`peer-group ${a.p.group} does not exist`);
    const n = peer(b, a.p.who, !a.no) as BgpConfig['neighbors'][number];
    put(n, 'peerGroup', a.no ? undefined : a.p.group);
  }, { '{group}': 'peer-group name' });
  const flag = (k: 'routeReflectorClient' | 'nextHopSelf' | 'shutdown') => nb((p, a) => { put(p, k, a.no ? undefined : true); });
  define(t, 'neighbor {who:word} route-reflector-client', flag('routeReflectorClient'), { 'route-reflector-client': 'Configure a neighbor as Route Reflector client' });
  define(t, 'neighbor {who:word} next-hop-self', flag('nextHopSelf'), { 'next-hop-self': 'Disable the next hop calculation for this neighbor' });
  define(t, 'neighbor {who:word} shutdown', flag('shutdown'), { shutdown: 'Administratively shut down this neighbor' });
  define(t, 'neighbor {who:word} update-source {src:iface}', nb((p, a) => { put(p, 'updateSource', a.no ? undefined : a.p.src); }),
    { 'update-source': 'Source of routing updates' });
  define(t, 'neighbor {who:word} description {text:line}', nb((p, a) => { put(p, 'description', a.no ? undefined : a.p.text); }),
    { description: 'Neighbor specific description' });
  define(t, 'neighbor {who:word} timers {k:range:0-65535} {h:range:0-65535}', nb((p, a) => {
    put(p, 'timers', a.no ? undefined : timers(a));
  }), { timers: 'BGP per neighbor timers', '{k}': 'Keepalive interval', '{h}': 'Holdtime' });
  // ipv4 unicast is active for every neighbor (IOS and FRR default): `activate` is what it already is
  define(t, 'neighbor {who:word} activate', nb((_p, a) => {
    if (a.no) throw new CliError('deactivating a neighbor for IPv4 unicast is not supported');
  }), { activate: 'Enable the Address Family for this Neighbor' });

  const network: Act = (ctx, a) => {
    const b = bgpOf(ctx);
    const mask = a.p.mask ?? classfulMask(a.p.prefix);
    if (!a.no) checkPrefix(a.p.prefix, mask);
    b.networks = toggle(b.networks, (x) => x.prefix === a.p.prefix && x.mask === mask, a.no ? undefined : { prefix: a.p.prefix, mask });
  };
  define(t, 'network {prefix:ipv4}', network, { network: 'Specify a network to announce via BGP', '{prefix}': 'Network number' });
  define(t, 'network {prefix:ipv4} mask {mask:mask}', network, { mask: 'Network mask' });
  const redist: Act = (ctx, a) => {
    const b = bgpOf(ctx);
    const source = a.kw.has('static') ? 'static' as const : 'connected' as const;
    b.redistribute = toggle(b.redistribute, (x) => x.source === source, a.no ? undefined : { source });
  };
  for (const s of ['static', 'connected']) define(t, `redistribute ${s}`, redist, { redistribute: 'Redistribute information from another routing protocol' });
  const agg: Act = (ctx, a) => {
    const b = bgpOf(ctx);
    if (!a.no) checkPrefix(a.p.prefix, a.p.mask);
    const v: BgpConfig['aggregates'][number] = { prefix: a.p.prefix, mask: a.p.mask };
    if (a.kw.has('summary-only')) v.summaryOnly = true;
    b.aggregates = toggle(b.aggregates, (x) => x.prefix === v.prefix && x.mask === v.mask, a.no ? undefined : v);
  };
  define(t, 'aggregate-address {prefix:ipv4} {mask:mask}', agg, { 'aggregate-address': 'Configure BGP aggregate entries' });
  define(t, 'aggregate-address {prefix:ipv4} {mask:mask} summary-only', agg, { 'summary-only': 'Filter more specific routes from updates' });
  define(t, 'default-information originate', (ctx, a) => { put(bgpOf(ctx), 'defaultOriginate', a.no ? undefined : true); },
    { 'default-information': 'Control distribution of default information', originate: 'Distribute a default route' });
  // IOS 12.x configs carry these; they are the defaults of IOS 15 and of FRR
  define(t, 'auto-summary', (_ctx, a) => { if (!a.no) throw new CliError('auto-summary is not supported (classful summarisation)'); });
  define(t, 'synchronization', (_ctx, a) => { if (!a.no) throw new CliError('synchronization is not supported'); });
}

const timers = (a: Args) => {
  const k = Number(a.p.k), h = Number(a.p.h);
  if (h !== 0 && h < 3) throw new CliError('Holdtime must be 0 or at least 3 seconds');
  return { keepalive: k, hold: h };
};

/** IOS `network P` without a mask takes the classful mask of P. */
function classfulMask(p: string): string {
  const first = Number(p.split('.')[0]);
  return first < 128 ? '255.0.0.0' : first < 192 ? '255.255.0.0' : '255.255.255.0';
}

function bgpTree(t: Node): Node {
  define(t, 'bgp router-id {id:ipv4}', (ctx, a) => { put(bgpOf(ctx), 'routerId', a.no ? undefined : a.p.id); },
    { bgp: 'BGP specific commands', 'router-id': 'Override configured router identifier', '{id}': 'Manually configured router identifier' });
  define(t, 'bgp log-neighbor-changes', (ctx, a) => { put(bgpOf(ctx), 'logNeighborChanges', a.no ? undefined : true); },
    { 'log-neighbor-changes': 'Log neighbor up/down and reset reason' });
  define(t, 'bgp listen range {range:word} peer-group {group:word}', (ctx, a) => {
    const b = bgpOf(ctx);
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(a.p.range);
    if (!m || Number(m[2]) > 32) throw new CliError(`${a.p.range}: expected a prefix A.B.C.D/nn`);
    const prefix = m[1], len = Number(m[2]);
    checkPrefix(prefix, u32ToIp(prefixMask(len)));
    if (!a.no && !b.peerGroups.some((x) => x.name === a.p.group)) throw new CliError(`peer-group ${a.p.group} does not exist`);
    b.listenRanges = toggle(b.listenRanges, (x) => x.prefix === prefix && x.len === len, a.no ? undefined : { prefix, len, peerGroup: a.p.group });
  }, { listen: 'Neighbor subnet range listener', range: 'Subnet network range', '{range}': 'Subnet network range (A.B.C.D/nn)', '{group}': 'Member of the peer-group' });
  define(t, 'bgp listen limit {n:range:1-5000}', (ctx, a) => { put(bgpOf(ctx), 'listenLimit', a.no ? undefined : Number(a.p.n)); },
    { limit: 'Set the max limit for the dynamic subnet range neighbors', '{n}': 'Maximum number of dynamic neighbors' });
  define(t, 'timers bgp {k:range:0-65535} {h:range:0-65535}', (ctx, a) => { put(bgpOf(ctx), 'timers', a.no ? undefined : timers(a)); },
    { timers: 'Adjust routing timers', '{k}': 'Keepalive interval', '{h}': 'Holdtime' });
  const af: Act = (ctx) => { bgpOf(ctx); ctx.enter({ id: 'config-router-bgp-af', ref: ctx.mode.ref }); };
  define(t, 'address-family ipv4', af, { 'address-family': 'Enter Address Family command mode', ipv4: 'Address family' });
  define(t, 'address-family ipv4 unicast', af, { unicast: 'Address Family modifier' });
  bgpCommands(t);
  return t;
}

function afTree(t: Node): Node {
  define(t, 'exit-address-family', (ctx) => ctx.enter({ id: 'config-router-bgp', ref: ctx.mode.ref }), { 'exit-address-family': 'Exit from Address Family configuration mode' });
  bgpCommands(t);
  return t;
}

/** The router sub-mode trees; `subTree(exitTo)` is grammar.ts's (exit, end, no). */
export function routingTrees(subTree: (exitTo?: ModeId) => Node): Partial<Record<ModeId, Node>> {
  const af = afTree(subTree());
  // `exit` from address-family goes back to router bgp, keeping the AS as the mode's ref
  define(af, 'exit', (ctx) => ctx.enter({ id: 'config-router-bgp', ref: ctx.mode.ref }));
  return { 'config-router-ospf': ospfTree(subTree()), 'config-router-bgp': bgpTree(subTree()), 'config-router-bgp-af': af };
}

