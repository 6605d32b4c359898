// Power cuts during a firmware update of the real image under qemu (test/image-firmware-kill.test.ts
// for chosen points, test/image/firmware-kill.soak.ts for random ones): a namespace serves signed
// bundles of this image with the hub's own server (ranges, ETag, a rate cap so the download can be
// cut in the middle); the VM is SIGKILLed (ImageVm.stop: a power cut) and the same disk booted again.
// What "came back on a good slot" means is checked from the disk itself as well as from the box:
//   - grubenv parses (ours and grub-editenv's reader), and names a slot;
//   - the slot GRUB will boot (try_slot if set, else slot) holds, byte for byte, a complete firmware
//     (its root partition, kernel and initramfs hash to the factory image's or a bundle's parts): a
//     half-written slot never matches;
//   - the box boots that slot, reaches its console with the startup-config's hostname, and
//     `show firmware` runs that version from that slot with a result that is not a false "committed";
//   - the startup-config on the persistent partition is still the one provisioned.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, sh, uniquePrefix } from '../util/lab.js';
import { ImageVm, provision } from './vm.js';
import { variantBundle } from './firmware-vm.js';
import { parseGrubenv, readBootEnv, GRUBENV_COPY_NAME } from '../../appliance/firmware/grubenv.js';
import { BUNDLE_PATH } from '../../appliance/firmware/report.js';
import { readHeadOf } from '../../appliance/firmware/verify.js';

export const HOSTNAME = 'R9';
const HOST = '172.16.27.1';
const BOX = '172.16.27.2';
const PORT = 8737;
/** download pace (bytes/s): the x86_64 bundle (~49 MB) takes about 12 s, long enough to cut it mid-way */
const RATE = Number(process.env.DMVPN_KILL_RATE ?? 4_000_000);
const CONFIG = `hostname ${HOSTNAME}\n!\ninterface FastEthernet0/0\n ip address ${BOX} 255.255.255.252\n!\nend\n`;
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** One firmware's parts as they must read back from a slot. */
export interface Firmware { version: string; root: { size: number; sha256: string }; kernel: string; initrd: string; file?: string; url?: string }

function partsOf(dir: string): Omit<Firmware, 'version'> {
  const root = fs.readFileSync(path.join(dir, 'root.sqfs'));
  return { root: { size: root.length, sha256: sha(root) }, kernel: sha(fs.readFileSync(path.join(dir, 'vmlinuz'))), initrd: sha(fs.readFileSync(path.join(dir, 'initrd.img'))) };
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

/** A variant bundle of `image` as `version`, its root re-squashed with xz so the bundle (about 49 MB)
 *  fits the persistent partition and resumes after a power cut (gzip's 57 MB goes to RAM: docs/firmware.md).
 *  xz takes about a minute here: kept in the image cache, by the image's parts, version and key. */
function xzBundle(image: string, dir: string, key: string, version: string, factory: Firmware): string {
  const cache = path.join(path.dirname(key), 'kill-bundles');
  const id = sha(Buffer.from(JSON.stringify([factory, version, fs.readFileSync(key, 'utf8')]))).slice(0, 16);
  const cached = path.join(cache, `${id}-dmvpn-x86_64-${version}.fw`);
  const out = path.join(dir, `dmvpn-x86_64-${version}.fw`);
  if (!fs.existsSync(cached)) {
    fs.mkdirSync(path.join(dir, `build-${version}`), { recursive: true });
    const made = variantBundle(image, path.join(dir, `build-${version}`), key, version, `kill-${version}`, undefined, 'xz');
    fs.mkdirSync(cache, { recursive: true });
    fs.copyFileSync(made, `${cached}.tmp`);
    fs.renameSync(`${cached}.tmp`, cached);
  }
  fs.copyFileSync(cached, out);
  return out;
}

/** A bundle's parts as its signed manifest names them (sizes and hashes). */
function bundleFirmware(file: string, version: string): Firmware {
  const { head } = readHeadOf(file);
  const part = (n: string) => head.manifest.parts.find((p) => p.name === n)!;
  return { version, file, root: { size: part('root').size, sha256: part('root').sha256 }, kernel: part('kernel').sha256, initrd: part('initrd').sha256 };
}

/** What `show firmware` said. */
export interface Show { text: string; version: string; booted: 'A' | 'B'; slots: Record<'A' | 'B', { version: string; state: string }>; phase: string; bytes?: number; total?: number; last?: { result: string; message: string } }

export function parseShow(text: string): Show | undefined {
  const head = /^Firmware version (\S+) \(x86_64\), booted from slot ([AB])$/m.exec(text);
  const a = /^A +(\S+) +(.*)$/m.exec(text), b = /^B +(\S+) +(.*)$/m.exec(text);
  const up = /^Update: (\w+)(?:.*?, (\d+)(?: of (\d+))? bytes)?/m.exec(text);
  if (!head || !a || !b || !up) return undefined;
  const last = /^Last result: (committed|rolled back|refused|failed|interrupted): (.*) \(\S+\)$/m.exec(text);
  return { text, version: head[1], booted: head[2] as 'A' | 'B', slots: { A: { version: a[1], state: a[2] }, B: { version: b[1], state: b[2] } },
    phase: up[1], bytes: up[2] ? Number(up[2]) : undefined, total: up[3] ? Number(up[3]) : undefined, last: last ? { result: last[1], message: last[2] } : undefined };
}

type T = { comment(...m: unknown[]): unknown; teardown(f: () => unknown): void; passing(): boolean };

export class KillLab {
  readonly dir: string;
  readonly ns = uniquePrefix('hfwkill');
  readonly disk: string;
  readonly factory: Firmware;
  readonly bundles: Firmware[] = [];
  vm?: ImageVm;
  boots = 0;
  private server?: ChildProcess;
  private answers: Array<(v: { counters: Record<string, number>; rangeStarts: number[] }) => void> = [];
  private readonly parts: Record<'A' | 'B', number>;

  constructor(t: T, readonly image: string, private readonly key: string) {
    this.dir = fs.mkdtempSync(path.join('/tmp', 'hfw-kill-'));
    t.teardown(async () => {
      await this.vm?.stop();
      if (this.server?.exitCode === null) this.server.kill('SIGKILL');
      sh('ip', ['netns', 'del', this.ns], { allowFail: true });
      if (t.passing()) fs.rmSync(this.dir, { recursive: true, force: true }); else t.comment(`evidence kept in ${this.dir}`);
    });
    sh('ip', ['netns', 'add', this.ns]);
    sh('ip', ['netns', 'exec', this.ns, 'ip', 'tuntap', 'add', 'dev', 'fa0-0', 'mode', 'tap']);
    sh('ip', ['netns', 'exec', this.ns, 'ip', 'addr', 'add', `${HOST}/30`, 'dev', 'fa0-0']);
    sh('ip', ['netns', 'exec', this.ns, 'ip', 'link', 'set', 'fa0-0', 'up']);
    this.disk = provision(image, this.dir, CONFIG, { debugShell: true });
    const fparts = path.join(this.dir, 'factory-parts');
    run('bash', [path.join(ROOT, 'rootfs/firmware-parts.sh'), image, fparts]);
    this.factory = { version: fs.readFileSync(path.join(ROOT, 'rootfs/files/firmware-version'), 'utf8').trim(), ...partsOf(fparts) };
    const table = JSON.parse(spawnSync('sfdisk', ['-J', this.disk], { encoding: 'utf8' }).stdout).partitiontable.partitions;
    this.parts = { A: table[1].start * 512, B: table[2].start * 512 };
  }

  /** Signed xz bundles of this image relabelled as `versions`, served from the namespace. */
  async serve(versions: string[]): Promise<void> {
    const www = path.join(this.dir, 'www');
    fs.mkdirSync(www, { recursive: true });
    for (const v of versions) {
      const file = xzBundle(this.image, www, this.key, v, this.factory);
      this.bundles.push({ ...bundleFirmware(file, v), url: `http://${HOST}:${PORT}${BUNDLE_PATH}${path.basename(file)}` });
    }
    this.server = spawn('ip', ['netns', 'exec', this.ns, process.execPath, ...process.execArgv.filter((a) => a.includes('typescript')),
      path.join(ROOT, 'test/image/fw-serve-child.ts'), HOST, String(PORT), www, String(RATE)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const listening = new Promise<void>((resolve, reject) => {
      createInterface({ input: this.server!.stdout! }).on('line', (l) => {
        const m = JSON.parse(l);
        if (m.listening) resolve(); else this.answers.shift()?.(m);
      });
      this.server!.once('exit', (c) => reject(new Error(`the firmware server exited (${c})`)));
    });
    await listening;
  }

  /** The server's counters and the offsets its ranged requests started from. */
  serverStats(): Promise<{ counters: Record<string, number>; rangeStarts: number[] }> {
    return new Promise((resolve) => { this.answers.push(resolve); this.server!.stdin!.write('stats\n'); });
  }

  /** Power-cuts the running VM (SIGKILL of qemu). */
  async kill(): Promise<void> { await this.vm?.stop(); }

  /** Boots the disk again (a new qemu on the same disk). */
  boot(): ImageVm {
    const d = path.join(this.dir, `boot${++this.boots}`);
    fs.mkdirSync(d);
    this.vm = new ImageVm({ arch: 'x86_64', disk: this.disk, dir: d, ns: this.ns, tap: 'fa0-0', debugShell: true, watchdogAction: 'debug' });
    this.vm.start();
    return this.vm;
  }

  /** grubenv as the boot selector takes it from the disk (grub.cfg: the first copy if it names a slot,
   *  else the second). Both copies must parse, by ours and by grub-editenv (a power cut damages neither:
   *  each is written in place and synced in turn); with `damagedFirst` the first may not (this test
   *  damaged it), and then the second must. Throws otherwise: that is a failure in itself. */
  grubenv(damagedFirst = false): Map<string, string> {
    const d = path.join(this.dir, 'grubenv.disk');
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d);
    for (const name of ['grubenv', GRUBENV_COPY_NAME]) {
      const f = path.join(d, name);
      const r = spawnSync('mcopy', ['-i', `${this.disk}@@1M`, `::/grub/${name}`, f], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
      if (r.status !== 0) throw new Error(`mcopy ${name}: ${r.stderr}`);
      if (damagedFirst && name === 'grubenv') continue;
      parseGrubenv(fs.readFileSync(f));
      const list = spawnSync('grub-editenv', [f, 'list'], { encoding: 'utf8' });
      if (list.status !== 0) throw new Error(`grub-editenv list ${name}: ${list.stderr}`);
    }
    return readBootEnv(path.join(d, 'grubenv')).vars;
  }

  /** The first grubenv copy on the disk damaged as a torn write leaves it (its first sector zeroed),
   *  written in place while the box is off (mtools overwrites the file's own clusters). */
  damageFirstGrubenv(): void {
    const f = path.join(this.dir, 'grubenv.torn');
    const r = spawnSync('mcopy', ['-o', '-i', `${this.disk}@@1M`, '::/grub/grubenv', f], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    if (r.status !== 0) throw new Error(`mcopy grubenv: ${r.stderr}`);
    const b = fs.readFileSync(f); b.fill(0, 0, 512); fs.writeFileSync(f, b);
    const w = spawnSync('mcopy', ['-o', '-i', `${this.disk}@@1M`, f, '::/grub/grubenv'], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    if (w.status !== 0) throw new Error(`mcopy grubenv back: ${w.stderr}`);
  }

  /** Which known firmwares each part of slot `s` matches on the disk (root partition, kernel, initramfs). */
  slotParts(s: 'A' | 'B'): Record<'root' | 'kernel' | 'initrd', string[]> {
    const known = [this.factory, ...this.bundles];
    const boot = (name: string) => {
      const f = path.join(this.dir, `${s}-${name}`);
      fs.rmSync(f, { force: true });
      const r = spawnSync('mcopy', ['-i', `${this.disk}@@1M`, `::/${s}/${name}`, f], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
      return r.status === 0 ? sha(fs.readFileSync(f)) : '';
    };
    const kernel = boot('vmlinuz'), initrd = boot('initrd.img');
    const fd = fs.openSync(this.disk, 'r');
    try {
      const root = known.filter((fw) => {
        const b = Buffer.alloc(fw.root.size);
        fs.readSync(fd, b, 0, b.length, this.parts[s]);
        return sha(b) === fw.root.sha256;
      });
      return { root: root.map((f) => f.version), kernel: known.filter((f) => f.kernel === kernel).map((f) => f.version), initrd: known.filter((f) => f.initrd === initrd).map((f) => f.version) };
    } finally { fs.closeSync(fd); }
  }

  /** The firmware slot `s` holds whole on the disk, or undefined (partial, mixed). */
  slotHolds(s: 'A' | 'B'): Firmware | undefined {
    const p = this.slotParts(s);
    return [this.factory, ...this.bundles].find((fw) => p.root.includes(fw.version) && p.kernel.includes(fw.version) && p.initrd.includes(fw.version));
  }

  /** The startup-config on the persistent partition as the box will see it: on a copy of the partition
   *  with its journal replayed first (e2fsck, journal only), as the kernel replays it when it mounts
   *  (`/data` is data=journal: after a cut, recent blocks may be in the journal only). */
  startupConfig(): string {
    const table = JSON.parse(spawnSync('sfdisk', ['-J', this.disk], { encoding: 'utf8' }).stdout).partitiontable.partitions;
    const part = path.join(this.dir, 'data-replayed.ext4');
    try {
      run('dd', [`if=${this.disk}`, `of=${part}`, 'bs=512', `skip=${table[3].start}`, `count=${table[3].size}`, 'status=none']);
      const fsck = spawnSync('e2fsck', ['-y', '-E', 'journal_only', part], { encoding: 'utf8' });
      if ((fsck.status ?? 8) > 1) return `(e2fsck journal replay: ${fsck.status} ${fsck.stdout}${fsck.stderr})`;
      const r = spawnSync('debugfs', ['-R', 'cat /startup-config', part], { encoding: 'utf8' });
      return r.status === 0 && !/not found|error/i.test(r.stderr.replace(/^debugfs [\d.]+ \(.*\)\n/, '')) ? r.stdout : `(debugfs: ${r.stderr})`;
    } finally { fs.rmSync(part, { force: true }); }
  }

  /** The startup-config on the persistent partition is still the one provisioned. */
  configIntact(): boolean { return this.startupConfig() === CONFIG; }
}

/** RETURN at the console, then `enable`: resolves once at the privileged prompt. */
export async function toConsole(vm: ImageVm, from = 0): Promise<void> {
  let at = await vm.expect(/Press RETURN to get started\./, 600_000, from);
  vm.send('\r'); at = await vm.expect(new RegExp(`\\n${HOSTNAME}>$`), 120_000, at);
  vm.send('enable\r'); await vm.expect(new RegExp(`\\n${HOSTNAME}#$`), 60_000, at);
}

export async function showFirmware(vm: ImageVm, ms = 60_000): Promise<Show> {
  const text = await vm.command('show firmware', new RegExp(`${HOSTNAME}#`), ms);
  const s = parseShow(text);
  if (!s) throw new Error(`show firmware not understood:\n${text}`);
  return s;
}

/** Polls `show firmware` about every second until `done` says so; throws once qemu has ended. */
export async function pollShow(vm: ImageVm, done: (s: Show) => boolean, ms: number): Promise<Show> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await showFirmware(vm);
    if (done(s)) return s;
    if (Date.now() > end) throw new Error(`show firmware did not get there within ${ms} ms; last:\n${s.text}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** What a boot after a cut looked like. */
export interface Comeback { env: Map<string, string>; slot: 'A' | 'B'; holds: Firmware; trial: boolean; show: Show; problems: string[] }

/** After a cut: checks the disk, boots it, reaches the console and checks the box's account of
 *  itself. Problems are returned (the soak counts them; the test asserts there are none). */
export async function comeBack(lab: KillLab, damagedFirst = false): Promise<Comeback> {
  const problems: string[] = [];
  const env = lab.grubenv(damagedFirst); // throws on a torn or invalid block: that is a failure in itself
  const known = env.get('slot') ?? 'A';
  const tryS = env.get('try_slot');
  const slot = (tryS === 'A' || tryS === 'B' ? tryS : known === 'B' ? 'B' : 'A') as 'A' | 'B';
  const holds = lab.slotHolds(slot);
  if (!holds) throw new Error(`GRUB would boot slot ${slot} (grubenv ${JSON.stringify([...env])}), which does not hold a complete firmware: ${JSON.stringify(lab.slotParts(slot))}`);
  const config = lab.startupConfig();
  if (config !== CONFIG) problems.push(`the startup-config on the persistent partition changed: ${JSON.stringify(config.slice(0, 300))}`);
  const vm = lab.boot();
  const at = await vm.expect(new RegExp(`init: slot ${slot} \\(root `), 600_000);
  await toConsole(vm, at);
  const show = await showFirmware(vm);
  if (show.booted !== slot) problems.push(`booted from slot ${show.booted}, GRUB should have booted ${slot}`);
  if (show.version !== holds.version) problems.push(`runs ${show.version}, slot ${slot} holds ${holds.version}`);
  if (show.last?.result === 'committed') {
    const m = /^slot ([AB]) version (\S+) committed/.exec(show.last.message);
    // a commit names the slot and version it made the default; it must be a slot that holds that version whole
    if (!m || lab.slotHolds(m[1] as 'A' | 'B')?.version !== m[2]) problems.push(`"committed" names what the disk does not hold: ${show.last.message}`);
  }
  const run = await vm.command('show running-config', new RegExp(`${HOSTNAME}#`));
  if (!/ip address 172\.16\.27\.2 255\.255\.255\.252/.test(run)) problems.push('the running config lacks the provisioned address');
  return { env, slot, holds, trial: slot !== known, show, problems };
}
