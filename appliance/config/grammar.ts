// The configuration language: every config-mode command, its `no` form, and how it edits the model.
// Built once into one command tree per config mode (modes.ts runs lines against them).
import { Node, root, define, CliError, Args } from '../cli/tree.js';
import type { ConfigCtx, ConfigTrees, ModeId } from './modes.js';
import type { ApplianceConfig, InterfaceConfig, TunnelConfig, EthernetConfig, CryptoConfig } from './model.js';
import { parseInterfaceName } from '../cli/ifname.js';
import { cryptoLines } from './render.js';
import { ikev2Global, ikev2ProfileCommand, ikev2Trees } from './grammar-ikev2.js';
import { pkiGlobal, pkiTrees } from './grammar-pki.js';
import { enrollmentGlobal, enrollmentTrees } from './grammar-enroll.js';
import { ipToU32, isContiguousMask } from '../net/ipv4.js';
import { authGlobal, authLine } from './grammar-auth.js';
import { servicesGlobal } from './grammar-services.js';
import { dataplaneGlobal } from './grammar-dataplane.js';
import { routingGlobal, routingTrees, ospfInterfaceCommands } from './grammar-routing.js';
import { eigrpGlobal, eigrpInterface, eigrpTrees } from './grammar-eigrp.js';

export const DEFAULT_HOSTNAME = 'Router';
export const DEFAULT_MTU = 1400;
export const DEFAULT_HOLDTIME = 7200;

type Act = (ctx: ConfigCtx, a: Args) => string | void;

export function emptyConfig(): ApplianceConfig {
  return { hostname: DEFAULT_HOSTNAME, interfaces: [], routes: [], crypto: { lines: [] }, inactive: [] };
}

export function newTunnel(name: string, number: number): TunnelConfig {
  return {
    kind: 'tunnel', name, number, shutdown: false, mtu: DEFAULT_MTU, mode: 'gre-ip',
    nhrp: { holdtime: DEFAULT_HOLDTIME, nhs: [], maps: [], multicast: [], redirect: false, shortcut: false, registrationNoUnique: false },
  };
}

// ---- helpers -------------------------------------------------------------------------------

function iface(ctx: ConfigCtx): InterfaceConfig {
  const i = ctx.cfg.interfaces.find(x => x.name === ctx.mode.ref);
  if (!i) throw new CliError(`Interface ${ctx.mode.ref} no longer exists`);
  return i;
}
function tunnel(ctx: ConfigCtx): TunnelConfig {
  const i = iface(ctx);
  if (i.kind !== 'tunnel') throw new CliError('This command applies to Tunnel interfaces only');
  return i;
}
/** Set or clear an optional field without leaving `key: undefined` behind (keeps deep-equality). */
function setOpt<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v === undefined) delete o[k]; else o[k] = v;
}
const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));

/** Define `spec` plus every in-order combination of optional `tails` (IOS optional keyword groups). */
function defineOpt(r: Node, spec: string, tails: string[], act: Act): void {
  const n = tails.length;
  for (let mask = 0; mask < 1 << n; mask++) {
    define(r, [spec, ...tails.filter((_, i) => mask & (1 << i))].join(' '), act);
  }
}

// ---- global config -------------------------------------------------------------------------

function globalTree(): Node {
  const g = root();
  define(g, 'no', () => { throw new CliError('Incomplete command.'); });
  define(g, 'exit', ctx => ctx.enter({ id: 'priv' }));
  define(g, 'end', ctx => ctx.enter({ id: 'priv' }));

  define(g, 'hostname {name:word}', (ctx, a) => {
    if (a.no) { ctx.cfg.hostname = DEFAULT_HOSTNAME; return; }
    if (!/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/.test(a.p.name)) throw new CliError('Invalid hostname (letters, digits, "-", "_", "."; start with a letter)');
    ctx.cfg.hostname = a.p.name;
  }, { '{name}': 'This system\'s network name' });

  define(g, 'interface {name:iface}', (ctx, a) => {
    const parsed = parseInterfaceName(a.p.name ?? '');
    const ifs: InterfaceConfig[] = ctx.cfg.interfaces;
    if (a.no) {
      if (!parsed) throw new CliError('Incomplete command.');
      ctx.cfg.interfaces = ifs.filter(i => i.name !== parsed.name);
      return;
    }
    if (!parsed) throw new CliError(`Invalid interface name ${a.p.name}`);
    if (!ifs.some(i => i.name === parsed.name)) {
      if (parsed.kind === 'tunnel') ifs.push(newTunnel(parsed.name, parsed.number!));
      else {
        const e: EthernetConfig = { kind: 'ethernet', name: parsed.name, shutdown: false };
        ifs.push(e);
      }
    }
    ctx.enter({ id: 'config-if', ref: parsed.name });
  });

  const route: Act = (ctx, a) => {
    const { prefix, mask, nh, ifc, dist } = a.p;
    const same = (r: ApplianceConfig['routes'][number]) => r.prefix === prefix && r.mask === mask;
    if (a.no) {
      ctx.cfg.routes = ctx.cfg.routes.filter(r => !(same(r) && (nh === undefined || r.nextHop === nh) && (ifc === undefined || r.iface === ifc)));
      return;
    }
    if (!isContiguousMask(mask) || (ipToU32(prefix) & ~ipToU32(mask)) !== 0) throw new CliError('Inconsistent address and mask');
    const r: ApplianceConfig['routes'][number] = { prefix, mask };
    setOpt(r, 'iface', ifc); setOpt(r, 'nextHop', nh); setOpt(r, 'distance', num(dist));
    const idx = ctx.cfg.routes.findIndex(x => same(x) && x.nextHop === r.nextHop && x.iface === r.iface);
    if (idx >= 0) ctx.cfg.routes[idx] = r; else ctx.cfg.routes.push(r);
  };
  const rh = { '{prefix}': 'Destination prefix', '{mask}': 'Destination prefix mask', '{nh}': 'Forwarding router\'s address', '{dist}': 'Distance metric for this route', '{ifc}': 'Interface to send the packets out of' };
  for (const s of ['{nh:ipv4}', '{ifc:iface}', '{ifc:iface} {nh:ipv4}']) {
    define(g, `ip route {prefix:ipv4} {mask:mask} ${s}`, route, rh);
    define(g, `ip route {prefix:ipv4} {mask:mask} ${s} {dist:range:1-255}`, route, rh);
  }

  cryptoGlobal(g);
  authGlobal(g); // enable, username, service password-encryption, line (grammar-auth.ts)
  servicesGlobal(g); // ntp server, logging host|trap|facility (grammar-services.ts)
  dataplaneGlobal(g); // dataplane workers N (grammar-dataplane.ts)

  // Accepted so pasted IOS configs load; they have no effect on this appliance.
  const inactive = (why: string): Act => () => why;
  for (const s of ['service {rest:line}', 'version {rest:line}', 'boot-start-marker', 'boot-end-marker', 'logging {rest:line}',
    'ip cef', 'ip domain {rest:line}', 'ip domain-name {rest:line}', 'ip domain-lookup', 'ip subnet-zero', 'ip classless',
    'ip http {rest:line}', 'aaa {rest:line}', 'control-plane', 'ntp {rest:line}', 'clock {rest:line}']) {
    define(g, s, inactive('not applicable on this appliance'));
  }
  routingGlobal(g); // router ospf N, router bgp N (grammar-routing.ts); other protocols fall to the line below
  eigrpGlobal(g); // router eigrp, key chain (grammar-eigrp.ts); other routers fall through to the line below
  define(g, 'router {rest:line}', ctx => { ctx.enter({ id: 'config-router' }); return 'dynamic routing is not supported'; },
    { router: 'Enable a routing process' });
  return g;
}

// ---- interface config ----------------------------------------------------------------------

function interfaceTree(): Node {
  const t = root();
  define(t, 'no', () => { throw new CliError('Incomplete command.'); });
  define(t, 'exit', ctx => ctx.enter({ id: 'config' }));
  define(t, 'end', ctx => ctx.enter({ id: 'priv' }));

  define(t, 'description {text:line}', (ctx, a) => { setOpt(iface(ctx), 'description', a.no ? undefined : a.p.text); },
    { '{text}': 'Up to 240 characters describing this interface' });
  // A second `ip address` replaces the first, as on IOS (secondary addresses are not supported).
  define(t, 'ip address {addr:ipv4} {mask:mask}', (ctx, a) => {
    if (!a.no && !isContiguousMask(a.p.mask)) throw new CliError(`Bad mask 0x${ipToU32(a.p.mask).toString(16).toUpperCase()} for address ${a.p.addr}`);
    setOpt(iface(ctx), 'address', a.no ? undefined : { address: a.p.addr, mask: a.p.mask });
  }, { '{addr}': 'IP address', '{mask}': 'IP subnet mask' });
  define(t, 'shutdown', (ctx, a) => { iface(ctx).shutdown = !a.no; });
  define(t, 'ip proxy-arp', (ctx, a) => {
    const i = iface(ctx);
    if (i.kind !== 'ethernet') return 'accepted, no effect on a tunnel (no ARP)';
    setOpt(i, 'noProxyArp', a.no ? true : undefined);
  }, { 'proxy-arp': 'Enable proxy ARP' });
  // Which OS interface an IOS name drives when no OS interface has its rule name (interfaces.ts).
  define(t, 'os-interface {os:word}', (ctx, a) => {
    const i = iface(ctx);
    if (i.kind !== 'ethernet' || parseInterfaceName(i.name)?.os) throw new CliError('os-interface applies to IOS-named LAN/WAN interfaces only');
    if (!a.no && !/^[A-Za-z0-9_.-]{1,15}$/.test(a.p.os)) throw new CliError('Invalid OS interface name (at most 15 letters, digits, "-", "_", ".")');
    setOpt(i, 'osInterface', a.no ? undefined : a.p.os);
  }, { 'os-interface': 'OS interface this interface drives', '{os}': 'OS interface name (eth3, ens4 ...)' });

  define(t, 'ip mtu {n:range:68-9216}', (ctx, a) => { tunnel(ctx).mtu = a.no ? DEFAULT_MTU : Number(a.p.n); }, { '{n}': 'MTU (bytes)' });
  define(t, 'ip tcp adjust-mss {n:range:500-1460}', (ctx, a) => { setOpt(tunnel(ctx), 'tcpAdjustMss', a.no ? undefined : Number(a.p.n)); },
    { '{n}': 'Maximum segment size in bytes' });
  define(t, 'if-state nhrp', (ctx, a) => { setOpt(tunnel(ctx), 'ifStateNhrp', a.no ? undefined : true); },
    { 'if-state': 'Interface state', nhrp: 'NHRP: line protocol down while no NHS answers' });

  nhrpCommands(t);
  tunnelCommands(t);
  ospfInterfaceCommands(t, iface); // ip ospf network|priority|hello-interval|dead-interval|cost (grammar-routing.ts)
  eigrpInterface(t); // ip split-horizon|next-hop-self|hello-interval|... eigrp N, bandwidth, delay (grammar-eigrp.ts)

  const inactive = (why: string): Act => () => why;
  for (const s of ['ip redirects', 'ip unreachables', 'ip split-horizon', 'ip split-horizon {rest:line}', 'ip next-hop-self {rest:line}',
    'keepalive', 'keepalive {rest:line}', 'ip ospf {rest:line}',
    'ip nat {rest:line}', 'ip virtual-reassembly', 'ip virtual-reassembly {rest:line}', 'duplex {rest:line}', 'speed {rest:line}',
    'load-interval {n:range:30-600}', 'ip pim {rest:line}', 'ip summary-address {rest:line}', 'ip hello-interval {rest:line}',
    'ip hold-time {rest:line}', 'media-type {rest:line}', 'negotiation {rest:line}', 'cdp enable', 'mop enabled']) {
    define(t, s, inactive('accepted, no effect on this appliance'));
  }
  return t;
}

function nhrpCommands(t: Node): void {
  define(t, 'ip nhrp network-id {n:range:1-4294967295}', (ctx, a) => { setOpt(tunnel(ctx).nhrp, 'networkId', a.no ? undefined : Number(a.p.n)); },
    { '{n}': 'Network identifier' });
  define(t, 'ip nhrp holdtime {n:range:1-65535}', (ctx, a) => { tunnel(ctx).nhrp.holdtime = a.no ? DEFAULT_HOLDTIME : Number(a.p.n); },
    { '{n}': 'Number of seconds' });
  define(t, 'ip nhrp registration timeout {n:range:1-65535}', (ctx, a) => {
    setOpt(tunnel(ctx).nhrp, 'registrationTimeout', a.no ? undefined : Number(a.p.n));
  }, { '{n}': 'Number of seconds' });
  define(t, 'ip nhrp registration no-unique', (ctx, a) => { tunnel(ctx).nhrp.registrationNoUnique = !a.no; });
  define(t, 'ip nhrp authentication {s:word}', (ctx, a) => {
    if (!a.no && a.p.s.length > 8) throw new CliError('NHRP authentication string is at most 8 characters');
    setOpt(tunnel(ctx).nhrp, 'authentication', a.no ? undefined : a.p.s);
  }, { '{s}': 'Authentication string (up to 8 characters)' });
  define(t, 'ip nhrp redirect', (ctx, a) => { tunnel(ctx).nhrp.redirect = !a.no; });
  define(t, 'ip nhrp shortcut', (ctx, a) => { tunnel(ctx).nhrp.shortcut = !a.no; });

  const nhs: Act = (ctx, a) => {
    const n = tunnel(ctx).nhrp;
    const target = a.kw.has('dynamic') ? 'dynamic' : a.p.ip;
    const same = (e: (typeof n.nhs)[number]) => e.tunnelIp === target && (target !== 'dynamic' || e.nbma === a.p.nbma);
    if (a.no) { n.nhs = target === undefined ? [] : n.nhs.filter(e => !same(e)); return; }
    const e: (typeof n.nhs)[number] = { tunnelIp: target };
    setOpt(e, 'nbma', a.p.nbma); setOpt(e, 'priority', num(a.p.pri)); setOpt(e, 'cluster', num(a.p.cl));
    const idx = n.nhs.findIndex(same);
    if (idx >= 0) n.nhs[idx] = e; else n.nhs.push(e);
  };
  const h = { '{ip}': 'Next hop server address', '{nbma}': 'NBMA address', '{pri}': 'NHS priority (0 = highest)', '{cl}': 'NHS cluster number' };
  const tails = ['priority {pri:range:0-255}', 'cluster {cl:range:0-10}'];
  for (const base of ['ip nhrp nhs {ip:ipv4}', 'ip nhrp nhs {ip:ipv4} nbma {nbma:ipv4}', 'ip nhrp nhs dynamic nbma {nbma:ipv4}']) {
    defineOpt(t, base, tails, nhs);
  }
  attachHelp(t, ['ip', 'nhrp', 'nhs'], h);

  define(t, 'ip nhrp map {ip:ipv4} {nbma:ipv4}', (ctx, a) => {
    const n = tunnel(ctx).nhrp;
    const keep = (m: (typeof n.maps)[number]) => !(m.tunnelIp === a.p.ip && (a.p.nbma === undefined || m.nbma === a.p.nbma));
    if (a.no) { n.maps = a.p.ip === undefined ? [] : n.maps.filter(keep); return; }
    if (!n.maps.some(m => m.tunnelIp === a.p.ip && m.nbma === a.p.nbma)) n.maps.push({ tunnelIp: a.p.ip, nbma: a.p.nbma });
  }, { '{ip}': 'IP address of destination', '{nbma}': 'NBMA address' });
  const mc: Act = (ctx, a) => {
    const n = tunnel(ctx).nhrp;
    const v = a.kw.has('dynamic') ? 'dynamic' : a.p.nbma;
    if (a.no) { n.multicast = v === undefined ? [] : n.multicast.filter(x => x !== v); return; }
    if (!n.multicast.includes(v)) n.multicast.push(v);
  };
  define(t, 'ip nhrp map multicast dynamic', mc);
  define(t, 'ip nhrp map multicast {nbma:ipv4}', mc, { '{nbma}': 'NBMA address' });
}

/** Attach help text to parameter nodes somewhere below path (for commands declared in a loop). */
function attachHelp(t: Node, path: string[], help: Record<string, string>): void {
  let n: Node | undefined = t;
  for (const w of path) n = n?.children.find(c => c.word === w);
  const walk = (x: Node) => { if (x.key && help[`{${x.key}}`]) x.help = help[`{${x.key}}`]; x.children.forEach(walk); };
  if (n) walk(n);
}

function tunnelCommands(t: Node): void {
  const src: Act = (ctx, a) => { setOpt(tunnel(ctx), 'source', a.no ? undefined : a.p.src); };
  define(t, 'tunnel source {src:ipv4}', src, { '{src}': 'ip address' });
  define(t, 'tunnel source {src:iface}', src);
  define(t, 'tunnel destination {ip:ipv4}', (ctx, a) => { setOpt(tunnel(ctx), 'destination', a.no ? undefined : a.p.ip); },
    { '{ip}': 'ip address' });
  const mode: Act = (ctx, a) => { tunnel(ctx).mode = !a.no && a.kw.has('multipoint') ? 'gre-multipoint' : 'gre-ip'; };
  define(t, 'tunnel mode gre multipoint', mode);
  define(t, 'tunnel mode gre ip', mode, { ip: 'over IP' });
  define(t, 'tunnel key {k:range:0-4294967295}', (ctx, a) => { setOpt(tunnel(ctx), 'key', a.no ? undefined : Number(a.p.k)); },
    { '{k}': 'key' });
  const prot: Act = (ctx, a) => {
    setOpt(tunnel(ctx), 'protection', a.no ? undefined : { profile: a.p.name, shared: a.kw.has('shared') });
  };
  define(t, 'tunnel protection ipsec profile {name:word}', prot, { '{name}': 'Profile name' });
  define(t, 'tunnel protection ipsec profile {name:word} shared', prot);
}

// ---- crypto --------------------------------------------------------------------------------

function list<K extends Exclude<keyof CryptoConfig, 'lines'>>(c: CryptoConfig, k: K): NonNullable<CryptoConfig[K]> {
  if (!c[k]) (c as any)[k] = [];
  return c[k] as NonNullable<CryptoConfig[K]>;
}
/** Regenerate the canonical crypto lines and drop empty structured lists (keeps deep-equality). */
function sync(c: CryptoConfig): void {
  for (const k of ['isakmpPolicies', 'isakmpKeys', 'transformSets', 'ipsecProfiles', 'manualSas'] as const) {
    if (c[k] && c[k]!.length === 0) delete c[k];
  }
  c.lines = cryptoLines(c);
}
/** Wrap a crypto action: keep lines in sync. */
const crypto = (f: (c: CryptoConfig, ctx: ConfigCtx, a: Args) => void): Act => (ctx, a) => {
  f(ctx.cfg.crypto, ctx, a); sync(ctx.cfg.crypto);
};
/** IKE (ISAKMP) lines: acted on by the supervisor's IKE service (supervisor/ike-service.ts). */
const ike = crypto;
function byName<T extends { name: string }>(xs: T[], name: string | undefined): T {
  const x = xs.find(e => e.name === name);
  if (!x) throw new CliError(`${name} no longer exists`);
  return x;
}

const ENC = ['esp-aes', 'esp-gcm', 'esp-chacha20-poly1305', 'esp-null', 'esp-3des'];
const AUTH = ['esp-sha-hmac', 'esp-sha256-hmac', 'esp-sha384-hmac', 'esp-sha512-hmac', 'esp-md5-hmac'];
const KEYLEN: Record<string, string[]> = { 'esp-aes': ['128', '192', '256'], 'esp-gcm': ['128', '256'] };
const TH: Record<string, string> = {
  'esp-aes': 'ESP transform using AES cipher', 'esp-gcm': 'ESP transform using GCM cipher',
  'esp-chacha20-poly1305': 'ESP transform using ChaCha20-Poly1305 AEAD', 'esp-null': 'ESP transform w/o cipher',
  'esp-3des': 'ESP transform using 3DES(EDE) cipher (168 bits)', 'esp-sha-hmac': 'ESP transform using HMAC-SHA auth',
  'esp-sha256-hmac': 'ESP transform using HMAC-SHA256 auth', 'esp-sha384-hmac': 'ESP transform using HMAC-SHA384 auth',
  'esp-sha512-hmac': 'ESP transform using HMAC-SHA512 auth', 'esp-md5-hmac': 'ESP transform using HMAC-MD5 auth',
  '128': '128 bit keys.', '192': '192 bit keys.', '256': '256 bit keys.',
};

function cryptoGlobal(g: Node): void {
  define(g, 'crypto isakmp policy {pri:range:1-10000}', ike((c, ctx, a) => {
    const pri = Number(a.p.pri);
    const ps = list(c, 'isakmpPolicies');
    if (a.no) { c.isakmpPolicies = ps.filter(p => p.priority !== pri); return; }
    if (!ps.some(p => p.priority === pri)) { ps.push({ priority: pri }); ps.sort((x, y) => x.priority - y.priority); }
    ctx.enter({ id: 'config-isakmp', ref: String(pri) });
  }), { '{pri}': 'Priority of protection suite' });

  const key = ike((c, _ctx, a) => {
    const ks = list(c, 'isakmpKeys');
    const same = (k: (typeof ks)[number]) => k.address === a.p.addr && k.mask === a.p.mask;
    if (a.no) { c.isakmpKeys = ks.filter(k => !same(k)); return; }
    const k: (typeof ks)[number] = { key: a.p.key, address: a.p.addr };
    setOpt(k, 'mask', a.p.mask);
    const i = ks.findIndex(same);
    if (i >= 0) ks[i] = k; else ks.push(k);
  });
  const kh = { '{key}': 'pre-shared key', '{addr}': 'IP address of remote peer', '{mask}': 'Peer address mask' };
  define(g, 'crypto isakmp key {key:word} address {addr:ipv4}', key, kh);
  define(g, 'crypto isakmp key {key:word} address {addr:ipv4} {mask:mask}', key, kh);

  // DPD (RFC 3706): `crypto isakmp keepalive SECONDS [RETRY] [periodic|on-demand]` (IOS: retry 2 s, on-demand)
  const dpd = ike((c, _ctx, a) => {
    if (a.no) { delete c.isakmpKeepalive; return; }
    const k: NonNullable<CryptoConfig['isakmpKeepalive']> = { seconds: Number(a.p.s) };
    setOpt(k, 'retry', a.p.r === undefined ? undefined : Number(a.p.r));
    if (a.kw.has('periodic')) k.periodic = true;
    c.isakmpKeepalive = k;
  });
  const dh = { '{s}': 'Number of seconds between keep alives', '{r}': 'Number of seconds between retries if keepalive fails',
    periodic: 'Send keepalives periodically', 'on-demand': 'Send keepalives on demand (default)' };
  for (const tail of ['', ' {r:range:2-60}']) {
    define(g, `crypto isakmp keepalive {s:range:10-3600}${tail}`, dpd, dh);
    for (const m of ['periodic', 'on-demand']) define(g, `crypto isakmp keepalive {s:range:10-3600}${tail} ${m}`, dpd, dh);
  }
  define(g, 'crypto isakmp nat keepalive {s:range:5-3600}', ike((c, _ctx, a) => {
    if (a.no) delete c.natKeepalive; else c.natKeepalive = Number(a.p.s);
  }), { '{s}': 'Number of seconds between keep alives' });

  const ts = crypto((c, ctx, a) => {
    const sets = list(c, 'transformSets');
    if (a.no) { c.transformSets = sets.filter(s => s.name !== a.p.name); return; }
    const enc = ENC.find(e => a.kw.has(e))!;
    const len = (KEYLEN[enc] ?? []).find(l => a.kw.has(l));
    const transforms = [len ? `${enc} ${len}` : enc, ...AUTH.filter(x => a.kw.has(x))];
    const old = sets.find(s => s.name === a.p.name);
    if (old) old.transforms = transforms; else sets.push({ name: a.p.name, transforms });
    ctx.enter({ id: 'cfg-crypto-trans', ref: a.p.name });
  });
  for (const enc of ENC) {
    for (const len of ['', ...(KEYLEN[enc] ?? [])]) {
      const base = `crypto ipsec transform-set {name:word} ${enc} ${len}`.trim();
      define(g, base, ts, TH);
      // AEAD transforms carry their own integrity; IOS rejects an HMAC with them.
      if (enc !== 'esp-gcm' && enc !== 'esp-chacha20-poly1305') for (const au of AUTH) define(g, `${base} ${au}`, ts, TH);
    }
  }

  define(g, 'crypto ipsec profile {name:word}', crypto((c, ctx, a) => {
    const ps = list(c, 'ipsecProfiles');
    if (a.no) { c.ipsecProfiles = ps.filter(p => p.name !== a.p.name); return; }
    if (!ps.some(p => p.name === a.p.name)) ps.push({ name: a.p.name, transformSets: [] });
    ctx.enter({ id: 'ipsec-profile', ref: a.p.name });
  }), { '{name}': 'Profile name' });

  ikev2Global(g, crypto);
  pkiGlobal(g, crypto);
  enrollmentGlobal(g);

  define(g, 'crypto ipsec manual-sa {name:word}', crypto((c, ctx, a) => {
    const ms = list(c, 'manualSas');
    if (a.no) { c.manualSas = ms.filter(p => p.name !== a.p.name); return; }
    if (!ms.some(p => p.name === a.p.name)) ms.push({ name: a.p.name, udpEncapsulation: false });
    ctx.enter({ id: 'config-manual-sa', ref: a.p.name });
  }), { '{name}': 'Manual SA name' });
}

function subTree(exitTo: ModeId = 'config'): Node {
  const t = root();
  define(t, 'no', () => { throw new CliError('Incomplete command.'); });
  define(t, 'exit', ctx => ctx.enter({ id: exitTo }));
  define(t, 'end', ctx => ctx.enter({ id: 'priv' }));
  return t;
}

function isakmpTree(): Node {
  const t = subTree();
  const pol = (c: CryptoConfig, ctx: ConfigCtx) => {
    const p = (c.isakmpPolicies ?? []).find(x => String(x.priority) === ctx.mode.ref);
    if (!p) throw new CliError(`policy ${ctx.mode.ref} no longer exists`);
    return p;
  };
  const enc = ike((c, ctx, a) => {
    const alg = ['des', '3des', 'aes'].find(x => a.kw.has(x));
    const len = ['128', '192', '256'].find(x => a.kw.has(x));
    setOpt(pol(c, ctx), 'encryption', a.no ? undefined : len ? `${alg} ${len}` : alg);
  });
  for (const s of ['des', '3des', 'aes', 'aes 128', 'aes 192', 'aes 256']) define(t, `encryption ${s}`, enc);
  const hash = ike((c, ctx, a) => { setOpt(pol(c, ctx), 'hash', a.no ? undefined : ['sha', 'sha256', 'sha384', 'sha512', 'md5'].find(x => a.kw.has(x))); });
  for (const s of ['sha', 'sha256', 'sha384', 'sha512', 'md5']) define(t, `hash ${s}`, hash);
  const auth = ike((c, ctx, a) => { setOpt(pol(c, ctx), 'authentication', a.no ? undefined : ['pre-share', 'rsa-sig'].find(x => a.kw.has(x))); });
  define(t, 'authentication pre-share', auth);
  define(t, 'authentication rsa-sig', auth, { 'rsa-sig': 'Rivest-Shamir-Adelman Signature' });
  define(t, 'group {n:range:1-24}', ike((c, ctx, a) => { setOpt(pol(c, ctx), 'group', a.no ? undefined : Number(a.p.n)); }),
    { '{n}': 'Diffie-Hellman group' });
  define(t, 'lifetime {n:range:60-86400}', ike((c, ctx, a) => { setOpt(pol(c, ctx), 'lifetime', a.no ? undefined : Number(a.p.n)); }),
    { '{n}': 'lifetime in seconds' });
  return t;
}

function transTree(): Node {
  const t = subTree();
  const mode = crypto((c, ctx, a) => {
    const s = byName(c.transformSets ?? [], ctx.mode.ref);
    setOpt(s, 'mode', a.no ? undefined : a.kw.has('transport') ? 'transport' : 'tunnel');
  });
  define(t, 'mode transport', mode, { mode: 'encapsulation mode (transport/tunnel)', transport: 'transport (payload encapsulation only)' });
  define(t, 'mode tunnel', mode, { tunnel: 'tunnel (datagram encapsulation)' });
  return t;
}

function profileTree(): Node {
  const t = subTree();
  const sets = crypto((c, ctx, a) => {
    const p = byName(c.ipsecProfiles ?? [], ctx.mode.ref);
    p.transformSets = a.no ? [] : ['s1', 's2', 's3', 's4', 's5', 's6'].map(k => a.p[k]).filter(Boolean);
  });
  let spec = 'set transform-set';
  for (let i = 1; i <= 6; i++) { spec += ` {s${i}:word}`; define(t, spec, sets, { [`{s${i}}`]: 'Proposal tag' }); }
  define(t, 'set pfs {g:word}', crypto((c, ctx, a) => { setOpt(byName(c.ipsecProfiles ?? [], ctx.mode.ref), 'pfs', a.no ? undefined : a.p.g); }),
    { '{g}': 'D-H group (group2, group14, ...)' });
  const life = crypto((c, ctx, a) => {
    const p = byName(c.ipsecProfiles ?? [], ctx.mode.ref);
    const k = a.kw.has('seconds') ? 'lifetimeSeconds' : 'lifetimeKilobytes';
    setOpt(p, k, a.no ? undefined : Number(a.p.n));
  });
  define(t, 'set security-association lifetime seconds {n:range:120-86400}', life, { '{n}': 'Security association duration in seconds' });
  define(t, 'set security-association lifetime kilobytes {n:range:2560-4194303}', life, { '{n}': 'Security association duration in kilobytes' });
  ikev2ProfileCommand(t, crypto);
  return t;
}

function manualSaTree(): Node {
  const t = subTree();
  const sa = (c: CryptoConfig, ctx: ConfigCtx) => byName(c.manualSas ?? [], ctx.mode.ref);
  define(t, 'set peer {ip:ipv4}', crypto((c, ctx, a) => { setOpt(sa(c, ctx), 'peer', a.no ? undefined : a.p.ip); }), { '{ip}': 'IP address of peer' });
  define(t, 'set transform-set {name:word}', crypto((c, ctx, a) => { setOpt(sa(c, ctx), 'transformSet', a.no ? undefined : a.p.name); }),
    { '{name}': 'Proposal tag' });
  define(t, 'set udp-encapsulation', crypto((c, ctx, a) => { sa(c, ctx).udpEncapsulation = !a.no; }));
  const persist = crypto((c, ctx, a) => {
    if (a.no) { delete sa(c, ctx).sequencePersistence; return; }
    const p: { dir: string; block?: number } = { dir: a.p.dir };
    setOpt(p, 'block', a.p.block === undefined ? undefined : Number(a.p.block));
    sa(c, ctx).sequencePersistence = p;
  });
  const ph = { '{dir}': 'Directory for the sequence files, or default (/var/lib/dmvpnd/seq)', '{block}': 'Sequence numbers reserved per disk write' };
  define(t, 'set sequence-persistence {dir:word}', persist, ph);
  define(t, 'set sequence-persistence {dir:word} block {block:range:2-1073741824}', persist, ph);
  const key = crypto((c, ctx, a) => {
    const dir = a.kw.has('inbound') ? 'inbound' : 'outbound';
    if (a.no) { delete sa(c, ctx)[dir]; return; }
    const k = { spi: Number(a.p.spi), cipher: a.p.cipher ?? '' } as { spi: number; cipher: string; authenticator?: string };
    setOpt(k, 'authenticator', a.p.auth);
    sa(c, ctx)[dir] = k;
  });
  const kh = { '{spi}': 'SPI', '{cipher}': 'Cipher key (hex)', '{auth}': 'Authenticator key (hex)' };
  for (const dir of ['inbound', 'outbound']) {
    define(t, `set session-key ${dir} esp {spi:range:256-4294967295} cipher {cipher:hex}`, key, kh);
    define(t, `set session-key ${dir} esp {spi:range:256-4294967295} cipher {cipher:hex} authenticator {auth:hex}`, key, kh);
    // esp-null: integrity only, no cipher key
    define(t, `set session-key ${dir} esp {spi:range:256-4294967295} authenticator {auth:hex}`, key, kh);
  }
  return t;
}

function lineTree(): Node {
  const t = subTree();
  authLine(t);
  return t;
}

function routerTree(): Node {
  const t = subTree();
  const why: Act = () => 'dynamic routing is not supported';
  for (const w of ['network', 'redistribute', 'version', 'passive-interface', 'neighbor', 'router-id', 'eigrp', 'area',
    'default-information', 'auto-summary', 'maximum-paths', 'distance', 'timers', 'bgp', 'log-adjacency-changes', 'metric']) {
    define(t, w, why);
    define(t, `${w} {rest:line}`, why);
  }
  return t;
}

let memo: ConfigTrees | undefined;
/** The config-mode trees (built once; they hold no state). */
export function configTrees(): ConfigTrees {
  memo ??= {
    exec: undefined, priv: undefined, config: globalTree(), 'config-if': interfaceTree(), 'config-isakmp': isakmpTree(),
    'cfg-crypto-trans': transTree(), 'ipsec-profile': profileTree(), 'config-manual-sa': manualSaTree(), 'config-router': routerTree(),
    'config-line': lineTree(), ...routingTrees(subTree),
    ...ikev2Trees(crypto, subTree),
    ...pkiTrees(crypto, subTree),
    ...enrollmentTrees(subTree),
    ...eigrpTrees(subTree),
  } as ConfigTrees;
  return memo;
}
