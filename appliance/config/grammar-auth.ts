// Login and privilege configuration as IOS writes it: `enable secret|password`, `username`,
// `service password-encryption`, and the `line con 0` sub-mode (`login`, `login local`, `password`).
// Typed (type 0) secrets are hashed at once (type 9, scrypt) so the clear text never reaches the
// model, the running-config or a saved file; pasted type 5/8/9 hashes and type 7 passwords are kept
// as written after a format check. Empty auth config is removed from the model (configs without any
// of these lines compare equal to the factory default).
import { Node, define, CliError, Args } from '../cli/tree.js';
import type { ConfigCtx } from './modes.js';
import type { AuthConfig, LinePassword, LocalUser } from './model.js';
import { hashSecret, md5Crypt, type8, secretType, encodeType7, decodeType7, ciscoBase64 } from '../auth/secrets.js';
import { randomBytes } from 'node:crypto';

type Act = (ctx: ConfigCtx, a: Args) => string | void;

const MAX_PASSWORD = 127;
export const DEFAULT_EXEC_TIMEOUT = 600;
const HELP: Record<string, string> = {
  secret: 'Assign the privileged level secret (MAX of 25 characters)', password: 'Assign the privileged level password',
  '0': 'Specifies an UNENCRYPTED password will follow', '5': 'Specifies a MD5 HASHED secret will follow',
  '8': 'Specifies a PBKDF2 HASHED secret will follow', '9': 'Specifies a SCRYPT HASHED secret will follow',
  '7': 'Specifies a HIDDEN password will follow', '4': 'Specifies a SHA-256 HASHED secret (not accepted here)',
  '6': 'Specifies an ENCRYPTED password will follow (not accepted here)', '{pw}': 'The UNENCRYPTED (cleartext) password or secret',
  '{h}': 'The HASHED or HIDDEN string', 'algorithm-type': 'Algorithm to use for hashing the plaintext secret',
  md5: 'Encode the password using the MD5 algorithm', sha256: 'Encode the password using the PBKDF2 algorithm',
  scrypt: 'Encode the password using the SCRYPT algorithm', privilege: 'Set user privilege level',
  '{lvl}': 'User privilege level', username: 'Establish User Name Authentication', '{name}': 'User name',
  'password-encryption': 'Encrypt system passwords', line: 'Configure a terminal line', console: 'Primary terminal line',
  login: 'Enable password checking', local: 'Local password checking', vty: 'Virtual terminal',
};

function auth(ctx: ConfigCtx): AuthConfig {
  ctx.cfg.auth ??= { users: [], console: {}, passwordEncryption: false };
  return ctx.cfg.auth;
}
/** Drop the auth section when it holds nothing (keeps the factory default equal to an empty config). */
function tidy(ctx: ConfigCtx): void {
  const a = ctx.cfg.auth;
  if (a && !a.enableSecret && !a.enablePassword && !a.users.length && !a.console.login && !a.console.password && !a.passwordEncryption
    && a.console.execTimeout === undefined) {
    delete ctx.cfg.auth;
  }
}
const tidied = (f: Act): Act => (ctx, a) => { try { return f(ctx, a); } finally { tidy(ctx); } };

function plainOk(pw: string): string {
  if (!pw.length || pw.length > MAX_PASSWORD) throw new CliError(`A password is 1 to ${MAX_PASSWORD} characters`);
  return pw;
}

/** The stored secret for a `secret [0|5|8|9] X` or `algorithm-type A secret X` line. */
function secretFrom(a: Args): string {
  refuseUnsupported(a);
  const typed = ['5', '8', '9'].find(k => a.kw.has(k));
  if (typed) {
    const t = secretType(a.p.h);
    if (t !== Number(typed)) {
      throw new CliError(`The secret you entered is not a valid type ${typed} secret (${typeof t === 'string' ? t : `it is type ${t}`}). To enter an UNENCRYPTED secret, do not specify a type.`);
    }
    return a.p.h;
  }
  const pw = plainOk(a.p.pw);
  if (a.kw.has('md5')) return md5Crypt(pw, ciscoBase64(randomBytes(3))); // IOS: a 4-character salt
  if (a.kw.has('sha256')) return type8(pw, ciscoBase64(randomBytes(10)));
  return hashSecret(pw);
}

/** The stored form of a `password [0|7] X` line: type 7 stays as written, type 0 is encrypted if asked. */
function passwordFrom(ctx: ConfigCtx, a: Args): LinePassword {
  refuseUnsupported(a);
  if (a.kw.has('7')) {
    if (decodeType7(a.p.h) === undefined) throw new CliError('Invalid encrypted password (type 7: two decimal digits then hex pairs)');
    return { type: 7, text: a.p.h.toUpperCase() };
  }
  const pw = plainOk(a.p.pw);
  return auth(ctx).passwordEncryption ? { type: 7, text: encodeType7(pw) } : { type: 0, text: pw };
}

/** Types IOS may print that cannot be used here: refused with the reason rather than taken as clear
 *  text ("4 LcV6..." would otherwise become the password). */
function refuseUnsupported(a: Args): void {
  if (a.kw.has('4')) throw new CliError('Type 4 secrets are not accepted (unsalted SHA-256, withdrawn by Cisco): enter the secret again in clear or as type 8/9');
  if (a.kw.has('6')) throw new CliError('Type 6 (AES, encrypted with the router\'s master key) cannot be decrypted here: enter the password again in clear');
}

/** Every place a password can follow (`... password X`, `... password 0 X`, `... password 7 H`). */
const PASSWORD_TAILS = ['{pw:line}', '0 {pw:line}', '7 {h:word}', '6 {h:word}'];
const SECRET_TAILS = ['{pw:line}', '0 {pw:line}', '5 {h:word}', '8 {h:word}', '9 {h:word}', '4 {h:word}', '6 {h:word}'];
const ALGORITHMS = ['md5', 'sha256', 'scrypt'];

export function authGlobal(g: Node): void {
  define(g, 'service password-encryption', tidied((ctx, a) => {
    const au = auth(ctx);
    au.passwordEncryption = !a.no;
    // as IOS: turning it on encrypts the existing clear passwords; turning it off leaves them encrypted
    if (a.no) return;
    const enc = (p: LinePassword | undefined) => { if (p?.type === 0) { p.text = encodeType7(p.text); p.type = 7; } };
    enc(au.enablePassword);
    enc(au.console.password);
    for (const u of au.users) enc(u.password);
  }), HELP);

  const enableSecret: Act = tidied((ctx, a) => {
    if (a.no) { delete auth(ctx).enableSecret; return; }
    auth(ctx).enableSecret = secretFrom(a);
  });
  for (const tail of SECRET_TAILS) define(g, `enable secret ${tail}`, enableSecret, HELP);
  for (const alg of ALGORITHMS) define(g, `enable algorithm-type ${alg} secret {pw:line}`, enableSecret, HELP);
  define(g, 'enable secret', enableSecret, HELP); // `no enable secret`

  const enablePassword: Act = tidied((ctx, a) => {
    if (a.no) { delete auth(ctx).enablePassword; return; }
    auth(ctx).enablePassword = passwordFrom(ctx, a);
  });
  for (const tail of PASSWORD_TAILS) define(g, `enable password ${tail}`, enablePassword, HELP);
  define(g, 'enable password', enablePassword, HELP);

  const user: Act = tidied((ctx, a) => {
    const au = auth(ctx);
    const name = a.p.name;
    if (a.no) { au.users = au.users.filter(u => u.name !== name); return; }
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) throw new CliError('Invalid user name (1-64 letters, digits, "_", ".", "@", "-")');
    const u: LocalUser = au.users.find(x => x.name === name) ?? { name };
    if (a.p.lvl !== undefined) u.privilege = Number(a.p.lvl);
    if (a.kw.has('secret')) { u.secret = secretFrom(a); delete u.password; }
    else if (a.kw.has('password')) { u.password = passwordFrom(ctx, a); delete u.secret; }
    if (u.privilege === 1) delete u.privilege; // the default level
    if (!au.users.includes(u)) au.users.push(u);
  });
  for (const pre of ['username {name:word}', 'username {name:word} privilege {lvl:range:0-15}']) {
    define(g, pre, user, HELP);
    for (const tail of SECRET_TAILS) define(g, `${pre} secret ${tail}`, user, HELP);
    for (const alg of ALGORITHMS) define(g, `${pre} algorithm-type ${alg} secret {pw:line}`, user, HELP);
    for (const tail of PASSWORD_TAILS) define(g, `${pre} password ${tail}`, user, HELP);
  }

  // the console is the one line a branch box has; vty and aux lines are accepted (pasted configs)
  for (const con of ['con', 'console']) define(g, `line ${con} {n:range:0-0}`, ctx => ctx.enter({ id: 'config-line', ref: 'con' }), HELP);
  for (const spec of ['line vty {a:range:0-1869}', 'line vty {a:range:0-1869} {b:range:0-1869}', 'line aux {a:range:0-0}']) {
    define(g, spec, ctx => { ctx.enter({ id: 'config-line', ref: 'other' }); return 'only the console line exists on this appliance (remote management: dmvpnctl)'; }, HELP);
  }
}

/** `line con 0` sub-mode commands (the caller gives the tree its exit/end/no). */
export function authLine(t: Node): void {
  const onConsole = (ctx: ConfigCtx) => ctx.mode.ref === 'con';
  const other = 'only the console line exists on this appliance (remote management: dmvpnctl)';
  const login: Act = tidied((ctx, a) => {
    if (!onConsole(ctx)) return other;
    const c = auth(ctx).console;
    if (a.no) { delete c.login; return; }
    c.login = a.kw.has('local') ? 'local' : 'line';
    if (c.login === 'line' && !c.password) return "Login disabled on line 0, until 'password' is set";
  });
  define(t, 'login', login, HELP);
  define(t, 'login local', login, HELP);
  const pw: Act = tidied((ctx, a) => {
    if (!onConsole(ctx)) return other;
    const c = auth(ctx).console;
    if (a.no) { delete c.password; return; }
    c.password = passwordFrom(ctx, a);
  });
  for (const tail of PASSWORD_TAILS) define(t, `password ${tail}`, pw, HELP);
  define(t, 'password', pw, HELP);
  // the console logs an idle session out (IOS default 10 minutes; 0 0: never)
  const timeout: Act = tidied((ctx, a) => {
    if (!onConsole(ctx)) return other;
    const secs = a.no ? DEFAULT_EXEC_TIMEOUT : Number(a.p.m) * 60 + Number(a.p.s ?? 0);
    if (secs === DEFAULT_EXEC_TIMEOUT) delete auth(ctx).console.execTimeout; else auth(ctx).console.execTimeout = secs;
  });
  define(t, 'exec-timeout {m:range:0-35791}', timeout, { ...HELP, '{m}': 'Timeout in minutes' });
  define(t, 'exec-timeout {m:range:0-35791} {s:range:0-2147483}', timeout, { ...HELP, '{s}': 'Timeout in seconds' });
  const inactive: Act = () => 'accepted, no effect on this appliance';
  for (const s of ['logging synchronous', 'transport {rest:line}', 'stopbits {rest:line}',
    'speed {rest:line}', 'privilege level {rest:line}', 'history size {rest:line}', 'access-class {rest:line}', 'session-timeout {rest:line}']) {
    define(t, s, inactive);
  }
}
