// The appliance's one log: IOS-like "%FACILITY-SEVERITY-MNEMONIC: text" lines with a timestamp, to
// stderr and to a bounded in-memory buffer (for `show logging`). Keys and passwords are never passed
// here. Modules below the supervisor (NHRP, IPsec, the data plane host) take a LogFn, a logger already
// bound to their facility (Log.facility), so they log without knowing the Log object.

export type Level = 'debug' | 'info' | 'notice' | 'warn' | 'error';
/** A logger bound to one facility: what every module that logs takes. */
export type LogFn = (level: Level, msg: string) => void;

const SEVERITY: Record<Level, number> = { error: 3, warn: 4, notice: 5, info: 6, debug: 7 };

/** One emitted line, for listeners that send it elsewhere (log/syslog.ts). */
export interface LogEvent { time: Date; facility: string; severity: number; mnemonic: string; text: string }

export class Log {
  private readonly lines: string[] = [];
  private readonly listeners: Array<(e: LogEvent) => void> = [];
  debugEnabled = new Set<string>();
  constructor(private readonly hostname: () => string, private readonly max = 1000,
              private readonly sink: (line: string) => void = (l) => process.stderr.write(l + '\n')) {}

  emit(facility: string, level: Level, mnemonic: string, text: string): void {
    if (level === 'debug' && !this.debugEnabled.has(facility.toLowerCase())) return;
    const time = new Date();
    const ts = time.toISOString().replace('T', ' ').replace('Z', '');
    const line = `${ts} ${this.hostname()}: %${facility}-${SEVERITY[level]}-${mnemonic}: ${text}`;
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
    this.sink(line);
    for (const f of this.listeners) f({ time, facility, severity: SEVERITY[level], mnemonic, text });
  }

  /** Called with every line emitted from now on (after it is in the buffer and the sink). */
  onEmit(f: (e: LogEvent) => void): void { this.listeners.push(f); }

  /** A LogFn bound to one facility (with an optional mnemonic, EVENT by default). */
  facility(name: string) {
    return (level: Level, msg: string, mnemonic = 'EVENT') => this.emit(name, level, mnemonic, msg);
  }

  recent(): string[] { return [...this.lines]; }
}
