// `crypto pki trustpoint NAME` (sub-mode ca-trustpoint) and `crypto pki certificate chain NAME` (sub-mode
// config-cert-chain) with its `certificate [ca] SERIAL` blocks: hex lines until `quit` (mode
// config-pubkey, as IOS). The hex of a block being typed is carried in the mode (ModeState.ref), not in
// the config, so the config changes once, at `quit`, and only with a certificate that parses as X.509,
// whose serial is the one named and, for `certificate ca`, that is a CA: a half-typed or malformed
// block never reaches the running config. Takes grammar.ts's helpers as arguments (no import cycle).
import { X509Certificate } from 'node:crypto';
import { Node, root, define, CliError, Args } from '../cli/tree.js';
import type { ConfigCtx, ModeId } from './modes.js';
import type { CryptoConfig } from './model.js';
import { trustpointOf, enrollmentUrlOf, AUTO_ENROLL_DEFAULT, type PkiConfig, type KeyKind } from './model-pki.js';
import { isIPv4 } from 'node:net';
import type { CryptoWrap } from './grammar-ikev2.js';

type Act = (ctx: ConfigCtx, a: Args) => string | void;
const SEP = '\u0000';
/** a certificate block larger than this is refused (a DMVPN certificate is 0.5-2 kB) */
const MAX_CERT_BYTES = 16384;

function pki(c: CryptoConfig): PkiConfig { c.pki ??= {}; return c.pki; }

/** Drops empty lists and an empty pki object (a config without PKI compares equal to a fresh one). */
function prune(c: CryptoConfig): void {
  const p = c.pki;
  if (!p) return;
  if (p.chains) p.chains = p.chains.filter((ch) => ch.certs.length > 0);
  if (p.trustpoints?.length === 0) delete p.trustpoints;
  if (p.chains?.length === 0) delete p.chains;
  if (Object.keys(p).length === 0) delete c.pki;
}

/** A serial as X509Certificate.serialNumber gives it (upper-case hex), leading zeros kept to whole bytes. */
const canonicalSerial = (s: string) => { const h = s.toUpperCase().replace(/^0+(?=.)/, ''); return h.length % 2 ? `0${h}` : h; };

/** The certificate a `certificate [ca] SERIAL ... quit` block holds, or why it is refused. */
function chainCertificate(hex: string, serial: string, ca: boolean): X509Certificate {
  if (hex.length === 0) throw new CliError(`certificate ${serial}: no certificate data before quit`);
  if (hex.length % 2) throw new CliError(`certificate ${serial}: odd number of hex digits (${hex.length})`);
  let cert: X509Certificate;
  try { cert = new X509Certificate(Buffer.from(hex, 'hex')); } catch (e) {
    throw new CliError(`certificate ${serial}: not an X.509 certificate in DER (${(e as Error).message})`);
  }
  if (canonicalSerial(cert.serialNumber) !== canonicalSerial(serial)) throw new CliError(`certificate ${serial}: the certificate's serial number is ${cert.serialNumber}`);
  if (ca && !cert.ca) throw new CliError(`certificate ca ${serial}: not a CA certificate (basicConstraints CA:FALSE or absent)`);
  return cert;
}

export function pkiGlobal(g: Node, wrap: CryptoWrap): void {
  const w = (f: (c: CryptoConfig, ctx: ConfigCtx, a: Args) => void) => wrap((c, ctx, a) => { f(c, ctx, a); prune(c); });
  define(g, 'crypto pki trustpoint {name:word}', w((c, ctx, a) => {
    const p = pki(c);
    const tps = (p.trustpoints ??= []);
    if (a.no) {
      // a profile naming it would make the running-config one that does not load back
      const user = c.ikev2?.profiles?.find((p) => p.pkiTrustpoint === a.p.name);
      if (user) throw new CliError(`trustpoint ${a.p.name} is used by ikev2 profile ${user.name} (remove its pki trustpoint ${a.p.name} first)`);
      // as IOS: removing a trustpoint removes its certificates
      p.trustpoints = tps.filter((t) => t.name !== a.p.name);
      if (p.chains) p.chains = p.chains.filter((ch) => ch.name !== a.p.name);
      return;
    }
    if (!tps.some((t) => t.name === a.p.name)) tps.push({ name: a.p.name });
    ctx.enter({ id: 'ca-trustpoint', ref: a.p.name });
  }), { pki: 'Public Key components', trustpoint: 'Define a CA trustpoint', '{name}': 'Trustpoint name' });
  define(g, 'crypto pki certificate chain {name:word}', w((c, ctx, a) => {
    const p = pki(c);
    if (a.no) { if (p.chains) p.chains = p.chains.filter((ch) => ch.name !== a.p.name); return; }
    if (!trustpointOf(c, a.p.name)) throw new CliError(`trustpoint ${a.p.name} is not defined (crypto pki trustpoint ${a.p.name} first)`);
    ctx.enter({ id: 'config-cert-chain', ref: a.p.name });
  }), { certificate: 'Actions on certificates', chain: 'Certificate chain for a trustpoint', '{name}': 'Trustpoint name' });
}

export function pkiTrees(wrap: CryptoWrap, subTree: (exitTo?: ModeId) => Node): Partial<Record<ModeId, Node>> {
  const w = (f: (c: CryptoConfig, ctx: ConfigCtx, a: Args) => void) => wrap((c, ctx, a) => { f(c, ctx, a); prune(c); });
  const tp = (c: CryptoConfig, ctx: ConfigCtx) => {
    const t = trustpointOf(c, ctx.mode.ref);
    if (!t) throw new CliError(`trustpoint ${ctx.mode.ref} no longer exists`);
    return t;
  };

  const trustpoint = subTree();
  define(trustpoint, 'enrollment terminal', w((c, ctx, a) => { const t = tp(c, ctx); if (a.no) delete t.enrollment; else t.enrollment = 'terminal'; }),
    { enrollment: 'Enrollment parameters', terminal: 'Enroll via the terminal (cut-and-paste)' });
  define(trustpoint, 'revocation-check none', w((c, ctx, a) => { const t = tp(c, ctx); if (a.no) delete t.revocationNone; else t.revocationNone = true; }),
    { 'revocation-check': 'Revocation checking options', none: 'Ignore revocation check (the only method here: no CRL or OCSP fetching)' });
  define(trustpoint, 'subject-name {dn:line}', w((c, ctx, a) => { const t = tp(c, ctx); if (a.no) delete t.subjectName; else t.subjectName = a.p.dn; }),
    { 'subject-name': 'Subject Name', '{dn}': 'subject name (e.g. CN=spoke1,O=example)' });
  define(trustpoint, 'ip-address {addr:ipv4}', w((c, ctx, a) => { const t = tp(c, ctx); if (a.no) delete t.ipAddress; else t.ipAddress = a.p.addr; }),
    { 'ip-address': 'Include IP address in the certificate request', '{addr}': 'IPv4 address' });
  const pair = (kind: KeyKind): Act => w((c, ctx, a) => {
    const t = tp(c, ctx);
    if (a.no) { delete t.keyPair; return; }
    t.keyPair = { kind, label: a.p.label };
    if (a.p.bits) t.keyPair.bits = Number(a.p.bits);
  });
  define(trustpoint, 'rsakeypair {label:word}', pair('rsa'), { rsakeypair: 'Specify the RSA key pair to use', '{label}': 'Key pair label' });
  define(trustpoint, 'rsakeypair {label:word} {bits:range:2048-4096}', pair('rsa'), { '{bits}': 'Key size (crypto key generate rsa ... modulus N makes the key)' });
  // what IOS writes into a trustpoint that only matters for enrollment requests, which are not made here
  const enrollmentOnly: Act = () => 'used by enrollment requests only (none are made here: enrollment terminal)';
  for (const spec of ['serial-number', 'serial-number none', 'fqdn none', 'fqdn {name:word}', 'ip-address none', 'subject-alt-name {name:word}']) define(trustpoint, spec, enrollmentOnly);
  const unsupported = (why: string): Act => (_ctx, a) => { if (!a.no) throw new CliError(why); };
  define(trustpoint, 'enrollment url {url:word}', w((c, ctx, a) => {
    const t = tp(c, ctx);
    if (a.no) { delete t.enrollment; return; }
    const url = `url ${a.p.url}` as const;
    const at = enrollmentUrlOf({ name: t.name, enrollment: url });
    if (!at || !isIPv4(at.host) || at.port < 1 || at.port > 65535) throw new CliError(`enrollment url ${a.p.url}: https://ADDRESS:PORT of a DMVPN enrollment server expected (SCEP is not supported)`);
    t.enrollment = url;
  }), { url: 'Enrollment URL', '{url}': 'https://ADDRESS:PORT of the hub\'s enrollment server (renews the certificate)' });
  const autoEnroll = w((c, ctx, a) => {
    const t = tp(c, ctx);
    if (a.no) { delete t.autoEnroll; delete t.autoEnrollRegenerate; return; }
    t.autoEnroll = a.p.pct === undefined ? AUTO_ENROLL_DEFAULT : Number(a.p.pct);
    if (a.kw.has('regenerate')) t.autoEnrollRegenerate = true; else delete t.autoEnrollRegenerate;
  });
  const autoHelp = { 'auto-enroll': 'Renew the certificate automatically (enrollment url)', '{pct}': 'Renew once this percent of its lifetime has passed', regenerate: 'Generate a new key pair at each renewal' };
  for (const form of ['auto-enroll', 'auto-enroll {pct:range:1-100}', 'auto-enroll regenerate', 'auto-enroll {pct:range:1-100} regenerate']) define(trustpoint, form, autoEnroll, autoHelp);
  for (const m of ['selfsigned', 'profile {name:word}']) {
    define(trustpoint, `enrollment ${m}`, unsupported('only enrollment terminal (certificates pasted: crypto pki authenticate / crypto pki import) or enrollment url https://ADDRESS:PORT (a DMVPN enrollment server) is supported'));
  }
  for (const m of ['crl', 'ocsp', 'crl none', 'ocsp none']) {
    define(trustpoint, `revocation-check ${m}`, unsupported('only revocation-check none is supported (no CRL or OCSP is fetched)'));
  }
  define(trustpoint, 'eckeypair {label:word}', pair('ec'), { eckeypair: 'Specify the EC key pair to use' });
  define(trustpoint, 'ed25519keypair {label:word}', pair('ed25519'), { ed25519keypair: 'Specify the Ed25519 key pair to use (not IOS: this appliance\'s extension)' });

  const chain = subTree();
  const enterCert = (ctx: ConfigCtx, a: Args, ca: boolean) => {
    const name = ctx.mode.ref ?? '';
    if (a.no) return false;
    if (!/^[0-9a-f]{1,40}$/i.test(a.p.serial)) throw new CliError(`certificate serial ${a.p.serial}: hexadecimal digits expected`);
    ctx.enter({ id: 'config-pubkey', ref: [name, a.p.serial, ca ? 'ca' : '', ''].join(SEP) });
    return true;
  };
  const removeCert = w((c, ctx, a) => {
    const ch = c.pki?.chains?.find((x) => x.name === ctx.mode.ref);
    if (ch) ch.certs = ch.certs.filter((x) => canonicalSerial(x.serial) !== canonicalSerial(a.p.serial));
  });
  const certCmd = (ca: boolean): Act => (ctx, a) => (enterCert(ctx, a, ca) ? undefined : removeCert(ctx, a));
  define(chain, 'certificate {serial:word}', certCmd(false), { certificate: 'Enter a certificate (hex lines, then quit)', '{serial}': 'Serial number (hex)' });
  define(chain, 'certificate ca {serial:word}', certCmd(true), { ca: 'The certification authority\'s certificate' });
  define(chain, 'quit', (ctx) => ctx.enter({ id: 'config' }), { quit: 'Exit from certificate chain mode' });

  // hex data of one certificate, until quit: nothing of it reaches the config before quit
  const data = root();
  define(data, 'quit', w((c, ctx) => {
    const [name, serial, ca, hex] = (ctx.mode.ref ?? '').split(SEP);
    if (!trustpointOf(c, name)) throw new CliError(`trustpoint ${name} no longer exists`);
    const cert = chainCertificate(hex, serial, ca === 'ca');
    const p = pki(c);
    const chains = (p.chains ??= []);
    let ch = chains.find((x) => x.name === name);
    if (!ch) { ch = { name, certs: [] }; chains.push(ch); }
    const entry = { serial: cert.serialNumber, ca: ca === 'ca', der: hex };
    const at = ch.certs.findIndex((x) => canonicalSerial(x.serial) === canonicalSerial(serial));
    if (at >= 0) ch.certs[at] = entry; else ch.certs.push(entry);
    ctx.enter({ id: 'config-cert-chain', ref: name });
  }), { quit: 'End of certificate data' });
  define(data, '{hex:line}', (ctx, a) => {
    const words = a.p.hex.trim().split(/\s+/);
    const bad = words.find((x) => !/^[0-9a-f]+$/i.test(x));
    if (bad !== undefined) throw new CliError(`certificate data: "${bad}" is not hexadecimal (end the certificate with quit)`);
    const [name, serial, ca, hex] = (ctx.mode.ref ?? '').split(SEP);
    const more = hex + words.join('').toLowerCase();
    if (more.length > 2 * MAX_CERT_BYTES) throw new CliError(`certificate ${serial}: longer than ${MAX_CERT_BYTES} bytes`);
    ctx.enter({ id: 'config-pubkey', ref: [name, serial, ca, more].join(SEP) });
  }, { '{hex}': 'Certificate data (hex)' });

  return { 'ca-trustpoint': trustpoint, 'config-cert-chain': chain, 'config-pubkey': data };
}
