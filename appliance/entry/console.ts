// console [--control SOCK]: the CLI on the appliance's serial console (the image's init runs it on
// ttyS0 / ttyAMA0 and respawns it when a session ends). Commands run in the supervisor through its
// control socket, the path dmvpnctl takes, so the console and dmvpnctl answer alike, and the console
// stays usable while the watchdog restarts a crashed supervisor ("% ... not running" meanwhile).
//
// It is a separate process from dmvpnd on purpose: a supervisor crash must not take the console away.
// Here: IOS line editing on a raw tty (Backspace, Ctrl-U, Ctrl-C, arrows for history, `?` help at
// any point of the line), the user-exec / privileged-exec split (`enable`, `disable`), and a session
// that ends with `exit`. Factory default as IOS: no login on the console (`line con 0` login is not
// in the config grammar yet). `configure terminal` opens a session on the control socket (the one
// `dmvpnctl -` uses): configuration mode, its sub-modes, `?` and Tab run in the supervisor's CLI
// engine there and every line is applied live; `end` (or leaving config mode) closes the session.
import os from 'node:os';
import { callControl, ControlClient, DEFAULT_CONTROL } from '../supervisor/control.js';
import { LineEditor } from '../console/line-editor.js';

const argv = process.argv.slice(2);
const sock = argv[0] === '--control' && argv[1] ? argv[1] : process.env.DMVPN_CONTROL ?? DEFAULT_CONTROL;
const out = process.stdout;
const write = (s: string) => out.write(s.replace(/\r?\n/g, '\r\n'));

let privileged = false;
let hostname = os.hostname() || 'Router'; // init sets it from the startup-config
let started = false;

async function control(line: string): Promise<string> {
  try {
    const r = await callControl(sock, line, 30_000);
    return r.output;
  } catch (e) {
    return `% The supervisor (dmvpnd) is not answering: ${(e as Error).message}\n`;
  }
}

async function refreshHostname(): Promise<void> {
  const cfg = await control('show running-config');
  const m = /^hostname (\S+)/m.exec(cfg);
  if (m) hostname = m[1];
}

/** The line's first word is `word` or an abbreviation of it at least `min` letters long (IOS style). */
function firstWordIs(line: string, word: string, min: number): boolean {
  const w = line.trim().split(/\s+/)[0].toLowerCase();
  return w.length >= min && word.startsWith(w);
}

/** configuration mode: the supervisor session, and its prompt ("R1(config-if)#") */
let config: { client: ControlClient; prompt: string } | undefined;

const prompt = () => config?.prompt ?? `${hostname}${privileged ? '#' : '>'}`;

/** A line of configuration mode, run in the supervisor session; the session ends with config mode. */
async function configLine(line: string, opts: { complete?: boolean } = {}): Promise<string> {
  const c = config!;
  try {
    const r = await c.client.send(line, opts);
    if (r.prompt) c.prompt = r.prompt;
    if (r.closed || !/\(.*\)#$/.test(c.prompt)) {
      c.client.close();
      config = undefined;
      hostname = c.prompt.replace(/[#>]$/, '') || hostname;
    }
    return r.output;
  } catch (e) {
    c.client.close();
    config = undefined;
    return `% The supervisor (dmvpnd) is not answering: ${(e as Error).message}; configuration mode ended\n`;
  }
}

/** What one entered line prints. */
async function run(line: string): Promise<string> {
  const trimmed = line.trim();
  if (config) return configLine(line);
  if (!trimmed) return '';
  if (firstWordIs(trimmed, 'exit', 2) || firstWordIs(trimmed, 'logout', 2) || firstWordIs(trimmed, 'quit', 1)) { endSession(); return ''; }
  if (firstWordIs(trimmed, 'enable', 2)) { privileged = true; return ''; }
  if (firstWordIs(trimmed, 'disable', 4)) { privileged = false; return ''; }
  if (firstWordIs(trimmed, 'configure', 4)) {
    if (!privileged) return invalidAt(line, 0);
    config = { client: new ControlClient(sock, true), prompt: prompt() };
    return configLine(line); // the supervisor's engine reads `conf t` (abbreviations, errors)
  }
  // user exec: show commands only, as IOS (the supervisor's sessions are privileged)
  if (!privileged && !firstWordIs(trimmed, 'show', 2)) return invalidAt(line, line.length - line.trimStart().length);
  const res = await control(line);
  if (firstWordIs(trimmed, 'show', 2)) void refreshHostname();
  return res;
}

function invalidAt(line: string, col: number): string {
  return `${' '.repeat(prompt().length + col)}^\n% Invalid input detected at '^' marker.\n\n`;
}

function endSession(): void {
  editor.pause();
  write('\n');
  // init respawns the console, which starts a fresh session (user exec, Press RETURN)
  setTimeout(() => process.exit(0), 50);
}

const editor = new LineEditor({
  write,
  prompt,
  onLine: async (line) => { write(await run(line)); },
  onComplete: async (line) => {
    if (config) return configLine(line, { complete: true });
    // exec mode: a one-line session at this privilege level completes it
    const client = new ControlClient(sock, privileged);
    try { return (await client.send(line, { complete: true, timeoutMs: 5_000 })).output; } catch { return line; } finally { client.close(); }
  },
  onHelp: async (line) => {
    if (config) return configLine(`${line}?`);
    if (!privileged && line.trim() === '') return 'Exec commands:\n  enable   Turn on privileged commands\n  exit     Exit from the EXEC\n  logout   Exit from the EXEC\n  show     Show running system information\n';
    return control(`${line}?`);
  },
});

process.stdin.on('data', (chunk: Buffer) => {
  if (!started) {
    // IOS after boot: nothing happens until RETURN; a line of garbage is swallowed with it
    if (!chunk.includes(0x0d) && !chunk.includes(0x0a)) return;
    started = true;
    write('\n'); editor.start();
    return;
  }
  editor.feed(chunk);
});
process.stdin.on('end', () => process.exit(0));
if (process.stdin.isTTY) process.stdin.setRawMode(true);
// As IOS, the console offers a session once the configuration is loaded: wait (bounded) for the
// supervisor to answer; a supervisor that refused its config must not lock the operator out.
const READY_WAIT_MS = Number(process.env.DMVPN_CONSOLE_WAIT_MS ?? 180_000);
for (const end = Date.now() + READY_WAIT_MS; Date.now() < end;) {
  try { await callControl(sock, 'show version', 5_000); break; } catch { await new Promise((r) => setTimeout(r, 500)); }
}
await refreshHostname();
write(`\n\n${await readRelease()}\nPress RETURN to get started.\n`);

async function readRelease(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile('/etc/dmvpn-release', 'utf8').catch(() => 'DMVPN appliance')).trim();
}
