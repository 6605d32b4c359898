// The aarch64 appliance image, booted from its disk alone in qemu-system-aarch64 -M virt (TCG) under
// UEFI (Debian's qemu-efi-aarch64 / AAVMF): GRUB arm64-efi from the EFI system partition -> Debian's
// arm64 kernel -> our initramfs -> slot A -> init -> dmvpnd (arm64 Node, cross-built addon) and the
// console CLI on ttyAMA0. Factory default: no startup-config, no login. One boot; checks the prompt,
// `show version` and `show dmvpn` answered by the supervisor through the console, and (through init's
// debug shell on the virtio console hvc0) that the arm64 FRR starts: zebra, ospfd, vtysh.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireTools, cannotRun } from './util/needs.js';
import { imageOrCannotRun, provision, ImageVm } from './image/vm.js';
import { checkFrr } from './image/frr-check.js';

requireTools(t, ['qemu-system-aarch64', 'mksquashfs', 'mkfs.vfat', 'mcopy', 'sfdisk', 'grub-mkimage', 'mkfs.ext4', 'aarch64-linux-gnu-gcc']);
if (!fs.existsSync('/usr/share/AAVMF/AAVMF_CODE.fd')) cannotRun(t, ['/usr/share/AAVMF/AAVMF_CODE.fd (Debian package qemu-efi-aarch64: `make deps` installs it)']);
const image = imageOrCannotRun(t, 'aarch64');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmvimg-arm-'));
const vm = new ImageVm({ arch: 'aarch64', disk: provision(image, dir, undefined, { debugShell: true }), dir, debugShell: true });
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
