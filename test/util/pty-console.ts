// The serial console's program (dist/console.mjs) on a pty (under `script`), talking to a supervisor's
// control socket: what it printed, and keys to type. Used where the console's own behaviour is under
// test (line editing, configuration mode, the factory box's console while it enrolls).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, waitFor } from './lab.js';

export class PtyConsole {
  out = '';
  private raw = '';
  private mark = 0;
  readonly proc;
  constructor(sock: string, waitMs = 30000) {
    this.proc = spawn('script', ['-qfec', `node ${path.join(ROOT, 'dist/console.mjs')} --control ${sock}`, '/dev/null'],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DMVPN_CONSOLE_WAIT_MS: String(waitMs) } });
    // the console writes CR LF and the pty adds a CR of its own: lines are compared with LF only
    this.proc.stdout!.on('data', (b: Buffer) => { this.raw += b.toString(); this.out = this.raw.replace(/\r+\n/g, '\n'); });
  }
  type(keys: string): void { this.mark = this.out.length; this.proc.stdin!.write(keys); }
  /** Waits until what was printed since the last type() matches; returns that text. */
  async expect(re: RegExp, ms = 20000): Promise<string> {
    await waitFor(() => re.test(this.out.slice(this.mark)), ms, 100);
    return this.out.slice(this.mark);
  }
}
