// Helpers shared by the NHRP control-plane benchmarks: shell/namespace helpers, a control-socket
// client (same JSON-line protocol as dmvpnctl, without spawning a process per query), the NHRP codec
// bundled on the fly with esbuild (the sources are TypeScript), a memory probe, and cleanup that runs
// on normal exit, failure and Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import net from 'node:net';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function sh(cmd, args, { allowFail = false, input } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 120000 });
  if (!allowFail && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
  return r;
}
export const ip = (...a) => sh('ip', a);
export const nsx = (ns, args, o) => sh('ip', ['netns', 'exec', ns, ...args], o);

/** Deletes every namespace named PREFIX-*, killing what runs inside first. */
export function nsDown(prefix) {
  const list = sh('ip', ['netns', 'list'], { allowFail: true }).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}-`));
  for (const ns of list) {
    for (const pid of sh('ip', ['netns', 'pids', ns], { allowFail: true }).stdout.split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
    sh('ip', ['netns', 'del', ns], { allowFail: true });
  }
}

const cleanups = [];
let cleaned = false;
function runCleanups() {
  if (cleaned) return; cleaned = true;
  for (const f of cleanups.reverse()) { try { f(); } catch { /* best effort */ } }
}
/** Registers fn to run once at exit, on an uncaught error and on SIGINT/SIGTERM/SIGHUP. */
export function onCleanup(fn) {
  if (cleanups.length === 0) {
    process.on('exit', runCleanups);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => { runCleanups(); process.exit(130); });
    process.on('uncaughtException', (e) => { console.error(e.stack ?? e); runCleanups(); process.exit(1); });
    process.on('unhandledRejection', (e) => { console.error(e?.stack ?? e); runCleanups(); process.exit(1); });
  }
  cleanups.push(fn);
}

/** One exec command over the control socket; resolves to the output text. */
export function ctl(sock, command, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let buf = '';
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`control timeout: ${command}`)); }, timeoutMs);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(JSON.stringify({ command }) + '\n'));
    c.on('data', (d) => { buf += d; });
    c.on('end', () => { clearTimeout(timer); try { const r = JSON.parse(buf); r.ok ? resolve(r.output) : reject(new Error(r.output)); } catch (e) { reject(e); } });
    c.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}
export const ctlJson = async (sock, command, t) => JSON.parse(await ctl(sock, `${command} json`, t));

export async function waitFor(check, ms, every = 50) {
  const end = Date.now() + ms;
  for (;;) {
    let v; try { v = await check(); } catch { v = undefined; }
    if (v || Date.now() >= end) return v;
    await sleep(every);
  }
}

/** The NHRP codec and constants (appliance/nhrp/*.ts), bundled to a temporary ESM file. */
export async function loadCodec() {
  const { buildSync } = await import('esbuild');
  const tmp = mkdtempSync(join(tmpdir(), 'nhrp-bench-'));
  const out = join(tmp, 'codec.mjs');
  buildSync({
    stdin: { contents: `export * from './appliance/net/ipv4.ts'; export * from './appliance/nhrp/codec.ts'; export * from './appliance/nhrp/types.ts';`, resolveDir: root, loader: 'ts' },
    bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'warning',
  });
  const m = await import(pathToFileURL(out).href);
  rmSync(tmp, { recursive: true, force: true });
  return m;
}

/**
 * Starts dmvpnd from its bundle (so a V8 flag or a preload can be added) in namespace ns, with the
 * memory probe preloaded: probe() sends SIGUSR2 and resolves to { rss, heapUsed, ... } after a GC.
 */
export function startDmvpnd(ns, { config, control, pcap, log, nodeFlags = [] }) {
  const memFile = `${control}.mem.json`;
  const args = ['netns', 'exec', ns, process.execPath, '--expose-gc', '-r', join(root, 'bench/lib/memprobe.cjs'), ...nodeFlags,
    join(root, 'dist/dmvpnd.mjs'), '--config', config, '--control', control, ...(pcap ? ['--pcap', pcap] : [])];
  const lines = [];
  const proc = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DMV_MEMPROBE: memFile } });
  const keep = (b) => { lines.push(...b.toString().split('\n').filter(Boolean)); if (lines.length > 4000) lines.splice(0, 2000); };
  proc.stdout.on('data', keep); proc.stderr.on('data', keep);
  const exited = new Promise((r) => proc.once('exit', r));
  const d = {
    proc, log: lines, control,
    // `ip netns exec` execs node: this pid is dmvpnd's
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? 0),
    async probe() {
      try { unlinkSync(memFile); } catch { /* none yet */ }
      proc.kill('SIGUSR2');
      await waitFor(() => existsSync(memFile), 10000, 20);
      await sleep(20);
      return JSON.parse(readFileSync(memFile, 'utf8'));
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode) return;
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (proc.exitCode === null && !proc.signalCode) { proc.kill('SIGKILL'); await exited; }
    },
  };
  onCleanup(() => { if (proc.exitCode === null) try { proc.kill('SIGKILL'); } catch { /* gone */ } });
  return d;
}

export const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? { n: s.length, min: s[0], median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2, max: s[s.length - 1] } : { n: 0 };
};

/** Top self-time functions of a .cpuprofile (V8 --cpu-prof). */
export function cpuProfileTop(file, n = 15) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map(); const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const dt = new Map();
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  let total = 0;
  for (const [id, us] of dt) {
    const f = byId.get(id).callFrame; total += us;
    const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    self.set(k, (self.get(k) ?? 0) + us);
  }
  return { totalMs: total / 1000, top: [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => ({ fn: k, ms: us / 1000, pct: (100 * us) / total })) };
}
