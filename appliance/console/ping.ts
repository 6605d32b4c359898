// `ping` and `traceroute` with IOS's output, run where the operator is (the console process, or
// dmvpnctl) so the `!`s appear one by one as IOS prints them, and the supervisor's event loop never
// waits on the network. The probes are the system's own tools (busybox ping/traceroute on the image,
// iputils/traceroute elsewhere): Node has no raw ICMP socket. One `ping -c 1` per echo gives IOS's
// per-packet `!` (reply), `.` (timeout) and `U` (unreachable); traceroute's lines are re-written as
// IOS's.
//   ping A [repeat N] [size N] [source ADDR|IFACE] [timeout S]     (IOS: 5 echos, 100 bytes, 2 s)
//   traceroute A [source ADDR|IFACE] [timeout S] [ttl MIN MAX]
import { spawn } from 'node:child_process';
import { tokenize } from '../cli/match.js';
import { parseInterfaceName } from '../cli/ifname.js';
import { parseStartupConfig } from '../config/load.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IP_ICMP_HEADERS = 28; // IOS's size is the whole datagram: 20 bytes IPv4 + 8 bytes ICMP

export interface PingOptions { target: string; repeat: number; size: number; timeout: number; source?: string }
export interface TraceOptions { target: string; timeout: number; minTtl: number; maxTtl: number; source?: string }

/** Where a typed line is wrong: the column of the bad word (for IOS's caret) or a message. */
export type ParseError = { col: number } | { message: string };

type Spec = Record<string, { min: number; max: number } | 'source'>;
const PING_SPEC: Spec = { repeat: { min: 1, max: 100000 }, size: { min: 36, max: 18024 }, timeout: { min: 0, max: 3600 }, source: 'source' };
const TRACE_SPEC: Spec = { timeout: { min: 0, max: 3600 }, source: 'source', ttl: { min: 1, max: 255 } };

/** Parse `ping|traceroute A [keyword value]...` (keywords in any order, unique prefixes as IOS). */
function parseCommand(line: string, spec: Spec): { target: string; opts: Record<string, string[]> } | ParseError {
  const toks = tokenize(line);
  if (toks.length < 2) return { message: '% Incomplete command.' };
  if (!IPV4.test(toks[1].text)) return { col: toks[1].col };
  const opts: Record<string, string[]> = {};
  for (let i = 2; i < toks.length;) {
    const word = toks[i].text.toLowerCase();
    const hits = Object.keys(spec).filter((k) => k.startsWith(word));
    if (hits.length !== 1) return hits.length ? { message: `% Ambiguous command:  "${line.slice(0, toks[i].col + toks[i].text.length)}"` } : { col: toks[i].col };
    const key = hits[0], kind = spec[key];
    const n = key === 'ttl' ? 2 : 1;
    if (toks.length - i - 1 < n) return { message: '% Incomplete command.' };
    const vals = toks.slice(i + 1, i + 1 + n);
    for (const v of vals) {
      if (kind === 'source') { if (!IPV4.test(v.text) && !parseInterfaceName(v.text)) return { col: v.col }; }
      else if (!/^\d+$/.test(v.text) || Number(v.text) < kind.min || Number(v.text) > kind.max) return { col: v.col };
    }
    opts[key] = vals.map((v) => (kind === 'source' && !IPV4.test(v.text) ? parseInterfaceName(v.text)!.name : v.text));
    i += 1 + n;
  }
  return { target: toks[1].text, opts };
}

export function parsePing(line: string): PingOptions | ParseError {
  const r = parseCommand(line, PING_SPEC);
  if (!('target' in r)) return r;
  const o = r.opts;
  return { target: r.target, repeat: Number(o.repeat?.[0] ?? 5), size: Number(o.size?.[0] ?? 100), timeout: Number(o.timeout?.[0] ?? 2), source: o.source?.[0] };
}

export function parseTraceroute(line: string): TraceOptions | ParseError {
  const r = parseCommand(line, TRACE_SPEC);
  if (!('target' in r)) return r;
  const o = r.opts;
  const [minTtl, maxTtl] = (o.ttl ?? ['1', '30']).map(Number);
  if (minTtl > maxTtl) return { message: '% Minimum TTL is larger than the maximum' };
  return { target: r.target, timeout: Number(o.timeout?.[0] ?? 3), minTtl, maxTtl, source: o.source?.[0] };
}

/** How to run a probe; replaced in tests. */
export type Runner = (cmd: string, args: string[], onLine: (line: string) => void) => { done: Promise<number>; kill(): void };

export const runTool: Runner = (cmd, args, onLine) => {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  let buf = '';
  const feed = (d: Buffer) => {
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) { onLine(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
  };
  p.stdout.on('data', feed); p.stderr.on('data', feed);
  const done = new Promise<number>((res) => {
    p.on('close', (code) => { if (buf) onLine(buf); res(code ?? 1); });
    p.on('error', () => res(127));
  });
  return { done, kill: () => p.kill() };
};

export interface ProbeIo {
  write(text: string): void;
  /** true once the operator typed the escape sequence (Ctrl-^ x, or Ctrl-C) */
  aborted(): boolean;
}

/** `ping` with IOS's output, written as it happens. `source` is already an address. */
export async function ping(o: PingOptions, io: ProbeIo, run: Runner = runTool): Promise<void> {
  io.write(`Type escape sequence to abort.\nSending ${o.repeat}, ${o.size}-byte ICMP Echos to ${o.target}, timeout is ${o.timeout} seconds:\n`);
  if (o.source) io.write(`Packet sent with a source address of ${o.source} \n`);
  const rtts: number[] = [];
  let sent = 0;
  for (let i = 0; i < o.repeat && !io.aborted(); i++) {
    let rtt: number | undefined, unreachable = false;
    const args = ['-n', '-c', '1', '-W', String(Math.max(1, o.timeout)), '-s', String(o.size - IP_ICMP_HEADERS),
      ...(o.source ? ['-I', o.source] : []), o.target];
    const r = run('ping', args, (l) => {
      const m = /time[=<]\s*([\d.]+)\s*ms/.exec(l);
      if (m) rtt = Number(m[1]);
      if (/unreachable/i.test(l)) unreachable = true;
    });
    await r.done;
    sent++;
    if (rtt !== undefined) rtts.push(rtt);
    io.write(rtt !== undefined ? '!' : unreachable ? 'U' : '.');
    // a timed-out echo already waited; a fast failure (unreachable) should not spin
    if (rtt === undefined && unreachable) await new Promise((res) => setTimeout(res, 200));
  }
  io.write('\n');
  const pct = sent ? Math.floor((rtts.length * 100) / sent) : 0;
  const rt = rtts.length
    ? `, round-trip min/avg/max = ${Math.round(Math.min(...rtts))}/${Math.round(rtts.reduce((a, b) => a + b, 0) / rtts.length)}/${Math.round(Math.max(...rtts))} ms` : '';
  io.write(`Success rate is ${pct} percent (${rtts.length}/${sent})${rt}\n`);
}

/** `traceroute` with IOS's output: the system traceroute's lines re-written, one per hop. */
export async function traceroute(o: TraceOptions, io: ProbeIo, run: Runner = runTool): Promise<void> {
  io.write(`Type escape sequence to abort.\nTracing the route to ${o.target}\n\n`);
  const args = ['-n', '-q', '3', '-w', String(Math.max(1, o.timeout)), '-f', String(o.minTtl), '-m', String(o.maxTtl),
    ...(o.source ? ['-s', o.source] : []), o.target];
  const r = run('traceroute', args, (l) => { const h = iosHop(l); if (h) io.write(h); });
  const poll = setInterval(() => { if (io.aborted()) r.kill(); }, 100);
  await r.done;
  clearInterval(poll);
}

/** " 2  10.0.0.1  0.523 ms  0.400 ms *" -> "  2 10.0.0.1 1 msec 0 msec * " (IOS: an address where it changes). */
export function iosHop(line: string): string | undefined {
  const m = /^\s*(\d+)\s+(.*)$/.exec(line);
  if (!m) return undefined;
  const parts: string[] = [];
  const re = /(\d+\.\d+\.\d+\.\d+)|([\d.]+)\s*ms|(\*)|(![A-Za-z]?)/g;
  for (let x = re.exec(m[2]); x; x = re.exec(m[2])) {
    if (x[1]) parts.push(x[1]);
    else if (x[2]) parts.push(`${Math.round(Number(x[2]))} msec`);
    else if (x[3]) parts.push('*');
    else if (x[4]) parts.push(x[4] === '!H' ? 'H' : x[4] === '!N' ? 'N' : x[4] === '!P' ? 'P' : 'A');
  }
  if (!parts.length) return undefined;
  return `${m[1].padStart(3)} ${parts.join(' ')} \n`;
}

/** A typed `ping ...` / `traceroute ...` line: runs it (output through io) and returns what is left to
 *  print: '' when it ran, an IOS message, or the column of a bad word (for the caller's caret).
 *  A source interface is resolved to its address from the running-config (`control` asks for it). */
export async function runProbe(line: string, io: ProbeIo, control: (cmd: string) => Promise<string>): Promise<string | number> {
  const isPing = /^\s*pi/i.test(line);
  const o = isPing ? parsePing(line) : parseTraceroute(line);
  if ('col' in o) return o.col;
  if ('message' in o) return `${o.message}\n`;
  if (o.source && !IPV4.test(o.source)) {
    let shown: string;
    try { shown = await control('show running-config'); } catch (e) { return `% Cannot read the source interface's address: ${(e as Error).message}\n`; }
    const cfg = parseStartupConfig(shown.slice(Math.max(0, shown.search(/^!/m))));
    const addr = cfg.ok ? cfg.config.interfaces.find((i) => i.name === o.source)?.address?.address : undefined;
    if (!addr) return `% Invalid source interface - ${o.source} has no IP address\n`;
    o.source = addr;
  }
  if ('repeat' in o) await ping(o, io); else await traceroute(o, io);
  return '';
}
