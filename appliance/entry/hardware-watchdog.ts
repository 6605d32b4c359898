// The hardware watchdog timer (/dev/watchdog), fed by dmvpnd's watchdog (appliance/entry/watchdog.ts)
// only while the supervisor shows it is alive: the supervisor sends a heartbeat from its event loop
// every second (appliance/entry/heartbeat.ts). A supervisor whose event loop hangs (an endless loop, a
// deadlock in a native call: not a crash, which the watchdog restarts) stops the heartbeats; after
// `hungMs` without one the feeding stops for good and the timer resets the box (GRUB then boots the
// known-good slot). The watchdog process itself hanging or dying stops the feeding too: the device is
// left open without the magic close, so the timer stays armed.
//   - starting: from a (re)start to the first heartbeat, fed for at most `startGraceMs` (Node compiles
//     the bundle and the WebAssembly first: about a minute under qemu TCG, seconds on a real box)
//   - running: fed while the last heartbeat is younger than `hungMs`
//   - restarting: the supervisor crashed and the watchdog waits out its backoff: fed (it is alive)
//   - hung: never fed again (a late heartbeat does not take it back: the reset is already due)
// `close()` (the supervisor stopped for good, or the watchdog was told to stop) writes the magic 'V'
// so the driver disarms the timer instead of resetting a box whose console must stay usable.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

export type SupervisorState = 'starting' | 'running' | 'restarting' | 'hung';

export interface FeederOptions {
  /** the watchdog device (a plain file in tests: each feed appends one byte) */
  device: string;
  feedMs: number;
  hungMs: number;
  startGraceMs: number;
  log: (msg: string) => void;
  /** ms on a clock that only moves forward (default: monotonic). Not the wall clock: a factory box steps
   *  that by years when it learns the time (hub-clock.ts, NTP), which would read as a silent supervisor */
  now?: () => number;
}

/** The defaults, overridable by the environment (tests shorten them). */
export function feederOptionsFromEnv(env: NodeJS.ProcessEnv, log: (msg: string) => void): FeederOptions | undefined {
  const device = env.DMVPN_HARDWARE_WATCHDOG;
  if (!device) return undefined;
  const ms = (name: string, dflt: number) => {
    const v = Number(env[name]);
    return Number.isFinite(v) && v > 0 ? v : dflt;
  };
  return {
    device, log,
    feedMs: ms('DMVPN_WATCHDOG_FEED_MS', 5_000),
    hungMs: ms('DMVPN_HEARTBEAT_TIMEOUT_MS', 30_000),
    startGraceMs: ms('DMVPN_STARTUP_GRACE_MS', 300_000),
  };
}

export class HardwareWatchdogFeeder {
  private fd: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stateNow: SupervisorState = 'starting';
  /** the last sign of life: the (re)start while starting, the last heartbeat while running */
  private lastSign: number;
  private readonly now: () => number;

  constructor(private readonly o: FeederOptions) {
    this.now = o.now ?? (() => performance.now());
    this.lastSign = this.now();
  }

  get state(): SupervisorState { return this.stateNow; }

  /** Opens the device (arming the timer) and feeds every `feedMs` while `shouldFeed()`. */
  start(): boolean {
    try {
      this.fd = fs.openSync(this.o.device, 'a');
    } catch (e) {
      this.o.log(`hardware watchdog ${this.o.device} cannot be opened (${(e as Error).message}): a hung supervisor will not reset the box`);
      return false;
    }
    this.tick();
    this.timer = setInterval(() => this.tick(), this.o.feedMs);
    return true;
  }

  supervisorStarted(): void { this.enter('starting'); }
  supervisorGone(): void { this.enter('restarting'); }
  heartbeat(): void { this.enter('running'); }

  /** Whether the timer is fed now; declares the supervisor hung (once, logged) when it is overdue. */
  shouldFeed(): boolean {
    const silent = this.now() - this.lastSign;
    if (this.stateNow === 'starting' && silent > this.o.startGraceMs) {
      this.declareHung(`no heartbeat within ${this.o.startGraceMs / 1000} s of its start`);
    } else if (this.stateNow === 'running' && silent > this.o.hungMs) {
      this.declareHung(`no heartbeat for ${(silent / 1000).toFixed(1)} s (limit ${this.o.hungMs / 1000} s)`);
    }
    return this.stateNow !== 'hung';
  }

  tick(): void {
    if (this.fd === undefined || !this.shouldFeed()) return;
    try { fs.writeSync(this.fd, '\0'); } catch (e) { this.o.log(`hardware watchdog feed failed: ${(e as Error).message}`); }
  }

  /** Stops feeding and disarms the timer (magic close): the supervisor is stopped on purpose. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd === undefined) return;
    try { fs.writeSync(this.fd, 'V'); } catch { /* closing without it leaves the timer armed: a reset */ }
    try { fs.closeSync(this.fd); } catch { /* already gone */ }
    this.fd = undefined;
  }

  private enter(s: SupervisorState): void {
    if (this.stateNow === 'hung') return;
    this.stateNow = s;
    this.lastSign = this.now();
  }

  private declareHung(why: string): void {
    this.stateNow = 'hung';
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.o.log(`supervisor hung: ${why}; hardware watchdog no longer fed, the box resets when its timer expires`);
  }
}
