// `make soak`: power cuts at random times over the whole update window of the x86_64 image under TCG,
// DMVPN_KILL_SOAK_N iterations (default 200: about a minute and a half each, so hours), seeded
// (DMVPN_KILL_SEED; printed first, so a failing sequence can be replayed with the same seed on the same
// machine: the times replay, the box's speed may not). test/image-firmware-kill.test.ts cuts at chosen points.
// Each iteration: the box at its console (checked: test/image/firmware-kill.ts comeBack) starts
// `firmware update <url> force` to whichever of two bundles it does not run; a time drawn uniformly in
// the window (DMVPN_KILL_WINDOW_S, default 120: download, verification, write, reboot and the trial
// boot up to its commit) is where the power is cut, on the update boot or, if the box reset before,
// on the boot that follows (GRUB, kernel, the trial); then the same disk boots again and must come back
// on a whole slot, consistent. The phase of each cut is the last one `show firmware` reported (polled
// about every second) or, after the reset, whether init had announced the trial.
import t from 'tap';
import { requireTools, LAB_NEEDS, cannotRun } from '../util/needs.js';
import { imageOrCannotRun } from './vm.js';
import { devFirmwareKey } from './firmware-vm.js';
import { KillLab, comeBack, pollShow, showFirmware, toConsole, type Show } from './firmware-kill.js';

requireTools(t, [...LAB_NEEDS, 'qemu-system-x86_64', 'unsquashfs', 'mksquashfs', 'mcopy', 'grub-editenv', 'debugfs', 'sfdisk']);
const image = imageOrCannotRun(t, 'x86_64');
const key = devFirmwareKey() ?? cannotRun(t, ['the development firmware key make image generated (Makefile FIRMWARE_KEY)']);
const N = Number(process.env.DMVPN_KILL_SOAK_N ?? 200);
const SEED = Number(process.env.DMVPN_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const WINDOW_MS = Number(process.env.DMVPN_KILL_WINDOW_S ?? 120) * 1000;
t.comment(`seed ${SEED} (DMVPN_KILL_SEED=${SEED} replays it), ${N} iterations, window ${WINDOW_MS / 1000} s`);

/** mulberry32: a small seeded generator, uniform in [0, 1) */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test(`power cuts at random over the update window, ${N} times`, async (t) => {
  const lab = new KillLab(t, image, key);
  await lab.serve(['99.0.1', '99.0.2']);
  const random = rng(SEED);
  const phases = new Map<string, number>();
  const failures: string[] = [];
  const t0 = Date.now();
  let vm = lab.boot();
  await toConsole(vm);
  let show: Show = await showFirmware(vm);
  let done = 0;
  for (let i = 0; i < N; i++) {
    // a boot that is a trial commits first (no update starts during a trial)
    if (/on trial/.test(show.text)) show = await pollShow(vm, (s) => !/on trial/.test(s.text), 600_000);
    const target = lab.bundles.find((b) => b.version !== show.version)!;
    const at = Math.round(random() * WINDOW_MS);
    const start = Date.now();
    let phase = 'idle';
    await vm.command(`firmware update ${target.url} force`, /R9#/);
    // poll the phase until the cut time, or until the guest resets to try the slot
    while (Date.now() - start < at && vm.proc?.exitCode === null) {
      const left = at - (Date.now() - start);
      const s = await Promise.race([showFirmware(vm, 30_000).catch(() => undefined), sleep(left).then(() => undefined)]);
      if (s) phase = s.phase;
      else if (vm.proc?.exitCode === null && Date.now() - start < at) await sleep(200);
    }
    if (vm.proc?.exitCode === null) {
      await lab.kill();
    } else {
      // reset to try the new slot: the rest of the time is spent on the boot that follows
      const deadline = start + at;
      vm = lab.boot();
      // the console must be read (expect connects to it) to know whether init announced the trial
      const trial = await vm.expect(/init: firmware trial of slot [AB]/, Math.max(1, deadline - Date.now())).then(() => true, () => false);
      const left = deadline - Date.now();
      if (left > 0) await Promise.race([sleep(left), vm.exited(left)]);
      phase = trial ? 'trial' : 'reboot';
      if (vm.proc?.exitCode !== null) phase = 'reboot, guest exited';
      await lab.kill();
    }
    try {
      const c = await comeBack(lab);
      vm = lab.vm!;
      show = c.show;
      const outcome = `${phase} -> ${c.holds.version === target.version ? 'new' : 'old'} slot`;
      phases.set(outcome, (phases.get(outcome) ?? 0) + 1);
      const bad = [...c.problems];
      if (show.last && ['failed', 'refused'].includes(show.last.result)) bad.push(`last result ${show.last.result}: ${show.last.message}`);
      if (bad.length) failures.push(`iteration ${i} (cut at ${at} ms, ${phase}): ${bad.join('; ')}`);
      t.comment(`${i + 1}/${N}: cut at ${(at / 1000).toFixed(1)} s (${phase}) -> slot ${c.slot}${c.trial ? ' on trial' : ''}, ${show.version}, last: ${show.last?.result ?? 'none'}${bad.length ? ` PROBLEM: ${bad.join('; ')}` : ''}`);
    } catch (e) {
      phases.set(`${phase} -> FAILED`, (phases.get(`${phase} -> FAILED`) ?? 0) + 1);
      // not back on a whole slot, or no console: the disk is kept for the post-mortem (teardown)
      failures.push(`iteration ${i} (cut at ${at} ms, ${phase}): ${(e as Error).message.slice(0, 2000)}`);
      t.comment(`${i + 1}/${N}: FAILED after a cut at ${at} ms (${phase}): ${(e as Error).message.slice(0, 2000)}`);
      done = i + 1;
      break;
    }
    done = i + 1;
  }
  t.comment(`summary: seed ${SEED}, ${done} of ${N} iterations in ${((Date.now() - t0) / 60_000).toFixed(1)} min; cuts per phase and the slot the box came back on: ${[...phases].sort().map(([p, n]) => `${p} ${n}`).join(', ')}; failures: ${failures.length}`);
  for (const f of failures) t.comment(`failure: ${f}`);
  t.equal(done, N, 'every iteration ran');
  t.same(failures, [], 'the box came back on a whole slot, consistent, after every cut');
});
