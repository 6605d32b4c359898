// `make soak` (not `make test`: three boots of the x86_64 image under TCG, about 8 minutes): a signed
// firmware that cannot become healthy rolls back by itself. The bundle is this image with its
// supervisor replaced by one that exits at once (its watchdog restarts it, forever) and a 60 s trial:
//   boot 1, slot A: `firmware update http://...` over a tap from a namespace; the box reboots
//   boot 2, slot B on trial (GRUB cleared try_slot): no supervisor ever runs the health check, so
//          init's trial guard reboots once the trial time and its minute of grace are over
//   boot 3, slot A again (grubenv slot=A): `show firmware` reports the rollback.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { sh, uniquePrefix } from '../util/lab.js';
import { requireTools, LAB_NEEDS, cannotRun } from '../util/needs.js';
import { imageOrCannotRun, provision, ImageVm } from './vm.js';
import { devFirmwareKey, variantBundle, unhealthy, httpServer, grubenvOfDisk } from './firmware-vm.js';

requireTools(t, [...LAB_NEEDS, 'qemu-system-x86_64', 'unsquashfs', 'mksquashfs', 'mcopy', 'grub-editenv']);
const image = imageOrCannotRun(t, 'x86_64');
const key = devFirmwareKey() ?? cannotRun(t, ['the development firmware key make image generated (Makefile FIRMWARE_KEY)']);
const ns = `${uniquePrefix('hfwsoak')}`;
const dir = fs.mkdtempSync(path.join('/tmp', 'hfw-soak-'));
const HOST = '172.16.26.1';
let vm: ImageVm | undefined;
let http: ReturnType<typeof httpServer> | undefined;
t.teardown(async () => {
  await vm?.stop();
  http?.stop();
  sh('ip', ['netns', 'del', ns], { allowFail: true });
  if (t.passing()) fs.rmSync(dir, { recursive: true, force: true }); else t.comment(`evidence kept in ${dir}`);
});
sh('ip', ['netns', 'add', ns]);
sh('ip', ['netns', 'exec', ns, 'ip', 'tuntap', 'add', 'dev', 'fa0-0', 'mode', 'tap']);
sh('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${HOST}/30`, 'dev', 'fa0-0']);
sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'fa0-0', 'up']);
const config = 'hostname R9\n!\ninterface FastEthernet0/0\n ip address 172.16.26.2 255.255.255.252\n!\nend\n';
const disk = provision(image, dir, config, { debugShell: true });
const boot = (n: number) => {
  const d = path.join(dir, `boot${n}`); fs.mkdirSync(d);
  vm = new ImageVm({ arch: 'x86_64', disk, dir: d, ns, tap: 'fa0-0', debugShell: true });
  vm.start();
  return vm;
};
const console = async (v: ImageVm) => {
  let at = await v.expect(/Press RETURN to get started\./, 600_000);
  v.send('\r'); at = await v.expect(/\nR9>$/, 120_000, at);
  v.send('enable\r'); await v.expect(/\nR9#$/, 60_000, at);
};

t.test('a firmware that cannot become healthy rolls back to the known-good slot', async (t) => {
  const www = path.join(dir, 'www'); fs.mkdirSync(www);
  const bundle = variantBundle(image, www, key, '99.0.9', 'unhealthy', unhealthy(60));
  http = httpServer(ns, HOST, 8080, www);
  await http.ready();
  const v1 = boot(1);
  await console(v1);
  t.match(await v1.command(`firmware update http://${HOST}:8080/${path.basename(bundle)}`, /R9#/), /started/);
  t.equal(await v1.exited(600_000), 0, 'boot 1: the bundle is verified and written, the box reboots to try it');
  t.match(grubenvOfDisk(disk, dir), /^slot=A\ntry_slot=B\n$/, 'grubenv: slot=A, try_slot=B');
  const t2 = Date.now();
  const v2 = boot(2);
  let at = await v2.expect(/init: slot B \(root \/dev\/vda3\)/, 600_000);
  at = await v2.expect(/init: firmware trial of slot B: back to slot A unless committed within 60 s/, 60_000, at);
  t.pass('boot 2: slot B on trial, init\'s guard armed');
  await v2.expect(/init: firmware trial of slot B not committed: rebooting into slot A/, 600_000, at);
  t.equal(await v2.exited(120_000), 0, `boot 2: the guard rebooted (${((Date.now() - t2) / 1000).toFixed(0)} s after qemu started)`);
  t.match(grubenvOfDisk(disk, dir), /^slot=A\ntry_slot=\n$/, 'grubenv: slot=A, try_slot emptied by GRUB\'s save_env on the trial boot');
  const v3 = boot(3);
  await v3.expect(/init: slot A \(root \/dev\/vda2\)/, 600_000);
  await console(v3);
  const show = await v3.command('show firmware', /R9#/);
  t.match(show, /booted from slot A/, 'boot 3: slot A again');
  t.match(show, /^B +99\.0\.9 +standby$/m, 'slot B holds the failed firmware, not the default');
  t.match(show, /Last result: rolled back: slot B version 99\.0\.9 did not become healthy; running slot A version \S+ again/, 'show firmware reports the rollback');
});
