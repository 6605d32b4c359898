// The `crypto ikev2 ...` commands (IOS 15 / IOS-XE syntax) and `set ikev2-profile` in an ipsec profile:
// proposal, policy, keyring (with peer sub-mode), profile, dpd, cookie-challenge, fragmentation. Kept
// out of grammar.ts (which registers these with one call each) so the IKEv1 and IKEv2 work do not
// edit the same block; it takes grammar.ts's helpers as arguments rather than importing it (no cycle).
import { Node, define, CliError, Args } from '../cli/tree.js';
import type { ConfigCtx, ModeId } from './modes.js';
import type { CryptoConfig } from './model.js';
import type { Ikev2Config, Ikev2Dpd } from './model-ikev2.js';
import { trustpointOf } from './model-pki.js';
import { isDnsName } from '../net/dns-name.js';

type Act = (ctx: ConfigCtx, a: Args) => string | void;
/** grammar.ts's wrapper: runs the edit, then regenerates the canonical crypto lines. */
export type CryptoWrap = (f: (c: CryptoConfig, ctx: ConfigCtx, a: Args) => void) => Act;

export const IKEV2_ENCRYPTION = ['aes-cbc-128', 'aes-cbc-192', 'aes-cbc-256', 'aes-gcm-128', 'aes-gcm-256', 'chacha20-poly1305'];
export const IKEV2_INTEGRITY = ['sha1', 'sha256', 'sha384', 'sha512'];
export const IKEV2_GROUPS = ['14', '19', '20', '31'];
const MAX_ALGS = 6;
/** `authentication local|remote ...`: IOS's, plus ed25519-sig (RFC 8420), this appliance's extension. */
const IKEV2_AUTH_METHODS = ['pre-share', 'rsa-sig', 'ecdsa-sig', 'ed25519-sig'];

function v2(c: CryptoConfig): Ikev2Config { c.ikev2 ??= {}; return c.ikev2; }

/** Drops empty lists and an empty ikev2 object, so a config without IKEv2 compares equal to a fresh one. */
function prune(c: CryptoConfig): void {
  const k = c.ikev2;
  if (!k) return;
  for (const f of ['proposals', 'policies', 'keyrings', 'profiles'] as const) if (k[f]?.length === 0) delete k[f];
  if (Object.keys(k).length === 0) delete c.ikev2;
}

function named<T extends { name: string }>(xs: T[] | undefined, name: string | undefined, what: string): T {
  const x = xs?.find((e) => e.name === name);
  if (!x) throw new CliError(`ikev2 ${what} ${name} no longer exists`);
  return x;
}

/** `a b c ...` arguments of a multi-value command, each checked against `allowed`. */
function values(a: Args, allowed: string[]): string[] {
  const out = Array.from({ length: MAX_ALGS }, (_, i) => a.p[`v${i + 1}`]).filter((x): x is string => Boolean(x));
  for (const v of out) if (!allowed.includes(v)) throw new CliError(`% ${v} not supported (one of: ${allowed.join(' ')})`);
  return out;
}

function defineMulti(t: Node, word: string, act: Act, help: string): void {
  let spec = word;
  for (let i = 1; i <= MAX_ALGS; i++) { spec += ` {v${i}:word}`; define(t, spec, act, { [`{v${i}}`]: help }); }
}

export function ikev2Global(g: Node, wrap: CryptoWrap): void {
  const w = (f: (c: CryptoConfig, ctx: ConfigCtx, a: Args) => void) => wrap((c, ctx, a) => { f(c, ctx, a); prune(c); });
  const enterList = <K extends 'proposals' | 'policies' | 'keyrings' | 'profiles'>(key: K, mode: ModeId, make: (name: string) => NonNullable<Ikev2Config[K]>[number]) =>
    w((c, ctx, a) => {
      const k = v2(c);
      const list = (k[key] ??= [] as never) as Array<{ name: string }>;
      if (a.no) { (k as Record<string, unknown>)[key] = list.filter((x) => x.name !== a.p.name); return; }
      if (!list.some((x) => x.name === a.p.name)) list.push(make(a.p.name));
      ctx.enter({ id: mode, ref: a.p.name });
    });
  define(g, 'crypto ikev2 proposal {name:word}', enterList('proposals', 'config-ikev2-proposal', (name) => ({ name, encryption: [], integrity: [], prf: [], group: [] })),
    { ikev2: 'Configure IKEv2 parameters', proposal: 'Define IKEv2 proposals', '{name}': 'Proposal name' });
  define(g, 'crypto ikev2 policy {name:word}', enterList('policies', 'config-ikev2-policy', (name) => ({ name, proposals: [] })), { '{name}': 'Policy name' });
  define(g, 'crypto ikev2 keyring {name:word}', enterList('keyrings', 'config-ikev2-keyring', (name) => ({ name, peers: [] })), { '{name}': 'Keyring name' });
  define(g, 'crypto ikev2 profile {name:word}', enterList('profiles', 'config-ikev2-profile', (name) => ({ name })), { '{name}': 'Profile name' });
  const dpd = w((c, _ctx, a) => { v2(c).dpd = a.no ? undefined : dpdOf(a); if (a.no) delete v2(c).dpd; });
  for (const m of ['on-demand', 'periodic']) define(g, `crypto ikev2 dpd {i:range:10-3600} {r:range:2-60} ${m}`, dpd, { '{i}': 'DPD interval in seconds', '{r}': 'Retry interval in seconds' });
  define(g, 'crypto ikev2 cookie-challenge {n:range:1-1000}', w((c, _ctx, a) => { if (a.no) delete v2(c).cookieChallenge; else v2(c).cookieChallenge = Number(a.p.n); }),
    { 'cookie-challenge': 'Enable cookie challenge', '{n}': 'Half-open SAs above which a cookie is demanded' });
  const frag = w((c, _ctx, a) => { if (a.no) delete v2(c).fragmentationMtu; else v2(c).fragmentationMtu = a.p.mtu ? Number(a.p.mtu) : 576; });
  define(g, 'crypto ikev2 fragmentation', frag, { fragmentation: 'Enable IKEv2 fragmentation (RFC 7383)' });
  define(g, 'crypto ikev2 fragmentation mtu {mtu:range:68-1500}', frag, { '{mtu}': 'MTU' });
}

function dpdOf(a: Args): Ikev2Dpd {
  return { interval: Number(a.p.i), retry: Number(a.p.r), mode: a.kw.has('periodic') ? 'periodic' : 'on-demand' };
}

/** The sub-mode trees; `subTree(exitTo)` is grammar.ts's (exit, end, no). */
export function ikev2Trees(wrap: CryptoWrap, subTree: (exitTo?: ModeId) => Node): Partial<Record<ModeId, Node>> {
  const w = (f: (c: CryptoConfig, ctx: ConfigCtx, a: Args) => void) => wrap((c, ctx, a) => { f(c, ctx, a); prune(c); });

  const proposal = subTree();
  const prop = (c: CryptoConfig, ctx: ConfigCtx) => named(c.ikev2?.proposals, ctx.mode.ref, 'proposal');
  defineMulti(proposal, 'encryption', w((c, ctx, a) => { prop(c, ctx).encryption = a.no ? [] : values(a, IKEV2_ENCRYPTION); }), IKEV2_ENCRYPTION.join(' | '));
  defineMulti(proposal, 'integrity', w((c, ctx, a) => { prop(c, ctx).integrity = a.no ? [] : values(a, IKEV2_INTEGRITY); }), IKEV2_INTEGRITY.join(' | '));
  defineMulti(proposal, 'prf', w((c, ctx, a) => { prop(c, ctx).prf = a.no ? [] : values(a, IKEV2_INTEGRITY); }), IKEV2_INTEGRITY.join(' | '));
  defineMulti(proposal, 'group', w((c, ctx, a) => { prop(c, ctx).group = a.no ? [] : values(a, IKEV2_GROUPS).map(Number); }), IKEV2_GROUPS.join(' | '));

  const policy = subTree();
  define(policy, 'proposal {name:word}', w((c, ctx, a) => {
    const p = named(c.ikev2?.policies, ctx.mode.ref, 'policy');
    p.proposals = p.proposals.filter((x) => x !== a.p.name);
    if (!a.no) p.proposals.push(a.p.name);
  }), { '{name}': 'Proposal name' });

  const keyring = subTree();
  define(keyring, 'peer {name:word}', w((c, ctx, a) => {
    const k = named(c.ikev2?.keyrings, ctx.mode.ref, 'keyring');
    if (a.no) { k.peers = k.peers.filter((p) => p.name !== a.p.name); return; }
    if (!k.peers.some((p) => p.name === a.p.name)) k.peers.push({ name: a.p.name });
    ctx.enter({ id: 'config-ikev2-keyring-peer', ref: `${k.name}\u0000${a.p.name}` });
  }), { '{name}': 'Peer name' });

  const peer = subTree();
  define(peer, 'exit', (ctx) => ctx.enter({ id: 'config-ikev2-keyring', ref: (ctx.mode.ref ?? '').split('\u0000')[0] }));
  const peerOf = (c: CryptoConfig, ctx: ConfigCtx) => {
    const [kr, name] = (ctx.mode.ref ?? '').split('\u0000');
    return named(named(c.ikev2?.keyrings, kr, 'keyring').peers, name, 'keyring peer');
  };
  const addr = w((c, ctx, a) => {
    const p = peerOf(c, ctx);
    if (a.no) { delete p.address; delete p.mask; return; }
    p.address = a.p.addr;
    if (a.p.mask) p.mask = a.p.mask; else delete p.mask;
  });
  define(peer, 'address {addr:ipv4}', addr, { '{addr}': 'IPv4 address of the peer' });
  define(peer, 'address {addr:ipv4} {mask:mask}', addr, { '{mask}': 'Mask' });
  define(peer, 'identity address {addr:ipv4}', w((c, ctx, a) => { const p = peerOf(c, ctx); if (a.no) delete p.identity; else p.identity = a.p.addr; }), { '{addr}': 'IKE identity (an IPv4 address)' });
  define(peer, 'identity fqdn {name:word}', w((c, ctx, a) => { const p = peerOf(c, ctx); if (a.no) delete p.identity; else p.identity = a.p.name; }), { '{name}': 'IKE identity (an FQDN)' });
  define(peer, 'pre-shared-key {key:word}', w((c, ctx, a) => { const p = peerOf(c, ctx); if (a.no) delete p.key; else p.key = a.p.key; }), { '{key}': 'The pre-shared key' });

  const profile = subTree();
  const prof = (c: CryptoConfig, ctx: ConfigCtx) => named(c.ikev2?.profiles, ctx.mode.ref, 'profile');
  define(profile, 'match identity remote address {addr:ipv4} {mask:mask}', w((c, ctx, a) => {
    const p = prof(c, ctx);
    if (a.no) delete p.matchRemote; else p.matchRemote = { address: a.p.addr, mask: a.p.mask };
  }), { '{addr}': 'IPv4 address', '{mask}': 'Mask' });
  define(profile, 'identity local fqdn {name:word}', w((c, ctx, a) => {
    const p = prof(c, ctx);
    if (a.no) { delete p.identityLocalFqdn; return; }
    if (!isDnsName(a.p.name)) throw new CliError('Invalid FQDN (labels of letters, digits and "-", at most 253 characters)');
    p.identityLocalFqdn = a.p.name.toLowerCase();
  }), { identity: 'Specify the local IKE identity', local: 'Local identity', fqdn: 'Fully qualified domain name (ID_FQDN)', '{name}': 'The FQDN' });
  for (const side of ['local', 'remote'] as const) {
    for (const m of IKEV2_AUTH_METHODS) {
      define(profile, `authentication ${side} ${m}`, w((c, ctx, a) => {
        const p = prof(c, ctx), f = side === 'local' ? 'authLocal' : 'authRemote';
        if (a.no) delete p[f]; else p[f] = m;
      }), { 'rsa-sig': 'Rivest-Shamir-Adleman Signature', 'ecdsa-sig': 'Elliptic Curve Digital Signature Algorithm Signature',
        'ed25519-sig': 'Ed25519 signature, RFC 8420 (not IOS: this appliance\'s extension)', 'pre-share': 'Pre-Shared Key' });
    }
  }
  define(profile, 'pki trustpoint {name:word}', w((c, ctx, a) => {
    const p = prof(c, ctx);
    if (a.no) { delete p.pkiTrustpoint; return; }
    // the running-config prints trustpoints before ikev2 profiles, so a saved config reloads
    if (!trustpointOf(c, a.p.name)) throw new CliError(`trustpoint ${a.p.name} is not defined (crypto pki trustpoint ${a.p.name} first)`);
    p.pkiTrustpoint = a.p.name;
  }),
    { pki: 'Specify certificate authorities', trustpoint: 'Specify the trustpoint', '{name}': 'Trustpoint name' });
  define(profile, 'keyring local {name:word}', w((c, ctx, a) => { const p = prof(c, ctx); if (a.no) delete p.keyring; else p.keyring = a.p.name; }), { '{name}': 'Keyring name' });
  for (const m of ['on-demand', 'periodic']) {
    define(profile, `dpd {i:range:10-3600} {r:range:2-60} ${m}`, w((c, ctx, a) => { const p = prof(c, ctx); if (a.no) delete p.dpd; else p.dpd = dpdOf(a); }),
      { '{i}': 'DPD interval in seconds', '{r}': 'Retry interval in seconds' });
  }
  define(profile, 'lifetime {n:range:120-86400}', w((c, ctx, a) => { const p = prof(c, ctx); if (a.no) delete p.lifetime; else p.lifetime = Number(a.p.n); }), { '{n}': 'IKE SA lifetime in seconds' });

  return { 'config-ikev2-proposal': proposal, 'config-ikev2-policy': policy, 'config-ikev2-keyring': keyring, 'config-ikev2-keyring-peer': peer, 'config-ikev2-profile': profile };
}

/** `set ikev2-profile NAME` inside `crypto ipsec profile`. */
export function ikev2ProfileCommand(t: Node, wrap: CryptoWrap): void {
  define(t, 'set ikev2-profile {name:word}', wrap((c, ctx, a) => {
    const p = named(c.ipsecProfiles, ctx.mode.ref, 'ipsec profile');
    if (a.no) delete p.ikev2Profile; else p.ikev2Profile = a.p.name;
  }), { '{name}': 'IKEv2 profile name' });
}
