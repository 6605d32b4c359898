// Our IKEv1 endpoint (appliance/ike/tools/ikev1-peer.ts, bundled by esbuild) run inside a namespace,
// with its JSON event lines collected; and a two-namespace veth lab for it and a strongSwan peer.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CryptoConfig } from '../../appliance/config/model.js';
import { ROOT, sh, waitFor } from './lab.js';
import { stopChild } from './strongswan.js';

export function bundlePeer(dir: string, tool = 'ikev1-peer'): string {
  const out = path.join(dir, `${tool}.mjs`);
  sh(path.join(ROOT, 'node_modules/.bin/esbuild'), [path.join(ROOT, `appliance/ike/tools/${tool}.ts`), '--bundle', '--platform=node',
    '--format=esm', '--target=node20', `--outfile=${out}`, '--log-level=warning']);
  return out;
}

export type PeerEvent = { event: string; [k: string]: unknown };

export class IkePeer {
  readonly events: PeerEvent[] = [];
  private proc?: ChildProcess;
  readonly keylog: string;

  constructor(readonly ns: string, readonly dir: string, readonly bundle: string) { this.keylog = path.join(dir, 'keylog.jsonl'); }

  async start(local: string, crypto: CryptoConfig, initiate?: string, quick = false): Promise<void> {
    const cfg = path.join(this.dir, 'crypto.json');
    fs.writeFileSync(cfg, JSON.stringify(crypto));
    const args = ['--local', local, '--crypto', cfg, '--keylog', this.keylog];
    if (initiate) args.push('--initiate', initiate);
    if (quick) args.push('--quick');
    await this.spawnTool(args);
  }

  /** Runs the bundled tool in the namespace with `args` and collects its JSON event lines (also for the IKEv2 tool). */
  async spawnTool(toolArgs: string[]): Promise<void> {
    const p = spawn('ip', ['netns', 'exec', this.ns, process.execPath, this.bundle, ...toolArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    p.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        try { this.events.push(JSON.parse(line)); } catch { this.events.push({ event: 'text', line }); }
      }
    });
    p.stderr!.on('data', (b: Buffer) => this.events.push({ event: 'stderr', line: b.toString() }));
    this.proc = p;
    if (!(await waitFor(() => this.events.some((e) => e.event === 'listening' || e.event === 'stderr'), 15000)) || !this.find('listening')) {
      throw new Error(`IKE peer did not start: ${JSON.stringify(this.events)}`);
    }
  }

  /** A signal to the tool (the IKEv2 tool: SIGUSR2 liveness check, SIGHUP clear). */
  signal(sig: NodeJS.Signals): void { this.proc?.kill(sig); }

  find(event: string): PeerEvent | undefined { return this.events.find((e) => e.event === event); }
  wait(event: string, ms = 30000): Promise<PeerEvent | undefined> { return waitFor(() => this.find(event), ms); }

  /** Asks for a status line (counters, SAs) and returns it. */
  async status(): Promise<PeerEvent | undefined> {
    const before = this.events.filter((e) => e.event === 'status').length;
    this.proc?.kill('SIGUSR1');
    await waitFor(() => this.events.filter((e) => e.event === 'status').length > before, 5000, 50);
    return this.events.filter((e) => e.event === 'status')[before];
  }

  stop(): Promise<void> { return stopChild(this.proc); }
}

/** Two namespaces joined by a veth pair: `${prefix}-a` (ours) at a, `${prefix}-b` (strongSwan) at b. */
export function twoNamespaces(prefix: string, a: string, b: string): { nsA: string; nsB: string; down(): void } {
  const nsA = `${prefix}-a`, nsB = `${prefix}-b`;
  const down = () => {
    for (const ns of [nsA, nsB]) {
      // processes left in our own namespaces (only ours can be there), by pid
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
      for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
      spawnSync('ip', ['netns', 'del', ns]);
    }
  };
  down();
  // interface names are at most 15 characters: a longer prefix fails here, after the namespaces exist
  if (prefix.length + 1 > 15) throw new Error(`twoNamespaces: prefix ${prefix} too long for an interface name`);
  try {
    sh('ip', ['netns', 'add', nsA]);
    sh('ip', ['netns', 'add', nsB]);
    sh('ip', ['link', 'add', `${prefix}a`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `${prefix}b`, 'netns', nsB]);
    sh('ip', ['-n', nsA, 'addr', 'add', `${a}/24`, 'dev', `${prefix}a`]);
    sh('ip', ['-n', nsB, 'addr', 'add', `${b}/24`, 'dev', `${prefix}b`]);
    for (const [ns, dev] of [[nsA, `${prefix}a`], [nsB, `${prefix}b`]]) {
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (e) { down(); throw e; } // the caller's teardown does not know these namespaces yet
  return { nsA, nsB, down };
}
