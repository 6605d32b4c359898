// Firmware bundles for the tests: a key pair, part files, bundles built by the real builder
// (appliance/firmware/bundle-writer.ts), and a boot partition directory + disk image file the
// updater writes into, as on the box.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeBundle } from '../../appliance/firmware/bundle-writer.js';
import { formatGrubenv } from '../../appliance/firmware/grubenv.js';
import type { Arch } from '../../appliance/firmware/manifest.js';

/** A directory of its own under the system's temporary directory, removed when the test ends. */
export function tmpDir(t: { teardown(f: () => void): void }, prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

export function keyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

export const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
export const sha256File = (f: string) => sha256(fs.readFileSync(f));

/** Random part files (root, kernel, initrd) of the given sizes in `dir`. */
export function partFiles(dir: string, sizes = { root: 300_000, kernel: 70_000, initrd: 20_000 }, tag = 'p'): Record<'root' | 'kernel' | 'initrd', string> {
  const out = {} as Record<'root' | 'kernel' | 'initrd', string>;
  for (const [name, size] of Object.entries(sizes) as Array<['root' | 'kernel' | 'initrd', number]>) {
    out[name] = path.join(dir, `${tag}-${name}`);
    fs.writeFileSync(out[name], crypto.randomBytes(size));
  }
  return out;
}

let n = 0;
export function bundle(dir: string, key: string, parts: Record<'root' | 'kernel' | 'initrd', string>, o: { version?: string; arch?: Arch; sign?: boolean } = {}): string {
  const out = path.join(dir, `bundle-${++n}.fw`);
  writeBundle({ version: o.version ?? '1.1.0', arch: o.arch ?? 'x86_64', privateKeyPem: key, parts, sign: o.sign }, out);
  return out;
}

/** A copy of `file` with the byte at `offset` (negative: from the end) flipped. */
export function flipped(file: string, offset: number): string {
  const b = fs.readFileSync(file);
  const at = offset < 0 ? b.length + offset : offset;
  b[at] ^= 0x55;
  const out = `${file}.flip${offset}`;
  fs.writeFileSync(out, b);
  return out;
}

/** A box's disk in files: a disk image with two slot regions holding random "roots", and a boot
 *  partition directory with grub/grubenv (slot=A) and A/, B/ kernels. */
export function fakeBox(dir: string, slotBytes = 1 << 20): { disk: string; boot: string; slotA: { device: string; offset: number; capacity: number }; slotB: { device: string; offset: number; capacity: number } } {
  const disk = path.join(dir, 'disk.img');
  fs.writeFileSync(disk, crypto.randomBytes(3 * slotBytes));
  const boot = path.join(dir, 'boot');
  for (const s of ['A', 'B']) {
    fs.mkdirSync(path.join(boot, s), { recursive: true });
    fs.writeFileSync(path.join(boot, s, 'vmlinuz'), `old kernel ${s}`);
    fs.writeFileSync(path.join(boot, s, 'initrd.img'), `old initrd ${s}`);
  }
  fs.mkdirSync(path.join(boot, 'grub'));
  fs.writeFileSync(path.join(boot, 'grub/grubenv'), formatGrubenv(new Map([['slot', 'A']])));
  return { disk, boot, slotA: { device: disk, offset: slotBytes, capacity: slotBytes }, slotB: { device: disk, offset: 2 * slotBytes, capacity: slotBytes } };
}

/** Every file under `dir` with its SHA-256: what "untouched" is compared by. */
export function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else out[path.relative(dir, p)] = sha256File(p);
    }
  };
  walk(dir);
  return out;
}
