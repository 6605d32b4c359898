// After a boot: is this a trial of a new slot, did a trial just fail, or is it an ordinary boot? And
// on trial, the health check that commits the slot (grubenv slot = the new one) or gives up on it
// (a reboot: GRUB cleared try_slot before the kernel started, so the next boot is the known-good slot).
import { addRolledBack, type FirmwareState, type Slot, type FirmwareResult } from './state.js';

export interface BootFacts {
  /** the slot this boot came from (dmvpn.slot on the kernel's command line) */
  booted: Slot;
  /** grubenv's `slot`: the known-good slot */
  known: Slot;
  runningVersion: string;
  now: Date;
  /** grubenv holds try_slot emptied by GRUB's save_env: a trial was booted since the updater last
   *  wrote grubenv (the updater removes a leftover one before it writes a slot) */
  trialConsumed?: boolean;
}

export interface BootAssessment {
  state: FirmwareState;
  /** set: this boot is the trial of a written slot; commit it once healthy */
  trial?: NonNullable<FirmwareState['pending']>;
  /** a result this boot concluded (a trial that came back, a commit recorded late) */
  concluded?: FirmwareResult;
}

const result = (r: FirmwareResult['result'], message: string, now: Date): FirmwareResult => ({ result: r, message, at: now.toISOString() });

/** Pure: what this boot is, and the state to record for it. */
export function assessBoot(prev: FirmwareState | undefined, f: BootFacts): BootAssessment {
  // no record yet: the factory image, the same build in both slots
  const state: FirmwareState = prev ? structuredClone(prev) : { slots: { A: f.runningVersion, B: f.runningVersion } };
  state.slots[f.booted] = f.runningVersion;
  let concluded: FirmwareResult | undefined;
  const j = state.job;
  if (j) {
    // the box restarted (power cut, reset) while a job was downloading or writing: nothing was switched,
    // this is the slot that ran it; a partial download resumes when the update is given again
    delete state.job;
    const what = `${j.version ? `version ${j.version}` : 'update'} from ${j.source}`;
    state.last = { ...result('interrupted', `${what} interrupted while ${j.phase}${j.slot ? ` slot ${j.slot}` : ''} by a restart; running slot ${f.booted} version ${f.runningVersion}, not switched`, f.now), ...(j.version ? { version: j.version } : {}) };
    concluded = state.last;
  }
  const p = state.pending;
  if (!p) return { state, concluded };
  if (p.slot === f.booted && f.known !== f.booted) {
    p.switched = true; // booted on trial: the switch was on the disk whatever the state file had time to say
    return { state, trial: p };
  }
  delete state.pending;
  if (p.slot !== f.booted && p.switched === false && !f.trialConsumed) {
    // written and recorded, but cut off before grubenv's try_slot reached the disk: the new slot never
    // ran (had it, GRUB would have left try_slot emptied; the state's `switched` alone can lag: a cut
    // right after the switch, then another on the trial before the supervisor recorded it)
    state.last = { ...result('interrupted', `slot ${p.slot} version ${p.version} was written but the restart came before the switch to it; running slot ${f.booted} version ${f.runningVersion}, not switched`, f.now), version: p.version };
    return { state, concluded: state.last };
  }
  if (p.slot === f.booted) {
    // grubenv already names it (committed, then the state write was cut short)
    state.last = { ...result('committed', `slot ${p.slot} version ${p.version} committed`, f.now), version: p.version };
    return { state, concluded: state.last };
  }
  // the trial boot did not commit: it hung, crashed, lost power or failed its health check, and GRUB
  // came back to the known-good slot
  state.last = { ...result('rolled back', `slot ${p.slot} version ${p.version} did not become healthy; running slot ${f.booted} version ${f.runningVersion} again`, f.now), version: p.version };
  addRolledBack(state, p.version);
  return { state, concluded: state.last };
}

/** What the health check looks at on the running supervisor. */
export interface HealthView {
  /** a tunnel with next-hop servers (a spoke): registration is required */
  nhsConfigured: boolean;
  /** an NHS answered our registration */
  registered: boolean;
  /** tunnel protection (IPsec): an IKE SA is required */
  cryptoConfigured: boolean;
  ikeUp: boolean;
}

/** Pure: healthy, or what is still awaited. The supervisor being up is implied: it runs this. */
export function healthOf(v: HealthView): { ok: true } | { ok: false; waiting: string } {
  const waiting: string[] = [];
  if (v.nhsConfigured && !v.registered) waiting.push('registration with the hub');
  if (v.cryptoConfigured && !v.ikeUp) waiting.push('an IKE SA');
  return waiting.length ? { ok: false, waiting: waiting.join(' and ') } : { ok: true };
}

export interface TrialOptions {
  health(): HealthView;
  timeoutMs: number;
  /** when the timeout started (default: now) */
  since?: number;
  pollMs?: number;
  commit(): void | Promise<void>;
  /** reason: what was still missing at the timeout */
  giveUp(reason: string): void | Promise<void>;
}

/** Polls the health on the trial boot until it is healthy (commit) or the timeout passes (giveUp). */
export class TrialWatch {
  readonly startedAt: number;
  private timer?: NodeJS.Timeout;
  private lastWaiting = 'the first health check';
  done?: 'committed' | 'gave up';

  constructor(private readonly o: TrialOptions) { this.startedAt = o.since ?? Date.now(); }

  start(): void {
    const tick = async () => {
      this.timer = undefined;
      const h = healthOf(this.o.health());
      if (h.ok) { this.done = 'committed'; await this.o.commit(); return; }
      this.lastWaiting = h.waiting;
      if (Date.now() - this.startedAt >= this.o.timeoutMs) {
        this.done = 'gave up';
        await this.o.giveUp(`no ${h.waiting} within ${Math.round(this.o.timeoutMs / 1000)} s`);
        return;
      }
      this.timer = setTimeout(() => void tick(), this.o.pollMs ?? 2000);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  /** seconds left and what is awaited, while running */
  status(): { secondsLeft: number; waiting: string } | undefined {
    if (this.done) return undefined;
    return { secondsLeft: Math.max(0, Math.round((this.o.timeoutMs - (Date.now() - this.startedAt)) / 1000)), waiting: this.lastWaiting };
  }

  stop(): void { if (this.timer) clearTimeout(this.timer); this.timer = undefined; }
}
