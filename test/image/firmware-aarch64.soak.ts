// A firmware update of the aarch64 image under TCG (`make soak`: two boots of qemu-system-aarch64 take
// minutes, more than `make test`'s one boot per architecture allows). The same path as the x86_64 one
// in test/image.test.ts, on the other boot chain (UEFI, GRUB arm64-efi): the box registers with a hub
// in a host namespace, `firmware update` fetches a signed aarch64 bundle from the hub's tunnel address,
// writes slot B, GRUB boots it once, the supervisor commits it once registered, and grubenv on the disk
// says so. An x86_64 bundle is refused first (wrong architecture) before anything is written.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, waitFor, uniquePrefix } from '../util/lab.js';
import { requireTools, LAB_NEEDS, cannotRun } from '../util/needs.js';
import { imageOrCannotRun, provision, ImageVm, hubNamespace } from './vm.js';
import { devFirmwareKey, variantBundle, httpServer, grubenvOfDisk } from './firmware-vm.js';
import { partFiles } from './firmware-fixture.js';
import { writeBundle } from '../../appliance/firmware/bundle-writer.js';

const HUB_NBMA = '172.16.25.1';
const HUB_TUNNEL = '192.168.0.1';
const VM_NBMA = '172.16.25.2';
const tunnel = (address: string, extra: string) => `interface Tunnel0
 ip address ${address} 255.255.255.0
 ip mtu 1400
${extra} ip nhrp network-id 1
 ip nhrp holdtime 60
 tunnel source FastEthernet0/0
 tunnel mode gre multipoint
!
`;
const spokeConfig = `hostname R2
!
interface FastEthernet0/0
 ip address ${VM_NBMA} 255.255.255.252
!
${tunnel('192.168.0.2', ` ip nhrp map 192.168.0.1 ${HUB_NBMA}\n ip nhrp nhs 192.168.0.1\n ip nhrp registration timeout 5\n`)}end
`;
const hubConfig = `hostname R1
!
interface FastEthernet0/0
 ip address ${HUB_NBMA} 255.255.255.252
!
${tunnel(HUB_TUNNEL, ' ip nhrp map multicast dynamic\n')}end
`;

requireTools(t, [...LAB_NEEDS, 'qemu-system-aarch64', 'unsquashfs', 'mksquashfs', 'mcopy', 'grub-editenv', 'debugfs', 'sfdisk']);
if (!fs.existsSync('/usr/share/AAVMF/AAVMF_CODE.fd')) cannotRun(t, ['/usr/share/AAVMF/AAVMF_CODE.fd (Debian package qemu-efi-aarch64)']);
const image = imageOrCannotRun(t, 'aarch64');
const key = devFirmwareKey() ?? cannotRun(t, ['the development firmware key make image generated (Makefile FIRMWARE_KEY)']);

const lab = new Lab(uniquePrefix('fwa'), 0);
let vm: ImageVm | undefined;
const hubNs = hubNamespace(t, lab, () => vm);
const disk = provision(image, lab.dir, spokeConfig, { debugShell: true });
const PROMPT = /R2[>#]/;

/** Boots `disk` in a directory of its own (UEFI variables, sockets, logs) up to the privileged prompt. */
async function boot(name: string, slot: 'A' | 'B'): Promise<ImageVm> {
  const dir = fs.mkdtempSync(path.join(lab.dir, `${name}-`));
  const v = new ImageVm({ arch: 'aarch64', disk, dir, ns: hubNs, tap: 'fa0-0', debugShell: true });
  v.start();
  let at = await v.expect(new RegExp(`Booting \`DMVPN appliance, slot ${slot}'`), 900_000);
  at = await v.expect(/Press RETURN to get started\./, 900_000, at);
  v.send('\r');
  at = await v.expect(/\nR2>$/, 300_000, at);
  v.send('enable\r');
  await v.expect(/\nR2#$/, 120_000, at);
  t.equal(await v.command('terminal length 0', PROMPT), '');
  return v;
}

t.test('aarch64: registered, an update through the tunnel, slot B tried and committed', async (t) => {
  lab.start('R1', lab.writeConfig('R1', hubConfig));
  const t0 = Date.now();
  vm = await boot('boot1', 'A');
  t.pass(`slot A at the prompt ${((Date.now() - t0) / 1000).toFixed(0)} s after qemu started`);
  const registered = await waitFor(() => {
    try { return (lab.ctlJson('R1', 'show dmvpn').interfaces[0]?.peers ?? []).some((p: { nbma: string; state: string }) => p.nbma === VM_NBMA && p.state === 'UP'); } catch { return false; }
  }, 300_000, 2000);
  t.ok(registered, 'the hub has the aarch64 box\'s registration');

  const www = fs.mkdtempSync(path.join(lab.dir, 'www-'));
  const good = variantBundle(image, www, key, '99.0.1', `afw-${process.pid}`, undefined, 'gzip', 'aarch64');
  const parts = partFiles(www, { root: 4096, kernel: 100, initrd: 100 }, 'x86');
  writeBundle({ version: '99.0.3', arch: 'x86_64', privateKeyPem: fs.readFileSync(key, 'utf8'), parts }, path.join(www, 'x86.fw'));
  const http = httpServer(hubNs, HUB_TUNNEL, 8080, www);
  t.teardown(() => http.stop());
  await http.ready();
  const url = (f: string) => `http://${HUB_TUNNEL}:8080/${f}`;
  t.match(await vm.command('show firmware', /R2#/), /^Firmware version \S+ \(aarch64\), booted from slot A$/m, 'show firmware: aarch64, slot A');

  t.match(await vm.command(`firmware update ${url('x86.fw')}`, /R2#/, 60_000), /Firmware update from \S+ started/);
  const refused = await waitFor(async () => { const o = await vm!.command('show firmware', /R2#/, 60_000); return /Last result: refused/.test(o) ? o : ''; }, 300_000, 3000);
  t.match(refused, /Last result: refused: \S+x86\.fw: .*x86_64/, 'an x86_64 bundle is refused on the aarch64 box, naming the architecture');
  t.match(grubenvOfDisk(disk, lab.dir), /^slot=A\n$/, 'grubenv untouched by the refusal');

  const t1 = Date.now();
  t.match(await vm.command(`firmware update ${url(path.basename(good))}`, /R2#/, 60_000), /started .* slot B is written/);
  t.equal(await vm.exited(1_200_000), 0, 'the guest rebooted to try slot B (-no-reboot: qemu exits 0)');
  t.comment(`update of ${fs.statSync(good).size} bytes, from the command to the reboot: ${((Date.now() - t1) / 1000).toFixed(0)} s (TCG aarch64)`);
  t.match(grubenvOfDisk(disk, lab.dir), /^slot=A\ntry_slot=B\n$/, 'grubenv on the disk: slot=A, try_slot=B');

  vm = await boot('boot2', 'B');
  const committed = await waitFor(async () => { const o = await vm!.command('show firmware', /R2#/, 60_000); return /Last result: committed/.test(o) ? o : ''; }, 600_000, 5000);
  t.match(committed, /^Firmware version 99\.0\.1 \(aarch64\), booted from slot B$/m, 'running the new firmware from slot B');
  t.match(committed, /Last result: committed: slot B version 99\.0\.1 committed \(healthy/, 'committed once healthy (registered)');
  t.match((await vm.shell('cat /etc/dmvpn-firmware-test', 60_000)).out, new RegExp(`afw-${process.pid}`), 'the root filesystem is the bundle\'s');
  t.match(grubenvOfDisk(disk, lab.dir), /^slot=B\n$/, 'grubenv on the disk: slot=B');
});
