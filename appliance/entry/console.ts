// console [--control SOCK]: the CLI on the appliance's serial console (the image's init runs it on
// ttyS0 / ttyAMA0 and respawns it when a session ends). Commands run in the supervisor through its
// control socket, the path dmvpnctl takes, so the console and dmvpnctl answer alike, and the console
// stays usable while the watchdog restarts a crashed supervisor ("% ... not running" meanwhile).
//
// It is a separate process from dmvpnd on purpose: a supervisor crash must not take the console away.
// Here: IOS line editing on a raw tty (Backspace, Ctrl-U, Ctrl-C, arrows for history, `?` help at
// any point of the line), the user-exec / privileged-exec split (`enable`, `disable`), and a session
// that ends with `exit`. Login and `enable` passwords as IOS (console/login.ts), read from the
// running-config (the startup-config file when the supervisor does not answer). `configure terminal`
// opens a session on the control socket (the one `dmvpnctl -` uses): configuration mode, its
// sub-modes, `?` and Tab run in the supervisor's CLI engine there and every line is applied live;
// `end` (or leaving config mode) closes the session.
import os from 'node:os';
import { callControl, ControlClient, DEFAULT_CONTROL } from '../supervisor/control.js';
import { LineEditor } from '../console/line-editor.js';
import { ConsoleGuard, LoginIo } from '../console/login.js';
import { isReloadNeedingConfirm, confirmReload } from '../console/reload-dialog.js';
import { runProbe } from '../console/ping.js';
import { page, DEFAULT_TERMINAL_LENGTH, MAX_TERMINAL_LENGTH } from '../console/pager.js';
import { parseStartupConfig } from '../config/load.js';
import type { AuthConfig } from '../config/model.js';
import { DEFAULT_EXEC_TIMEOUT } from '../config/grammar-auth.js';
import { readFileSync } from 'node:fs';

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
let config: { client: ControlClient; prompt: string; pasting?: boolean } | undefined;
/** `crypto pki authenticate|import` typed in privileged exec: the supervisor session reading the pasted PEM */
let pasting: ControlClient | undefined;

// no prompt while a pasted certificate is read (the supervisor session's prompt is empty then)
const prompt = () => (pasting || config?.pasting ? '' : config?.prompt ?? `${hostname}${privileged ? '#' : '>'}`);

/** A line of configuration mode, run in the supervisor session; the session ends with config mode. */
async function configLine(line: string, opts: { complete?: boolean } = {}): Promise<string> {
  const c = config!;
  try {
    const r = await c.client.send(line, opts);
    c.pasting = r.prompt === '';
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

/** A `crypto ...` line of privileged exec in a supervisor session, kept while it reads a pasted block. */
async function cryptoLine(line: string): Promise<string> {
  const c = pasting ?? new ControlClient(sock, true);
  try {
    const r = await c.send(line);
    if (r.prompt === '') pasting = c; else { c.close(); pasting = undefined; }
    return r.output;
  } catch (e) {
    c.close();
    pasting = undefined;
    return `% The supervisor (dmvpnd) is not answering: ${(e as Error).message}\n`;
  }
}

/** What one entered line prints. */
async function run(line: string): Promise<string> {
  const trimmed = line.trim();
  if (pasting) return cryptoLine(line);
  if (config) return configLine(line);
  if (!trimmed) return '';
  if (firstWordIs(trimmed, 'exit', 2) || firstWordIs(trimmed, 'logout', 2) || firstWordIs(trimmed, 'quit', 1)) { endSession(); return ''; }
  if (firstWordIs(trimmed, 'enable', 2)) { if (privileged || await guard.enable(await loginConfig(), loginIo)) privileged = true; return ''; }
  if (firstWordIs(trimmed, 'disable', 4)) { privileged = false; return ''; }
  if (firstWordIs(trimmed, 'configure', 4)) {
    if (!privileged) return invalidAt(line, 0);
    config = { client: new ControlClient(sock, true), prompt: prompt() };
    return configLine(line); // the supervisor's engine reads `conf t` (abbreviations, errors)
  }
  if (privileged && firstWordIs(trimmed, 'crypto', 3)) return cryptoLine(line);
  if (firstWordIs(trimmed, 'ping', 2) || firstWordIs(trimmed, 'traceroute', 4)) return probe(line);
  if (firstWordIs(trimmed, 'terminal', 3)) return terminal(line);
  // user exec: show commands only, as IOS (the supervisor's sessions are privileged), and not the
  // configuration (it holds secret hashes and type 7 passwords)
  if (!privileged && !firstWordIs(trimmed, 'show', 2)) return invalidAt(line, line.length - line.trimStart().length);
  const conf = /^(\s*\S+\s+)(ru|st)/i.exec(line);
  if (!privileged && conf && /^\s*sh/i.test(line)) return invalidAt(line, conf[1].length);
  if (isReloadNeedingConfirm(trimmed) && !(await confirmReload(loginIo, control))) return '';
  const res = await control(line);
  if (firstWordIs(trimmed, 'show', 2)) void refreshHostname();
  return res;
}

/** `terminal length N` (0: no paging) / `terminal no length`: this line's pager, as on IOS. */
let terminalLength = DEFAULT_TERMINAL_LENGTH;
function terminal(line: string): string {
  const words = line.trim().split(/\s+/);
  if (words.length === 3 && /^no$/i.test(words[1]) && /^le/i.test(words[2])) { terminalLength = DEFAULT_TERMINAL_LENGTH; return ''; }
  if (words.length === 3 && /^le/i.test(words[1]) && /^\d+$/.test(words[2]) && Number(words[2]) <= MAX_TERMINAL_LENGTH) {
    terminalLength = Number(words[2]);
    return '';
  }
  if (words.length < 3 && (words.length === 1 || /^(no|le)/i.test(words[1]))) return '% Incomplete command.\n\n';
  const bad = line.indexOf(words[Math.min(words.length - 1, 2)], line.indexOf(words[0]) + words[0].length);
  return invalidAt(line, words.length > 1 && !/^(no|le)/i.test(words[1]) ? line.indexOf(words[1]) : bad);
}

/** `ping` / `traceroute`, run here with their output streamed (console/ping.ts). */
let probing: { abort: boolean } | undefined;
async function probe(line: string): Promise<string> {
  const state = (probing = { abort: false });
  try {
    const r = await runProbe(line, { write, aborted: () => state.abort }, control);
    return typeof r === 'number' ? invalidAt(line, r) : r;
  } finally { probing = undefined; }
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

const pager = { write, readKey: () => editor.readKey() };
const editor = new LineEditor({
  write,
  prompt,
  onLine: async (line) => { clearTimeout(idleTimer); running = true; try { await page(await run(line), terminalLength, pager); } finally { running = false; touched(); } },
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

const STARTUP = process.env.DMVPN_STARTUP_CONFIG ?? '/data/startup-config';
const guard = new ConsoleGuard(Number(process.env.DMVPN_LOGIN_DELAY_MS ?? 1000));
const loginIo: LoginIo = {
  ask: (p, secret) => editor.ask(p, secret),
  write,
  pause: async (ms) => { await new Promise((r) => setTimeout(r, ms)); editor.discardInput(); },
};

/** The login configuration: the supervisor's running-config, else the startup-config file. */
async function loginConfig(): Promise<AuthConfig | undefined> {
  let text: string;
  try {
    text = (await callControl(sock, 'show running-config', 10_000)).output;
    text = text.slice(Math.max(0, text.search(/^!/m))); // past "Building configuration..."
  } catch {
    try { text = readFileSync(STARTUP, 'utf8'); } catch { return undefined; } // no config at all: factory default
  }
  const r = parseStartupConfig(text);
  return r.ok ? r.config.auth : undefined;
}

async function beginSession(): Promise<void> {
  const auth = await loginConfig();
  const level = await guard.login(auth, loginIo);
  if (level === undefined) { started = false; write('\nPress RETURN to get started.\n'); return; }
  privileged = level >= 15;
  idleLimitMs = (auth?.console.execTimeout ?? DEFAULT_EXEC_TIMEOUT) * 1000;
  touched();
  write('\n'); editor.start();
}

// `exec-timeout` (line con 0): an idle session ends, as IOS (the next one starts at Press RETURN and
// asks for the login again); not while a command runs (a long ping is not idleness)
let idleLimitMs = 0;
let idleTimer: NodeJS.Timeout | undefined;
let running = false;
function touched(): void {
  clearTimeout(idleTimer);
  if (idleLimitMs > 0) idleTimer = setTimeout(() => { write('\n'); endSession(); }, idleLimitMs);
}

let lastByteWasCr = false;
process.stdin.on('data', (chunk: Buffer) => {
  if (lastByteWasCr && chunk[0] === 0x0a) chunk = chunk.subarray(1); // the LF of a CR LF split across reads
  // IOS's escape sequence (Ctrl-^ x), or Ctrl-C, stops a running ping/traceroute
  if (probing && (chunk.includes(0x1e) || chunk.includes(0x03))) { probing.abort = true; return; }
  lastByteWasCr = chunk[chunk.length - 1] === 0x0d;
  if (!started) {
    // IOS after boot: nothing happens until RETURN; a line of garbage is swallowed with it
    const end = Math.max(chunk.lastIndexOf(0x0d), chunk.lastIndexOf(0x0a));
    if (end < 0) return;
    started = true;
    const rest = chunk.subarray(end + 1);
    void beginSession();
    if (rest.length) editor.feed(rest);
    return;
  }
  if (idleLimitMs && !running) touched();
  editor.feed(chunk);
});
process.stdin.on('end', () => process.exit(0));
if (process.stdin.isTTY) process.stdin.setRawMode(true);
// As IOS, the console offers a session once the configuration is loaded: wait (bounded) for the
// supervisor to answer; a supervisor that refused its config must not lock the operator out.
const READY_WAIT_MS = Number(process.env.DMVPN_CONSOLE_WAIT_MS ?? 180_000);
let said = false;
for (const end = Date.now() + READY_WAIT_MS; Date.now() < end;) {
  try { await callControl(sock, 'show version', 5_000); break; } catch {
    // at boot: Node runs and the supervisor is still starting (make bench times the boot by this line)
    if (!said) { write('console: waiting for the supervisor (dmvpnd) to answer\n'); said = true; }
    await new Promise((r) => setTimeout(r, 500));
  }
}
await refreshHostname();
write(`\n\n${await readRelease()}\nPress RETURN to get started.\n`);

async function readRelease(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile('/etc/dmvpn-release', 'utf8').catch(() => 'DMVPN appliance')).trim();
}
