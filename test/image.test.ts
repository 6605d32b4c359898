// The x86_64 appliance image, booted from its disk alone in qemu (TCG, default SeaBIOS, one full
// boot; a short OVMF run up to the kernel's first line then checks UEFI): GRUB -> Debian's kernel ->
// our initramfs -> slot A -> init -> dmvpnd under its watchdog + the console CLI on ttyS0. The image
// is provisioned with a spoke startup-config on its persistent partition; its NIC is a tap in a
// namespace where our hub runs. Checks, through the serial console as a user would type them: the
// login (`login local`, a wrong password, then the right one), `show version` (release, slot,
// hardware watchdog), `enable` with its secret, `write memory`, a bad command's marker, serial-line
// garbage, and `show dmvpn` once the spoke has registered with the hub (which sees it too, and
// reaches the VM's tunnel address through the GRE overlay); EIGRP (`router eigrp 100` on both) forms
// its adjacency over Tunnel0 on the image's raw socket. Through init's debug shell (virtio
// console hvc0): FRR's zebra and ospfd start and vtysh answers; the supervisor stopped (SIGSTOP: its
// event loop no longer runs) stops the feeding of the i6300esb timer until it fires (qemu's
// `-action watchdog=debug` reports it and lets the VM run on). A firmware update from the hub's
// namespace reboots the box into slot B on trial, which commits (the second boot of the disk). Last,
// `reload` on the console reboots the box (-no-reboot: qemu exits) and the startup-config written by
// `write memory` is on the disk.
//
//   namespace PREFIX-r1:  hub dmvpnd (FastEthernet0/0 = tap fa0-0 172.16.25.1/30, Tunnel0 192.168.0.1)
//                          tap fa0-0 ── qemu ── VM eth0 172.16.25.2/30, Tunnel0 192.168.0.2
import t from 'tap';
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { Lab, waitFor, uniquePrefix, ROOT } from './util/lab.js';
import { requireTools, LAB_NEEDS, cannotRun } from './util/needs.js';
import { imageOrCannotRun, provision, persistentFile, persistentNames, ImageVm, hubNamespace } from './image/vm.js';
import { checkFrr } from './image/frr-check.js';
import { devFirmwareKey, variantBundle, httpServer, grubenvOfDisk } from './image/firmware-vm.js';
import { partFiles } from './image/firmware-fixture.js';
import { writeBundle } from '../appliance/firmware/bundle-writer.js';

const HUB_NBMA = '172.16.25.1';
/** the hub's Tunnel0 address: what the VM reaches through its tunnel */
const HUB_TUNNEL = '192.168.0.1';
const VM_NBMA = '172.16.25.2';

const ENABLE_SECRET = 'En-0image';
const USER_SECRET = 'Op-0image';
const spokeConfig = `hostname R2
!
enable secret ${ENABLE_SECRET}
username operator secret ${USER_SECRET}
!
interface FastEthernet0/0
 ip address ${VM_NBMA} 255.255.255.252
!
interface Tunnel0
 ip address 192.168.0.2 255.255.255.0
 ip mtu 1400
 ip nhrp map 192.168.0.1 ${HUB_NBMA}
 ip nhrp map multicast ${HUB_NBMA}
 ip nhrp network-id 1
 ip nhrp nhs 192.168.0.1
 ip nhrp holdtime 60
 ip nhrp registration timeout 5
 tunnel source FastEthernet0/0
 tunnel mode gre multipoint
!
router eigrp 100
 network 192.168.0.0 0.0.0.255
!
line con 0
 login local
!
end
`;

const hubConfig = `hostname R1
!
interface FastEthernet0/0
 ip address ${HUB_NBMA} 255.255.255.252
!
interface Tunnel0
 ip address 192.168.0.1 255.255.255.0
 ip mtu 1400
 ip nhrp map multicast dynamic
 ip nhrp network-id 1
 ip nhrp holdtime 60
 tunnel source FastEthernet0/0
 tunnel mode gre multipoint
!
router eigrp 100
 network 192.168.0.0 0.0.0.255
!
end
`;

requireTools(t, [...LAB_NEEDS, 'qemu-system-x86_64', 'mksquashfs', 'mkfs.vfat', 'mcopy', 'sfdisk', 'grub-mkimage', 'mkfs.ext4', 'debugfs']);
const image = imageOrCannotRun(t, 'x86_64');

const lab = new Lab(uniquePrefix('img'), 0);
let vm: ImageVm | undefined;
const hubNs = hubNamespace(t, lab, () => vm);
t.test('the factory image asks init for no debug shell', async (t) => {
  // init starts the root shell on hvc0 only for /data/debug-shell, which only set-config.sh --debug-shell
  // writes (the supervisor writes startup-config and *.seq files there, no other name)
  t.same(persistentNames(image, lab.dir), ['keys', 'lost+found', 'state'], 'its persistent partition holds no debug-shell');
  t.throws(() => persistentFile(image, 'debug-shell', lab.dir), /File not found/, 'debug-shell is not there');
});
const disk = provision(image, lab.dir, spokeConfig, { debugShell: true });
vm = new ImageVm({ arch: 'x86_64', disk, dir: lab.dir, ns: hubNs, tap: 'fa0-0', debugShell: true, watchdogAction: 'debug' });
vm.start();
lab.start('R1', lab.writeConfig('R1', hubConfig));
const PROMPT = /R2[>#]/;

t.test('boots from the disk to the console prompt', async (t) => {
  const t0 = Date.now();
  const stamp = async (what: string, re: RegExp, from = 0) => {
    const at = await vm!.expect(re, 600_000, from);
    t.comment(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s after qemu started (TCG)`);
    return at;
  };
  let at = await stamp('GRUB (SeaBIOS -> MBR boot.img -> core.img)', /GNU GRUB/);
  at = await stamp('kernel booting', /Booting `DMVPN appliance, slot A'/, at);
  at = await stamp('init', /init: slot A \(root \/dev\/vda2\), persistent partition \/dev\/vda4/, at);
  t.ok(await vm!.expect(/init: WAN eth0: static address from the startup-config/, 60_000, at), 'the WAN port takes its static address from the startup-config');
  at = await stamp('console banner (supervisor answering)', /DMVPN appliance x86_64 .*\nPress RETURN to get started\./, at);
  vm!.send('\r');
  at = await vm!.expect(/User Access Verification\n\nUsername: $/, 120_000, at);
  vm!.send('operator\r');
  at = await vm!.expect(/Password: $/, 60_000, at);
  vm!.send('not-the-secret\r');
  at = await vm!.expect(/% Login invalid\n\nUsername: $/, 60_000, at);
  t.pass('login local: a wrong password is refused, the login asks again');
  vm!.send('operator\r');
  at = await vm!.expect(/Password: $/, 60_000, at);
  vm!.send(`${USER_SECRET}\r`);
  await vm!.expect(/\nR2>$/, 120_000, at);
  t.notMatch(vm!.output, new RegExp(USER_SECRET), 'the password is not echoed');
  t.pass('user exec prompt R2> after the login (hostname and users from the startup-config on the persistent partition)');
  t.equal(await vm!.command('terminal length 0', PROMPT), '', 'no paging (show startup-config is longer than a screen)');
});

t.test('show version and exec modes on the serial console', async (t) => {
  const version = await vm!.command('show version', PROMPT);
  t.match(version, /DMVPN appliance firmware, node v20\.\d+\.\d+\nR2 uptime is \d\d:\d\d:\d\d/, 'show version answers from dmvpnd');
  t.match(version, /\nSystem image: DMVPN appliance x86_64 \S+\nBooted from slot A\n/, 'show version: release and boot slot');
  t.match(version, /\nHardware watchdog: i6300ESB timer, timeout \d+ s, active\n/, 'the i6300esb driver is bound and dmvpnd\'s watchdog feeds it');
  const bad = await vm!.command('clear ip nhrp', PROMPT);
  t.match(bad, /^ {3}\^\n% Invalid input detected at '\^' marker\./, 'privileged command refused in user exec, caret under column 0');
  let at = vm!.output.length;
  vm!.send('enable\r');
  at = await vm!.expect(/Password: $/, 60_000, at);
  vm!.send(`${ENABLE_SECRET}\r`);
  await vm!.expect(/\nR2#$/, 60_000, at);
  t.pass('enable asks for the enable secret: privileged exec');
  t.match(await vm!.command('write memory', /R2#/), /Building configuration\.\.\.\r?\n\[OK\]/, 'write memory on the persistent partition');
  t.match(await vm!.command('show startup-config', /R2#/), /^Using \d+ bytes\r?\n!\r?\nhostname R2\r?\n/m, 'show startup-config: the saved text');
  const typo = await vm!.command('show dmvpn bogus', PROMPT);
  t.match(typo, /\^\n% Invalid input detected at '\^' marker\./, 'bad argument: IOS marker');
  t.equal(typo.indexOf('^'), 'R2#show dmvpn '.length, 'caret under the bad word');
  // serial line noise: control bytes, high bytes, an escape sequence; then a real command still works
  vm!.send(Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x31, 0x3b, 0x35, 0x48, 0x07, 0x80, 0x9b]));
  vm!.send('x'.repeat(600));
  vm!.send(Buffer.from([0x15])); // Ctrl-U clears the (capped) line
  const after = await vm!.command('show version', PROMPT);
  t.match(after, /^DMVPN appliance firmware/, 'garbage and an overlong line are dropped, the console still answers');
});

t.test('registers with the hub; show dmvpn on the console', async (t) => {
  const peersOfHub = () => {
    try { return (lab.ctlJson('R1', 'show dmvpn').interfaces[0]?.peers ?? []) as Array<{ nbma: string; tunnel: string; state: string; upDownSeconds?: number }>; } catch { return []; }
  };
  const reg = await waitFor(() => peersOfHub().find((p) => p.nbma === VM_NBMA && p.state === 'UP'), 240_000, 1000);
  t.ok(reg, `the hub has the VM's registration (${JSON.stringify(peersOfHub())})`);
  // the boot's stages by when their console lines arrived (`make bench` prints this line)
  const registeredAt = (Date.now() - vm!.startedAt) / 1000 - (reg?.upDownSeconds ?? 0);
  const at = (re: RegExp) => vm!.secondsTo(re)?.toFixed(1) ?? '-';
  t.comment(`boot timeline (s after qemu started, TCG): GRUB ${at(/GNU GRUB/)}, kernel started ${at(/initramfs: Linux \S+ started/)}, `
    + `init ${at(/init: slot A/)}, Node started ${at(/console: waiting for the supervisor/)}, supervisor ready ${at(/Press RETURN to get started/)}, `
    + `registered ${registeredAt.toFixed(1)}`);
  const dmvpn = await waitFor(async () => {
    const out = await vm!.command('show dmvpn', PROMPT);
    return /172\.16\.25\.1\s+192\.168\.0\.1\s+UP\s+\S+\s+S/.test(out) ? out : '';
  }, 120_000, 2000);
  t.match(dmvpn, /Tunnel0, Type:Spoke, NHRP Peers:1/, 'show dmvpn on the VM\'s console: a spoke with one peer');
  t.match(dmvpn, /\b1\s+172\.16\.25\.1\s+192\.168\.0\.1\s+UP\s+\S+\s+S/, 'the hub, static, UP');
  // the overlay carries traffic: the hub pings the VM's tunnel address through GRE
  const ping = await waitFor(() => lab.ping(hubNs, '192.168.0.2', 2), 60_000, 1000);
  t.ok(ping, 'hub -> 192.168.0.2 (the VM\'s Tunnel0) over the GRE overlay');
});

// The VM's virtio-net merges the hub's GRE by GRO; the raw-rx pump used to drop what did not fit a slot,
// and TCP through the tunnel crawled at 4 kB/s (docs/dataplane.md "GRE merged by the receiver's GRO").
t.test('TCP through the tunnel: a 4 MB download from the hub arrives whole, merged GRE cut and not dropped', async (t) => {
  const www = path.join(lab.dir, 'www-tunnel'); fs.mkdirSync(www, { recursive: true });
  const data = randomBytes(4 << 20);
  fs.writeFileSync(path.join(www, 'f'), data);
  const want = createHash('sha256').update(data).digest('hex');
  const http = httpServer(hubNs, HUB_TUNNEL, 8081, www);
  try {
    await http.ready();
    await waitFor(() => lab.ping(hubNs, '192.168.0.2', 1), 30_000, 500);
    const t0 = Date.now();
    const got = await vm!.shell(`busybox wget -q -O - http://${HUB_TUNNEL}:8081/f | sha256sum`, 300_000);
    if (got.out.trim().split(/\s+/)[0] !== want) t.comment(`the VM's shell printed: ${got.out.trim().slice(0, 500)}`);
    t.equal(got.out.trim().split(/\s+/)[0], want, `4 MiB from the hub's tunnel address arrive intact (${((Date.now() - t0) / 1000).toFixed(1)} s under TCG)`);
    const c = JSON.parse((await vm!.shell('dmvpnctl show dataplane counters json')).out) as Record<string, number>;
    t.equal(c.nbmaRxPumpDrops ?? 0, 0, `the VM's raw-rx pump dropped nothing (${c.nbmaRxGroSupers ?? 0} merged GRE packets cut into ${c.nbmaRxGroSegments ?? 0} segments)`);
  } finally { http.stop(); }
});

t.test('EIGRP on the image: its raw socket in dmvpnd (no python3 there), the hub its neighbor over Tunnel0', async (t) => {
  t.not((await vm!.shell('command -v python3')).rc, 0, 'the image has no python3 (the transport it once needed)');
  const ifs = await waitFor(async () => { const o = await vm!.command('show ip eigrp interfaces', PROMPT); return /^Tu0\s+1\s/m.test(o) ? o : ''; }, 180_000, 2000);
  t.match(ifs, /^Tu0\s+1\s/m, 'show ip eigrp interfaces: Tunnel0 with one peer');
  t.match(await vm!.command('show ip eigrp neighbors', PROMPT), /^\d+\s+192\.168\.0\.1\s+Tu0\s/m, 'show ip eigrp neighbors on the VM: the hub');
  t.match(lab.ctl('R1', 'show ip eigrp neighbors'), /^\d+\s+192\.168\.0\.2\s+Tu0\s/m, 'and the hub has the VM');
  const log = await vm!.shell('grep -c "EIGRP not running" /var/log/dmvpnd.log');
  t.equal(log.out.trim(), '0', 'dmvpnd never logged "EIGRP not running"');
});

t.test('FRR on the image: zebra and ospfd start, vtysh answers', async (t) => {
  await checkFrr(t, vm!, '172.16.25.0/30');
});

t.test('a hung supervisor stops the hardware watchdog\'s feeding: the timer fires', async (t) => {
  const log = await vm!.shell('cat /var/log/dmvpnd.log');
  t.match(log.out, /%SYS-3-WATCHDOG: hardware watchdog \/dev\/watchdog fed while the supervisor's heartbeats arrive/, 'dmvpnd\'s watchdog feeds /dev/watchdog');
  t.notMatch(vm!.qemuLog(), /watchdog: timer fired/, 'the timer has not fired while the supervisor runs');
  const ps = (await vm!.shell(`ps | awk '/dist\\/dmvpnd\\.mjs/ && !/awk/ {print "pid=" $1}'`)).out;
  const pid = /^pid=(\d+)$/m.exec(ps)?.[1];
  t.ok(pid, `the supervisor's pid (${ps.trim()})`);
  t.equal((await vm!.shell(`kill -STOP ${pid}`)).rc, 0, 'the supervisor stopped (its event loop no longer runs, no heartbeat)');
  // one command that waits in the guest (a local grep a second) rather than the log copied over hvc0 again and again
  const hung = await vm!.shell(`for i in $(seq 300); do grep -q 'supervisor hung: no heartbeat for' /var/log/dmvpnd.log && break; sleep 1; done; grep 'supervisor hung' /var/log/dmvpnd.log`, 330_000);
  t.match(hung.out, /supervisor hung: no heartbeat for/, 'dmvpnd\'s watchdog declares it hung and stops feeding');
  await vm!.expectQemu(/watchdog: timer fired/, 300_000);
  t.pass('the i6300esb timer fires (qemu: "watchdog: timer fired"; on a box: the reset)');
  t.equal((await vm!.shell(`kill -CONT ${pid}`)).rc, 0, 'the supervisor runs again (for the reload below)');
});

// ---- firmware update (appliance/firmware/, docs/image.md "Firmware update") ------------------------
// A bundle of this image with its root relabelled 0.1.1 (test/image/firmware-vm.ts), served over HTTP
// by the hub through the VM's tunnel (the hub's Tunnel0 address: over the overlay, as `firmware push`
// serves them; issue 15 "firmware update over the tunnel"): an unsigned one is refused; the signed one is verified, written into slot
// B and tried: the guest reboots (-no-reboot: qemu exits), the same disk boots again (GRUB: try_slot
// B once), the spoke registers and the trial commits (grubenv slot=B). The reload test below then
// runs on that second boot, so the update costs one boot. Rolling back needs a third: `make soak`.
t.test('firmware update over HTTP through the tunnel: refused unsigned; slot B written, tried, committed once registered', async (t) => {
  const key = devFirmwareKey();
  if (!key) return cannotRun(t, ['the development firmware key make image generated (Makefile FIRMWARE_KEY)']);
  const www = fs.mkdtempSync(path.join(lab.dir, 'www-'));
  const good = variantBundle(image, www, key, '99.0.1', `hfw-${process.pid}`);
  const parts = partFiles(www, { root: 4096, kernel: 100, initrd: 100 }, 'bad');
  writeBundle({ version: '99.0.2', arch: 'x86_64', privateKeyPem: fs.readFileSync(key, 'utf8'), parts, sign: false }, path.join(www, 'unsigned.fw'));
  const http = httpServer(hubNs, HUB_TUNNEL, 8080, www);
  t.teardown(() => http.stop());
  await http.ready();
  t.comment(`bundle ${path.basename(good)}: ${fs.statSync(good).size} bytes`);
  const factory = fs.readFileSync(path.join(ROOT, 'rootfs/files/firmware-version'), 'utf8').trim().replace(/\./g, '\\.');
  const show0 = await vm!.command('show firmware', /R2#/);
  t.match(show0, new RegExp(`^Firmware version ${factory} \\(x86_64\\), booted from slot A$`, 'm'), 'show firmware: the factory version, slot A');
  t.match(show0, new RegExp(`^A +${factory} +running, default$`, 'm'), 'slot A running and default');
  const url = (f: string) => `http://${HUB_TUNNEL}:8080/${f}`;
  t.match(await vm!.command(`firmware update ${url('unsigned.fw')}`, /R2#/), /Firmware update from \S+ started/);
  const refused = await waitFor(async () => { const o = await vm!.command('show firmware', /R2#/); return /Last result: refused/.test(o) ? o : ''; }, 120_000, 2000);
  t.match(refused, /Last result: refused: \S+unsigned\.fw: bundle is not signed/, 'the unsigned bundle is refused, the reason in show firmware');
  t.match(refused, /^Update: idle$/m, 'and the updater is idle again');
  const t0 = Date.now();
  t.match(await vm!.command(`firmware update ${url(path.basename(good))}`, /R2#/), /started .* slot B is written/);
  // phases as show firmware reports them, until the guest reboots
  const phases: string[] = [];
  let downloadLog: string | undefined;
  while (vm!.proc?.exitCode === null && Date.now() - t0 < 600_000) {
    const o = await vm!.command('show firmware', /R2#/, 10_000).catch(() => '');
    const ph = /^Update: (\w+)/m.exec(o)?.[1];
    if (ph && phases.at(-1)?.split(' ')[0] !== ph) phases.push(`${ph} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    // downloaded: where to (the supervisor's log, before the reboot clears it): the persistent partition
    // (256 MiB /data, resumable after a power cut), not RAM (a NoRoom fallback logs "not resumable" as
    // the download starts). Read at every poll while a job runs, the last reading kept: a slow machine's
    // polls may see no verifying or writing phase between downloading and the reboot (a CI run did so).
    if (ph && ph !== 'idle') {
      const read = (await vm!.shell('grep -c "%FIRMWARE-" /var/log/dmvpnd.log; grep -c "not resumable" /var/log/dmvpnd.log', 10_000).catch(() => ({ out: '' }))).out;
      if (/^\d+\s+\d+\s*$/.test(read.trim() + '\n')) downloadLog = read;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const [fwLines, ramLines] = (downloadLog ?? '').trim().split(/\s+/).map(Number);
  t.ok(fwLines > 0 && ramLines === 0, `the bundle was downloaded to the persistent partition (resumable), not to RAM (log: ${fwLines} firmware lines, ${ramLines} "not resumable")`);
  t.equal(await vm!.exited(60_000), 0, 'the guest rebooted to try slot B (-no-reboot: qemu exits 0)');
  t.comment(`update, from the command to the reboot: ${((Date.now() - t0) / 1000).toFixed(1)} s (show firmware: ${phases.join(', ')})`);
  t.match(grubenvOfDisk(disk, lab.dir), /^slot=A\ntry_slot=B\n$/, 'grubenv on the disk: slot=A, try_slot=B');
  // the second boot of the same disk: GRUB boots B once
  const dir2 = fs.mkdtempSync(path.join(lab.dir, 'boot2-'));
  vm = new ImageVm({ arch: 'x86_64', disk, dir: dir2, ns: hubNs, tap: 'fa0-0', debugShell: true, watchdogAction: 'debug' });
  vm.start();
  const t1 = Date.now();
  let at = await vm.expect(/Booting `DMVPN appliance, slot B'/, 600_000);
  at = await vm.expect(/init: slot B \(root \/dev\/vda3\)/, 600_000, at);
  at = await vm.expect(/Press RETURN to get started\./, 600_000, at);
  t.pass(`slot B booted (console ready ${((Date.now() - t1) / 1000).toFixed(1)} s after qemu started)`);
  vm.send('\r');
  at = await vm.expect(/Username: $/, 120_000, at); vm.send('operator\r');
  at = await vm.expect(/Password: $/, 60_000, at); vm.send(`${USER_SECRET}\r`);
  at = await vm.expect(/\nR2>$/, 120_000, at);
  t.pass('the startup-config survived the update: login local with the saved user');
  vm.send('enable\r'); at = await vm.expect(/Password: $/, 60_000, at); vm.send(`${ENABLE_SECRET}\r`);
  await vm.expect(/\nR2#$/, 60_000, at);
  t.equal(await vm.command('terminal length 0', PROMPT), '');
  const committed = await waitFor(async () => { const o = await vm!.command('show firmware', /R2#/); return /Last result: committed/.test(o) ? o : ''; }, 300_000, 3000);
  t.match(committed, /^Firmware version 99\.0\.1 \(x86_64\), booted from slot B$/m, 'running the new firmware from slot B');
  t.match(committed, /^B +99\.0\.1 +running, default$/m, 'slot B is the default now');
  t.match(committed, /Last result: committed: slot B version 99\.0\.1 committed \(healthy; verified in \d+ ms, written in \d+ ms\)/, `committed once registered (${((Date.now() - t1) / 1000).toFixed(1)} s after qemu started; ${/\(healthy; (.*?)\)/.exec(committed)?.[1]})`);
  t.match((await vm.shell('cat /etc/dmvpn-firmware-test')).out, new RegExp(`hfw-${process.pid}`), 'the root filesystem is the bundle\'s (its marker file)');
  t.match(grubenvOfDisk(disk, lab.dir), /^slot=B\n$/, 'grubenv on the disk: slot=B, try_slot gone (GRUB cleared it, the commit kept it so)');
});

t.test('reload on the console reboots the box; write memory is on the disk', async (t) => {
  await waitFor(async () => /^DMVPN appliance firmware/.test(await vm!.command('show version', PROMPT)), 120_000, 2000);
  let at = vm!.output.length;
  vm!.send('reload\r');
  at = await vm!.expect(/(Save\? \[yes\/no\]: |Proceed with reload\? \[confirm\])$/, 120_000, at);
  if (/Save\?/.test(vm!.output.slice(-60))) { vm!.send('no\r'); at = await vm!.expect(/Proceed with reload\? \[confirm\]$/, 60_000, at); }
  vm!.send('\r');
  t.equal(await vm!.exited(300_000), 0, 'the guest rebooted (reboot -f; -no-reboot makes qemu exit 0)');
  const saved = persistentFile(disk, 'startup-config', lab.dir);
  t.match(saved, /^hostname R2$/m, 'the startup-config on the persistent partition after the reload');
  t.match(saved, /^username operator secret 9 \$9\$\S+$/m, 'as `write memory` wrote it (the typed secret stored as type 9), not the provisioned text');
  t.notMatch(saved, new RegExp(USER_SECRET), 'no clear-text secret on the disk');
});

// UEFI: the same image under OVMF, in a short second run that stops at the kernel's first console line
// (the full boot above is BIOS; one full boot per architecture keeps `make test` short). It shows
// OVMF finds EFI/BOOT/BOOTX64.EFI on the EFI system partition, GRUB's EFI build reads the selector
// and the kernel starts with its initramfs; the rest of the boot does not depend on the firmware.
t.test('UEFI (OVMF): firmware -> GRUB EFI -> kernel', async (t) => {
  if (!fs.existsSync('/usr/share/ovmf/OVMF.fd')) return cannotRun(t, ['/usr/share/ovmf/OVMF.fd (Debian package ovmf)']);
  await vm?.stop(); // the full boot is done: keep one VM at a time on this machine
  const dir = fs.mkdtempSync(path.join(lab.dir, 'uefi-'));
  const efi = new ImageVm({ arch: 'x86_64', disk: provision(image, dir), dir, uefi: true });
  efi.start();
  t.teardown(() => efi.stop());
  await efi.expect(/Booting `DMVPN appliance, slot A'/, 300_000);
  t.pass(`GRUB's EFI build boots slot A (${efi.secondsTo(/Booting `DMVPN/)?.toFixed(1)} s)`);
  await efi.expect(/initramfs: Linux \S+ started/, 300_000);
  t.pass(`the kernel and its initramfs run under UEFI (${efi.secondsTo(/initramfs: Linux/)?.toFixed(1)} s after qemu started)`);
});
