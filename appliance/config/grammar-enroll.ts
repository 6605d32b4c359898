// `dmvpn enrollment` (sub-mode config-dmvpn-enroll): the hub's zero-touch enrollment server
// (docs/enrollment.md). A typed token secret is kept as its SHA-256 (`token NAME sha256 HEX`, as the
// running-config prints it), so neither the running-config nor a saved file holds a usable secret.
import { createHash } from 'node:crypto';
import { Node, define, CliError, Args } from '../cli/tree.js';
import type { ConfigCtx, ModeId } from './modes.js';
import { RENEWAL_GRACE_DAYS, TOKEN_NAME, type EnrollmentConfig } from './model-enroll.js';
import { ipToU32 } from '../net/ipv4.js';

type Act = (ctx: ConfigCtx, a: Args) => string | void;

/** a token secret shorter than this is refused: it is the only thing between the Internet and a certificate */
const MIN_SECRET = 16;
/** at most this many addresses in the pool (the hub keeps one binding per address) */
const MAX_POOL = 4096;
const MAX_TOKENS = 256;

const HELP: Record<string, string> = {
  dmvpn: 'DMVPN services', enrollment: 'Zero-touch enrollment server', trustpoint: 'Trustpoint of the hub\'s TLS identity and CA certificate',
  'ca-keypair': 'Key pair of the CA that signs device certificates', listen: 'Enrollment listener', port: 'TCP port (default 4430)',
  pool: 'Tunnel addresses given to enrolled devices', template: 'Spoke configuration template file', approval: 'Approval of requests',
  auto: 'Admit every request with a valid token', manual: 'Hold requests until dmvpn enrollment approve', token: 'Enrollment token',
  sha256: 'The secret\'s SHA-256 (as the running-config shows it)', 'one-time': 'Admits one device key only', expires: 'Refused from this day on (UTC)',
  '{date}': 'YYYY-MM-DD', '{name}': 'Name', '{port}': 'TCP port', '{start}': 'First address', '{end}': 'Last address', '{hex}': '64 hexadecimal digits', '{secret}': `Secret (at least ${MIN_SECRET} characters)`, '{file}': 'File (relative to the startup-config\'s directory)',
};

const ctxEnroll = (ctx: ConfigCtx): EnrollmentConfig => {
  const e = ctx.cfg.enrollment;
  if (!e) throw new CliError('dmvpn enrollment no longer exists');
  return e;
};
const set = <K extends keyof EnrollmentConfig>(f: (a: Args) => EnrollmentConfig[K], k: K): Act => (ctx, a) => {
  const e = ctxEnroll(ctx);
  if (a.no) delete e[k]; else e[k] = f(a);
};

export function enrollmentGlobal(g: Node): void {
  define(g, 'dmvpn enrollment', (ctx, a) => {
    if (a.no) { delete ctx.cfg.enrollment; return; }
    ctx.cfg.enrollment ??= { tokens: [] };
    ctx.enter({ id: 'config-dmvpn-enroll' });
  }, HELP);
}

const isDate = (d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(`${d}T00:00:00Z`));

export function enrollmentTrees(subTree: (exitTo?: ModeId) => Node): Partial<Record<ModeId, Node>> {
  const t = subTree();
  define(t, 'trustpoint {name:word}', set((a) => a.p.name, 'trustpoint'), HELP);
  define(t, 'ca-keypair {name:word}', set((a) => a.p.name, 'caKeypair'), HELP);
  define(t, 'listen port {port:range:1-65535}', set((a) => Number(a.p.port), 'port'), HELP);
  define(t, 'template {file:word}', set((a) => {
    if (a.p.file.split('/').includes('..')) throw new CliError(`template ${a.p.file}: ".." is not allowed`);
    return a.p.file;
  }, 'template'), HELP);
  define(t, 'pool {start:ipv4} {end:ipv4}', set((a) => {
    const n = ipToU32(a.p.end) - ipToU32(a.p.start) + 1;
    if (n < 1) throw new CliError(`pool ${a.p.start} ${a.p.end}: the end is below the start`);
    if (n > MAX_POOL) throw new CliError(`pool ${a.p.start} ${a.p.end}: ${n} addresses, at most ${MAX_POOL}`);
    return { start: a.p.start, end: a.p.end };
  }, 'pool'), HELP);
  const lifetime: Act = (ctx, a) => {
    const e = ctxEnroll(ctx);
    if (a.no) { delete e.lifetime; return; }
    const days = Number(a.p.days), minutes = a.p.minutes === undefined ? undefined : Number(a.p.minutes);
    if (days === 0 && !minutes) throw new CliError('lifetime certificate: at least one minute');
    e.lifetime = { days, ...(minutes !== undefined ? { minutes } : {}) };
  };
  const lifetimeHelp = { ...HELP, lifetime: 'Lifetime of what the server issues', certificate: 'Device certificates (default 365 days)', '{days}': 'Days', '{minutes}': 'And minutes (not IOS: for short-lived certificates)' };
  define(t, 'lifetime certificate {days:range:0-1825}', lifetime, lifetimeHelp);
  define(t, 'lifetime certificate {days:range:0-1825} {minutes:range:0-1439}', lifetime, lifetimeHelp);
  const graceHelp = { ...HELP, renewal: 'Certificate renewal', grace: `Days after its end an expired device certificate may still renew (default ${RENEWAL_GRACE_DAYS}, 0: none)`, '{days}': 'Days' };
  define(t, 'renewal grace {days:range:0-3650}', set((a) => Number(a.p.days), 'renewalGraceDays'), graceHelp);
  define(t, 'renewal grace', (ctx, a) => { if (!a.no) throw new CliError('Incomplete command.'); delete ctxEnroll(ctx).renewalGraceDays; }, graceHelp);
  define(t, 'renewal regenerate', (ctx, a) => { const e = ctxEnroll(ctx); if (a.no) delete e.renewalRegenerate; else e.renewalRegenerate = true; },
    { ...graceHelp, regenerate: 'Spokes enrolled from now on make a new key pair at each renewal' });
  const approval: Act = (ctx, a) => { const e = ctxEnroll(ctx); if (a.no || a.kw.has('auto')) delete e.manual; else e.manual = true; };
  define(t, 'approval auto', approval, HELP);
  define(t, 'approval manual', approval, HELP);

  const token: Act = (ctx, a) => {
    const e = ctxEnroll(ctx);
    if (a.no) { e.tokens = e.tokens.filter((x) => x.name !== a.p.name); return; }
    if (!TOKEN_NAME.test(a.p.name)) throw new CliError(`token ${a.p.name}: a name of letters, digits, "_", "-", "." (at most 64), as a request carries it`);
    let sha256: string;
    if (a.kw.has('sha256')) {
      if (!/^[0-9a-f]{64}$/.test(a.p.hex)) throw new CliError(`token ${a.p.name}: sha256 wants 64 hexadecimal digits`);
      sha256 = a.p.hex;
    } else {
      if (a.p.secret.length < MIN_SECRET) throw new CliError(`token ${a.p.name}: the secret must have at least ${MIN_SECRET} characters`);
      sha256 = createHash('sha256').update(a.p.secret, 'utf8').digest('hex');
    }
    if (a.p.date !== undefined && !isDate(a.p.date)) throw new CliError(`token ${a.p.name}: expires ${a.p.date}: YYYY-MM-DD expected`);
    const entry = { name: a.p.name, sha256, ...(a.kw.has('one-time') ? { oneTime: true } : {}), ...(a.p.date ? { expires: a.p.date } : {}) };
    const i = e.tokens.findIndex((x) => x.name === a.p.name);
    if (i < 0 && e.tokens.length >= MAX_TOKENS) throw new CliError(`at most ${MAX_TOKENS} tokens`);
    if (i >= 0) e.tokens[i] = entry; else e.tokens.push(entry);
  };
  for (const head of ['token {name:word} {secret:word}', 'token {name:word} sha256 {hex:hex}']) {
    for (const tail of ['', ' one-time', ' expires {date:word}', ' one-time expires {date:word}']) define(t, head + tail, token, HELP);
  }
  define(t, 'token {name:word}', (ctx, a) => { if (!a.no) throw new CliError('Incomplete command.'); token(ctx, a); }, HELP);
  return { 'config-dmvpn-enroll': t };
}
