// The updater on the box: `firmware update <file|url> [force]` runs here, in the supervisor, as a
// background job (the exec command returns at once; `show firmware` follows it):
//   fetch (a URL: download.ts, resumable, kept on the persistent partition) -> verify the whole bundle (verify.ts) -> write the inactive slot
//   (slot-writer.ts) -> record the trial (state.ts) -> grubenv try_slot -> reboot.
// Nothing is written before the bundle is verified; the running slot is never a target. After the
// reboot, start() sees the trial (commit.ts) and commits the slot once healthy, or reboots back.
import path from 'node:path';
import { BundleError, compareVersions, type Arch } from './manifest.js';
import { downloadResumable, dropPartial, DownloadError, NoRoomError } from './download.js';
import { verifyBundle } from './verify.js';
import { writeSlot, type SlotTarget } from './slot-writer.js';
import { readBootEnv, updateGrubenv, type BootEnv } from './grubenv.js';
import { addRolledBack, readState, writeState, otherSlot, isSlot, type FirmwareState, type Slot, type FirmwareResult } from './state.js';
import { assessBoot, TrialWatch, type HealthView } from './commit.js';

export interface FirmwareHost {
  arch: Arch;
  runningVersion: string;
  booted: Slot;
  /** the mounted boot partition (A/, B/, grub/grubenv) */
  bootDir: string;
  /** each slot's root partition */
  slots: Record<Slot, SlotTarget>;
  /** the vendor's public key, PEM */
  publicKeyPem: string;
  stateFile: string;
  /** where a download is kept until it is written, on the persistent partition: an interrupted one
   *  (connection cut, reboot) resumes from there */
  downloadDir: string;
  /** where a download goes when the persistent partition has no room for it (RAM: not resumed after a reboot) */
  downloadFallbackDir?: string;
  /** bytes a download leaves free on downloadDir's filesystem (default 1 MiB; none on the fallback) */
  downloadReserve?: number;
  /** download tuning (download.ts): stall timeout, attempts, first backoff */
  downloadStallMs?: number;
  downloadAttempts?: number;
  downloadBackoffMs?: number;
  /** makes the boot partition writable (true) or read-only again (false); absent: always writable */
  remountBoot?(writable: boolean): Promise<void>;
  /** reboots the box (the supervisor's reload) */
  reboot(reason: string): void;
  log(level: 'info' | 'notice' | 'warn' | 'error', mnemonic: string, text: string): void;
  /** most a download may be */
  maxDownload?: number;
}

export type JobState = { phase: 'idle' } | { phase: 'downloading' | 'verifying' | 'writing' | 'rebooting'; source: string; slot?: Slot; version?: string;
  /** downloading: bytes held so far and the bundle's length */
  bytes?: number; total?: number; remote?: boolean };

/** A hub's push (push-client.ts): never `force`; the version it announced, which the bundle must carry;
 *  the source address of the download (the tunnel address). */
export interface RemoteUpdate { version: string; localAddress?: string }

/** Told of every phase change; awaited (at most 5 s) before the reboot, so a hub hears "rebooting". */
export type FirmwareListener = (v: ReturnType<FirmwareService['view']>) => void | Promise<void>;

export class FirmwareService {
  private job: JobState = { phase: 'idle' };
  private state: FirmwareState;
  private known: Slot;
  trial?: TrialWatch;
  private readonly listeners: FirmwareListener[] = [];
  /** the directory the running download uses */
  private downloadIn = '';

  constructor(private readonly h: FirmwareHost) {
    // read once at start: the known-good slot, whether GRUB consumed a trial, and (start()) a damaged first copy
    this.startEnv = this.bootEnv();
    const s = this.startEnv?.vars.get('slot');
    this.known = isSlot(s) ? s : 'A'; // GRUB's default too when load_env fails
    this.trialConsumed = this.startEnv?.vars.get('try_slot') === '';
    this.state = readState(h.stateFile) ?? { slots: {} };
  }

  /** grubenv as the constructor read it */
  private readonly startEnv: BootEnv | undefined;
  /** grubenv holds an emptied try_slot: GRUB's save_env consumed a trial since the updater's last write */
  private trialConsumed = false;

  private get grubenvFile(): string { return path.join(this.h.bootDir, 'grub/grubenv'); }

  private bootEnv(): BootEnv | undefined {
    try { return readBootEnv(this.grubenvFile); } catch { return undefined; }
  }

  /** the variables of the grubenv copy the selector uses (grubenv.ts readBootEnv) */
  private grubenv(): Map<string, string> | undefined { return this.bootEnv()?.vars; }


  /** At the supervisor's start: record this boot; on a trial, watch the health until commit or timeout.
   *  `since`: when the timeout starts (the box's boot, so a restarted supervisor does not extend it). */
  start(health: () => HealthView, timeoutMs: number, since = Date.now()): void {
    this.repairBootEnv();
    const a = assessBoot(readState(this.h.stateFile), { booted: this.h.booted, known: this.known, runningVersion: this.h.runningVersion, now: new Date(), trialConsumed: this.trialConsumed });
    this.state = a.state;
    this.save();
    const c = a.concluded;
    if (c) this.h.log(c.result === 'committed' ? 'notice' : c.result === 'interrupted' ? 'warn' : 'error', c.result === 'committed' ? 'COMMIT' : c.result === 'interrupted' ? 'INTERRUPTED' : 'ROLLBACK', c.message);
    if (!a.trial) return;
    const p = a.trial;
    this.h.log('notice', 'TRIAL', `slot ${p.slot} version ${p.version} on trial: committing once healthy (within ${Math.round(timeoutMs / 1000)} s)`);
    this.trial = new TrialWatch({ health, timeoutMs, since,
      commit: () => this.guard(async () => {
        await this.withBootWritable(async () => { updateGrubenv(this.grubenvFile, { slot: p.slot, try_slot: undefined }); });
        this.known = p.slot;
        delete this.state.pending;
        const took = p.verifyMs !== undefined ? `; verified in ${p.verifyMs} ms, written in ${p.writeMs} ms` : '';
        this.finish('committed', `slot ${p.slot} version ${p.version} committed (healthy${took})`, p.version);
        this.h.log('notice', 'COMMIT', `slot ${p.slot} version ${p.version} is healthy: committed as the boot slot`);
      }),
      giveUp: (reason) => this.guard(async () => {
        delete this.state.pending;
        addRolledBack(this.state, p.version);
        this.finish('rolled back', `slot ${p.slot} version ${p.version} did not become healthy (${reason}); rebooting into slot ${p.previous}`, p.version);
        await this.tell();
        this.h.log('error', 'ROLLBACK', `slot ${p.slot} version ${p.version}: ${reason}; rebooting into slot ${p.previous}`);
        this.h.reboot(`firmware trial of slot ${p.slot} failed`);
      }) });
    this.trial.start();
  }

  /** `firmware update`: starts the job; the returned line is what the console prints. */
  update(source: string, force: boolean, remote?: RemoteUpdate): string {
    if (this.job.phase !== 'idle') return `% A firmware update is already running (${this.job.phase})\n`;
    if (this.state.pending || this.trial?.status()) return '% This boot is a firmware trial: wait for its commit before another update\n';
    if (remote) {
      const refusal = this.remoteRefusal(remote.version);
      if (refusal) return `% ${refusal}\n`;
    }
    this.job = { phase: /^https?:\/\//.test(source) ? 'downloading' : 'verifying', source, remote: !!remote };
    this.changed();
    void this.run(source, force && !remote, remote);
    return `Firmware update from ${source} started (show firmware follows it); the box reloads once slot ${otherSlot(this.h.booted)} is written\n`;
  }

  /** Why a hub's push of `version` is refused here, if it is: only newer versions, never one that
   *  already rolled back on this box (else: reboot, fail, roll back, get pushed again...). */
  remoteRefusal(version: string): string | undefined {
    if (compareVersions(version, this.h.runningVersion) <= 0) return `pushed version ${version} is not newer than the running ${this.h.runningVersion}: a hub may only upgrade (no force remotely)`;
    if (this.state.rolledBack?.includes(version)) return `version ${version} rolled back on this box before: not taken from a push again (a local firmware update may retry it)`;
    return undefined;
  }

  private async run(source: string, force: boolean, remote?: RemoteUpdate): Promise<void> {
    const target = otherSlot(this.h.booted);
    const url = this.job.phase === 'downloading';
    let file = source;
    let version: string | undefined = remote?.version;
    // each phase is recorded on the persistent partition before it starts: a restart in the middle is
    // reported at the next boot as interrupted (commit.ts), not left looking like the previous result
    const record = (phase: NonNullable<FirmwareState['job']>['phase'], slot?: Slot) => {
      this.state.job = { phase, source, at: new Date().toISOString(), ...(version ? { version } : {}), ...(slot ? { slot } : {}) };
    };
    try {
      if (url) { record('downloading'); this.save(); file = await this.download(source, remote?.localAddress); }
      this.job = { phase: 'verifying', source, remote: !!remote };
      record('verifying'); this.save();
      this.changed();
      const t0 = Date.now();
      const v = await verifyBundle(file, { publicKey: this.h.publicKeyPem, arch: this.h.arch, runningVersion: this.h.runningVersion, force });
      const bundleVersion = v.head.manifest.version;
      version = bundleVersion;
      // update() refused the announced version if a push may not install it; the bundle must be that version
      if (remote && version !== remote.version) throw new BundleError(`bundle version ${version} is not the ${remote.version} the hub announced`);
      this.h.log('notice', 'VERIFIED', `bundle version ${version} (${v.size} bytes) verified in ${Date.now() - t0} ms; writing slot ${target}`);
      this.job = { phase: 'writing', source, slot: target, version, remote: !!remote };
      this.changed();
      const t1 = Date.now(), verifyMs = t1 - t0;
      delete this.state.slots[target]; // from here until it is read back, the slot holds nothing known
      record('writing', target);
      this.save();
      // the slot is written, then the boot partition made read-only again (the kernel syncs the whole
      // filesystem: every file's data, directory entry and FAT chain is on the medium) and only then,
      // in a second writable window, grubenv names the slot: nothing of the slot can still be in flight
      // when GRUB may try it
      await this.withBootWritable(async () => {
        // an emptied try_slot left by an earlier trial goes first: at the next boot an emptied one then
        // means this update's trial was booted, a missing one that its switch never reached the disk
        if (this.grubenv()?.has('try_slot')) updateGrubenv(this.grubenvFile, { slot: this.known, try_slot: undefined });
        await writeSlot(file, v.parts, this.h.slots[target], path.join(this.h.bootDir, target));
      });
      this.state.slots[target] = bundleVersion;
      // the order a power cut may interrupt: the pending trial (not switched yet) is on the disk before
      // grubenv names the slot, and `switched` after; a restart in between is told apart at boot
      delete this.state.job;
      const pending = { slot: target, version: bundleVersion, previous: this.h.booted, at: new Date().toISOString(), verifyMs, writeMs: Date.now() - t1, switched: false };
      this.state.pending = pending;
      this.save();
      // slot given too: the whole environment is ours, so a damaged block can be written anew (grubenv.ts)
      await this.withBootWritable(async () => { updateGrubenv(this.grubenvFile, { slot: this.known, try_slot: target }); });
      pending.switched = true;
      this.save();
      this.h.log('notice', 'WRITTEN', `slot ${target} written in ${Date.now() - t1} ms; rebooting to try version ${version}`);
      this.job = { phase: 'rebooting', source, slot: target, version, remote: !!remote };
      if (url) dropPartial(this.downloadIn || this.h.downloadDir, source);
      await this.tell();
      this.h.reboot(`firmware update to version ${version} (slot ${target})`);
    } catch (e) {
      const msg = (e as Error).message;
      const refused = e instanceof BundleError;
      if (this.state.pending?.slot === target) { delete this.state.pending; }
      delete this.state.job;
      // a refused bundle is not resumed; a network failure keeps its bytes for the next try
      if (url && (refused || e instanceof DownloadError)) dropPartial(this.downloadIn || this.h.downloadDir, source);
      this.finish(refused ? 'refused' : 'failed', `${source}: ${msg}`, version);
      this.h.log(refused ? 'warn' : 'error', refused ? 'REFUSED' : 'FAILED', `${source}: ${msg}`);
      this.job = { phase: 'idle' };
      this.changed();
    }
  }

  private async download(url: string, localAddress?: string): Promise<string> {
    const get = (dir: string, reserve: number) => downloadResumable(url, { dir, reserve, max: this.h.maxDownload ?? 256 << 20, localAddress,
      stallMs: this.h.downloadStallMs, attempts: this.h.downloadAttempts, backoffMs: this.h.downloadBackoffMs,
      onProgress: (bytes, total) => { if (this.job.phase === 'downloading') { this.job.bytes = bytes; this.job.total = total; } } });
    this.downloadIn = this.h.downloadDir;
    const { file, stats } = await get(this.h.downloadDir, this.h.downloadReserve ?? 1 << 20).catch((e) => {
      if (!(e instanceof NoRoomError) || !this.h.downloadFallbackDir) throw e;
      this.h.log('warn', 'DOWNLOAD', `${e.message}: downloading to ${this.h.downloadFallbackDir} instead (not resumable after a reboot)`);
      dropPartial(this.h.downloadDir, url);
      this.downloadIn = this.h.downloadFallbackDir;
      return get(this.h.downloadFallbackDir, 0);
    });
    if (stats.resumedFrom.length) this.h.log('notice', 'RESUMED', `${url}: download resumed from byte ${stats.resumedFrom.join(', ')}; ${stats.bytesFetched} bytes fetched in ${stats.attempts} requests`);
    return file;
  }

  /** Calls `f` on every phase change (push-client.ts reports them to the hub). */
  listen(f: FirmwareListener): void { this.listeners.push(f); }

  private changed(): void { for (const f of this.listeners) void Promise.resolve().then(() => f(this.view())).catch(() => undefined); }

  /** Tells the listeners and waits for them, at most 5 s: before a reboot. */
  private async tell(): Promise<void> {
    const all = Promise.allSettled(this.listeners.map((f) => f(this.view())));
    await Promise.race([all, new Promise((r) => setTimeout(r, 5000).unref())]);
  }

  /** the boot partition's writable windows, one at a time (a repair at start may overlap an update) */
  private bootWrites: Promise<void> = Promise.resolve();

  private withBootWritable(f: () => Promise<void>): Promise<void> {
    const run = this.bootWrites.then(async () => {
      await this.h.remountBoot?.(true);
      try { await f(); } finally { await this.h.remountBoot?.(false); }
    });
    this.bootWrites = run.catch(() => undefined);
    return run;
  }

  /** grubenv's first copy damaged and the second in use (a power cut during a write, a torn block):
   *  the first is written again from the second, so two copies stand before the next write needs them. */
  private repairBootEnv(): void {
    const env = this.startEnv;
    if (env?.from !== 'second') return;
    this.h.log('warn', 'BOOTENV', `grubenv's first copy is damaged (${env.damaged}); the boot selector used the second (slot ${env.vars.get('slot')}): writing the first again from it`);
    this.withBootWritable(async () => { updateGrubenv(this.grubenvFile, {}); }).then(
      () => this.h.log('notice', 'BOOTENV', 'grubenv repaired: both copies hold the same environment'),
      (e) => this.h.log('error', 'BOOTENV', `grubenv's first copy could not be repaired: ${(e as Error).message}`));
  }

  private async guard(f: () => Promise<void>): Promise<void> {
    try { await f(); } catch (e) { this.finish('failed', (e as Error).message); this.h.log('error', 'FAILED', (e as Error).message); }
  }

  private finish(r: FirmwareResult['result'], message: string, version?: string): void {
    this.state.last = { result: r, message, at: new Date().toISOString(), ...(version ? { version } : {}) };
    this.save();
  }

  private save(): void {
    try { writeState(this.h.stateFile, this.state); } catch (e) { this.h.log('error', 'STATE', `cannot record the firmware state: ${(e as Error).message}`); }
  }

  /** What `show firmware` prints from. */
  view() {
    return { arch: this.h.arch, runningVersion: this.h.runningVersion, booted: this.h.booted, known: this.known,
      slots: { ...this.state.slots }, pending: this.state.pending, last: this.state.last, job: this.job, trial: this.trial?.status() };
  }
}
