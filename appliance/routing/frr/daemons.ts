// FRR's zebra, ospfd and bgpd as children of this appliance, in its network namespace, with every
// path (config files, zebra's API socket, vty sockets, pid files, logs) in one directory of its own,
// so several appliances on one machine never share a path. A daemon that dies is started again after
// a backoff (1 s doubling to 30 s, back to 1 s once it has run a minute) and counted; a config change
// restarts only the daemons whose file changed; stop() ends them all and removes the directory.
// The daemons run as user frr (FRR drops to it and keeps the network capabilities it needs; as root
// it refuses to start unless root is in the frrvty group), so the directory belongs to frr.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { FrrConfigs, FrrDaemon } from './translate.js';
import type { LogFn } from '../../log/log.js';

export const FRR_SBIN = process.env.DMVPN_FRR_SBIN ?? '/usr/lib/frr';
/** Where FRR's packaging lets user frr write (/run/frr, owned by frr); one subdirectory per appliance. */
const FRR_RUN = '/run/frr';
const FRR_USER = 'frr';
const BACKOFF_MIN_MS = 1000, BACKOFF_MAX_MS = 30000, STABLE_MS = 60000;
const STOP_GRACE_MS = 3000;

/** The state directory of the appliance whose control socket is `control` (unique per socket path). */
export function frrDirFor(control: string): string {
  const abs = path.resolve(control);
  const tag = path.basename(abs).replace(/\.sock$/, '').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32);
  return path.join(FRR_RUN, `dmvpnd-${tag}-${createHash('sha256').update(abs).digest('hex').slice(0, 10)}`);
}

export interface DaemonStatus { daemon: FrrDaemon; pid?: number; running: boolean; restarts: number; lastExit?: string }

interface Child { daemon: FrrDaemon; proc?: ChildProcess; startedAt: number; restarts: number; backoff: number; timer?: NodeJS.Timeout; lastExit?: string; stopping?: Promise<void> }

export class FrrDaemons {
  private readonly children = new Map<FrrDaemon, Child>();
  private configs: FrrConfigs = { zebra: '' };
  private stopped = false;

  /** `dir`: every path of the daemons, their vty sockets included (`vtysh --vty_socket DIR`). */
  constructor(readonly dir: string, private readonly log: LogFn, private readonly uid = frrIds()) {}

  /** Runs exactly the daemons in `configs` with that configuration: starts new ones, restarts changed ones, stops the rest. */
  async apply(configs: FrrConfigs): Promise<void> {
    this.stopped = false;
    this.prepareDir();
    const want = (['zebra', 'ospfd', 'bgpd'] as const).filter((d) => configs[d] !== undefined);
    for (const d of [...this.children.keys()]) if (!want.includes(d)) await this.stopOne(d);
    const zebraChanged = configs.zebra !== this.configs.zebra;
    for (const d of want) {
      const text = configs[d]!;
      const changed = text !== this.configs[d] || !fs.existsSync(this.file(d, 'conf'));
      if (changed) fs.writeFileSync(this.file(d, 'conf'), text, { mode: 0o640 });
      fs.chownSync(this.file(d, 'conf'), this.uid.uid, this.uid.gid);
      const c = this.children.get(d);
      // a restarted zebra is picked up by the others (they reconnect); they need no restart for it
      if (c && !changed && !(d === 'zebra' && zebraChanged)) continue;
      if (c) await this.stopOne(d);
      this.startOne(d);
    }
    this.configs = configs;
  }

  status(): DaemonStatus[] {
    return [...this.children.values()].map((c) => ({
      daemon: c.daemon, pid: c.proc?.pid, running: !!c.proc && c.proc.exitCode === null && c.proc.signalCode === null,
      restarts: c.restarts, ...(c.lastExit ? { lastExit: c.lastExit } : {}),
    }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // the protocol daemons first, zebra last (it removes their routes from the kernel as it exits)
    for (const d of ['bgpd', 'ospfd', 'zebra'] as const) await this.stopOne(d);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private file(d: string, ext: string): string { return path.join(this.dir, `${d}.${ext}`); }

  private prepareDir(): void {
    // a parent we create (a fresh /run without FRR's packaging having made /run/frr) must let frr in
    const parent = path.dirname(this.dir);
    if (!fs.existsSync(parent)) {
      fs.mkdirSync(parent, { recursive: true, mode: 0o755 });
      fs.chownSync(parent, this.uid.uid, this.uid.gid);
    }
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    fs.chownSync(this.dir, this.uid.uid, this.uid.gid);
    // a previous supervisor of this appliance that was killed leaves its daemons running: end them
    for (const d of ['zebra', 'ospfd', 'bgpd'] as const) if (!this.children.has(d)) killStale(this.file(d, 'pid'), this.dir);
  }

  private startOne(d: FrrDaemon): void {
    const c: Child = this.children.get(d) ?? { daemon: d, startedAt: 0, restarts: 0, backoff: BACKOFF_MIN_MS };
    this.children.set(d, c);
    const args = ['-u', FRR_USER, '-g', FRR_USER, '-f', this.file(d, 'conf'), '-i', this.file(d, 'pid'),
      '-z', path.join(this.dir, 'zserv.api'), '--vty_socket', this.dir, '-P', '0', '--log', `file:${this.file(d, 'log')}`];
    const proc = spawn(path.join(FRR_SBIN, d), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-2000); });
    c.proc = proc;
    c.startedAt = Date.now();
    const ended = (why: string) => {
      if (c.proc !== proc) return;
      c.proc = undefined;
      if (c.stopping || this.stopped) return;
      c.lastExit = why;
      if (Date.now() - c.startedAt > STABLE_MS) c.backoff = BACKOFF_MIN_MS;
      const tail = err.trim().split('\n').slice(-2).join(' | ');
      this.log('error', `${d} ${c.lastExit}${tail ? ` (${tail})` : ''}; restart ${c.restarts + 1} in ${c.backoff / 1000} s`);
      c.timer = setTimeout(() => {
        c.timer = undefined;
        if (this.stopped || c.proc) return;
        c.restarts++;
        this.startOne(d);
      }, c.backoff);
      c.backoff = Math.min(c.backoff * 2, BACKOFF_MAX_MS);
    };
    // a failed spawn (no binary, EACCES) emits 'error' and never 'exit': it ends the run the same way
    proc.once('error', (e) => { if (proc.pid === undefined) ended(e.message); else c.lastExit = e.message; });
    proc.once('exit', (code, signal) => ended(signal ? `killed by ${signal}` : `exited with status ${code}`));
    if (proc.pid !== undefined) this.log('info', `${d} started (pid ${proc.pid})`);
  }

  private async stopOne(d: FrrDaemon): Promise<void> {
    const c = this.children.get(d);
    if (!c) return;
    clearTimeout(c.timer);
    const proc = c.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      c.stopping = new Promise<void>((res) => proc.once('exit', () => res()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
      await c.stopping;
      clearTimeout(timer);
    }
    this.children.delete(d);
  }
}

/** uid/gid of user frr (from /etc/passwd: no dependency for one lookup). */
export function frrIds(): { uid: number; gid: number } {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${FRR_USER}:`));
  if (!line) throw new Error(`user ${FRR_USER} does not exist: is FRR installed?`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Ends the daemon a pid file names if it is an FRR daemon of this directory (not a reused pid). */
function killStale(pidFile: string, dir: string): void {
  let pid: number;
  try { pid = Number(fs.readFileSync(pidFile, 'utf8').trim()); } catch { return; }
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!cmd[0]?.startsWith(FRR_SBIN) || !cmd.includes(pidFile) || !cmd.some((a) => a.startsWith(dir))) return;
    process.kill(pid, 'SIGKILL');
  } catch { /* gone already */ }
}
