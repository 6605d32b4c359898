// A factory box's enrollment as its operator sees it while it runs (docs/enrollment.md "At the console
// while the box enrolls"): the supervisor has not started yet (there is no config to start from), but
// the console and dmvpnctl answer from this record: where the enrollment is, what the hub said last and
// when it tries again. Two things may be asked of it meanwhile: try again now (the operator has just
// fixed the token on the hub: no need to sit out a 5-minute backoff) and stop (the operator configures
// the box by hand; it then runs its factory default, and the provisioning file is used again at the
// next boot that finds no startup-config, as IOS's PnP agent after `pnpa service discovery stop`).
//
// enroll-loop.ts reports into it (LoopObserver) and waits through it, so both requests act on the
// loop's own wait: a retry ends the wait, a stop aborts the loop (nothing is saved).
import type { FoundHub } from './discovery.js';

/** What ended the last attempt (no hub found, the hub's answer, or a failure on the way). */
export type AttemptResult = 'no-hub' | 'pending' | 'refused' | 'failed';

/** The calls enroll-loop.ts makes while it runs. */
export interface LoopObserver {
  /** attempt n begins: the hub is being looked up */
  attempt(n: number): void;
  /** the hub was found; the request is on its way */
  requesting(hub: FoundHub): void;
  /** the attempt ended without admission */
  result(kind: AttemptResult, text: string): void;
  /** the wait before the next attempt: ends early on retryNow() or stop() */
  wait(ms: number): Promise<void>;
  /** admitted and saved */
  admitted(address: string): void;
  /** aborts the loop: set by stop() */
  readonly signal: AbortSignal;
}

export type EnrollPhase = 'starting' | 'locating' | 'requesting' | 'waiting' | 'admitted' | 'stopped';

export interface EnrollProgressView {
  phase: EnrollPhase;
  token: string;
  /** the device key's short id (hex, as the hub's `show dmvpn enrollment` lists it) */
  deviceKey: string;
  /** when enrolling began (ms) */
  started: number;
  attempt: number;
  hub?: FoundHub;
  last?: { kind: AttemptResult; text: string; at: number };
  /** when the next attempt starts (while waiting) */
  nextAt?: number;
  /** the address admitted with */
  address?: string;
  /** retries the operator asked for */
  retriesAsked: number;
}

export class EnrollProgress implements LoopObserver {
  private readonly stopper = new AbortController();
  private wake?: () => void;
  private v: EnrollProgressView;

  constructor(token: string, deviceKey: string, private readonly clock: () => number = Date.now) {
    this.v = { phase: 'starting', token, deviceKey, started: clock(), attempt: 0, retriesAsked: 0 };
  }

  get signal(): AbortSignal { return this.stopper.signal; }

  attempt(n: number): void { this.set({ phase: 'locating', attempt: n, nextAt: undefined }); }
  requesting(hub: FoundHub): void { this.set({ phase: 'requesting', hub }); }
  result(kind: AttemptResult, text: string): void { this.set({ last: { kind, text, at: this.clock() } }); }
  admitted(address: string): void { this.set({ phase: 'admitted', address, nextAt: undefined }); }

  wait(ms: number): Promise<void> {
    if (this.signal.aborted) return Promise.resolve();
    this.set({ phase: 'waiting', nextAt: this.clock() + ms });
    return new Promise<void>((resolve) => {
      const done = () => { clearTimeout(timer); this.signal.removeEventListener('abort', done); this.wake = undefined; resolve(); };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  /** `dmvpn enrollment retry`: the operator's message. Only a waiting loop is woken (an attempt under
   *  way finishes first; a finished enrollment has nothing to retry). */
  retryNow(): string {
    if (this.v.phase === 'admitted' || this.v.phase === 'stopped') return `% enrollment ${this.v.phase === 'admitted' ? 'finished: admitted' : 'stopped'}: nothing to retry\n`;
    if (!this.wake) return `% attempt ${this.v.attempt} is under way (${this.v.phase === 'requesting' ? 'asking the hub' : 'looking for the hub'})\n`;
    this.v.retriesAsked++;
    this.wake();
    return `% trying again now (attempt ${this.v.attempt + 1})\n`;
  }

  /** `dmvpn enrollment stop`: aborts the loop; the operator's message. An attempt under way is not
   *  cut off: the hub may already have admitted the box (a one-time token spent, an address bound), so
   *  an admission it brings back is kept; anything else ends the loop. */
  stop(): string {
    if (this.v.phase === 'admitted') return `% enrollment finished: admitted with ${this.v.address}; nothing to stop\n`;
    if (this.v.phase === 'stopped') return '% enrollment already stopped\n';
    const underWay = this.v.phase === 'requesting';
    this.set({ phase: 'stopped', nextAt: undefined });
    this.stopper.abort();
    return underWay
      ? '% enrollment stops once the request under way is answered (an admission it brings is kept)\n'
      : '% enrollment stopped: the box starts its factory default (the provisioning file is used again at the next boot without a startup-config)\n';
  }

  view(): EnrollProgressView { return { ...this.v }; }

  private set(p: Partial<EnrollProgressView>): void {
    // a stop is final, but for an admission the attempt under way brought back (kept: see stop())
    if (this.v.phase === 'stopped' && p.phase !== undefined && p.phase !== 'admitted') delete p.phase;
    this.v = { ...this.v, ...p };
  }
}
