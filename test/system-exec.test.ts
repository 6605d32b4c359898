// write memory / show startup-config / show version / reload on a real supervisor under its watchdog,
// in a namespace, through the control socket dmvpnctl uses: the save is atomic (no temporary file
// left, 0600, loads back, typed secrets saved as hashes), `reload in` is kept across a supervisor
// crash, `reload cancel` says so as IOS, and `reload` in a namespace restarts the supervisor from
// its startup-config (not counted as a crash). The console's confirmation dialog is tested without
// a supervisor at the end.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, sh, nsExec } from './util/lab.js';
import { requireTools } from './util/needs.js';
import { callControl } from '../appliance/supervisor/control.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import { verifySecret } from '../appliance/auth/secrets.js';
import { isReloadNeedingConfirm, confirmReload } from '../appliance/console/reload-dialog.js';
import { iosClock } from '../appliance/supervisor/reload.js';

t.test('console reload dialog', async t => {
  t.ok(isReloadNeedingConfirm('reload'));
  t.ok(isReloadNeedingConfirm('rel in 5'));
  t.notOk(isReloadNeedingConfirm('reload cancel'));
  t.notOk(isReloadNeedingConfirm('re'));
  t.equal(iosClock(Date.UTC(2026, 11, 4, 18, 30, 5)), '18:30:05 UTC Fri Dec 4 2026');
  const run = async (running: string, startup: string, answers: string[]) => {
    const asked: string[] = [], sent: string[] = [], out: string[] = [];
    const ok = await confirmReload({ ask: async p => { asked.push(p); return answers.shift() ?? ''; }, write: s => { out.push(s); } },
      async c => { sent.push(c); return c === 'show running-config' ? running : c === 'show startup-config' ? startup : 'Building configuration...\n[OK]\n'; });
    return { ok, asked, sent, out: out.join('') };
  };
  const same = await run('Building configuration...\n\n!\nhostname R\nend\n', 'Using 20 bytes\n!\nhostname R\nend\n', ['']);
  t.same(same.asked, ['Proceed with reload? [confirm]'], 'saved config: only the confirm');
  t.ok(same.ok);
  const mod = await run('!\nhostname R2\nend\n', 'Using 20 bytes\n!\nhostname R\nend\n', ['maybe', 'y', 'n']);
  t.same(mod.asked, ['System configuration has been modified. Save? [yes/no]: ', 'System configuration has been modified. Save? [yes/no]: ', 'Proceed with reload? [confirm]']);
  t.match(mod.out, /Please answer 'yes' or 'no'[\s\S]*\[OK\]/);
  t.ok(mod.sent.includes('write memory'));
  t.notOk(mod.ok, '"n" at the confirm aborts');
});

t.test('on a supervisor in a namespace', async t => {
  requireTools(t, ['root', 'ip']);
  const ns = `ikc-sys-${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ikc-sys-'));
  sh('ip', ['netns', 'add', ns]);
  t.teardown(() => { sh('ip', ['netns', 'del', ns], { allowFail: true }); fs.rmSync(dir, { recursive: true, force: true }); });
  nsExec(ns, ['ip', 'link', 'add', 'eth0', 'type', 'dummy'], { allowFail: true });
  if (nsExec(ns, ['ip', 'link', 'show', 'eth0'], { allowFail: true }).status !== 0) nsExec(ns, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
  // what the image's init creates for Loopback0 (a veth end where this kernel has no dummy driver)
  if (nsExec(ns, ['ip', 'link', 'add', 'lo0', 'type', 'dummy'], { allowFail: true }).status !== 0) nsExec(ns, ['ip', 'link', 'add', 'lo0', 'type', 'veth', 'peer', 'name', 'lo0p']);
  const cfgFile = path.join(dir, 'startup-config');
  fs.writeFileSync(cfgFile, 'hostname R7\nenable secret Typed-s3cret\ninterface FastEthernet0/0\n ip address 172.16.75.2 255.255.255.252\n'
    + 'interface Loopback0\n ip address 10.255.0.7 255.255.255.255\n');
  const sock = path.join(dir, 'ctl.sock');
  const wd = spawn('ip', ['netns', 'exec', ns, path.join(ROOT, 'bin/dmvpnd'), '--config', cfgFile, '--control', sock], {
    env: { ...process.env, DMVPN_RELOAD_STATE: path.join(dir, 'reload-at'), DMVPN_WATCHDOG_BACKOFF_MS: '100' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  wd.stdout!.on('data', d => { log += d; }); wd.stderr!.on('data', d => { log += d; });
  t.teardown(() => { wd.kill('SIGTERM'); });
  const ctl = async (cmd: string) => (await callControl(sock, cmd, 30_000)).output;
  const answering = async (not?: number) => {
    for (const end = Date.now() + 60_000; Date.now() < end; await new Promise(r => setTimeout(r, 200))) {
      try { const v = await ctl('show version'); const pid = supervisorPid(); if (pid && pid !== not) return { v, pid }; } catch { /* starting */ }
    }
    throw new Error(`supervisor not answering:\n${log}`);
  };
  /** the dmvpnd process under the watchdog (a descendant of what we spawned running dmvpnd.mjs) */
  const supervisorPid = (): number => {
    const kids = (p: number) => { try { return fs.readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; } };
    for (let todo = [wd.pid!]; todo.length;) {
      const p = todo.shift()!;
      try { if (p !== wd.pid && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('dmvpnd.mjs')) return p; } catch { /* gone */ }
      todo.push(...kids(p));
    }
    return 0;
  };

  const first = await answering();
  t.match(first.v, /^DMVPN appliance firmware, node v\d+/);
  t.match(nsExec(ns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'lo0']).stdout, /inet 10\.255\.0\.7\/32/, 'Loopback0\'s address is on lo0');
  t.match(await ctl('show ip interface brief'), /Loopback0\s+10\.255\.0\.7/);
  t.match(await ctl('show startup-config'), /^Using \d+ bytes\nhostname R7\nenable secret Typed-s3cret/);

  t.equal(await ctl('write memory'), 'Building configuration...\n[OK]\n');
  const saved = fs.readFileSync(cfgFile, 'utf8');
  t.notMatch(saved, /Typed-s3cret/, 'the typed secret is saved as its hash');
  const es = /^enable secret 9 (\S+)$/m.exec(saved);
  t.ok(es && verifySecret('Typed-s3cret', es[1]), 'the saved hash verifies');
  t.equal(fs.statSync(cfgFile).mode & 0o777, 0o600);
  t.same(fs.readdirSync(dir).filter(f => f.includes('tmp')), [], 'no temporary file left');
  const back = parseStartupConfig(saved);
  t.ok(back.ok && back.config.hostname === 'R7' && back.config.interfaces.length === 2, 'the saved file loads back');
  t.match(await ctl('show startup-config'), /^Using \d+ bytes\n!\nhostname R7\n/);
  t.equal(await ctl('copy running-config startup-config'), 'Building configuration...\n[OK]\n');

  t.equal(await ctl('show reload'), 'No reload is scheduled.\n');
  t.equal(await ctl('reload cancel'), '%No reload is scheduled.\n');
  t.match(await ctl('reload in 5'), /^Reload scheduled for \d\d:\d\d:\d\d UTC \w{3} \w{3} \d+ \d{4} \(in 5 minutes\)\n$/);
  // a supervisor crash (killed) before the deadline: the restarted one still has the reload pending
  process.kill(first.pid, 'SIGKILL');
  const second = await answering(first.pid);
  t.match(second.v, /Supervisor restarted 1 times by its watchdog/);
  t.match(await ctl('show reload'), /^Reload scheduled for .* \(in 4 minutes and \d+ seconds|in 5 minutes\)/);
  t.equal(await ctl('reload cancel'), '\n\n***\n*** --- SHUTDOWN ABORTED ---\n***\n\n');
  t.equal(await ctl('show reload'), 'No reload is scheduled.\n');

  t.match(await ctl('reload'), /SHUTDOWN NOW/);
  const third = await answering(second.pid);
  t.match(log, /reloads: starting it again from the startup-config/);
  t.match(third.v, /Supervisor restarted 1 times/, 'a reload is not counted as a crash');
  t.match(await ctl('show logging'), /./);
});
