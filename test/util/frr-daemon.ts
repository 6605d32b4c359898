// One FRR routing daemon (eigrpd, bgpd...) with its own zebra as a reference peer inside a test
// namespace: private zserv, vty and pid paths under a temp directory so several instances and other
// helpers' FRR never collide.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { sh } from './lab.js';

export class FrrDaemon {
  readonly dir: string;
  /** `extra`: more command-line options for the daemon (bgpd: `-p 0`, no BGP listener) */
  constructor(readonly ns: string, readonly daemon: string, config: string, private readonly extra: string[] = []) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `pe-frr-${ns}-`));
    fs.chmodSync(this.dir, 0o777);
    fs.writeFileSync(path.join(this.dir, `${daemon}.conf`), config, { mode: 0o644 });
  }

  private run(name: string, extra: string[]): void {
    // stdio ignored: a daemon keeps inherited pipes open, which would hold spawnSync until its timeout
    const r = spawnSync('ip', ['netns', 'exec', this.ns, `/usr/lib/frr/${name}`, '-d', '-u', 'frr', '-g', 'frr', '-z', path.join(this.dir, 'zserv.api'),
      '--vty_socket', this.dir, '-i', path.join(this.dir, `${name}.pid`), '-A', '127.0.0.1', '-P', '0', '--log', `file:${path.join(this.dir, `${name}.log`)}`, ...extra],
    { stdio: 'ignore', timeout: 30000 });
    if (r.status !== 0) throw new Error(`${name} did not start in ${this.ns} (exit ${r.status})`);
  }

  async start(): Promise<void> {
    this.run('zebra', ['-f', '/dev/null']);
    for (let i = 0; i < 40 && !fs.existsSync(path.join(this.dir, 'zserv.api')); i++) await new Promise((r) => setTimeout(r, 100));
    this.run(this.daemon, ['-f', path.join(this.dir, `${this.daemon}.conf`), ...this.extra]);
  }

  vtysh(cmd: string): string {
    return sh('ip', ['netns', 'exec', this.ns, 'vtysh', '--vty_socket', this.dir, '-d', this.daemon, '-c', cmd], { allowFail: true }).stdout;
  }

  /** Configuration lines entered in one vtysh session after `configure terminal`; returns what vtysh said. */
  configure(lines: string[]): string {
    const r = sh('ip', ['netns', 'exec', this.ns, 'vtysh', '--vty_socket', this.dir, '-d', this.daemon, '-c', 'configure terminal', ...lines.flatMap((l) => ['-c', l])], { allowFail: true });
    return r.stdout + r.stderr;
  }

  log(): string { try { return fs.readFileSync(path.join(this.dir, `${this.daemon}.log`), 'utf8').slice(-3000); } catch { return ''; } }

  stop(): void {
    for (const d of [this.daemon, 'zebra']) {
      try { process.kill(Number(fs.readFileSync(path.join(this.dir, `${d}.pid`), 'utf8').trim()), 'SIGTERM'); } catch { /* not running */ }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
