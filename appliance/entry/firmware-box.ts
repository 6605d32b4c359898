// The firmware updater wired to the box, from what init exports (rootfs/files/init): the boot
// partition mounted read-only on DMVPN_FIRMWARE_BOOT (remounted read-write only while the updater
// writes it), the slots' partitions, the state file on the persistent partition, the public key and
// version file of this image. Off the image (no DMVPN_FIRMWARE_BOOT) there is no updater.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { FirmwareService } from '../firmware/update.js';
import type { HealthView } from '../firmware/commit.js';
import { isSlot, type Slot } from '../firmware/state.js';
import type { ExecContext } from '../supervisor/exec-context.js';
import type { Level } from '../log/log.js';

const run = promisify(execFile);

export interface BoxFirmwareOptions {
  env: NodeJS.ProcessEnv;
  booted: string | undefined;
  log(level: Level, mnemonic: string, text: string): void;
  reboot(reason: string): void;
}

/** The partition's size from sysfs (/sys/class/block/vda3/size, in 512-byte sectors); a regular file
 *  (a slot as a disk image file: the namespace tests' boxes) is its own size. */
function partitionBytes(device: string): number {
  const st = fs.statSync(device);
  if (st.isFile()) return st.size;
  return Number(fs.readFileSync(`/sys/class/block/${path.basename(device)}/size`, 'utf8').trim()) * 512;
}

function isMountPoint(dir: string): boolean {
  try {
    const want = fs.realpathSync(dir);
    return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === want);
  } catch { return false; }
}

/** When this boot's trial clock started: the kernel's start, or the slot file's time when that is
 *  later (init writes it as the boot comes up; a test's "reboot" writes it too, on a host that has been
 *  up for days). The wall clock may have been stepped by NTP since the file was written: an age beyond
 *  the uptime is not believed, a negative one counts as 0 (init's own guard still bounds the trial). */
export function bootedAt(slotFile: string | undefined, uptimeS: number, now = Date.now()): number {
  let age = uptimeS * 1000;
  try { if (slotFile) age = Math.min(age, Math.max(0, now - fs.statSync(slotFile).mtimeMs)); } catch { /* none: the kernel's start */ }
  return now - age;
}

export function boxFirmware(o: BoxFirmwareOptions): FirmwareService | undefined {
  const e = o.env;
  if (!e.DMVPN_FIRMWARE_BOOT || !isSlot(o.booted)) return undefined;
  const slots = Object.fromEntries((e.DMVPN_FIRMWARE_SLOTS ?? '').split(/\s+/).filter(Boolean).map((kv) => kv.split('='))) as Record<Slot, string>;
  if (!slots.A || !slots.B) { o.log('error', 'FIRMWARE', 'DMVPN_FIRMWARE_SLOTS does not name both slots: no updater'); return undefined; }
  try {
    return new FirmwareService({
      arch: process.arch === 'arm64' ? 'aarch64' : 'x86_64',
      runningVersion: fs.readFileSync(e.DMVPN_FIRMWARE_VERSION_FILE ?? '/etc/dmvpn-version', 'utf8').trim(),
      booted: o.booted,
      bootDir: e.DMVPN_FIRMWARE_BOOT,
      slots: { A: { device: slots.A, offset: 0, capacity: partitionBytes(slots.A) }, B: { device: slots.B, offset: 0, capacity: partitionBytes(slots.B) } },
      publicKeyPem: fs.readFileSync(e.DMVPN_FIRMWARE_KEY ?? '/etc/dmvpn-firmware.pub', 'utf8'),
      stateFile: e.DMVPN_FIRMWARE_STATE ?? '/data/firmware/state.json',
      // persistent: a download cut by a reboot resumes (download.ts); /data has room for one bundle
      downloadDir: e.DMVPN_FIRMWARE_DOWNLOAD ?? '/data/firmware/download',
      downloadFallbackDir: '/tmp',
      downloadStallMs: e.DMVPN_FIRMWARE_STALL_MS ? Number(e.DMVPN_FIRMWARE_STALL_MS) : undefined,
      // the boot partition is a mount on the box; a directory that is not a mount point (a test's box) is just written
      remountBoot: isMountPoint(e.DMVPN_FIRMWARE_BOOT)
        ? async (writable) => { await run('mount', ['-o', `remount,${writable ? 'rw' : 'ro'}`, e.DMVPN_FIRMWARE_BOOT!]); } : undefined,
      reboot: o.reboot,
      log: (level, mnemonic, text) => o.log(level, mnemonic, text),
    });
  } catch (err) {
    o.log('error', 'FIRMWARE', `no updater: ${(err as Error).message}`);
    return undefined;
  }
}

/** The trial's health as the running supervisor sees it (commit.ts healthOf). */
export function healthView(ctx: ExecContext): HealthView {
  const t = ctx.tunnel();
  const nhsConfigured = !!t && t.nhrp.nhs.length > 0;
  const cryptoConfigured = !!t?.protection;
  return {
    nhsConfigured,
    registered: (ctx.nhrp()?.nhsStatus() ?? []).some((s) => s.up),
    cryptoConfigured,
    ikeUp: (ctx.ike()?.sas() ?? []).some((s) => s.establishedAt !== undefined),
  };
}
