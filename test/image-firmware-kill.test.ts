// Power cuts at chosen points of a firmware update of the x86_64 image under TCG (test/image/firmware-kill.ts
// says what "came back on a good slot" is checked by). Each point is chosen from what the box or its
// disk reports, not by a timer, and the boots are chained: each boot after a cut is checked and then
// starts the next attempt, so 4 cuts and the final commit take 6 boots:
//   boot 1  A: `firmware update <url>`, cut once show firmware counts a third of the bundle downloaded
//   boot 2  A: interrupted (downloading); retried: resumes by Range; cut when show firmware says writing
//   boot 3  A: interrupted (writing slot B), B unknown; retried (the whole bundle already on /data);
//              cut as soon as the disk's grubenv holds try_slot=B (the reboot is under way)
//   boot 4  B: GRUB tries B (checked whole on the disk first); cut when init announces the trial,
//              before the supervisor can commit
//   boot 5  A: rolled back (the trial never committed); retried, left to reboot
//   boot 6  B: trial, committed; grubenv slot=B
//   boot 7  B: the first grubenv copy damaged while off: GRUB boots B from the second, dmvpnd repairs the first
// The random version over the whole window, hundreds of times, is `make soak` (firmware-kill.soak.ts).
import t from 'tap';
import { requireTools, LAB_NEEDS, cannotRun } from './util/needs.js';
import { imageOrCannotRun } from './image/vm.js';
import { devFirmwareKey } from './image/firmware-vm.js';
import { KillLab, comeBack, pollShow, showFirmware, toConsole, type Comeback } from './image/firmware-kill.js';
import { waitFor } from './util/lab.js';

requireTools(t, [...LAB_NEEDS, 'qemu-system-x86_64', 'unsquashfs', 'mksquashfs', 'mcopy', 'grub-editenv', 'debugfs', 'sfdisk']);
const image = imageOrCannotRun(t, 'x86_64');
const key = devFirmwareKey() ?? cannotRun(t, ['the development firmware key make image generated (Makefile FIRMWARE_KEY)']);
const VERSION = '99.0.1';
const lab = new KillLab(t, image, key);
const wanted = (t: { same(a: unknown, b: unknown, m: string): unknown }, c: Comeback, what: string) => t.same(c.problems, [], `${what}: no inconsistency (slot, version, commit, config)`);

t.test('power cuts during download, write, reboot and trial; the box always comes back on a whole slot', async (t) => {
  const t0 = Date.now();
  await lab.serve([VERSION]);
  const fw = lab.bundles[0];
  t.comment(`bundle ${fw.url}: root ${fw.root.size} bytes`);
  const update = async () => t.match(await lab.vm!.command(`firmware update ${fw.url}`, /R9#/), /Firmware update from \S+ started/);

  // boot 1: cut during the download
  let vm = lab.boot();
  await toConsole(vm);
  const s0 = await showFirmware(vm);
  t.equal(s0.booted, 'A', 'boot 1: factory image on slot A');
  await update();
  const mid = await pollShow(vm, (s) => s.phase === 'downloading' && !!s.total && s.bytes! >= s.total / 3, 300_000);
  await lab.kill();
  t.pass(`cut 1 while downloading, at ${mid.bytes} of ${mid.total} bytes`);

  // boot 2: back on A, interrupted; resume; cut while writing
  let c = await comeBack(lab);
  wanted(t, c, 'after cut 1');
  t.equal(c.slot, 'A', 'after cut 1: slot A (grubenv untouched)');
  t.same([...c.env], [['slot', 'A']], 'grubenv: slot=A');
  t.equal(c.show.last?.result, 'interrupted', 'show firmware: interrupted');
  t.match(c.show.last?.message ?? '', /interrupted while downloading by a restart; running slot A/);
  await update();
  const writing = await pollShow(lab.vm!, (s) => s.phase === 'writing', 300_000);
  await lab.kill();
  const stats = await lab.serverStats();
  t.ok(stats.rangeStarts.length >= 1 && stats.rangeStarts[0] > 0, `the second attempt resumed by Range from byte ${stats.rangeStarts[0]} (the disk had kept the bytes before the cut)`);
  t.pass(`cut 2 while writing (${writing.text.match(/^Update: .*$/m)![0]})`);

  // boot 3: back on A, interrupted, B unknown; retry; cut once grubenv names the trial
  c = await comeBack(lab);
  wanted(t, c, 'after cut 2');
  t.equal(c.slot, 'A', 'after cut 2: slot A');
  t.equal(c.show.last?.result, 'interrupted');
  t.match(c.show.last?.message ?? '', /version 99\.0\.1 from \S+ interrupted while writing slot B by a restart/);
  t.notMatch(c.show.slots.B.version, /^99\.0\.1$/, `slot B is not reported as ${VERSION} (${c.show.slots.B.version})`);
  await update();
  vm = lab.vm!;
  const switched = await waitFor(() => {
    if (vm.proc?.exitCode !== null) return 'rebooted';
    try { return lab.grubenv().get('try_slot') === 'B' ? 'switched' : undefined; } catch { return undefined; } // mid-write: read again
  }, 600_000, 100);
  await lab.kill();
  t.pass(`cut 3 during the reboot: ${switched === 'switched' ? 'killed as soon as the disk held try_slot=B' : 'the guest had already reset (qemu exited)'}`);

  // boot 4: GRUB tries B, which the disk holds whole; cut when init announces the trial
  const env = lab.grubenv();
  t.same([...env], [['slot', 'A'], ['try_slot', 'B']], 'grubenv: slot=A, try_slot=B');
  t.equal(lab.slotHolds('B')?.version, VERSION, `slot B holds ${VERSION} whole (root, kernel, initramfs) before GRUB tries it: ${JSON.stringify(lab.slotParts('B'))}`);
  vm = lab.boot();
  let at = await vm.expect(/Booting `DMVPN appliance, slot B'/, 600_000);
  at = await vm.expect(/init: firmware trial of slot B: back to slot A unless committed/, 600_000, at);
  await lab.kill();
  t.pass('cut 4 on the trial boot, when init armed its guard (before the supervisor starts)');

  // boot 5: GRUB cleared try_slot on boot 4: A again, rolled back; retry and let it finish
  c = await comeBack(lab);
  wanted(t, c, 'after cut 4');
  t.equal(c.slot, 'A', 'after cut 4: slot A');
  t.equal(c.env.get('slot'), 'A', 'grubenv: slot=A');
  t.notOk(c.env.get('try_slot'), 'try_slot emptied by GRUB\'s save_env on boot 4');
  t.equal(c.show.last?.result, 'rolled back', 'a trial cut before its commit is a rollback (it cannot be told from a crash)');
  await update();
  t.equal(await lab.vm!.exited(600_000), 0, 'boot 5: written and switched, the guest reboots');

  // boot 6: the trial commits
  c = await comeBack(lab);
  wanted(t, c, 'boot 6');
  t.equal(c.slot, 'B', 'boot 6: slot B on trial');
  const done = await pollShow(lab.vm!, (s) => s.last?.result === 'committed', 300_000);
  t.match(done.text, /^B +99\.0\.1 +running, default$/m, 'committed: B running and default');
  t.same([...lab.grubenv()], [['slot', 'B']], 'grubenv: slot=B');
  t.ok(lab.configIntact(), 'the startup-config survived every cut');

  // boot 7: the first grubenv copy damaged while the box was off (a torn write): GRUB takes slot B from
  // the second copy (with one copy it booted A, the fallback), and the supervisor writes the first again
  await lab.kill();
  lab.damageFirstGrubenv();
  t.throws(() => lab.grubenv(), /lacks its/, 'the first copy on the disk is damaged');
  c = await comeBack(lab, true);
  wanted(t, c, 'boot 7');
  t.equal(c.slot, 'B', 'boot 7: slot B, from the second copy');
  t.equal(c.show.booted, 'B', 'show firmware: booted from B');
  const healed = await waitFor(() => { try { return lab.grubenv().get('slot') === 'B'; } catch { return false; } }, 120_000, 1000).then(() => true, () => false);
  t.ok(healed, 'the supervisor wrote the first copy again: both parse, slot B');
  t.comment(`7 boots, 4 cuts, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
