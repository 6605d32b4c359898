// Firmware bundles of the real image for the boot tests: slot A's parts taken out of a built image
// (rootfs/firmware-parts.sh, as `make firmware` does), the root made a distinct firmware (its
// /etc/dmvpn-version set to `version`, a marker file added; re-squashed with gzip, faster here than
// xz), signed with the development key `make image` trusted; and an HTTP server in a namespace.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../util/lab.js';
import { writeBundle } from '../../appliance/firmware/bundle-writer.js';

/** The private key `make image` built the image's public key from (Makefile FIRMWARE_KEY). */
export function devFirmwareKey(): string | undefined {
  const cache = process.env.DMVPN_IMAGE_CACHE ?? path.join(os.homedir(), '.cache/dmvpn-image');
  const f = process.env.FIRMWARE_KEY ?? path.join(cache, 'firmware-dev-ed25519.pem');
  return fs.existsSync(f) ? f : undefined;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

/** A bundle of `image`'s slot A with its root relabelled as `version` (and /etc/dmvpn-firmware-test
 *  holding `marker`), signed by `key`; `change` edits the unpacked root further; `comp`: xz is the
 *  image's own (a bundle that fits the persistent partition), gzip about three times faster to make;
 *  `arch`: the image's. */
export function variantBundle(image: string, dir: string, key: string, version: string, marker: string, change?: (root: string) => void, comp: 'gzip' | 'xz' = 'gzip', arch: 'x86_64' | 'aarch64' = 'x86_64'): string {
  const parts = path.join(dir, 'fw-parts');
  run('bash', [path.join(ROOT, 'rootfs/firmware-parts.sh'), image, parts]);
  const tree = path.join(dir, 'fw-root');
  fs.rmSync(tree, { recursive: true, force: true });
  run('unsquashfs', ['-q', '-n', '-d', tree, path.join(parts, 'root.sqfs')]);
  fs.writeFileSync(path.join(tree, 'etc/dmvpn-version'), `${version}\n`);
  fs.writeFileSync(path.join(tree, 'etc/dmvpn-firmware-test'), `${marker}\n`);
  change?.(tree);
  const root = path.join(dir, 'fw-root.sqfs');
  run('mksquashfs', [tree, root, '-comp', comp, '-all-root', '-noappend', '-quiet', '-no-progress']);
  fs.rmSync(tree, { recursive: true, force: true });
  const out = path.join(dir, `dmvpn-${arch}-${version}.fw`);
  writeBundle({ version, arch, privateKeyPem: fs.readFileSync(key, 'utf8'),
    parts: { root, kernel: path.join(parts, 'vmlinuz'), initrd: path.join(parts, 'initrd.img') } }, out);
  return out;
}

/** python3's http.server on `addr`:`port` in namespace `ns`, serving `dir`; stop() ends it. Await
 *  ready() before the first request: python takes a while to bind on a loaded machine, and a request
 *  before that is refused (a CI run once failed so). */
export function httpServer(ns: string, addr: string, port: number, dir: string): { proc: ChildProcess; ready(timeoutMs?: number): Promise<void>; stop(): void } {
  const proc = spawn('ip', ['netns', 'exec', ns, '/usr/bin/python3', '-m', 'http.server', String(port), '--bind', addr, '--directory', dir], { stdio: 'ignore' });
  const ready = async (timeoutMs = 60_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`http.server in ${ns} exited (${proc.exitCode}) before listening on ${addr}:${port}`);
      const r = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `src ${addr} and sport = :${port}`], { encoding: 'utf8' });
      if (r.status === 0 && r.stdout.trim() !== '') return;
      if (Date.now() > until) throw new Error(`http.server in ${ns} is not listening on ${addr}:${port} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 200));
    }
  };
  return { proc, ready, stop: () => { if (proc.exitCode === null) proc.kill('SIGKILL'); } };
}

/** The grubenv of a disk image's boot partition, read with mtools and listed by grub-editenv. */
export function grubenvOfDisk(disk: string, dir: string): string {
  const f = path.join(dir, 'grubenv.out');
  fs.rmSync(f, { force: true });
  const r = spawnSync('mcopy', ['-i', `${disk}@@1M`, '::/grub/grubenv', f], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  if (r.status !== 0) throw new Error(`mcopy grubenv: ${r.stderr}`);
  return spawnSync('grub-editenv', [f, 'list'], { encoding: 'utf8' }).stdout;
}

/** For variantBundle: a firmware that cannot become healthy, its supervisor exits at once (the
 *  watchdog restarts it, again and again), with a trial of `trialSeconds` (init's default edited). */
export function unhealthy(trialSeconds: number): (root: string) => void {
  return (root) => {
    fs.writeFileSync(path.join(root, 'opt/dmvpn/dist/dmvpnd.mjs'), "process.stderr.write('dmvpnd: this test firmware cannot start\\n'); process.exit(70);\n");
    const init = path.join(root, 'sbin/init');
    const text = fs.readFileSync(init, 'utf8');
    const edited = text.replace('DMVPN_FIRMWARE_TRIAL_S:-300}', `DMVPN_FIRMWARE_TRIAL_S:-${trialSeconds}}`);
    if (edited === text) throw new Error('init has no DMVPN_FIRMWARE_TRIAL_S default to edit');
    fs.writeFileSync(init, edited);
  };
}
