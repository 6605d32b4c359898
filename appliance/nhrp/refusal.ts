// Refusals of NHRP from hostile or confused peers: each one is counted under its reason (shown by
// `show ip nhrp traffic`) and logged naming the sender's NBMA address, but at most LOG_BURST lines
// per reason per LOG_WINDOW_MS: an attacker who can make us refuse packets must not be able to flood
// the log (and with it the disk and the operator). The first line after a quiet period says how many
// similar refusals were not logged.
import type { Clock } from './clock.js';
import type { LogFn } from '../log/log.js';

export const LOG_WINDOW_MS = 10_000;
export const LOG_BURST = 5;

interface Window { start: number; logged: number; suppressed: number }

export class Refusals {
  readonly counts: Record<string, number> = {};
  private readonly windows = new Map<string, Window>();

  constructor(private readonly clock: Clock, private readonly log: LogFn) {}

  /** Count a refusal under `reason` and log `text` (which names the sender) unless rate limited. */
  refuse(reason: string, text: string, bucket: Record<string, number> = this.counts): void {
    bucket[reason] = (bucket[reason] ?? 0) + 1;
    this.logLimited(reason, 'warn', text);
  }

  /**
   * Log `text` under the same per-reason window, without counting a refusal: for messages a peer
   * can make us log at will (error indications) that are counted elsewhere (`Rcvd`).
   */
  logLimited(reason: string, level: 'warn' | 'info', text: string): void {
    const now = this.clock.now();
    let w = this.windows.get(reason);
    let note = '';
    if (!w || now - w.start >= LOG_WINDOW_MS) {
      if (w?.suppressed) note = ` (${w.suppressed} similar lines not logged in the ${LOG_WINDOW_MS / 1000} s before)`;
      this.windows.set(reason, w = { start: now, logged: 0, suppressed: 0 });
    }
    if (w.logged >= LOG_BURST) { w.suppressed++; return; }
    w.logged++;
    this.log(level, `NHRP: ${text}${note}`);
  }
}
