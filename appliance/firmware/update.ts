// The updater on the box: `firmware update <file|url> [force]` runs here, in the supervisor, as a
// background job (the exec command returns at once; `show firmware` follows it):
//   fetch (a URL: to a file in RAM) -> verify the whole bundle (verify.ts) -> write the inactive slot
//   (slot-writer.ts) -> record the trial (state.ts) -> grubenv try_slot -> reboot.
// Nothing is written before the bundle is verified; the running slot is never a target. After the
// reboot, start() sees the trial (commit.ts) and commits the slot once healthy, or reboots back.
import fs from 'node:fs';
import path from 'node:path';
import { BundleError, type Arch } from './manifest.js';
import { verifyBundle } from './verify.js';
import { writeSlot, type SlotTarget } from './slot-writer.js';
import { readGrubenv, updateGrubenv } from './grubenv.js';
import { readState, writeState, otherSlot, isSlot, type FirmwareState, type Slot, type FirmwareResult } from './state.js';
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
  /** where a downloaded bundle is kept until it is written (RAM) */
  downloadDir: string;
  /** makes the boot partition writable (true) or read-only again (false); absent: always writable */
  remountBoot?(writable: boolean): Promise<void>;
  /** reboots the box (the supervisor's reload) */
  reboot(reason: string): void;
  log(level: 'info' | 'notice' | 'warn' | 'error', mnemonic: string, text: string): void;
  /** most a download may be */
  maxDownload?: number;
}

export type JobState = { phase: 'idle' } | { phase: 'downloading' | 'verifying' | 'writing' | 'rebooting'; source: string; slot?: Slot; version?: string };

export class FirmwareService {
  private job: JobState = { phase: 'idle' };
  private state: FirmwareState;
  private known: Slot;
  trial?: TrialWatch;

  constructor(private readonly h: FirmwareHost) {
    this.known = this.grubSlot();
    this.state = readState(h.stateFile) ?? { slots: {} };
  }

  private grubSlot(): Slot {
    try { const s = readGrubenv(path.join(this.h.bootDir, 'grub/grubenv')).get('slot'); return isSlot(s) ? s : 'A'; } catch { return 'A'; }
  }

  /** At the supervisor's start: record this boot; on a trial, watch the health until commit or timeout.
   *  `since`: when the timeout starts (the box's boot, so a restarted supervisor does not extend it). */
  start(health: () => HealthView, timeoutMs: number, since = Date.now()): void {
    const a = assessBoot(readState(this.h.stateFile), { booted: this.h.booted, known: this.known, runningVersion: this.h.runningVersion, now: new Date() });
    this.state = a.state;
    this.save();
    if (a.concluded) this.h.log(a.concluded.result === 'committed' ? 'notice' : 'error', a.concluded.result === 'committed' ? 'COMMIT' : 'ROLLBACK', a.concluded.message);
    if (!a.trial) return;
    const p = a.trial;
    this.h.log('notice', 'TRIAL', `slot ${p.slot} version ${p.version} on trial: committing once healthy (within ${Math.round(timeoutMs / 1000)} s)`);
    this.trial = new TrialWatch({ health, timeoutMs, since,
      commit: () => this.guard(async () => {
        await this.withBootWritable(async () => { updateGrubenv(path.join(this.h.bootDir, 'grub/grubenv'), { slot: p.slot, try_slot: undefined }); });
        this.known = p.slot;
        delete this.state.pending;
        const took = p.verifyMs !== undefined ? `; verified in ${p.verifyMs} ms, written in ${p.writeMs} ms` : '';
        this.finish('committed', `slot ${p.slot} version ${p.version} committed (healthy${took})`);
        this.h.log('notice', 'COMMIT', `slot ${p.slot} version ${p.version} is healthy: committed as the boot slot`);
      }),
      giveUp: (reason) => this.guard(async () => {
        delete this.state.pending;
        this.finish('rolled back', `slot ${p.slot} version ${p.version} did not become healthy (${reason}); rebooting into slot ${p.previous}`);
        this.h.log('error', 'ROLLBACK', `slot ${p.slot} version ${p.version}: ${reason}; rebooting into slot ${p.previous}`);
        this.h.reboot(`firmware trial of slot ${p.slot} failed`);
      }) });
    this.trial.start();
  }

  /** `firmware update`: starts the job; the returned line is what the console prints. */
  update(source: string, force: boolean): string {
    if (this.job.phase !== 'idle') return `% A firmware update is already running (${this.job.phase})\n`;
    if (this.state.pending || this.trial?.status()) return '% This boot is a firmware trial: wait for its commit before another update\n';
    this.job = { phase: /^https?:\/\//.test(source) ? 'downloading' : 'verifying', source };
    void this.run(source, force);
    return `Firmware update from ${source} started (show firmware follows it); the box reloads once slot ${otherSlot(this.h.booted)} is written\n`;
  }

  private async run(source: string, force: boolean): Promise<void> {
    const target = otherSlot(this.h.booted);
    let file = source;
    try {
      if (this.job.phase === 'downloading') file = await this.download(source);
      this.job = { phase: 'verifying', source };
      const t0 = Date.now();
      const v = await verifyBundle(file, { publicKey: this.h.publicKeyPem, arch: this.h.arch, runningVersion: this.h.runningVersion, force });
      const version = v.head.manifest.version;
      this.h.log('notice', 'VERIFIED', `bundle version ${version} (${v.size} bytes) verified in ${Date.now() - t0} ms; writing slot ${target}`);
      this.job = { phase: 'writing', source, slot: target, version };
      const t1 = Date.now(), verifyMs = t1 - t0;
      delete this.state.slots[target]; // from here until it is read back, the slot holds nothing known
      this.save();
      await this.withBootWritable(async () => {
        await writeSlot(file, v.parts, this.h.slots[target], path.join(this.h.bootDir, target));
        this.state.slots[target] = version;
        this.state.pending = { slot: target, version, previous: this.h.booted, at: new Date().toISOString(), verifyMs, writeMs: Date.now() - t1 };
        this.save();
        updateGrubenv(path.join(this.h.bootDir, 'grub/grubenv'), { try_slot: target });
      });
      this.h.log('notice', 'WRITTEN', `slot ${target} written in ${Date.now() - t1} ms; rebooting to try version ${version}`);
      this.job = { phase: 'rebooting', source, slot: target, version };
      this.h.reboot(`firmware update to version ${version} (slot ${target})`);
    } catch (e) {
      const msg = (e as Error).message;
      const refused = e instanceof BundleError;
      if (this.state.pending?.slot === target) { delete this.state.pending; }
      this.finish(refused ? 'refused' : 'failed', `${source}: ${msg}`);
      this.h.log(refused ? 'warn' : 'error', refused ? 'REFUSED' : 'FAILED', `${source}: ${msg}`);
      this.job = { phase: 'idle' };
    } finally {
      if (file !== source) fs.rmSync(file, { force: true });
    }
  }

  private async download(url: string): Promise<string> {
    const max = this.h.maxDownload ?? 256 << 20;
    const res = await fetch(url);
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    fs.mkdirSync(this.h.downloadDir, { recursive: true });
    const file = path.join(this.h.downloadDir, `firmware-${process.pid}-${Date.now()}.bin`);
    const out = await fs.promises.open(file, 'w', 0o600);
    let n = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        n += chunk.length;
        if (n > max) throw new BundleError(`download exceeds ${max} bytes`);
        await out.write(chunk);
      }
    } catch (e) { await out.close(); fs.rmSync(file, { force: true }); throw e; }
    await out.close();
    return file;
  }

  private async withBootWritable(f: () => Promise<void>): Promise<void> {
    await this.h.remountBoot?.(true);
    try { await f(); } finally { await this.h.remountBoot?.(false); }
  }

  private async guard(f: () => Promise<void>): Promise<void> {
    try { await f(); } catch (e) { this.finish('failed', (e as Error).message); this.h.log('error', 'FAILED', (e as Error).message); }
  }

  private finish(r: FirmwareResult['result'], message: string): void {
    this.state.last = { result: r, message, at: new Date().toISOString() };
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
