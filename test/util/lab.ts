// Helpers for namespace tests: build the seed-003 topology, run appliances inside it, ask them
// things through dmvpnctl, and tear it all down even when a test fails.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOPOLOGY = path.join(ROOT, 'test/lab/topology.sh');

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: 60000 });
  if (!opts.allowFail && r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
  }
  return r;
}

export const nsExec = (ns: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}) =>
  sh('ip', ['netns', 'exec', ns, ...args], opts);

export interface Router { name: string; ns: string; control: string; pcap: string; config: string; proc?: ChildProcess; log: string[] }

export class Lab {
  readonly dir: string;
  readonly routers = new Map<string, Router>();
  constructor(readonly prefix: string, readonly spokes = 3) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  }

  up(): void { sh('bash', [TOPOLOGY, 'up', this.prefix, String(this.spokes)]); }

  down(): void {
    for (const r of this.routers.values()) r.proc?.kill('SIGKILL');
    sh('bash', [TOPOLOGY, 'down', this.prefix], { allowFail: true });
  }

  ns(name: string): string { return `${this.prefix}-${name.toLowerCase()}`; }

  /** Writes a config file for router `name` (R1..Rn) and returns its path. */
  writeConfig(name: string, text: string): string {
    const p = path.join(this.dir, `${name}.cfg`);
    fs.writeFileSync(p, text);
    return p;
  }

  /** `env`: extra environment variables of this router's supervisor (e.g. the lab key log); `args`:
   *  extra dmvpnd options (e.g. --provision FILE). */
  start(name: string, config: string, env?: Record<string, string>, args: string[] = []): Router {
    const r: Router = this.routers.get(name) ?? {
      name, ns: this.ns(name), control: path.join(this.dir, `${name}.sock`),
      pcap: path.join(this.dir, `${name}.pcap`), config, log: [],
    };
    r.config = config;
    const proc = spawn('ip', ['netns', 'exec', r.ns, path.join(ROOT, 'bin/dmvpnd'),
      '--config', config, '--control', r.control, '--pcap', r.pcap, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    // bounded; the first 200 lines (start-up) stay for tests that look for them
    // whole lines only: a read may end inside a line (the rest is kept for the next one, per stream)
    const keeper = () => {
      let partial = '';
      return (b: Buffer) => {
        const lines = (partial + b.toString()).split('\n');
        partial = lines.pop() ?? '';
        r.log.push(...lines.filter(Boolean));
        if (r.log.length > 2000) r.log.splice(200, 1000);
      };
    };
    proc.stdout!.on('data', keeper()); proc.stderr!.on('data', keeper());
    r.proc = proc;
    this.routers.set(name, r);
    return r;
  }

  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const r = this.routers.get(name);
    if (!r?.proc || r.proc.exitCode !== null) return;
    const done = new Promise<void>((res) => r.proc!.once('exit', () => res()));
    r.proc.kill(signal);
    await Promise.race([done, sleep(5000)]);
  }

  /** Runs an exec command on router `name`; resolves to its output text. */
  ctl(name: string, command: string): string {
    const r = this.routers.get(name)!;
    const res = sh('ip', ['netns', 'exec', r.ns, path.join(ROOT, 'bin/dmvpnctl'), '--control', r.control, ...command.split(' ')], { allowFail: true });
    return res.stdout + res.stderr;
  }

  ctlJson<T = any>(name: string, command: string): T {
    const out = this.ctl(name, `${command} json`);
    try { return JSON.parse(out); } catch { throw new Error(`${name}: '${command} json' gave: ${out}`); }
  }

  ping(fromNs: string, to: string, count = 3): boolean {
    return nsExec(fromNs, ['ping', '-c', String(count), '-i', '0.2', '-W', '2', to], { allowFail: true }).status === 0;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value or `ms` elapse; returns the last value. */
export async function waitFor<T>(check: () => T | Promise<T>, ms: number, every = 250): Promise<T> {
  const end = Date.now() + ms;
  let v = await check();
  while (!v && Date.now() < end) { await sleep(every); v = await check(); }
  return v;
}

export const uniquePrefix = (tag: string) => `dmv${tag}${process.pid % 10000}`;

/** The lab configs from test/lab/configs with shorter NHRP timers so tests run in seconds. */
export function labConfig(name: string, edits: { holdtime?: number; registrationTimeout?: number; phase1?: boolean } = {}): string {
  let text = fs.readFileSync(path.join(ROOT, 'test/lab/configs', `${name}.cfg`), 'utf8');
  if (edits.phase1) text = text.replace(/ ip nhrp (redirect|shortcut)\n/g, '');
  if (edits.holdtime) text = text.replace(/ip nhrp holdtime \d+/, `ip nhrp holdtime ${edits.holdtime}`);
  if (edits.registrationTimeout) text = text.replace(/( ip nhrp holdtime \d+\n)/, `$1 ip nhrp registration timeout ${edits.registrationTimeout}\n`);
  return text;
}
