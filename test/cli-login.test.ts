// The console's login and `enable` on a pty (util-linux `script`), against a control socket serving a
// running-config: factory default without login, `login local` with a privilege 15 user, the line
// password with `login`, enable secrets; passwords never echoed; input typed during the delay after a
// failure is thrown away. Plus the delay schedule and the guard's bookkeeping without a terminal.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import { serveControl } from '../appliance/supervisor/control.js';
import { ConsoleGuard, failureDelay, consoleLoginMode, LoginIo } from '../appliance/console/login.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { needs } from './util/needs.js';
import { ROOT } from './util/lab.js';

const T9 = '$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM'; // "cisco" (John the Ripper)
const T8 = '$8$dsYGNam3K1SIJO$7nv/35M/qr6t.dVc7UY9zrJDWRVqncHub1PE9UlMQFs'; // "cisco"
const T5 = '$1$wu98$9UuD3hvrwehnqyF1D548N0'; // "password" (passlib)

t.test('failure delay grows and is capped', async t => {
  t.same([0, 1, 2, 3, 4].map(n => failureDelay(n, 1000)), [0, 1000, 2000, 4000, 8000]);
  t.equal(failureDelay(50, 1000), 30_000);
});

t.test('guard: three tries, growing pauses, reset on success', async t => {
  const cfg = parseStartupConfig(`username admin secret 9 ${T9}\nline con 0\n login local\n`);
  if (!cfg.ok) throw new Error('fixture');
  t.equal(consoleLoginMode(cfg.config.auth), 'local');
  const answers = ['admin', 'nope', 'admin', 'cisco'];
  const pauses: number[] = [];
  const out: string[] = [];
  const io: LoginIo = { ask: async () => answers.shift() ?? '', write: s => { out.push(s); }, pause: async ms => { pauses.push(ms); } };
  const g = new ConsoleGuard(100);
  t.equal(await g.login(cfg.config.auth, io), 1, 'second try logs in at level 1');
  t.same(pauses, [100]);
  t.equal(g.failures, 0, 'reset after success');
  answers.push('x', 'y', 'x', 'y', 'x', 'y');
  t.equal(await g.login(cfg.config.auth, io), undefined);
  t.same(pauses, [100, 100, 200, 400]);
  t.match(out.join(''), /% Login failed/);
  t.equal(consoleLoginMode(parseStartupConfig('line con 0\n login local\n').ok ? undefined : undefined), 'none');
  const noUsers = parseStartupConfig('line con 0\n login local\n');
  t.equal(noUsers.ok && consoleLoginMode(noUsers.config.auth), 'none', 'login local without users: not locked out');
});

// ---- on a pty ----------------------------------------------------------------------------------

class Pty {
  out = '';
  readonly exited: Promise<void>;
  constructor(private p: ChildProcess) {
    p.stdout!.setEncoding('utf8'); p.stdout!.on('data', (d: string) => { this.out += d; });
    this.exited = new Promise(res => p.once('exit', () => res()));
  }
  send(s: string) { this.p.stdin!.write(s); }
  /** wait until `re` matches the output after `from` (generous: other builds load the machine) */
  async until(re: RegExp, from = 0, ms = 30_000): Promise<number> {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 50))) {
      const m = re.exec(this.out.slice(from));
      if (m) return from + m.index + m[0].length;
    }
    throw new Error(`timed out waiting for ${re} in:\n${this.out.slice(from)}`);
  }
  kill() { this.p.kill(); }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ikc-login-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const bundle = path.join(dir, 'console.mjs');

async function consoleOn(config: string, t: { teardown(f: () => void): void }): Promise<Pty> {
  const r = parseStartupConfig(config);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const sock = path.join(dir, `ctl-${Math.random().toString(36).slice(2)}.sock`);
  const srv = serveControl(sock, {
    run: (line) => {
      if (/^show running-config$/.test(line)) return `Building configuration...\n\n${renderConfig(r.config)}`;
      if (line === 'show version') return 'test version\n';
      return `RAN ${line}\n`;
    },
    openSession: () => { throw new Error('this test has no configuration sessions'); },
  });
  const p = spawn('script', ['-qfec', `node ${bundle} --control ${sock}`, '/dev/null'], {
    env: { ...process.env, DMVPN_LOGIN_DELAY_MS: '400', DMVPN_STARTUP_CONFIG: path.join(dir, 'none') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const pty = new Pty(p);
  t.teardown(() => { pty.kill(); srv.close(); });
  await pty.until(/Press RETURN to get started/);
  return pty;
}

t.test('console on a pty', needs(t, 'script'), async t => {
  execFileSync(path.join(ROOT, 'node_modules/.bin/esbuild'), [path.join(ROOT, 'appliance/entry/console.ts'), '--bundle', '--platform=node',
    '--format=esm', '--target=node20', '--external:*.node', `--outfile=${bundle}`, '--log-level=warning']);

  await t.test('factory default: no login, enable without a password', async t => {
    const c = await consoleOn('hostname R1\n', t);
    c.send('\r');
    let at = await c.until(/R1>/);
    t.notMatch(c.out, /Username:|Password:/);
    c.send('show running-config\r');
    at = await c.until(/\n {8}\^\r*\n% Invalid input detected at '\^' marker\.[\s\S]*R1>/, at);
    t.notMatch(c.out, /RAN show running/, 'user exec does not see the configuration (it holds secret hashes)');
    c.send('enable\r');
    at = await c.until(/R1#/, at);
    c.send('show dmvpn\r');
    await c.until(/RAN show dmvpn[\s\S]*R1#/, at);
  });

  await t.test('login local: failure, typed-ahead guesses dropped, privilege 15, no echo', async t => {
    const c = await consoleOn(`hostname R2\nusername admin privilege 15 secret 9 ${T9}\nline con 0\n login local\n`, t);
    c.send('\r');
    let at = await c.until(/User Access Verification\s+Username: /);
    c.send('admin\r');
    at = await c.until(/Password: /, at);
    // a wrong password and, in the same burst, a right login typed during the failure delay
    c.send('wr0ngpass\radmin\rcisco\r');
    at = await c.until(/% Login invalid\s+Username: /, at);
    await new Promise(r => setTimeout(r, 500));
    t.notMatch(c.out.slice(at), /R2[#>]/, 'the guesses typed during the delay were discarded');
    c.send('admin\r');
    at = await c.until(/Password: /, at);
    c.send('cisco\r');
    at = await c.until(/R2#/, at);
    t.notMatch(c.out, /wr0ngpass|cisco/, 'passwords are never echoed');
  });

  await t.test('line password + login; enable secret', async t => {
    const c = await consoleOn(`hostname R3\nenable secret 5 ${T5}\nline con 0\n password 7 1511021F0725\n login\n`, t);
    c.send('\r');
    let at = await c.until(/Password: /);
    c.send('bad1\r');
    at = await c.until(/Password: /, at);
    c.send('bad2\r');
    at = await c.until(/Password: /, at);
    c.send('bad3\r');
    at = await c.until(/% Bad passwords\s+Press RETURN to get started/, at);
    c.send('\r');
    at = await c.until(/Password: /, at);
    c.send('cisco\r');
    at = await c.until(/R3>/, at);
    c.send('enable\r');
    at = await c.until(/Password: /, at);
    c.send('cisco\r');
    at = await c.until(/Password: /, at);
    c.send('password\r');
    at = await c.until(/R3#/, at);
    t.notMatch(c.out, /bad1|password\r?\n|cisco/, 'nothing typed at a password prompt is shown');
  });

  await t.test('enable with a type 8 secret: three failures say % Bad secrets', async t => {
    const c = await consoleOn(`hostname R4\nenable secret 8 ${T8}\n`, t);
    c.send('\r');
    let at = await c.until(/R4>/);
    c.send('enable\r');
    for (const guess of ['x', 'y', 'z']) {
      at = await c.until(/Password: /, at);
      c.send(`${guess}\r`);
    }
    at = await c.until(/% Bad secrets\s+R4>/, at, 60_000);
    c.send('enable\r');
    at = await c.until(/Password: /, at);
    c.send('cisco\r');
    await c.until(/R4#/, at, 60_000);
  });

  await t.test('exec-timeout ends an idle session', async t => {
    const c = await consoleOn('hostname R5\nline con 0\n exec-timeout 0 2\n', t);
    c.send('\r');
    await c.until(/R5>/);
    c.send('show dmvpn\r');
    await c.until(/RAN show dmvpn/);
    const ended = await Promise.race([c.exited.then(() => true), new Promise(r => setTimeout(() => r(false), 60_000))]);
    t.ok(ended, 'the console process ended the session after 2 s without input (init starts a new one)');
  });
});
