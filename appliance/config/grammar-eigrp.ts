// EIGRP configuration commands: `router eigrp N` (classic) and `router eigrp NAME` (named mode, with
// address-family / af-interface / topology base sub-modes), the classic per-interface `ip ... eigrp N`
// lines, and `key chain`. Kept out of grammar.ts, which registers these with one call each, so the
// EIGRP and OSPF/BGP work do not edit the same block; takes grammar.ts's subTree as an argument (no cycle).
import { Node, define, CliError, Args } from '../cli/tree.js';
import { isContiguousMask } from '../net/ipv4.js';
import type { ConfigCtx, ModeId } from './modes.js';
import type { ApplianceConfig } from './model.js';
import type { EigrpConfig, EigrpInterfaceSettings, EigrpProcess, EigrpStub, KeyChain } from './model-eigrp.js';

type Act = (ctx: ConfigCtx, a: Args) => string | void;

function eigrp(cfg: ApplianceConfig): EigrpConfig { cfg.eigrp ??= { processes: [], interfaces: [], keyChains: [] }; return cfg.eigrp; }
/** Drops an empty EIGRP config so a config without EIGRP compares equal to a fresh one. */
function prune(cfg: ApplianceConfig): void {
  const e = cfg.eigrp;
  if (e && !e.processes.length && !e.interfaces.length && !e.keyChains.length && !e.links?.length) delete cfg.eigrp;
}
const edit = (f: (e: EigrpConfig, ctx: ConfigCtx, a: Args) => string | void): Act => (ctx, a) => { const r = f(eigrp(ctx.cfg), ctx, a); prune(ctx.cfg); return r; };

/** The process a router/af/topology mode edits (ref: AS number for classic, name for named mode). */
function proc(e: EigrpConfig, ctx: ConfigCtx): EigrpProcess {
  const ref = (ctx.mode.ref ?? '').split('|')[0];
  const p = ctx.mode.id === 'config-router-eigrp' ? e.processes.find((x) => x.name === undefined && String(x.asn) === ref) : e.processes.find((x) => x.name === ref);
  if (!p) throw new CliError(`router eigrp ${ref} no longer exists`);
  return p;
}

function setOpt<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void { if (v === undefined) delete o[k]; else o[k] = v; }

export function eigrpGlobal(g: Node): void {
  define(g, 'router eigrp {id:word}', edit((e, ctx, a) => {
    const asn = /^\d+$/.test(a.p.id) ? Number(a.p.id) : undefined;
    if (asn !== undefined && (asn < 1 || asn > 65535)) throw new CliError('% Invalid autonomous system number (1-65535)');
    const same = (p: EigrpProcess) => (asn !== undefined ? p.name === undefined && p.asn === asn : p.name === a.p.id);
    if (a.no) { e.processes = e.processes.filter((p) => !same(p)); return; }
    if (!e.processes.some(same)) e.processes.push({ asn: asn ?? 0, ...(asn === undefined && { name: a.p.id }), networks: [], passive: [], redistribute: [] });
    ctx.enter({ id: asn !== undefined ? 'config-router-eigrp' : 'config-router-eigrp-named', ref: a.p.id });
  }), { eigrp: 'Enhanced Interior Gateway Routing Protocol (EIGRP)', '{id}': 'Autonomous System (classic) or virtual instance name (named mode)' });
  define(g, 'key chain {name:word}', edit((e, ctx, a) => {
    if (a.no) { e.keyChains = e.keyChains.filter((k) => k.name !== a.p.name); return; }
    if (!e.keyChains.some((k) => k.name === a.p.name)) e.keyChains.push({ name: a.p.name, keys: [] });
    ctx.enter({ id: 'config-keychain', ref: a.p.name });
  }), { key: 'Key management', chain: 'Key-chain management', '{name}': 'Key-chain name' });
}

// ---- per-interface settings (classic `ip X eigrp N` and named af-interface share the edits) ----

/** `overrides`: the settings are a named interface's, whose explicit defaults override `af-interface default`. */
type SettingEdit = (s: EigrpInterfaceSettings, a: Args, overrides: boolean) => void;
/** An on/off setting: off stored as false; on as true where it overrides, else dropped (the default). */
const flag = (a: Args, overrides: boolean): boolean | undefined => (a.no ? false : overrides ? true : undefined);
const SETTINGS: Record<string, [string, SettingEdit, Record<string, string>]> = {
  'split-horizon': ['', (s, a, o) => setOpt(s, 'splitHorizon', flag(a, o)), {}],
  'next-hop-self': ['', (s, a, o) => setOpt(s, 'nextHopSelf', flag(a, o)), {}],
  'hello-interval': [' {s:range:1-65535}', (s, a) => setOpt(s, 'helloInterval', a.no ? undefined : Number(a.p.s)), { '{s}': 'Seconds between hello transmissions' }],
  'hold-time': [' {s:range:1-65535}', (s, a) => setOpt(s, 'holdTime', a.no ? undefined : Number(a.p.s)), { '{s}': 'Seconds before neighbor is considered down' }],
  'bandwidth-percent': [' {n:range:1-999999}', (s, a) => setOpt(s, 'bandwidthPercent', a.no ? undefined : Number(a.p.n)), { '{n}': 'Maximum bandwidth percentage' }],
  'summary-address': [' {p:ipv4} {m:mask}', (s, a) => {
    if (!isContiguousMask(a.p.m)) throw new CliError(`% Bad mask ${a.p.m}`);
    const rest = (s.summaries ?? []).filter((x) => x.prefix !== a.p.p || x.mask !== a.p.m);
    setOpt(s, 'summaries', a.no ? (rest.length ? rest : undefined) : [...rest, { prefix: a.p.p, mask: a.p.m }]);
  }, { '{p}': 'IP address', '{m}': 'IP network mask' }],
  'authentication key-chain': [' {k:word}', (s, a) => setOpt(s, 'keyChain', a.no ? undefined : a.p.k), { '{k}': 'name of key-chain' }],
};

/** Drop a settings record left with nothing but its keys. */
function pruneSettings<T extends EigrpInterfaceSettings>(list: T[], keys: number): T[] { return list.filter((s) => Object.keys(s).length > keys); }

export function eigrpInterface(t: Node): void {
  const ifEdit = (f: SettingEdit): Act => edit((e, ctx, a) => {
    const asn = Number(a.p.as), iface = ctx.mode.ref!;
    let s = e.interfaces.find((x) => x.iface === iface && x.asn === asn);
    if (!s) { s = { iface, asn }; e.interfaces.push(s); }
    f(s, a, false);
    e.interfaces = pruneSettings(e.interfaces, 2);
  });
  for (const [word, [tail, f, help]] of Object.entries(SETTINGS)) {
    define(t, `ip ${word} eigrp {as:range:1-65535}${tail}`, ifEdit(f), { eigrp: 'Enhanced Interior Gateway Routing Protocol (EIGRP)', '{as}': 'Autonomous system number', ...help });
  }
  // interface `bandwidth` and `delay`: the EIGRP metric's inputs (model-eigrp.ts LinkCostSetting)
  const cost = (field: 'bandwidth' | 'delay'): Act => edit((e, ctx, a) => {
    const iface = ctx.mode.ref!;
    const rest = (e.links ?? []).filter((l) => l.iface !== iface);
    const l = { ...e.links?.find((x) => x.iface === iface), iface };
    setOpt(l, field, a.no ? undefined : Number(a.p.n));
    const links = Object.keys(l).length > 1 ? [...rest, l] : rest;
    setOpt(e, 'links', links.length ? links : undefined);
  });
  define(t, 'bandwidth {n:range:1-10000000}', cost('bandwidth'), { bandwidth: 'Set bandwidth informational parameter', '{n}': 'Bandwidth in kilobits' });
  define(t, 'delay {n:range:1-16777215}', cost('delay'), { delay: 'Specify interface throughput delay', '{n}': 'Throughput delay (tens of microseconds)' });
  define(t, 'ip authentication mode eigrp {as:range:1-65535} md5', ifEdit((s, a) => setOpt(s, 'authMode', a.no ? undefined : 'md5')),
    { authentication: 'authentication subcommands', md5: 'Keyed message digest' });
}

// ---- router modes ----

function stubFrom(words: string[]): EigrpStub {
  if (!words.length) return { connected: true, summary: true }; // IOS default
  const s: EigrpStub = {};
  for (const w of words) {
    const k = ['connected', 'summary', 'static', 'redistributed', 'receive-only'].find((x) => x.startsWith(w.toLowerCase()));
    if (!k) throw new CliError(`% Invalid stub option ${w}`);
    if (k === 'receive-only') s.receiveOnly = true; else s[k as 'connected'] = true;
  }
  if (s.receiveOnly && words.length > 1) throw new CliError('% receive-only excludes the other stub options');
  return s;
}

function coreCommands(t: Node): void {
  const net: Act = edit((e, ctx, a) => {
    const p = proc(e, ctx);
    const same = (n: { address: string; wildcard?: string }) => n.address === a.p.ip && (n.wildcard ?? '') === (a.p.wc ?? '');
    p.networks = p.networks.filter((n) => !same(n));
    if (!a.no) p.networks.push({ address: a.p.ip, ...(a.p.wc && { wildcard: a.p.wc }) });
  });
  define(t, 'network {ip:ipv4}', net, { network: 'Enable routing on an IP network', '{ip}': 'Network number' });
  define(t, 'network {ip:ipv4} {wc:ipv4}', net, { '{wc}': 'EIGRP wild card bits' });
  define(t, 'eigrp router-id {ip:ipv4}', edit((e, ctx, a) => setOpt(proc(e, ctx), 'routerId', a.no ? undefined : a.p.ip)), { 'router-id': 'router-id for this EIGRP process' });
  const stub: Act = edit((e, ctx, a) => setOpt(proc(e, ctx), 'stub', a.no ? undefined : stubFrom(['w1', 'w2', 'w3', 'w4'].map((k) => a.p[k]).filter(Boolean))));
  let spec = 'eigrp stub';
  define(t, spec, stub, { stub: 'Set IP-EIGRP as stubbed router' });
  for (let i = 1; i <= 4; i++) { spec += ` {w${i}:word}`; define(t, spec, stub, { [`{w${i}}`]: 'connected | summary | static | redistributed | receive-only' }); }
}

function topologyCommands(t: Node): void {
  const redist: Act = edit((e, ctx, a) => {
    const p = proc(e, ctx);
    const source = a.kw.has('static') ? 'static' : 'connected';
    p.redistribute = p.redistribute.filter((r) => r.source !== source);
    if (!a.no) p.redistribute.push({ source, ...(a.p.bw && { metric: [a.p.bw, a.p.dl, a.p.rel, a.p.ld, a.p.mtu].map(Number) as [number, number, number, number, number] }) });
  });
  for (const src of ['static', 'connected']) {
    define(t, `redistribute ${src}`, redist, { redistribute: 'Redistribute IPv4 routes from another routing protocol' });
    define(t, `redistribute ${src} metric {bw:range:1-4294967295} {dl:range:0-4294967295} {rel:range:0-255} {ld:range:1-255} {mtu:range:1-65535}`, redist,
      { '{bw}': 'Bandwidth metric in Kbits per second', '{dl}': 'EIGRP delay metric, in 10 microsecond units', '{rel}': 'EIGRP reliability metric', '{ld}': 'EIGRP Effective bandwidth metric (Loading)', '{mtu}': 'EIGRP MTU of the path' });
  }
  define(t, 'variance {n:range:1-128}', edit((e, ctx, a) => setOpt(proc(e, ctx), 'variance', a.no ? undefined : Number(a.p.n))), { variance: 'Control load balancing variance' });
  define(t, 'maximum-paths {n:range:1-32}', edit((e, ctx, a) => setOpt(proc(e, ctx), 'maximumPaths', a.no ? undefined : Number(a.p.n))), { 'maximum-paths': 'Forward packets over multiple paths' });
  define(t, 'distance eigrp {i:range:1-255} {x:range:1-255}', edit((e, ctx, a) => setOpt(proc(e, ctx), 'distance', a.no ? undefined : { internal: Number(a.p.i), external: Number(a.p.x) })),
    { distance: 'Define an administrative distance', '{i}': 'Distance for internal routes', '{x}': 'Distance for external routes' });
}

export function eigrpTrees(subTree: (exitTo?: ModeId) => Node): Partial<Record<ModeId, Node>> {
  const classic = subTree();
  coreCommands(classic);
  topologyCommands(classic);
  define(classic, 'auto-summary', edit((e, ctx, a) => setOpt(proc(e, ctx), 'autoSummary', a.no ? undefined : true)), { 'auto-summary': 'Enable automatic network number summarization' });
  define(classic, 'passive-interface {ifc:iface}', edit((e, ctx, a) => {
    const p = proc(e, ctx);
    const listed = p.passive.filter((i) => i !== a.p.ifc);
    // under `passive-interface default` the list holds the exceptions (`no passive-interface X`)
    p.passive = (p.passiveDefault ? a.no : !a.no) ? [...listed, a.p.ifc] : listed;
  }), { 'passive-interface': 'Suppress routing updates on an interface', '{ifc}': 'Interface name' });
  define(classic, 'passive-interface default', edit((e, ctx, a) => { const p = proc(e, ctx); setOpt(p, 'passiveDefault', a.no ? undefined : true); p.passive = []; }));

  const named = subTree();
  define(named, 'address-family ipv4 autonomous-system {as:range:1-65535}', edit((e, ctx, a) => enterAf(e, ctx, a)), { 'address-family': 'Enter Address Family command mode', ipv4: 'Address Family', 'autonomous-system': 'Specify Address-Family Autonomous System Number' });
  define(named, 'address-family ipv4 unicast autonomous-system {as:range:1-65535}', edit((e, ctx, a) => enterAf(e, ctx, a)), { unicast: 'Address Family Modifier' });

  const af = subTree('config-router-eigrp-named');
  coreCommands(af);
  define(af, 'exit-address-family', (ctx) => ctx.enter({ id: 'config-router-eigrp-named', ref: ctx.mode.ref }));
  define(af, 'af-interface {ifc:word}', edit((e, ctx, a) => {
    const p = proc(e, ctx);
    const iface = a.p.ifc;
    p.afInterfaces ??= [];
    if (a.no) { p.afInterfaces = p.afInterfaces.filter((s) => s.iface !== iface); return; }
    if (!p.afInterfaces.some((s) => s.iface === iface)) p.afInterfaces.push({ iface });
    ctx.enter({ id: 'config-router-af-interface', ref: `${ctx.mode.ref}|${iface}` });
  }), { 'af-interface': 'Enter Address Family interface configuration', '{ifc}': 'Interface name or default' });
  define(af, 'topology base', (ctx) => ctx.enter({ id: 'config-router-af-topology', ref: ctx.mode.ref }), { topology: 'Topology configuration mode', base: 'Base topology' });

  const afIf = subTree('config-router-af');
  const afEdit = (f: SettingEdit): Act => edit((e, ctx, a) => {
    const [, iface] = (ctx.mode.ref ?? '').split('|');
    const s = proc(e, ctx).afInterfaces?.find((x) => x.iface === iface);
    if (!s) throw new CliError(`af-interface ${iface} no longer exists`);
    f(s, a, iface !== 'default');
  });
  for (const [word, [tail, f, help]] of Object.entries(SETTINGS)) define(afIf, `${word}${tail}`, afEdit(f), help);
  define(afIf, 'authentication mode md5', afEdit((s, a) => { setOpt(s, 'authMode', a.no ? undefined : 'md5'); delete s.authPassword; }));
  define(afIf, 'authentication mode hmac-sha-256 {pw:word}', afEdit((s, a) => {
    setOpt(s, 'authMode', a.no ? undefined : 'hmac-sha-256'); setOpt(s, 'authPassword', a.no ? undefined : a.p.pw);
  }), { 'hmac-sha-256': 'HMAC-SHA-256 Authentication', '{pw}': 'password' });
  define(afIf, 'passive-interface', afEdit((s, a, o) => setOpt(s, 'passive', a.no ? (o ? false : undefined) : true)));
  define(afIf, 'exit-af-interface', (ctx) => ctx.enter({ id: 'config-router-af', ref: (ctx.mode.ref ?? '').split('|')[0] }));

  const topo = subTree('config-router-af');
  topologyCommands(topo);
  define(topo, 'exit-af-topology', (ctx) => ctx.enter({ id: 'config-router-af', ref: ctx.mode.ref }));

  const chain = subTree();
  define(chain, 'key {id:range:0-2147483647}', edit((e, ctx, a) => {
    const k = keyChain(e, ctx.mode.ref);
    const id = Number(a.p.id);
    k.keys = k.keys.filter((x) => x.id !== id);
    if (a.no) return;
    k.keys.push({ id });
    k.keys.sort((x, y) => x.id - y.id);
    ctx.enter({ id: 'config-keychain-key', ref: `${ctx.mode.ref}|${id}` });
  }), { key: 'Configure a key', '{id}': 'Key identifier' });
  const key = subTree('config-keychain');
  define(key, 'key-string {s:line}', edit((e, ctx, a) => {
    const [name, id] = (ctx.mode.ref ?? '').split('|');
    const k = keyChain(e, name).keys.find((x) => String(x.id) === id);
    if (!k) throw new CliError(`key ${id} no longer exists`);
    setOpt(k, 'keyString', a.no ? undefined : a.p.s);
  }), { 'key-string': 'Set key string', '{s}': 'The key string' });

  return {
    'config-router-eigrp': classic, 'config-router-eigrp-named': named, 'config-router-af': af,
    'config-router-af-interface': afIf, 'config-router-af-topology': topo, 'config-keychain': chain, 'config-keychain-key': key,
  };
}

function enterAf(e: EigrpConfig, ctx: ConfigCtx, a: Args): void {
  const p = proc(e, ctx);
  if (a.no) { e.processes = e.processes.filter((x) => x !== p); return; }
  p.asn = Number(a.p.as);
  ctx.enter({ id: 'config-router-af', ref: ctx.mode.ref });
}

function keyChain(e: EigrpConfig, name: string | undefined): KeyChain {
  const k = e.keyChains.find((x) => x.name === name);
  if (!k) throw new CliError(`key chain ${name} no longer exists`);
  return k;
}
