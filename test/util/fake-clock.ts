// Deterministic clock for state-machine tests: timers fire only when advance() passes their time,
// in time order (ties in creation order).
import type { Timers } from '../../appliance/nhrp/clock.js';

interface Pending { at: number; seq: number; fn: () => void }

export class FakeClock {
  t = 0;
  private seq = 0;
  private pending = new Map<number, Pending>();
  readonly now = (): number => this.t;
  readonly timers: Timers = {
    setTimeout: (fn, ms) => {
      const id = ++this.seq;
      this.pending.set(id, { at: this.t + Math.max(0, ms), seq: id, fn });
      return id;
    },
    clearTimeout: (h) => { this.pending.delete(h as number); },
  };

  /** Advance by ms, running every timer that comes due (including ones scheduled meanwhile). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      let nextId = 0;
      for (const [id, p] of this.pending) {
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) { next = p; nextId = id; }
      }
      if (!next) break;
      this.pending.delete(nextId);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }

  get pendingCount(): number { return this.pending.size; }
}
