// What the updater remembers across reboots, on the persistent partition (/data/firmware/state.json):
// the version in each slot, the update on trial (pending), and the last result for `show firmware`.
// Written atomically (temporary file, fsync, rename, fsync of the directory); a file that does not
// parse is treated as absent (the box must boot and report, not refuse).
import fs from 'node:fs';
import path from 'node:path';

export type Slot = 'A' | 'B';
export const otherSlot = (s: Slot): Slot => (s === 'A' ? 'B' : 'A');
export const isSlot = (s: unknown): s is Slot => s === 'A' || s === 'B';

export interface FirmwareResult {
  /** interrupted: the box restarted (power cut, reset) during a download or a slot write, or before
   *  the trial slot was selected; the running slot was never left, and the update may simply be retried */
  result: 'committed' | 'rolled back' | 'refused' | 'failed' | 'interrupted'; message: string; at: string;
  /** the bundle's version, when known (what a hub's push compares) */
  version?: string;
}
export interface FirmwareState {
  /** version each slot holds, when known (the factory image: the same build in both) */
  slots: Partial<Record<Slot, string>>;
  /** an update written into `slot` and booted once on trial, not committed yet */
  pending?: { slot: Slot; version: string; previous: Slot; at: string; verifyMs?: number; writeMs?: number;
    /** false: recorded before grubenv's try_slot was written (true once it was, or the trial booted);
     *  absent (older state files): taken as written. A box back on the old slot with `switched: false`
     *  was cut off before the switch (interrupted), not by a failed trial (rolled back). */
    switched?: boolean };
  /** the update job running when this was written (download, verification, slot write): found at the
   *  next boot, it means the box restarted in the middle of it */
  job?: { phase: 'downloading' | 'verifying' | 'writing'; source: string; version?: string; slot?: Slot; at: string };
  last?: FirmwareResult;
  /** versions whose trial rolled back here: a hub's push of one is refused (no reboot loop); a local
   *  `firmware update` may still try it */
  rolledBack?: string[];
}

/** The versions rolled back here with `version` added as the latest; the 8 latest are kept. */
export function addRolledBack(s: FirmwareState, version: string): void {
  s.rolledBack = [...(s.rolledBack ?? []).filter((v) => v !== version), version].slice(-8);
}

export function readState(file: string): FirmwareState | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as FirmwareState;
    if (!s || typeof s !== 'object' || typeof s.slots !== 'object') return undefined;
    if (s.pending && !isSlot(s.pending.slot)) delete s.pending;
    if (s.job && (typeof s.job !== 'object' || typeof s.job.source !== 'string' || typeof s.job.phase !== 'string')) delete s.job;
    return s;
  } catch { return undefined; }
}

export function writeState(file: string, s: FirmwareState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try { fs.writeSync(fd, JSON.stringify(s, null, 1) + '\n'); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  fs.renameSync(tmp, file);
  const d = fs.openSync(path.dirname(file), 'r');
  try { fs.fsyncSync(d); } finally { fs.closeSync(d); }
}
