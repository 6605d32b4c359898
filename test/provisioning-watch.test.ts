// The factory box's search for a provisioning file on USB sticks (rootfs/files/find-provisioning, at
// boot) and its watch for a stick plugged in after boot (rootfs/files/watch-provisioning, beside the
// factory supervisor), run as on the image (busybox sh and its applets) against real filesystems: each
// "stick" is an ext image on a loop device, its node made under a test /dev, listed in a test
// sysfs tree (class/block, kernel/uevent_seqnum) the test changes as the kernel would on a plug. The
// scripts mount for real (read-only, nosuid, nodev, noexec), each run in a private mount namespace
// (unshare -m), so nothing they mount can outlive them. The qemu proof of the same path, a real USB hot
// plug: test/image-enroll.test.ts.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { ROOT, sh } from './util/lab.js';
import { requireTools } from './util/needs.js';

requireTools(t, ['root', 'busybox', 'mkfs.ext4']);

const FIND = path.join(ROOT, 'rootfs/files/find-provisioning');
const WATCH = path.join(ROOT, 'rootfs/files/watch-provisioning');
const SECRET = 'usb-watch-token-secret-0123456789';
const GOOD = `pin sha256//${'A'.repeat(43)}=\ntoken SITE9 ${SECRET}\n`;
const MAX = 16384;
const NAME = 'dmvpn-provisioning.txt';
/** a line from the watcher, a run to end: generous (the machine is shared), never a measured time */
const WAIT_MS = 60_000;

// everything on a tmpfs: device nodes work there, and a directory made again gets a new inode (as in
// sysfs, where the watcher tells a replugged stick by it)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provwatch-'));
sh('mount', ['-t', 'tmpfs', '-o', 'mode=700', 'provwatch', dir]);
const loops: string[] = [];
const watchers: ChildProcess[] = [];
t.teardown(() => {
  for (const w of watchers) w.kill('SIGKILL');
  for (const l of loops) sh('losetup', ['-d', l], { allowFail: true });
  sh('umount', ['-l', dir], { allowFail: true });
  fs.rmSync(dir, { recursive: true, force: true });
});
const SYS = path.join(dir, 'sys'), DEV = path.join(dir, 'dev'), DATA = path.join(dir, 'data'), MNT = path.join(dir, 'mnt');
for (const d of [path.join(SYS, 'class/block'), path.join(SYS, 'devices'), path.join(SYS, 'bus/usb/devices'), path.join(SYS, 'kernel'), DEV, DATA]) fs.mkdirSync(d, { recursive: true });
let seqnum = 1000;
/** a kernel event: the watcher looks only after one */
const uevent = () => fs.writeFileSync(path.join(SYS, 'kernel/uevent_seqnum'), `${++seqnum}\n`);
uevent();
const env = { ...process.env, DMVPN_SYS: SYS, DMVPN_DEV: DEV, DMVPN_DATA: DATA, DMVPN_STICK_MNT: MNT, DMVPN_PROVISION_POLL_S: '0.2' };

/** An ext4 image with `files` at its root ({ name: text } or { name: { link } }) on a loop device. (The
 *  sticks here are ext: the kernel running the tests may have no vfat; the image's kernel has it, and
 *  test/image-enroll.test.ts reads a FAT stick in qemu.) */
function stick(label: string, files: Record<string, string | { link: string }>): string {
  const img = path.join(dir, `${label}.img`), root = path.join(dir, `${label}-root`);
  fs.mkdirSync(root);
  for (const [n, v] of Object.entries(files)) {
    if (typeof v === 'string') fs.writeFileSync(path.join(root, n), v);
    else fs.symlinkSync(v.link, path.join(root, n));
  }
  sh('truncate', ['-s', '8M', img]);
  sh('mkfs.ext4', ['-q', '-F', '-d', root, img]);
  const loop = sh('losetup', ['-f', '--show', img]).stdout.trim();
  loops.push(loop);
  return loop;
}
const sticks = {
  good: stick('good', { [NAME]: GOOD }),
  other: stick('other', { [NAME]: GOOD.replace('SITE9', 'SITE8') }),
  link: stick('link', { [NAME]: { link: '/etc/hostname' } }),
  big: stick('big', { [NAME]: 'x'.repeat(MAX + 1) }),
  empty: stick('empty', { [NAME]: '' }),
  none: stick('none', { 'readme.txt': 'no provisioning here\n' }),
  boot: stick('boot', { [NAME]: GOOD }),
};

/** "Plugs" `loop` in as block device `name`: its node under DEV, its sysfs directory (a link from
 *  class/block, as the kernel makes), then a kernel event unless `quiet`. */
function plug(name: string, loop: string, opts: { size?: number; quiet?: boolean } = {}): void {
  const [maj, min] = fs.readFileSync(`/sys/class/block/${path.basename(loop)}/dev`, 'utf8').trim().split(':');
  const devdir = path.join(SYS, 'devices', name);
  fs.mkdirSync(devdir);
  fs.writeFileSync(path.join(devdir, 'size'), `${opts.size ?? 16384}\n`);
  fs.symlinkSync(path.relative(path.join(SYS, 'class/block'), devdir), path.join(SYS, 'class/block', name));
  sh('mknod', [path.join(DEV, name), 'b', maj, min]);
  if (!opts.quiet) uevent();
}
function unplug(name: string): void {
  fs.rmSync(path.join(SYS, 'class/block', name));
  fs.rmSync(path.join(SYS, 'devices', name), { recursive: true });
  fs.rmSync(path.join(DEV, name));
  uevent();
}

/** find-provisioning [args] in its own mount namespace, then whether anything is left mounted on MNT. */
function find(args: string[], out: string) {
  fs.rmSync(out, { force: true });
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'busybox', 'sh', '-c',
    'busybox sh "$0" "$@"; rc=$?; grep -c " $DMVPN_STICK_MNT " /proc/mounts; exit $rc', FIND, ...args, out], { env, encoding: 'utf8', timeout: WAIT_MS });
  const lines = r.stdout.trim().split('\n');
  return { rc: r.status, from: lines.slice(0, -1).join('\n'), leftMounted: Number(lines.at(-1)), why: r.stderr };
}

t.test('the search at boot: sticks in order, every bad file said with its reason, never the boot disk, the file copied 0600 and unmounted', async (t) => {
  const out = path.join(dir, 'provisioning');
  plug('vda', sticks.boot);        // the boot disk: holds a provisioning file, never searched
  let r = find(['/dev/vda'], out);
  t.equal(r.rc, 1, 'only the boot disk: nothing found (its file is not looked at)');
  t.notOk(fs.existsSync(out), 'nothing copied');
  fs.writeFileSync(path.join(DATA, 'provisioning'), GOOD);
  r = find(['/dev/vda'], out);
  t.equal(r.from, 'the persistent partition (/data/provisioning)', 'the persistent partition first');
  fs.rmSync(path.join(DATA, 'provisioning'));
  for (const [n, s] of [['sda', sticks.link], ['sdb', sticks.big], ['sdc', sticks.empty], ['sdd', sticks.none], ['sde', sticks.good]] as const) plug(n, s);
  r = find(['/dev/vda'], out);
  t.equal(r.rc, 0, 'found');
  t.equal(r.from, `USB stick /dev/sde (ext, /${NAME})`, 'on the one good stick, after four bad ones');
  t.equal(fs.readFileSync(out, 'utf8'), GOOD, 'the file copied');
  t.equal(fs.statSync(out).mode & 0o777, 0o600, 'mode 0600');
  t.equal(r.leftMounted, 0, 'nothing left mounted');
  t.match(r.why, `provisioning file /dev/sda:/${NAME} ignored: a symbolic link`, 'a symbolic link (to a file of the box) refused');
  t.match(r.why, `provisioning file /dev/sdb:/${NAME} ignored: more than ${MAX} bytes`, 'an oversized file refused');
  t.match(r.why, `provisioning file /dev/sdc:/${NAME} ignored: empty`, 'an empty file refused');
  t.notMatch(r.why + r.from, SECRET, 'the token never printed');
  for (const n of ['sda', 'sdb', 'sdc', 'sdd', 'sde']) unplug(n);
  plug('sdg', sticks.good, { size: 0 });
  t.equal(find(['/dev/vda'], out).rc, 1, 'a device of size 0 (a card reader with no card) is not mounted');
  unplug('sdg');
  plug('sdh', sticks.good); plug('sdi', sticks.other);
  fs.writeFileSync(path.join(DATA, 'provisioning'), GOOD);
  r = find(['--devices', 'sdi vda', '/dev/vda'], out);
  t.equal(r.from, `USB stick /dev/sdi (ext, /${NAME})`, '--devices: only those named (not sdh before it, nor /data/provisioning, nor the boot disk)');
  t.match(fs.readFileSync(out, 'utf8'), 'SITE8', 'its file');
  t.equal(find(['--devices', 'vda sdzz', '/dev/vda'], out).rc, 1, '--devices naming only the boot disk and a device that is not there: nothing');
  fs.rmSync(path.join(DATA, 'provisioning'));
  unplug('sdh'); unplug('sdi'); unplug('vda');
});

/** watch-provisioning BOOTDISK OUT CONFIG PID in its own mount namespace; its lines as they come. */
function watch(out: string, config: string, pid: number) {
  const w = spawn('unshare', ['-m', '--propagation', 'private', 'busybox', 'sh', WATCH, '/dev/vda', out, config, String(pid)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  watchers.push(w);
  let text = '', err = '';
  w.stdout!.on('data', (d) => { text += d; });
  w.stderr!.on('data', (d) => { err += d; });
  // its exit code, or 'running' when it has not ended within WAIT_MS
  const ended = new Promise<number | null | 'running'>((res) => {
    const late = setTimeout(() => res('running'), WAIT_MS);
    w.on('exit', (code) => { clearTimeout(late); res(code); });
  });
  const line = async (re: RegExp) => {
    const end = Date.now() + WAIT_MS;
    while (!re.test(text) && w.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return re.exec(text)?.[0];
  };
  return { w, ended, line, text: () => text, err: () => err };
}

t.test('the watch: a stick plugged in after boot is searched once, bad ones said, the stick pulled and plugged in again searched again', async (t) => {
  const out = path.join(dir, 'provisioning-hot');
  const config = path.join(DATA, 'startup-config');
  const supervisor = spawn('sleep', ['600']);
  watchers.push(supervisor);
  plug('vda', sticks.boot, { quiet: true });
  plug('sda', sticks.big, { quiet: true });          // a bad stick already in at boot (said then, by init)
  const w = watch(out, config, supervisor.pid!);
  await new Promise((r) => setTimeout(r, 1000));     // the watcher lists what is there when it starts
  uevent();                                          // an event with no new block device: nothing looked at
  plug('sdb', sticks.link);
  t.ok(await w.line(/new block device\(s\) sdb: no usable provisioning file/), 'a new stick with a bad file: said');
  t.match(w.text(), `provisioning file /dev/sdb:/${NAME} ignored: a symbolic link`, 'with the reason');
  t.notMatch(w.text(), /sda|vda/, 'the stick that was there before and the boot disk are not searched');
  t.equal(w.w.exitCode, null, 'and the watch goes on');
  // The watcher may have listed sdb in a look that the lone event above triggered, before sdb's own
  // event was written: that event is then taken at its next look (0.2 s later), which lists the devices
  // again and would search a stick plugged meanwhile (CI once found sdc so). Ten looks' time first.
  await new Promise((r) => setTimeout(r, 2000));
  plug('sdc', sticks.good, { quiet: true });
  await new Promise((r) => setTimeout(r, 1500));
  t.notMatch(w.text(), /found/, 'a device with no kernel event yet is not looked at (the event is the trigger)');
  unplug('sdc');
  unplug('sdb');                                     // the bad stick pulled, fixed, plugged in again: the same name
  plug('sdb', sticks.good);
  t.equal(await w.ended, 0, 'the watch ends: found');
  t.match(w.text(), `found: USB stick /dev/sdb (ext, /${NAME})\n`, 'the last line says where');
  t.equal(fs.readFileSync(out, 'utf8'), GOOD, 'the file copied');
  t.equal(fs.statSync(out).mode & 0o777, 0o600, 'mode 0600');
  t.notOk(fs.existsSync(`${out}.why`), 'no leftover');
  t.notMatch(w.text() + w.err(), SECRET, 'the token never printed');
  t.equal(w.err(), '', 'nothing on stderr');
  supervisor.kill();
  unplug('sdb'); unplug('sda');
});

t.test('the watch: a medium put into a card reader (its size changes) is searched', async (t) => {
  const out = path.join(dir, 'provisioning-card');
  const supervisor = spawn('sleep', ['600']);
  watchers.push(supervisor);
  plug('sdd', sticks.good, { size: 0, quiet: true });
  const w = watch(out, path.join(DATA, 'startup-config'), supervisor.pid!);
  await new Promise((r) => setTimeout(r, 1000));
  fs.writeFileSync(path.join(SYS, 'devices/sdd/size'), '16384\n');
  uevent();
  t.equal(await w.ended, 0, 'found');
  t.match(w.text(), `found: USB stick /dev/sdd (ext, /${NAME})`, 'on the medium');
  supervisor.kill();
  unplug('sdd');
});

t.test('the watch stops for good once a startup-config is saved, or once the supervisor is gone', async (t) => {
  const config = path.join(DATA, 'startup-config');
  const supervisor = spawn('sleep', ['600']);
  watchers.push(supervisor);
  let w = watch(path.join(dir, 'provisioning-late'), config, supervisor.pid!);
  await new Promise((r) => setTimeout(r, 1000));
  fs.writeFileSync(config, 'hostname BRANCH\nend\n');  // `write memory` at the console
  t.equal(await w.ended, 1, 'a startup-config saved: the watch ends');
  t.match(w.text(), 'startup-config saved: no longer looking for a provisioning stick', 'and says so');
  fs.rmSync(config);
  w = watch(path.join(dir, 'provisioning-gone'), config, supervisor.pid!);
  supervisor.kill();
  t.equal(await w.ended, 1, 'the supervisor gone: the watch ends');
  t.equal(w.text(), '', 'silently (init reports the supervisor)');
});
