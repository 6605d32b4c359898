// Supervisor log: IOS-like "%FACILITY-SEVERITY-MNEMONIC: text" lines with a timestamp, to stderr and
// to a bounded in-memory buffer (for `show logging`). Keys and passwords are never passed here.

export type Level = 'debug' | 'info' | 'notice' | 'warn' | 'error';
const SEVERITY: Record<Level, number> = { error: 3, warn: 4, notice: 5, info: 6, debug: 7 };

export class Log {
  private readonly lines: string[] = [];
  debugEnabled = new Set<string>();
  constructor(private readonly hostname: () => string, private readonly max = 1000,
              private readonly sink: (line: string) => void = (l) => process.stderr.write(l + '\n')) {}

  emit(facility: string, level: Level, mnemonic: string, text: string): void {
    if (level === 'debug' && !this.debugEnabled.has(facility.toLowerCase())) return;
    const ts = new Date().toISOString().replace('T', ' ').replace('Z', '');
    const line = `${ts} ${this.hostname()}: %${facility}-${SEVERITY[level]}-${mnemonic}: ${text}`;
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
    this.sink(line);
  }

  /** A logger bound to one facility, the shape the NHRP engine and others take. */
  facility(name: string) {
    return (level: Level, msg: string, mnemonic = 'EVENT') => this.emit(name, level, mnemonic, msg);
  }

  recent(): string[] { return [...this.lines]; }
}
