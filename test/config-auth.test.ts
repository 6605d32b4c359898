// Login configuration in the config language: typed secrets are hashed at once (type 9), pasted
// IOS hashes and type 7 passwords load as written, bad ones are refused with a message, and the
// running-config shows hashes only; it reloads to the same model.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { runConfigLine } from '../appliance/config/modes.js';
import { configTrees, emptyConfig } from '../appliance/config/grammar.js';
import { verifySecret, decodeType7 } from '../appliance/auth/secrets.js';
import type { ApplianceConfig } from '../appliance/config/model.js';

const T9 = '$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM'; // "cisco" (John the Ripper)
const T8 = '$8$dsYGNam3K1SIJO$7nv/35M/qr6t.dVc7UY9zrJDWRVqncHub1PE9UlMQFs'; // "cisco"
const T5 = '$1$wu98$9UuD3hvrwehnqyF1D548N0'; // "password" (passlib)

function load(text: string): ApplianceConfig {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

t.test('pasted IOS secrets load and render as written', async t => {
  const text = [
    'service password-encryption', 'hostname R1', `enable secret 8 ${T8}`,
    `username admin privilege 15 secret 9 ${T9}`, `username old secret 5 ${T5}`, 'username ops password 7 1511021F0725',
    'line con 0', ' password 7 044B0A151C36435C0D', ' login local', ' exec-timeout 0 0', 'line vty 0 4', ' login',
  ].join('\n');
  const c = load(text);
  t.equal(c.auth?.enableSecret, T8);
  t.same(c.auth?.users.map(u => u.name), ['admin', 'old', 'ops']);
  t.equal(c.auth?.users[0].privilege, 15);
  t.same(c.auth?.console, { login: 'local', password: { type: 7, text: '044B0A151C36435C0D' }, execTimeout: 0 }, 'exec-timeout 0 0: never');
  const run = renderConfig(c);
  for (const l of ['service password-encryption', `enable secret 8 ${T8}`, `username admin privilege 15 secret 9 ${T9}`,
    `username old secret 5 ${T5}`, 'username ops password 7 1511021F0725', 'line con 0\n exec-timeout 0 0\n password 7 044B0A151C36435C0D\n login local']) {
    t.ok(run.includes(l), `running-config has: ${l}`);
  }
  t.same(load(run), { ...c, inactive: [] }, 'the running-config reloads to the same model');
});

t.test('typed secrets are hashed, never kept in clear', async t => {
  const c = load('hostname R1\nenable secret Sup3r s3cret\nusername bob secret b0b-pw\nusername md algorithm-type md5 secret m5\nusername sh algorithm-type sha256 secret s8\n');
  const es = c.auth!.enableSecret!;
  t.match(es, /^\$9\$/);
  t.ok(verifySecret('Sup3r s3cret', es), 'a secret may hold spaces (rest of the line)');
  t.ok(verifySecret('b0b-pw', c.auth!.users[0].secret!));
  t.match(c.auth!.users[1].secret!, /^\$1\$[./0-9A-Za-z]{4}\$/, 'algorithm-type md5: type 5 with a 4-character salt');
  t.ok(verifySecret('m5', c.auth!.users[1].secret!));
  t.match(c.auth!.users[2].secret!, /^\$8\$/);
  t.ok(verifySecret('s8', c.auth!.users[2].secret!));
  const run = renderConfig(c);
  for (const clear of ['Sup3r', 'b0b-pw', ' m5', ' s8']) t.notOk(run.includes(clear), `running-config does not show "${clear.trim()}"`);
  t.match(run, /^enable secret 9 \$9\$/m);
});

t.test('service password-encryption encrypts clear passwords (type 7) and stays', async t => {
  const c = load('enable password letmein\nusername u password upw\nline con 0\n password conpw\n login\n');
  t.same(c.auth!.enablePassword, { type: 0, text: 'letmein' });
  t.match(renderConfig(c), /^enable password letmein$/m);
  const cfg = structuredClone(c);
  const r = runConfigLine(configTrees(), { id: 'config' }, cfg, 'service password-encryption');
  t.ok(r.ok);
  t.equal(cfg.auth!.enablePassword!.type, 7);
  t.equal(decodeType7(cfg.auth!.enablePassword!.text), 'letmein');
  t.equal(decodeType7(cfg.auth!.users[0].password!.text), 'upw');
  t.equal(decodeType7(cfg.auth!.console.password!.text), 'conpw');
  const run = renderConfig(cfg);
  for (const clear of ['letmein', 'upw', 'conpw']) t.notOk(run.includes(clear), `no clear "${clear}" after encryption`);
  runConfigLine(configTrees(), { id: 'config' }, cfg, 'no service password-encryption');
  t.equal(cfg.auth!.enablePassword!.type, 7, 'turning it off does not decrypt (IOS)');
  t.notOk(renderConfig(cfg).includes('service password-encryption'));
});

t.test('bad secrets are refused with a message; the load fails whole', async t => {
  for (const [line, msg] of [
    ['enable secret 5 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM', /not a valid type 5 secret.*type 9/],
    ['enable secret 9 cisco', /not a valid type 9 secret/],
    ['username a secret 8 $8$short$x', /not a valid type 8 secret/],
    ['username a password 7 ZZ11', /Invalid encrypted password/],
    ['username bad/name secret x', /Invalid user name/],
    [`enable secret ${'x'.repeat(200)}`, /1 to 127 characters/],
    ['enable secret 4 LcV6aBcc/53FoCJjXQMd7rBUDEpeevrK8V5jQVoJEhU', /Type 4 secrets are not accepted/],
    ['username a password 6 ZZQ]deNSYTH_Bbd', /Type 6/],
  ] as const) {
    const r = parseStartupConfig(`hostname R1\n${line}\n`);
    t.notOk(r.ok, line.slice(0, 40));
    if (!r.ok) { t.equal(r.errors[0].line, 2); t.match(r.errors[0].message, msg); }
  }
});

t.test('no forms, defaults and the console line', async t => {
  const cfg = emptyConfig();
  const run = (l: string, m = { id: 'config' as const }) => runConfigLine(configTrees(), m, cfg, l);
  t.ok(run(`username admin secret 9 ${T9}`).ok);
  const line = run('line con 0');
  t.ok(line.ok && line.mode.id === 'config-line');
  const login = runConfigLine(configTrees(), { id: 'config-line', ref: 'con' }, cfg, 'login');
  t.ok(login.ok && login.inactive?.includes('Login disabled'), 'login without a password: IOS warning');
  runConfigLine(configTrees(), { id: 'config-line', ref: 'con' }, cfg, 'login local');
  t.equal(cfg.auth!.console.login, 'local');
  runConfigLine(configTrees(), { id: 'config-line', ref: 'con' }, cfg, 'no login');
  t.notOk(cfg.auth!.console.login);
  t.ok(run('no username admin').ok);
  t.equal(cfg.auth, undefined, 'empty auth section removed: equal to the factory default');
  t.same(cfg, emptyConfig());
  t.ok(run(`enable secret 9 ${T9}`).ok);
  t.ok(run('no enable secret').ok);
  t.equal(cfg.auth, undefined);
});

t.test('? help in config mode lists the secret types', async t => {
  const { CliSession } = await import('../appliance/console/session.js');
  let cfg = emptyConfig();
  const s = new CliSession({ hostname: () => 'R1', getConfig: () => cfg, applyConfig: n => { cfg = n; return { ok: true }; }, exec: {} }, { privileged: true });
  s.feed('configure terminal');
  const h = s.help('enable secret ');
  for (const w of ['0', '5', '8', '9', 'LINE']) t.match(h, new RegExp(`^\\s+${w}\\s`, 'm'), `enable secret ? lists ${w}`);
  t.match(s.help('line '), /console/);
  t.equal(s.feed('line con 0'), '');
  t.equal(s.prompt, 'R1(config-line)#');
  t.equal(s.feed('password 7 1511021F0725'), '');
  t.match(s.feed('login'), /^$|Note/);
  t.equal(cfg.auth?.console.login, 'line');
  t.equal(s.feed('end'), '');
});
