// The updater (appliance/firmware/update.ts, slot-writer.ts, commit.ts) on a box made of files: a
// disk image holding the two slot regions and a boot partition directory with grubenv (GRUB's own
// tool reads it back). Bad bundles are refused with nothing written (every byte of the disk image and
// the boot directory compared); a good one lands in the inactive slot only, read back, try_slot set,
// reboot asked; the trial boot commits once healthy or reboots back after its timeout; a trial that
// never ran its check (hung, power cut) is reported as rolled back by the old slot.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FirmwareService, type FirmwareHost } from '../appliance/firmware/update.js';
import { readGrubenv, updateGrubenv } from '../appliance/firmware/grubenv.js';
import { readState, type Slot } from '../appliance/firmware/state.js';
import { writeRoot } from '../appliance/firmware/slot-writer.js';
import { verifyBundle } from '../appliance/firmware/verify.js';
import { formatFirmware } from '../appliance/supervisor/exec-firmware.js';
import { keyPair, partFiles, bundle, flipped, fakeBox, treeDigest, sha256File, sha256 } from './image/firmware-fixture.js';
import { waitFor } from './util/lab.js';

const vendor = keyPair();
const other = keyPair();

function setup(t: { teardown(f: () => void): void }, booted: Slot = 'A') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hfw-update-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const box = fakeBox(dir);
  const reboots: string[] = [];
  const logs: string[] = [];
  const host = (b: Slot): FirmwareHost => ({
    arch: 'x86_64', runningVersion: '1.0.0', booted: b, bootDir: box.boot, slots: { A: box.slotA, B: box.slotB },
    publicKeyPem: vendor.publicKeyPem, stateFile: path.join(dir, 'data/firmware/state.json'), downloadDir: path.join(dir, 'tmp'),
    reboot: (r) => { reboots.push(r); }, log: (_l, m, x) => { logs.push(`${m}: ${x}`); },
  });
  const fw = new FirmwareService(host(booted));
  fw.start(() => ({ nhsConfigured: false, registered: false, cryptoConfigured: false, ikeUp: false }), 1000); // as dmvpnd does at its start
  return { dir, box, reboots, logs, host, fw };
}

const idle = (fw: FirmwareService) => waitFor(() => fw.view().job.phase === 'idle' || fw.view().job.phase === 'rebooting', 30_000, 20);
const digest = (box: ReturnType<typeof fakeBox>) => ({ disk: sha256File(box.disk), boot: treeDigest(box.boot) });

t.test('bad bundles are refused before anything is written', async (t) => {
  const s = setup(t);
  const parts = partFiles(s.dir);
  const good = bundle(s.dir, vendor.privateKeyPem, parts);
  const v = await verifyBundle(good, { publicKey: vendor.publicKeyPem, arch: 'x86_64', runningVersion: '1.0.0' });
  const before = digest(s.box);
  const cases: Array<[string, string, RegExp]> = [
    ['a corrupt root', flipped(good, v.parts[0].offset + 5), /part root: SHA-256/],
    ['a corrupt kernel', flipped(good, v.parts[1].offset + 5), /part kernel: SHA-256/],
    ['a bad signature', flipped(good, v.head.partsOffset - 1), /bad signature/],
    ['another vendor\'s key', bundle(s.dir, other.privateKeyPem, parts), /bad signature/],
    ['unsigned', bundle(s.dir, vendor.privateKeyPem, parts, { sign: false }), /not signed/],
    ['the wrong arch', bundle(s.dir, vendor.privateKeyPem, parts, { arch: 'aarch64' }), /bundle is for aarch64/],
    ['a downgrade', bundle(s.dir, vendor.privateKeyPem, parts, { version: '0.9' }), /downgrade needs "force"/],
    ['a missing file', path.join(s.dir, 'nope.fw'), /ENOENT/],
  ];
  for (const [what, file, re] of cases) {
    t.match(s.fw.update(file, false), /started/, `${what}: the job starts`);
    await idle(s.fw);
    const last = s.fw.view().last;
    t.match(last?.message ?? '', re, `${what}: refused, the reason in show firmware (${last?.result}: ${last?.message})`);
    t.same(digest(s.box), before, `${what}: the disk image (both slots) and the boot partition are untouched`);
    t.same(s.reboots, [], `${what}: no reboot`);
  }
  t.equal(readState(s.host('A').stateFile)?.last?.result, 'failed', 'the last result is on the persistent partition');
  t.same([...readGrubenv(path.join(s.box.boot, 'grub/grubenv'))], [['slot', 'A']], 'grubenv as it was');
});

t.test('a good bundle: slot B written and read back, try_slot=B, reboot; the trial commits once healthy', async (t) => {
  const s = setup(t);
  const parts = partFiles(s.dir);
  const f = bundle(s.dir, vendor.privateKeyPem, parts, { version: '1.1.0' });
  const diskBefore = fs.readFileSync(s.box.disk);
  t.match(s.fw.update(f, false), /started .* slot B is written/);
  await idle(s.fw);
  t.equal(s.fw.view().job.phase, 'rebooting', `written (${s.logs.join('; ')})`);
  t.same(s.reboots, ['firmware update to version 1.1.0 (slot B)'], 'the box reboots to try it');
  const disk = fs.readFileSync(s.box.disk);
  const root = fs.readFileSync(parts.root);
  t.ok(disk.subarray(s.box.slotB.offset, s.box.slotB.offset + root.length).equals(root), 'slot B\'s region holds the new root');
  t.ok(disk.subarray(0, s.box.slotB.offset).equals(diskBefore.subarray(0, s.box.slotB.offset)), 'slot A\'s region (the running slot) is untouched');
  t.ok(disk.subarray(s.box.slotB.offset + root.length).equals(diskBefore.subarray(s.box.slotB.offset + root.length)), 'nothing past the root is written');
  t.equal(sha256File(path.join(s.box.boot, 'B/vmlinuz')), sha256File(parts.kernel), 'B/vmlinuz is the new kernel');
  t.equal(sha256File(path.join(s.box.boot, 'B/initrd.img')), sha256File(parts.initrd), 'B/initrd.img is the new initramfs');
  t.equal(fs.readFileSync(path.join(s.box.boot, 'A/vmlinuz'), 'utf8'), 'old kernel A', 'A/vmlinuz untouched');
  t.same(fs.readdirSync(path.join(s.box.boot, 'B')).sort(), ['initrd.img', 'vmlinuz'], 'no temporary file left');
  const list = spawnSync('grub-editenv', [path.join(s.box.boot, 'grub/grubenv'), 'list'], { encoding: 'utf8' });
  if (list.status === 0) t.equal(list.stdout, 'slot=A\ntry_slot=B\n', 'grub-editenv reads slot=A, try_slot=B');
  t.match(s.fw.update(f, false), /already running/, 'a second update while this one reboots is refused');

  // the trial boot: GRUB booted B once and cleared try_slot (save_env) before the kernel started
  updateGrubenv(path.join(s.box.boot, 'grub/grubenv'), { try_slot: undefined });
  const trial = new FirmwareService({ ...s.host('B'), runningVersion: '1.1.0' });
  let healthy = false;
  trial.start(() => ({ nhsConfigured: true, registered: healthy, cryptoConfigured: true, ikeUp: healthy }), 30_000);
  await waitFor(() => trial.trial?.status()?.waiting.includes('registration'), 5000, 20);
  const show = formatFirmware(trial.view());
  t.match(show, /Firmware version 1\.1\.0 \(x86_64\), booted from slot B/);
  t.match(show, /^A {5}1\.0\.0 +standby, default$/m, 'show firmware: A standby, still the default');
  t.match(show, /^B {5}1\.1\.0 +running, on trial$/m, 'show firmware: B running on trial');
  t.match(show, /Trial: committing once healthy; waiting for registration with the hub and an IKE SA, \d+ s left/);
  t.match(trial.update(f, false), /firmware trial/, 'no update during a trial');
  healthy = true;
  await waitFor(() => trial.view().last?.result === 'committed', 10_000, 20);
  t.same([...readGrubenv(path.join(s.box.boot, 'grub/grubenv'))], [['slot', 'B']], 'committed: grubenv slot=B');
  t.match(formatFirmware(trial.view()), /^B {5}1\.1\.0 +running, default$/m, 'show firmware: B running and default');
  t.match(formatFirmware(trial.view()), /Last result: committed: slot B version 1\.1\.0 committed \(healthy; verified in \d+ ms, written in \d+ ms\)/);
  t.equal(readState(s.host('B').stateFile)?.pending, undefined, 'nothing pending any more');
});

t.test('a trial that does not become healthy reboots back; the old slot reports the rollback', async (t) => {
  const s = setup(t);
  const f = bundle(s.dir, vendor.privateKeyPem, partFiles(s.dir), { version: '1.1.0' });
  s.fw.update(f, false);
  await idle(s.fw);
  updateGrubenv(path.join(s.box.boot, 'grub/grubenv'), { try_slot: undefined });
  const trial = new FirmwareService({ ...s.host('B'), runningVersion: '1.1.0' });
  trial.start(() => ({ nhsConfigured: true, registered: false, cryptoConfigured: false, ikeUp: false }), 300);
  await waitFor(() => s.reboots.length === 2, 10_000, 20);
  t.equal(s.reboots[1], 'firmware trial of slot B failed', 'the trial gives up and reboots');
  t.match(trial.view().last?.message ?? '', /slot B version 1\.1\.0 did not become healthy \(no registration with the hub within 0 s\); rebooting into slot A/);
  t.same([...readGrubenv(path.join(s.box.boot, 'grub/grubenv'))], [['slot', 'A']], 'grubenv still slot=A: GRUB boots A next');
  const back = new FirmwareService(s.host('A'));
  back.start(() => ({ nhsConfigured: false, registered: false, cryptoConfigured: false, ikeUp: false }), 300);
  t.match(formatFirmware(back.view()), /Last result: rolled back: slot B version 1\.1\.0 did not become healthy/, 'the old slot shows the rollback');
  t.equal(back.trial, undefined, 'no trial on the old slot');
  t.same(readState(s.host('A').stateFile)?.rolledBack, ['1.1.0'], 'recorded once as rolled back (a hub may not push it again)');
});

t.test('a trial boot that never reached its check (hang, crash, power cut): the old slot reports it', async (t) => {
  const s = setup(t);
  const f = bundle(s.dir, vendor.privateKeyPem, partFiles(s.dir), { version: '1.1.0' });
  s.fw.update(f, false);
  await idle(s.fw);
  updateGrubenv(path.join(s.box.boot, 'grub/grubenv'), { try_slot: undefined }); // GRUB tried B once
  const back = new FirmwareService(s.host('A')); // ...and the watchdog's reset brought A back
  back.start(() => ({ nhsConfigured: false, registered: false, cryptoConfigured: false, ikeUp: false }), 300);
  t.equal(back.view().last?.result, 'rolled back');
  t.match(back.view().last?.message ?? '', /slot B version 1\.1\.0 did not become healthy; running slot A version 1\.0\.0 again/);
  t.match(s.logs.join('\n'), /ROLLBACK: slot B/, 'logged');
  t.same(s.reboots, ['firmware update to version 1.1.0 (slot B)'], 'no further reboot: A is the known-good slot');
  t.same(readState(s.host('A').stateFile)?.rolledBack, ['1.1.0'], 'recorded as rolled back');
});

t.test('slot writer: a root larger than the slot is refused before writing; a disk that reads back wrong fails', async (t) => {
  const s = setup(t);
  const parts = partFiles(s.dir, { root: (1 << 20) + 1, kernel: 10, initrd: 10 });
  const f = bundle(s.dir, vendor.privateKeyPem, parts);
  const before = digest(s.box);
  s.fw.update(f, false);
  await idle(s.fw);
  t.match(s.fw.view().last?.message ?? '', /root part \(1048577 bytes\) is larger than the slot \(1048576 bytes\)/);
  t.same(digest(s.box), before, 'nothing written');
  // /dev/full: every write fails (ENOSPC): the error is reported, not swallowed
  const small = bundle(s.dir, vendor.privateKeyPem, partFiles(s.dir, { root: 4096, kernel: 10, initrd: 10 }));
  const v = await verifyBundle(small, { publicKey: vendor.publicKeyPem, arch: 'x86_64', runningVersion: '1.0.0' });
  const fh = await fs.promises.open(small, 'r');
  try {
    const err = await writeRoot(fh, v.parts[0], { device: '/dev/full', offset: 0, capacity: 1 << 20 }).then(() => undefined, (e: Error) => e);
    t.match(err?.message ?? '', /ENOSPC|short write/, `a failing disk is an error (${err?.message})`);
  } finally { await fh.close(); }
  t.equal(sha256(Buffer.from('x')).length, 64);
});

t.test('grubenv\'s first copy damaged: the supervisor boots on the second copy\'s slot and writes the first again', async (t) => {
  const s = setup(t, 'B');
  const first = path.join(s.box.boot, 'grub/grubenv');
  updateGrubenv(first, { slot: 'B' }); // B committed earlier: both copies say so
  const b = fs.readFileSync(first); b.fill(0, 0, 512); fs.writeFileSync(first, b); // a torn first sector
  const remounts: boolean[] = [];
  const fw = new FirmwareService({ ...s.host('B'), remountBoot: async (rw) => { remounts.push(rw); } });
  fw.start(() => ({ nhsConfigured: false, registered: false, cryptoConfigured: false, ikeUp: false }), 300);
  t.match(formatFirmware(fw.view()), /B/, 'show firmware runs');
  await waitFor(() => s.logs.some((l) => /BOOTENV: grubenv repaired/.test(l)), 10_000, 20);
  t.match(s.logs.join('\n'), /BOOTENV: grubenv's first copy is damaged \(grubenv lacks its .*\); the boot selector used the second \(slot B\)/, 'the damage is logged with the slot the second copy gave');
  t.same([...readGrubenv(first)], [['slot', 'B']], 'the first copy holds slot B again (not GRUB\'s fallback A)');
  t.same(remounts, [true, false], 'written in one writable window of the boot partition');
  const list = spawnSync('grub-editenv', [first, 'list'], { encoding: 'utf8' });
  t.equal(list.stdout, 'slot=B\n', 'grub-editenv reads the repaired copy');
});
