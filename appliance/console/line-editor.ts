// IOS-style line editing on a raw terminal: the bytes a serial line delivers in, the echo and the
// entered lines out. Anything can arrive on a serial port (line noise, a wrong baud rate, a paste of
// binary): bytes that are not printable ASCII or a known control key are dropped, escape sequences are
// consumed whole, and a line cannot grow past MAX_LINE (the terminal bell instead). Input that arrives
// while a command runs waits, in order, until the command's output is printed.
export const MAX_LINE = 512;
const HISTORY = 20;
const BELL = '\x07';

export interface LineEditorIo {
  write(text: string): void;
  prompt(): string;
  /** An entered line (without the line end); the next prompt is printed when this resolves. */
  onLine(line: string): Promise<void>;
  /** `?` typed: the help text for the line so far (without the '?'). */
  onHelp(line: string): Promise<string>;
  /** Tab typed: the line completed as far as it is unique (the line unchanged when it is not). */
  onComplete?(line: string): Promise<string>;
}

export class LineEditor {
  private line = '';
  private history: string[] = [];
  private histPos = 0;
  private esc: 'none' | 'esc' | 'csi' = 'none';
  private lastWasCr = false;
  private busy = false;
  private paused = true;
  private queue: number[] = [];
  /** a question (login, enable password) being answered: its line is returned, not run */
  private asking?: { secret: boolean; resolve: (line: string) => void };

  constructor(private readonly io: LineEditorIo) {}

  start(): void { this.paused = false; this.io.write(this.io.prompt()); this.drain(); }
  pause(): void { this.paused = true; }

  /** Ask one line (works while a command runs or the editor is paused); a secret one is not echoed
   *  and not kept in the history. */
  ask(prompt: string, secret: boolean): Promise<string> {
    return new Promise((resolve) => {
      this.line = '';
      this.asking = { secret, resolve };
      this.io.write(prompt);
      this.drain();
    });
  }

  /** The next key pressed (the pager's --More--): works while a command runs, like ask(). */
  readKey(): Promise<number> {
    return new Promise((resolve) => { this.keyWaiter = resolve; this.drain(); });
  }
  private keyWaiter?: (b: number) => void;

  /** Throw away everything typed and not yet read (after a failed login: no queued guesses). */
  discardInput(): void { this.queue.length = 0; this.line = ''; this.esc = 'none'; }

  feed(bytes: Uint8Array): void {
    for (const b of bytes) this.queue.push(b);
    if (this.queue.length > 64 * 1024) this.queue.splice(0, this.queue.length - 64 * 1024); // a flood: keep the newest
    this.drain();
  }

  private drain(): void {
    while (this.keyWaiter && this.queue.length) { const w = this.keyWaiter; this.keyWaiter = undefined; w(this.queue.shift()!); }
    while ((this.asking || (!this.busy && !this.paused)) && this.queue.length) this.key(this.queue.shift()!);
  }

  private key(b: number): void {
    const cr = this.lastWasCr; this.lastWasCr = b === 0x0d;
    if (this.esc === 'esc') { this.esc = b === 0x5b || b === 0x4f ? 'csi' : 'none'; return; }
    if (this.esc === 'csi') {
      if (b >= 0x40 && b <= 0x7e) { this.esc = 'none'; if (b === 0x41) this.recall(-1); else if (b === 0x42) this.recall(1); }
      return;
    }
    if (b === 0x0d || (b === 0x0a && !cr)) return this.enter();
    if (b === 0x0a) return;                                           // the LF of a CR LF
    if (b === 0x1b) { this.esc = 'esc'; return; }
    const echo = !this.asking?.secret;
    if (b === 0x7f || b === 0x08) { if (this.line) { this.line = this.line.slice(0, -1); if (echo) this.io.write('\b \b'); } return; }
    if (b === 0x15) { if (echo) this.io.write('\b \b'.repeat(this.line.length)); this.line = ''; return; }   // Ctrl-U
    if (this.asking) {                                                                                // answer: no help, history
      if (b === 0x03) { this.line = ''; return this.enter(); }
      if (b < 0x20 || b > 0x7e || this.line.length >= MAX_LINE) return;
      this.line += String.fromCharCode(b);
      if (echo) this.io.write(String.fromCharCode(b));
      return;
    }
    if (b === 0x03) { this.line = ''; this.io.write('^C\n' + this.io.prompt()); return; }         // Ctrl-C
    if (b === 0x10) return this.recall(-1);                                                         // Ctrl-P
    if (b === 0x0e) return this.recall(1);                                                          // Ctrl-N
    if (b === 0x3f) return this.help();                                                             // ?
    if (b === 0x09) return this.complete();                                                         // Tab
    if (b < 0x20 || b > 0x7e) return;                                                               // noise
    if (this.line.length >= MAX_LINE) { this.io.write(BELL); return; }
    this.line += String.fromCharCode(b);
    this.io.write(String.fromCharCode(b));
  }

  private enter(): void {
    const line = this.line;
    this.line = '';
    this.io.write('\n');
    const asking = this.asking;
    if (asking) { this.asking = undefined; asking.resolve(line); return; }
    if (line.trim() && this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > HISTORY) this.history.shift();
    }
    this.histPos = this.history.length;
    this.runThen(this.io.onLine(line), () => { if (!this.paused) this.io.write(this.io.prompt()); });
  }

  private help(): void {
    const line = this.line;
    this.io.write('?\n');
    this.runThen(this.io.onHelp(line).then((t) => this.io.write(t)), () => this.io.write(this.io.prompt() + line));
  }

  private complete(): void {
    const done = this.io.onComplete;
    if (!done) return;
    const line = this.line;
    this.runThen(done(line).then((next) => {
      if (next === line || this.line !== line || next.length > MAX_LINE) { if (next === line) this.io.write(BELL); return; }
      this.io.write('\b \b'.repeat(line.length) + next);
      this.line = next;
    }), () => undefined);
  }

  private runThen(p: Promise<unknown>, after: () => void): void {
    this.busy = true;
    p.catch((e) => this.io.write(`% Internal error: ${(e as Error).message}\n`)).finally(() => {
      this.busy = false;
      after();
      this.drain();
    });
  }

  private recall(step: number): void {
    const pos = this.histPos + step;
    if (pos < 0 || pos > this.history.length) { this.io.write(BELL); return; }
    this.histPos = pos;
    this.io.write('\b \b'.repeat(this.line.length));
    this.line = this.history[pos] ?? '';
    this.io.write(this.line);
  }
}
