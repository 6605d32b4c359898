// A power cut in the middle of an update, on a box made of files (test/image/firmware-fixture.ts): the
// persistent state and grubenv are copied as they were at the moment of the cut (taken when the
// updater reports the phase, after it recorded it), put back, and the box "boots" again (a new
// FirmwareService on the slot GRUB would pick). The next boot must say the update was interrupted, on
// the old slot, without calling it rolled back (a hub would never push that version again) nor
// committed. The qemu version of this (SIGKILL of the VM) is test/image-firmware-kill.test.ts.
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { FirmwareService, type FirmwareHost } from '../appliance/firmware/update.js';
import { formatGrubenv, readGrubenv } from '../appliance/firmware/grubenv.js';
import { readState, writeState, type Slot } from '../appliance/firmware/state.js';
import { formatFirmware } from '../appliance/supervisor/exec-firmware.js';
import { keyPair, partFiles, bundle, fakeBox, tmpDir } from './image/firmware-fixture.js';
import { waitFor } from './util/lab.js';

const vendor = keyPair();
const NO_HEALTH = () => ({ nhsConfigured: false, registered: false, cryptoConfigured: false, ikeUp: false });

function setup(t: Parameters<typeof tmpDir>[0]) {
  const dir = tmpDir(t, 'hfw-cut');
  const box = fakeBox(dir);
  const reboots: string[] = [];
  const host = (b: Slot, runningVersion = '1.0.0'): FirmwareHost => ({
    arch: 'x86_64', runningVersion, booted: b, bootDir: box.boot, slots: { A: box.slotA, B: box.slotB },
    publicKeyPem: vendor.publicKeyPem, stateFile: path.join(dir, 'data/firmware/state.json'), downloadDir: path.join(dir, 'data/download'),
    downloadAttempts: 1, reboot: (r) => { reboots.push(r); }, log: () => undefined,
  });
  const grubenv = path.join(box.boot, 'grub/grubenv');
  /** what the persistent state and grubenv hold now: the disk at a power cut */
  const snapshot = () => ({ state: fs.readFileSync(host('A').stateFile), grubenv: fs.readFileSync(grubenv) });
  const restore = (s: ReturnType<typeof snapshot>) => { fs.writeFileSync(host('A').stateFile, s.state); fs.writeFileSync(grubenv, s.grubenv); };
  /** the boot after the cut: GRUB's choice is grubenv's slot (no try_slot in these cases) */
  const bootAgain = () => {
    const env = readGrubenv(grubenv);
    if (env.has('try_slot')) throw new Error('these cuts all come before try_slot is on the disk');
    const fw = new FirmwareService(host(env.get('slot') as Slot));
    fw.start(NO_HEALTH, 1000);
    return fw;
  };
  const fw = new FirmwareService(host('A'));
  fw.start(NO_HEALTH, 1000);
  return { dir, box, reboots, host, grubenv, snapshot, restore, bootAgain, fw };
}

/** Runs the update to its reboot, then puts the state back to `switched: false`: the disk as a cut
 *  right after the pending trial's save leaves it (grubenv: as the caller sets it). */
async function updatedButNotMarkedSwitched(s: ReturnType<typeof setup>, f: string): Promise<void> {
  s.fw.update(f, false);
  await waitFor(() => s.reboots.length === 1, 30_000, 20);
  const st = readState(s.host('A').stateFile)!;
  st.pending!.switched = false;
  writeState(s.host('A').stateFile, st);
}

t.test('cut while writing the slot: the next boot reports it interrupted, runs A, and the update is retried to the end', async (t) => {
  const s = setup(t);
  const f = bundle(s.dir, vendor.privateKeyPem, partFiles(s.dir), { version: '1.1.0' });
  let atCut: ReturnType<typeof s.snapshot> | undefined;
  s.fw.listen((v) => { if (v.job.phase === 'writing' && !atCut) atCut = s.snapshot(); });
  s.fw.update(f, false);
  await waitFor(() => s.reboots.length === 1, 30_000, 20);
  t.ok(atCut, 'the state was taken while writing');
  t.match(JSON.parse(atCut!.state.toString()).job, { phase: 'writing', version: '1.1.0', slot: 'B' }, 'the state file records the write in progress');
  const done = readState(s.host('A').stateFile)!;
  t.equal(done.job, undefined, 'a completed write leaves no job behind');
  t.equal(done.pending?.switched, true, 'and a pending trial marked switched (grubenv written)');

  s.restore(atCut!);
  const back = s.bootAgain();
  const v = back.view();
  t.equal(v.booted, 'A');
  t.equal(v.last?.result, 'interrupted');
  t.match(v.last?.message ?? '', /version 1\.1\.0 from \S+ interrupted while writing slot B by a restart; running slot A version 1\.0\.0, not switched/);
  t.match(formatFirmware(v), /^B +unknown +standby$/m, 'slot B: unknown (half written), not the bundle\'s version');
  t.equal(readState(s.host('A').stateFile)?.job, undefined, 'reported once: the job is gone from the state');
  t.same(readState(s.host('A').stateFile)?.rolledBack, undefined, 'not a rollback: a push may send it again');

  t.match(back.update(f, false), /started/, 'retried');
  await waitFor(() => s.reboots.length === 2, 30_000, 20);
  t.same([...readGrubenv(s.grubenv)], [['slot', 'A'], ['try_slot', 'B']], 'the retry switches to the trial');
});

t.test('cut after the pending trial was recorded but before grubenv named the slot: interrupted, not rolled back', async (t) => {
  const s = setup(t);
  const f = bundle(s.dir, vendor.privateKeyPem, partFiles(s.dir), { version: '1.1.0' });
  const before = s.snapshot();
  await updatedButNotMarkedSwitched(s, f);
  // the disk as the cut left it: the pending trial on /data (not switched), grubenv still the old one
  fs.writeFileSync(s.grubenv, before.grubenv);
  const back = s.bootAgain();
  t.equal(back.view().last?.result, 'interrupted');
  t.match(back.view().last?.message ?? '', /slot B version 1\.1\.0 was written but the restart came before the switch to it; running slot A/);
  t.equal(back.view().pending, undefined, 'nothing pending');
  t.equal(back.trial, undefined, 'no trial');
  t.same(readState(s.host('A').stateFile)?.rolledBack, undefined, 'not recorded as rolled back');
});

t.test('cut after grubenv named the slot but before the state said so: the trial boot is a trial all the same', async (t) => {
  const s = setup(t);
  const f = bundle(s.dir, vendor.privateKeyPem, partFiles(s.dir), { version: '1.1.0' });
  await updatedButNotMarkedSwitched(s, f);
  const trial = new FirmwareService(s.host('B', '1.1.0')); // GRUB took try_slot B (and cleared it)
  trial.start(() => ({ nhsConfigured: true, registered: false, cryptoConfigured: false, ikeUp: false }), 60_000);
  t.ok(trial.trial, 'on trial');
  t.equal(readState(s.host('A').stateFile)?.pending?.switched, true, 'the trial boot records that the switch happened');
  trial.trial!.stop();
  // and if that trial is cut too, the old slot reports a rollback (the firmware did run and did not commit)
  const back = new FirmwareService(s.host('A'));
  back.start(NO_HEALTH, 1000);
  t.equal(back.view().last?.result, 'rolled back');
});

t.test('cut right after the switch, then again on the trial before its supervisor ran: GRUB\'s emptied try_slot says it was tried', async (t) => {
  // found by test/image-firmware-kill.test.ts: the state still said switched=false (its save after
  // grubenv's write had not reached the disk), the trial boot was cut before dmvpnd could record it
  const s = setup(t);
  const f = bundle(s.dir, vendor.privateKeyPem, partFiles(s.dir), { version: '1.1.0' });
  await updatedButNotMarkedSwitched(s, f);
  fs.writeFileSync(s.grubenv, formatGrubenv(new Map([['slot', 'A'], ['try_slot', '']]))); // GRUB's save_env on the trial boot
  const back = new FirmwareService(s.host('A'));
  back.start(NO_HEALTH, 1000);
  t.equal(back.view().last?.result, 'rolled back', 'rolled back, not interrupted: the trial did boot');
  t.same(readState(s.host('A').stateFile)?.rolledBack, ['1.1.0']);
  // the next update removes the emptied try_slot before writing, so its own cut is told apart again
  t.match(back.update(f, false), /started/);
  let during: Map<string, string> | undefined;
  back.listen((v) => { if (v.job.phase === 'rebooting') during = readGrubenv(s.grubenv); });
  await waitFor(() => s.reboots.length === 2, 30_000, 20);
  t.same([...during!], [['slot', 'A'], ['try_slot', 'B']], 'switched again');
});

t.test('cut while downloading: interrupted, and the download resumes from the partial file', async (t) => {
  const s = setup(t);
  const f = bundle(s.dir, vendor.privateKeyPem, partFiles(s.dir), { version: '1.1.0' });
  const body = fs.readFileSync(f);
  const half = Math.floor(body.length / 2);
  const ranges: string[] = [];
  let stall = true;
  const server = http.createServer((req, res) => {
    ranges.push(req.headers.range ?? 'whole');
    const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0;
    const headers = { etag: '"b1"', 'accept-ranges': 'bytes', 'content-length': String(body.length - from) };
    if (from) res.writeHead(206, { ...headers, 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, headers);
    if (stall) res.write(body.subarray(0, half)); else res.end(body.subarray(from)); // stalled: the first half, then nothing
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/b.fw`;
  s.fw.update(url, false);
  await waitFor(() => { const j = s.fw.view().job; return j.phase === 'downloading' && (j.bytes ?? 0) >= half; }, 30_000, 20);
  const atCut = s.snapshot();
  t.match(JSON.parse(atCut.state.toString()).job, { phase: 'downloading', source: url }, 'the state file records the download');
  server.closeAllConnections(); // the old box's connection ends with it
  await waitFor(() => s.fw.view().job.phase === 'idle', 30_000, 20);
  s.restore(atCut);
  stall = false;
  const back = s.bootAgain();
  t.equal(back.view().last?.result, 'interrupted');
  t.match(back.view().last?.message ?? '', new RegExp(`update from ${url.replace(/[.]/g, '\\.')} interrupted while downloading by a restart; running slot A version 1\\.0\\.0, not switched`));
  back.update(url, false);
  await waitFor(() => s.reboots.length === 1, 30_000, 20);
  t.same(ranges, ['whole', `bytes=${half}-`], 'resumed from the byte the cut left on the disk');
  t.same([...readGrubenv(s.grubenv)], [['slot', 'A'], ['try_slot', 'B']]);
});
