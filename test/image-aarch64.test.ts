// The aarch64 appliance image, booted from its disk alone in qemu-system-aarch64 -M virt (TCG) under
// UEFI (Debian's qemu-efi-aarch64 / AAVMF): GRUB arm64-efi from the EFI system partition -> Debian's
// arm64 kernel -> our initramfs -> slot A -> init -> dmvpnd (arm64 Node, cross-built addon) and the
// console CLI on ttyAMA0. Factory default: no startup-config, no login. One boot; checks the prompt,
// `show version` and `show dmvpn` answered by the supervisor through the console, and (through init's
// debug shell on the virtio console hvc0) that the arm64 FRR starts: zebra, ospfd, vtysh. Then `write
// memory` at the console ends init's watch for a provisioning stick, and a stick plugged in afterwards
// (qemu's QMP) is not taken: a box configured by hand is never provisioned over (docs/image.md
// "Factory provisioning"; the stick that is taken: test/image-enroll.test.ts).
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireTools, cannotRun } from './util/needs.js';
import { sh, waitFor } from './util/lab.js';
import { imageOrCannotRun, provision, ImageVm } from './image/vm.js';
import { checkFrr } from './image/frr-check.js';

requireTools(t, ['qemu-system-aarch64', 'mksquashfs', 'mkfs.vfat', 'mcopy', 'sfdisk', 'grub-mkimage', 'mkfs.ext4', 'aarch64-linux-gnu-gcc']);
if (!fs.existsSync('/usr/share/AAVMF/AAVMF_CODE.fd')) cannotRun(t, ['/usr/share/AAVMF/AAVMF_CODE.fd (Debian package qemu-efi-aarch64: `make deps` installs it)']);
const image = imageOrCannotRun(t, 'aarch64');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmvimg-arm-'));
const vm = new ImageVm({ arch: 'aarch64', disk: provision(image, dir, undefined, { debugShell: true }), dir, debugShell: true, usbHotplug: true });
t.teardown(async () => {
  await vm.stop();
  if (!t.passing()) t.comment(`evidence kept in ${dir}`); else fs.rmSync(dir, { recursive: true, force: true });
});
vm.start();
const PROMPT = /Router[>#]/;

t.test('boots under UEFI to the console prompt', async (t) => {
  const t0 = Date.now();
  const stamp = async (what: string, re: RegExp, from = 0) => {
    const at = await vm.expect(re, 600_000, from);
    t.comment(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return at;
  };
  let at = await stamp('GRUB', /GNU GRUB/);
  at = await stamp('kernel booting', /Booting `DMVPN appliance, slot A'/, at);
  at = await stamp('init', /init: slot A \(root \/dev\/vda2\), persistent partition \/dev\/vda4/, at);
  t.ok(await vm.expect(/init: console on \/dev\/ttyAMA0/, 60_000, at), 'the console is the PL011 UART ttyAMA0');
  at = await stamp('console banner (supervisor answering)', /DMVPN appliance aarch64 .*\nPress RETURN to get started\./, at);
  vm.send('\r');
  await vm.expect(/\nRouter>$/, 120_000, at);
  t.pass('user exec prompt (factory default: no login, hostname Router)');
});

t.test('show version and show dmvpn through the console', async (t) => {
  t.match(await vm.command('show version', PROMPT, 120_000), /^DMVPN appliance firmware, node v20\.\d+\.\d+\nRouter uptime is \d\d:\d\d:\d\d\nSystem image: DMVPN appliance aarch64 \S+\nBooted from slot A\nHardware watchdog: [^\n]+\n$/, 'show version from the arm64 supervisor');
  t.match(await vm.command('show dmvpn', PROMPT, 120_000), /^Legend: Attrb --> S - Static, D - Dynamic/, 'show dmvpn (no tunnel in the factory config)');
  t.match(await vm.command('sh ip int br', PROMPT, 120_000), /^Interface\s+IP-Address\s+OK\? Method Status\s+Protocol/, 'abbreviated show ip interface brief');
});

t.test('FRR (arm64) on the image: zebra and ospfd start, vtysh answers', async (t) => {
  await checkFrr(t, vm);
});

t.test('write memory ends the watch for a provisioning stick: one plugged in afterwards is not taken', async (t) => {
  let at = vm.output.length;
  t.match((await vm.shell('ps')).out, /watch-provisioning/, 'a factory box: init watches for a stick');
  vm.send('enable\r');
  at = await vm.expect(/\nRouter#$/, 60_000, at);
  t.match(await vm.command('write memory', PROMPT, 120_000), /\[OK\]/, 'write memory');
  await vm.expect(/init: startup-config saved: no longer looking for a provisioning stick\n/, 120_000, at);
  t.pass('init: the watch ended');
  const prov = path.join(dir, 'dmvpn-provisioning.txt'), stick = path.join(dir, 'stick.img');
  fs.writeFileSync(prov, `pin sha256//${'A'.repeat(43)}=\ntoken SITE1 never-used-secret-0123456789\n`);
  sh('truncate', ['-s', '16M', stick]);
  sh('mkfs.vfat', ['-n', 'DMVPNPROV', stick]);
  sh('mcopy', ['-i', stick, prov, '::/dmvpn-provisioning.txt']);
  await vm.plugUsbStick(stick);
  const disk = await waitFor(async () => /\bsd[a-z]\b/.exec((await vm.shell('ls /sys/class/block')).out)?.[0], 120_000, 2000);
  t.ok(disk, `the kernel has the stick (${disk})`);
  // three of the watch's 3 s polls, were it still running
  await new Promise((r) => setTimeout(r, 10_000));
  t.notMatch(vm.output.slice(at), /provisioning file from/, 'init did not take it');
  const run = await vm.shell('test -e /run/dmvpn/provisioning; echo $?; ps');
  t.match(run.out, /^1\n/, 'nothing copied to /run/dmvpn/provisioning');
  t.notMatch(run.out, /watch-provisioning/, 'and no watch runs');
  t.match(await vm.command('show running-config', PROMPT, 120_000), /^hostname Router$/m, 'the box runs on from its own configuration');
});
