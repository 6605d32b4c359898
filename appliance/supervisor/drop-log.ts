// Rate-limited log lines for packets the data plane refuses because of who sent them: GRE data
// from an NBMA address that is no NHRP peer, cleartext GRE on a protected tunnel, authenticated ESP
// from an address that is not the SA's peer. The data plane counts each drop and keeps the last
// sender (readDropSources); this polls both and logs at most one line per reason per interval.
import { u32ToIp } from '../net/ipv4.js';

export const DROP_LOG_MS = 2000;

const REASONS = [
  { counter: 'dropUnknownPeer', source: 'unknownPeer', what: 'GRE data packets from an NBMA address that is no NHRP peer (not delivered to the LAN)' },
  { counter: 'dropCleartext', source: 'cleartext', what: 'cleartext GRE packets on a protected tunnel (only GRE in ESP is accepted)' },
  { counter: 'dropEspPolicy', source: 'espPolicy', what: 'ESP packets outside their SA\'s selectors (source is not the SA\'s peer, or not GRE to us)' },
] as const;

/** The counters a snapshot must have: typed, so that a reader missing one of them (the ESP block's
 *  dropCleartext and dropEspPolicy are not in readCounters' global block) does not compile. */
export interface DropSnapshot { counters: Record<(typeof REASONS)[number]['counter'], number>; sources: Record<string, number> }

export class DropLog {
  private readonly last = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly read: () => DropSnapshot, private readonly log: (msg: string) => void) {}

  start(): void {
    this.tick(); // baseline
    this.timer = setInterval(() => this.tick(), DROP_LOG_MS);
    this.timer.unref();
  }
  stop(): void { clearInterval(this.timer); }

  tick(): void {
    const { counters, sources } = this.read();
    for (const r of REASONS) {
      const now = counters[r.counter];
      const before = this.last.get(r.counter);
      this.last.set(r.counter, now);
      if (before === undefined || now <= before) continue;
      const src = sources[r.source];
      this.log(`dropped ${now - before} ${r.what}${src ? `; last from NBMA ${u32ToIp(src)}` : ''} (${r.counter} ${now})`);
    }
  }
}
