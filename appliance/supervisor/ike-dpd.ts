// Dead peer detection (RFC 3706) as IOS configures it: `crypto isakmp keepalive S [R] [periodic|
// on-demand]`. Every S seconds per established IKE SA: on-demand, ESP received from the peer since
// the last look proves it alive and nothing is sent; otherwise an R-U-THERE. Unanswered, it is resent
// every R seconds (IOS default 2) DPD_RETRIES times, then the peer is declared dead. Any authenticated
// message from the peer (the R-U-THERE-ACK among them) resets the count.
import type { IkeSaView } from './ike-engine.js';
import { systemTimers, type Timers, type TimerHandle } from '../nhrp/clock.js';

/** IOS DPD: an unanswered R-U-THERE is resent every `retry` seconds, 5 times, then the peer is dead. */
export const DPD_RETRIES = 5;
const IOS_DPD_RETRY = 2;

export interface DpdHooks {
  probe(sa: IkeSaView): void;
  /** ESP packets received from `peer` so far (all its inbound SAs). */
  inboundPackets(sa: IkeSaView): number;
  dead(sa: IkeSaView): void;
}

interface Watch { timer?: TimerHandle; misses: number; lastRx: number }

export class DeadPeerDetection {
  private readonly watched = new Map<IkeSaView, Watch>();

  constructor(private readonly k: { seconds: number; retry?: number; periodic?: boolean } | undefined, private readonly hooks: DpdHooks,
    private readonly timers: Timers = systemTimers) {}

  /** `sa` is established: watch it (no-op without `crypto isakmp keepalive`). */
  watch(sa: IkeSaView): void {
    if (!this.k) return;
    this.watched.set(sa, { misses: 0, lastRx: -1 });
    this.arm(sa);
  }

  forget(sa: IkeSaView): void {
    const t = this.watched.get(sa)?.timer;
    if (t !== undefined) this.timers.clearTimeout(t);
    this.watched.delete(sa);
  }

  /** An authenticated message from the peer of `sa`. */
  alive(sa: IkeSaView): void {
    const w = this.watched.get(sa);
    if (!w || !w.misses) return;
    w.misses = 0;
    if (w.timer !== undefined) this.timers.clearTimeout(w.timer);
    this.arm(sa);
  }

  stop(): void {
    for (const w of this.watched.values()) if (w.timer !== undefined) this.timers.clearTimeout(w.timer);
    this.watched.clear();
  }

  private arm(sa: IkeSaView): void {
    const w = this.watched.get(sa);
    if (!w || !this.k) return;
    w.timer = this.timers.setTimeout(() => this.tick(sa), (w.misses ? (this.k.retry ?? IOS_DPD_RETRY) : this.k.seconds) * 1000);
  }

  private tick(sa: IkeSaView): void {
    const w = this.watched.get(sa);
    if (!w || sa.state !== 'QM_IDLE') return;
    const rx = this.hooks.inboundPackets(sa);
    // on-demand: traffic from the peer since the last look proves it alive; periodic probes anyway
    if (!w.misses && !this.k!.periodic && w.lastRx >= 0 && rx !== w.lastRx) { w.lastRx = rx; return this.arm(sa); }
    w.lastRx = rx;
    if (w.misses > DPD_RETRIES) { this.forget(sa); return this.hooks.dead(sa); }
    this.hooks.probe(sa);
    w.misses++;
    this.arm(sa);
  }
}
