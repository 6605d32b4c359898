// The appliance's one log: IOS-like "%FACILITY-SEVERITY-MNEMONIC: text" lines with a timestamp, to
// stderr and to a bounded in-memory buffer (for `show logging`). Keys and passwords are never passed
// here. Modules below the supervisor (NHRP, IPsec, the data plane host) take a LogFn, a logger already
// bound to their facility (Log.facility), so they log without knowing the Log object.

export type Level = 'debug' | 'info' | 'notice' | 'warn' | 'error';
/** A logger bound to one facility: what every module that logs takes. */
export type LogFn = (level: Level, msg: string) => void;

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

  /** A LogFn bound to one facility (with an optional mnemonic, EVENT by default). */
  facility(name: string) {
    return (level: Level, msg: string, mnemonic = 'EVENT') => this.emit(name, level, mnemonic, msg);
  }

  recent(): string[] { return [...this.lines]; }
}
