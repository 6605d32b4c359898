// Writes a verified bundle's parts into the inactive slot: the root squashfs onto the slot's
// partition (a block device on the box; a disk image file and the partition's offset in tests), the
// kernel and initramfs as files in the slot's directory of the mounted boot partition.
// The bytes copied are hashed again as they are read from the bundle (a file changed since it was
// verified is caught), and what was written is read back and hashed after the sync: the boot selector
// is pointed at the slot only when both match the signed manifest. The read-back goes through the page
// cache, so it proves the bytes handed to the kernel, not the medium (that would need O_DIRECT reads
// with aligned buffers); a slot the medium corrupted fails at its trial boot and rolls back.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BundleError, type PartEntry } from './manifest.js';
import { readRange, sha256Of } from './verify.js';

/** Where a root filesystem goes: `offset` bytes into `device`, at most `capacity` bytes. */
export interface SlotTarget { device: string; offset: number; capacity: number }

type Part = PartEntry & { offset: number };

/** Copies `part` from the open bundle to `out` at `at`, checking the bytes read against its hash. */
async function copyChecked(bundle: fs.promises.FileHandle, part: Part, out: fs.promises.FileHandle, at: number): Promise<void> {
  const h = crypto.createHash('sha256');
  let pos = at;
  await readRange(bundle, part.offset, part.size, async (b) => {
    h.update(b);
    const { bytesWritten } = await out.write(b, 0, b.length, pos);
    if (bytesWritten !== b.length) throw new Error(`short write at ${pos}`);
    pos += b.length;
  });
  const got = h.digest('hex');
  if (got !== part.sha256) throw new BundleError(`part ${part.name} changed since it was verified (SHA-256 ${got})`);
}

/** Writes the root part onto the slot's partition, syncs, and reads it back. */
export async function writeRoot(bundle: fs.promises.FileHandle, part: Part, target: SlotTarget): Promise<void> {
  if (part.size > target.capacity) throw new BundleError(`root part (${part.size} bytes) is larger than the slot (${target.capacity} bytes)`);
  const out = await fs.promises.open(target.device, 'r+');
  try {
    await copyChecked(bundle, part, out, target.offset);
    await out.sync();
    const back = await sha256Of(out, target.offset, part.size);
    if (back !== part.sha256) throw new Error(`slot ${target.device} reads back a different root (SHA-256 ${back})`);
  } finally { await out.close(); }
}

/** Writes a part as `dir/name`: a temporary file, synced, read back, renamed over the old one. */
export async function writeBootFile(bundle: fs.promises.FileHandle, part: Part, dir: string, name: string): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `${name}.new`);
  const out = await fs.promises.open(tmp, 'w+');
  try {
    await copyChecked(bundle, part, out, 0);
    await out.sync();
    const back = await sha256Of(out, 0, part.size);
    if (back !== part.sha256) throw new Error(`${tmp} reads back a different ${part.name} (SHA-256 ${back})`);
  } finally { await out.close(); }
  const final = path.join(dir, name);
  await fs.promises.rename(tmp, final);
  // On FAT the renamed file's directory entry (its start cluster and size) is rewritten only when the
  // file's inode is written back, lazily, while the replaced file's clusters are freed in the FAT at
  // once: a power cut in between leaves `name` pointing at freed clusters. A kill test found exactly
  // that with grubenv already naming the slot: GRUB stopped at "invalid cluster 0" (the slot was
  // tried with no kernel). An fsync of the file under its new name writes its entry now; then the
  // directory (the removed temporary name).
  const f = await fs.promises.open(final, 'r');
  try { await f.sync(); } finally { await f.close(); }
  const d = await fs.promises.open(dir, 'r');
  try { await d.sync(); } catch { /* FAT directories cannot always be fsynced: the read-only remount syncs */ } finally { await d.close(); }
}

/** All three parts of the slot; their order does not matter: the selector points at the slot only
 *  after every part is written and read back. */
export async function writeSlot(bundleFile: string, parts: Part[], root: SlotTarget, bootSlotDir: string): Promise<void> {
  const bundle = await fs.promises.open(bundleFile, 'r');
  try {
    const by = (n: string) => parts.find((p) => p.name === n)!;
    await writeRoot(bundle, by('root'), root);
    await writeBootFile(bundle, by('kernel'), bootSlotDir, 'vmlinuz');
    await writeBootFile(bundle, by('initrd'), bootSlotDir, 'initrd.img');
  } finally { await bundle.close(); }
}
