// Keeps the data-plane worker thread alive. A WASM trap (or any exit the supervisor did not ask for)
// is seen at once: the worker reports a trap before its thread is torn down, and the Worker's
// 'error'/'exit' events cover every other death. It is logged with the trapping module location and
// what the worker was processing, and the next worker starts on the same shared memory
// (wasm/assembly/worker/recover.ts makes that restart lossless but for the packets in flight), normally a
// standby booted ahead of need. Deaths soon after a start are a crash loop: restarts then back off
// exponentially (capped) and say so.
import { Worker } from 'node:worker_threads';
import { describeWasmStack } from '../dataplane/wasm-symbols.js';
import type { LogFn } from '../log/log.js';

/** A worker that lived this long was healthy: its death starts a fresh crash-loop count. */
export const CRASH_LOOP_WINDOW_MS = 10_000;
/** Quick deaths restarted at once before backing off. */
const IMMEDIATE_RESTARTS = 2;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export interface WorkerKeeperOptions {
  file: string;
  workerData: unknown;
  /** Called before each (re)start, e.g. to clear the stop flag. */
  beforeStart?: () => void;
  /** What the worker was doing when it died (the in-flight slot), for the log line. */
  describeDeath?: () => string;
  /** Called at once when the worker died, before any restart (e.g. to mark it idle for the others). */
  onDeath?: () => void;
  /** Named in the log lines after "data-plane worker" (workers > 0: their index; worker 0: none). */
  label?: string;
  log: LogFn;
  /** Delay before a restart (tests shorten it). */
  backoff?: (quickDeaths: number) => number;
}

export function restartDelay(quickDeaths: number): number {
  if (quickDeaths <= IMMEDIATE_RESTARTS) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (quickDeaths - IMMEDIATE_RESTARTS - 1));
}

export class WorkerKeeper {
  /** Workers started after one died. */
  restarts = 0;
  /** Restarts that were delayed because the worker kept dying (crash loop). */
  backoffs = 0;
  /** One line about the last death (show/json). */
  lastDeath = '';
  private worker?: Worker;
  private standby?: Worker;
  private startedAt = 0;
  private quickDeaths = 0;
  private lastError?: Error;
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private diedAt = 0;

  constructor(private readonly o: WorkerKeeperOptions) {}

  private get name(): string { return this.o.label ? ` ${this.o.label}` : ''; }

  /** First start: resolves when the worker has set up the data plane; rejects if it cannot. */
  async start(): Promise<void> {
    const w = this.create(false);
    this.activate(w, false);
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => reject(e);
      w.once('error', fail);
      w.once('message', () => { w.off('error', fail); resolve(); });
    });
    this.prepareStandby();
  }

  /**
   * A worker thread. A standby one boots (thread, modules, addon) and then waits for `go` before it
   * touches the shared memory: most of a restart's time is the thread's boot, so keeping one ready
   * makes recovery a matter of instantiating the module (bench/dataplane-recovery.mjs).
   */
  private create(standby: boolean): Worker {
    const w = new Worker(this.o.file, { workerData: { ...(this.o.workerData as object), standby } });
    w.on('error', (e) => { if (this.worker === w) this.lastError = e; });
    // the worker reports a trap before its thread is torn down (appliance/entry/worker.ts)
    w.on('message', (m: { trap?: Error }) => {
      if (m?.trap && this.worker === w) { this.lastError = m.trap; this.died(1); }
    });
    w.on('exit', (code) => {
      if (this.worker === w) this.died(code);
      else if (this.standby === w) this.standby = undefined;
    });
    return w;
  }

  private activate(w: Worker, standby: boolean): void {
    this.o.beforeStart?.();
    this.lastError = undefined;
    this.worker = w;
    this.startedAt = Date.now();
    if (standby) w.postMessage({ go: true });
  }

  private prepareStandby(): void {
    if (!this.stopping && !this.standby) this.standby = this.create(true);
  }

  private died(code: number): void {
    this.worker = undefined;
    if (this.stopping) return;
    this.diedAt = Date.now();
    const e = this.lastError;
    // read before the next worker skips that slot; naming the WASM frames can wait until it runs
    const doing = this.o.describeDeath?.() ?? '';
    this.o.onDeath?.();
    const lived = Date.now() - this.startedAt;
    this.quickDeaths = lived < CRASH_LOOP_WINDOW_MS ? this.quickDeaths + 1 : 1;
    const delay = (this.o.backoff ?? restartDelay)(this.quickDeaths);
    if (delay > 0) this.timer = setTimeout(() => this.restart(), delay);
    else this.restart();
    const where = describeWasmStack(e?.stack);
    this.lastDeath = `${e ? `${e.name}: ${e.message}` : `exit code ${code}`}${where ? ` at ${where}` : ''}${doing ? `, ${doing}` : ''}`;
    this.o.log('error', `data-plane worker${this.name} died (${this.lastDeath}): forwarding stopped, restarting it`);
    if (delay > 0) {
      this.backoffs++;
      this.o.log('warn', `data-plane worker${this.name} crash loop: ${this.quickDeaths} deaths within ${CRASH_LOOP_WINDOW_MS / 1000} s of a start; next restart in ${delay} ms`);
    }
  }

  private restart(): void {
    this.timer = undefined;
    if (this.stopping) return;
    this.restarts++;
    const standby = this.standby;
    this.standby = undefined;
    const w = standby ?? this.create(false);
    this.activate(w, standby !== undefined);
    w.once('message', () => { // { ready }
      this.o.log('info', `data-plane worker${this.name} restarted (restart ${this.restarts}); forwarding resumed ${Date.now() - this.diedAt} ms after it died`);
      this.prepareStandby();
    });
  }

  /** Asks the worker to stop (`requestStop` sets its stop flag and wakes it), then terminates it. */
  async stop(requestStop: () => void): Promise<void> {
    this.stopping = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.standby) { await this.standby.terminate(); this.standby = undefined; }
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    requestStop();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    await w.terminate();
    this.worker = undefined;
  }
}
