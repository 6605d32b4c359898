// Zero touch on the x86_64 image (aarch64 in `make soak`; issue 15's headline test, docs/enrollment.md "The factory image"): a
// FACTORY disk (no startup-config) boots in qemu (TCG, one boot) and a USB stick holding
// dmvpn-provisioning.txt (hub, pin, token) provisions it. Its WAN gets an address from busybox udhcpd in
// the hub's namespace; init finds the stick, dmvpnd generates the device key and enrolls over TLS with
// the hub (our dmvpnd, `dmvpn enrollment`, a pool, a template). Two ways the stick comes:
//   - x86_64 (`make test`): plugged in after boot. The box boots with another stick in, whose file is
//     too big: init says why and starts the factory default; at its console (`hostname Router`), the
//     good stick is plugged in (qemu's QMP device_add): init's watch finds it, stops the factory
//     supervisor and enrolls as at boot; the bad stick, there all along, is not read again.
//   - aarch64 (`make soak`): the stick in at boot, found by the search at boot, nobody at the console.
//   (DMVPN_IMAGE_ENROLL_STICK=boot or hotplug: either way on either architecture.)
// (find-provisioning and watch-provisioning are also run against real filesystems, with every bad
// file, in test/provisioning-watch.test.ts.)
//   1. The hub does not know the token yet: refused `bad-token`, in the hub's show dmvpn enrollment and
//      in the VM's /var/log/dmvpnd.log (read through init's debug shell on hvc0), nothing saved.
//   (x86_64) At the console meanwhile, `show dmvpn enrollment` says why; `dmvpn enrollment stop` brings
//      the factory default back (init: exit 4); the stick plugged in again starts the enrollment afresh.
//   2. The operator adds the token on the hub (configure terminal over its control socket); the VM's
//      next retry (its default backoff) is admitted, it saves the config and starts from it: UP in both
//      show dmvpns, IKEv2 SA READY, the hub pings the VM's tunnel address through ESP (counters rise),
//      and the enrolled config is on the VM's persistent partition.
//
//   namespace PREFIX-r1: hub dmvpnd (FastEthernet0/0 = tap fa0-0 172.16.15.2/24, Tunnel0 192.168.0.1),
//                        udhcpd on fa0-0 (172.16.15.10-20)
//                        tap fa0-0 ── qemu ── VM eth0 (DHCP), Tunnel0 192.168.0.10 (from the pool)
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Lab, sh, waitFor } from './util/lab.js';
import { requireTools, LAB_NEEDS, cannotRun } from './util/needs.js';
import { dmvpnctlSession } from './util/live-config.js';
import { TestCa } from './util/pki.js';
import { startHubWith, HUB_NBMA } from './util/enroll-hub.js';
import { imageOrCannotRun, provision, persistentFile, persistentNames, ImageVm, type Arch } from './image/vm.js';

const SECRET = 'zt-image-token-0123456789abc';
const OTHER_SECRET = 'zt-image-other-fleet-secret';

// x86_64 in `make test`; DMVPN_IMAGE_ENROLL_ARCH=aarch64 boots the arm64 image instead (`make soak`)
const ARCH: Arch = process.env.DMVPN_IMAGE_ENROLL_ARCH === 'aarch64' ? 'aarch64' : 'x86_64';
/** the good stick plugged in after boot (x86_64) or in at boot (aarch64): both paths proven, one boot
 *  each; DMVPN_IMAGE_ENROLL_STICK=boot|hotplug picks one on either architecture */
const STICK = process.env.DMVPN_IMAGE_ENROLL_STICK;
const HOTPLUG = STICK === 'hotplug' || (STICK !== 'boot' && ARCH === 'x86_64');
requireTools(t, [...LAB_NEEDS, `qemu-system-${ARCH}`, 'mksquashfs', 'mkfs.vfat', 'mcopy', 'sfdisk', 'grub-mkimage', 'mkfs.ext4', 'debugfs', 'busybox', 'openssl']);
if (ARCH === 'aarch64' && !fs.existsSync('/usr/share/AAVMF/AAVMF_CODE.fd')) cannotRun(t, ['/usr/share/AAVMF/AAVMF_CODE.fd (Debian package qemu-efi-aarch64: `make deps` installs it)']);
const image = imageOrCannotRun(t, ARCH);

const lab = new Lab(`zti${process.pid % 10000}`, 0);
const hubNs = lab.ns('R1');
const ca = new TestCa();
let vm: ImageVm | undefined;
let udhcpd: ReturnType<typeof spawn> | undefined;
t.teardown(async () => {
  await vm?.stop();
  udhcpd?.kill('SIGKILL');
  await lab.stop('R1');
  sh('ip', ['netns', 'del', hubNs], { allowFail: true });
  ca.close();
  if (!t.passing()) t.comment(`evidence kept in ${lab.dir}`);
  else fs.rmSync(lab.dir, { recursive: true, force: true });
});

sh('ip', ['netns', 'add', hubNs]);
sh('ip', ['netns', 'exec', hubNs, 'ip', 'link', 'set', 'lo', 'up']);
sh('ip', ['netns', 'exec', hubNs, 'ip', 'tuntap', 'add', 'dev', 'fa0-0', 'mode', 'tap']);

// the hub: certificate IKEv2, the enrollment server with a token for another fleet only; its WAN a /24
// from which udhcpd leases the VM its address
const { enrollView, hubPeers } = startHubWith(lab, ca, `hostname R1
!
interface FastEthernet0/0
 ip address ${HUB_NBMA} 255.255.255.0
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
end
`, [`FLEET ${OTHER_SECRET}`]);
const PROMPT = /(?:Router|spoke-192-168-0-10)[>#]/;
const since = () => ((Date.now() - vm!.startedAt) / 1000).toFixed(1);
let stick = '';
/** x86_64: the stick in at boot, its provisioning file one byte over find-provisioning's bound */
let badStick = '';
/** where on the console the session opened before the hot plug ends (0: none opened) */
let sessionAt = 0;
/** A step of the story: once one fails, the later ones (which need it) fail at once, naming it,
 *  instead of waiting out their limits. */
let broken = '';
const step = (name: string, fn: (t: Test) => Promise<void>) => t.test(name, async (t) => {
  if (broken) { t.fail(`not run: "${broken}" failed`); return; }
  // a step that throws (a wait that timed out) is not yet failed in tap's eyes when `finally` would run
  try { await fn(t); } catch (e) { broken = name; throw e; }
  if (!t.passing()) broken = name;
});
let vmNbma = '';

step('the hub listens for enrollments; the provisioning stick is made', async (t) => {
  const listening = await waitFor(() => enrollView()?.listening, 60_000, 500);
  if (!t.ok(listening, 'hub: enrollment server listening')) { t.comment(lab.routers.get('R1')!.log.slice(-40).join('\n')); return; }
  t.equal(listening.address, HUB_NBMA, 'on its tunnel source address');
  // the WAN's DHCP server, on the hub's side of the tap (now addressed by the hub)
  const conf = path.join(lab.dir, 'udhcpd.conf');
  fs.writeFileSync(conf, `start 172.16.15.10\nend 172.16.15.20\ninterface fa0-0\nlease_file ${lab.dir}/udhcpd.leases\npidfile ${lab.dir}/udhcpd.pid\n`
    + `option subnet 255.255.255.0\noption router ${HUB_NBMA}\noption lease 3600\n`
    // where the hub is: DHCP option 43 in the Cisco PnP string form (the stick names no hub)
    + `option 0x2b ${Buffer.from(`5A1D;B2;K4;I${HUB_NBMA};J4430`).toString('hex')}\n`);
  fs.writeFileSync(path.join(lab.dir, 'udhcpd.leases'), '');
  const log = fs.openSync(path.join(lab.dir, 'udhcpd.log'), 'w');
  udhcpd = spawn('ip', ['netns', 'exec', hubNs, 'busybox', 'udhcpd', '-f', conf], { stdio: ['ignore', log, log] });
  // the stick: FAT, no partition table (as mkfs.vfat makes a "superfloppy"), the file at its root
  const prov = path.join(lab.dir, 'dmvpn-provisioning.txt');
  // no hub line: the box finds the hub by DHCP option 43; the pin (who the hub is) and the token come only from here
  fs.writeFileSync(prov, `! DMVPN factory provisioning\npin ${listening.pin}\ntoken SITE1 ${SECRET}\n`, { mode: 0o600 });
  stick = path.join(lab.dir, 'stick.img');
  sh('truncate', ['-s', '16M', stick]);
  sh('mkfs.vfat', ['-n', 'DMVPNPROV', stick]);
  sh('mcopy', ['-i', stick, prov, '::/dmvpn-provisioning.txt']);
  t.match(sh('mdir', ['-i', stick, '::/']).stdout, /dmvpn-provisioning\.txt|DMVPN-~1 TXT/i, 'the stick holds dmvpn-provisioning.txt');
  if (HOTPLUG) {
    const big = path.join(lab.dir, 'big', 'dmvpn-provisioning.txt');
    fs.mkdirSync(path.dirname(big));
    fs.writeFileSync(big, `pin ${listening.pin}\n${'!'.repeat(16384)}\n`, { mode: 0o600 });
    badStick = path.join(lab.dir, 'bad-stick.img');
    sh('truncate', ['-s', '16M', badStick]);
    sh('mkfs.vfat', ['-n', 'OLDSTICK', badStick]);
    sh('mcopy', ['-i', badStick, big, '::/dmvpn-provisioning.txt']);
  }
  // where a factory box looks first (not booted here): the persistent partition, as a vendor writes it
  const other = fs.mkdtempSync(path.join(lab.dir, 'data-prov-'));
  const preloaded = provision(image, other, undefined, { provisioning: prov });
  t.equal(persistentFile(preloaded, 'provisioning', other), fs.readFileSync(prov, 'utf8'), 'set-config.sh --provisioning: the file as /provisioning on a persistent partition');
  t.notOk(persistentNames(preloaded, other).includes('startup-config'), 'and no startup-config there (a factory box)');
  fs.rmSync(other, { recursive: true, force: true });
  t.equal(udhcpd.exitCode, null, 'udhcpd runs');
});

// a factory disk (init's debug shell on hvc0 is the only thing added) and the stick
const disk = provision(image, lab.dir, undefined, { debugShell: true });
t.same(persistentNames(disk, lab.dir), ['debug-shell', 'keys', 'lost+found', 'state'], 'the factory disk: no startup-config, no provisioning on the persistent partition');

const dhcpLease = async (t: Test) => {
  const lease = await waitFor(() => /sending ACK to (172\.16\.15\.\d+)/.exec(fs.readFileSync(path.join(lab.dir, 'udhcpd.log'), 'utf8')), 300_000, 1000);
  vmNbma = lease?.[1] ?? '';
  t.ok(lease, `udhcpd leased the VM ${vmNbma} (${since()} s)`);
  if (!lease) t.comment(fs.readFileSync(path.join(lab.dir, 'udhcpd.log'), 'utf8'));
};

if (!HOTPLUG) step('boots with no console input: the provisioning from the USB stick, the WAN by DHCP', async (t) => {
  vm = new ImageVm({ arch: ARCH, disk, dir: lab.dir, ns: hubNs, tap: 'fa0-0', debugShell: true, usbStick: stick });
  vm.start();
  let at = await vm.expect(/init: slot A \(root \/dev\/vda2\)/, 600_000);
  at = await vm.expect(/init: no startup-config: provisioning file from USB stick \/dev\/sd[a-z]+ \(FAT, \/dmvpn-provisioning\.txt\); enrolling with the hub/, 120_000, at);
  t.pass(`init found the provisioning on the USB stick (${since()} s after qemu started)`);
  await vm.expect(/init: WAN eth0: DHCP/, 60_000, at);
  await dhcpLease(t);
});

if (HOTPLUG) step('boots with a stick whose file is too big: said on the console, the factory default, its console answers', async (t) => {
  vm = new ImageVm({ arch: ARCH, disk, dir: lab.dir, ns: hubNs, tap: 'fa0-0', debugShell: true, usbStick: badStick, usbHotplug: true });
  vm.start();
  let at = await vm.expect(/init: slot A \(root \/dev\/vda2\)/, 600_000);
  at = await vm.expect(/init: no startup-config and no provisioning file \(.*\): factory default; a USB stick plugged in is looked at\n/, 120_000, at);
  at = await vm.expect(/init: provisioning file \/dev\/sd[a-z]+:\/dmvpn-provisioning\.txt ignored: more than 16384 bytes\n/, 60_000, at);
  t.pass('init: the stick at boot read, its file refused with the reason');
  await vm.expect(/init: WAN eth0: DHCP/, 60_000, at);
  await dhcpLease(t);
  // the console of a factory box: the supervisor answers from the factory default
  at = await vm.expect(/Press RETURN to get started\./, 600_000, at);
  vm.send('\r');
  at = await vm.expect(/\nRouter>$/, 120_000, at);
  vm.send('enable\r');
  sessionAt = await vm.expect(/\nRouter#$/, 60_000, at);
  t.equal(await vm.command('terminal length 0', PROMPT), '', 'console: terminal length 0');
  t.match(await vm.command('show running-config', PROMPT), /^hostname Router$/m, `console: the factory default runs (${since()} s)`);
});

if (HOTPLUG) step('the good stick plugged in at the console: init finds it and enrolls as at boot; the bad stick is not read again', async (t) => {
  const from = vm!.output.length;
  await vm!.plugUsbStick(stick);
  const pluggedAt = since();
  await vm!.expect(/init: provisioning file from USB stick \/dev\/sd[a-z]+ \(FAT, \/dmvpn-provisioning\.txt\), plugged in after boot; enrolling with the hub \(dmvpnd --provision\)/, 300_000, from);
  t.pass(`init: the stick plugged in (${pluggedAt} s) found (${since()} s), enrolling`);
  t.equal(vm!.output.match(/ignored: more than 16384 bytes/g)?.length, 1, 'the stick in since boot was not searched again');
  // (the enrolling dmvpnd logs once node has loaded it: a few seconds under TCG)
  const log = await waitFor(async () => {
    const l = (await vm!.shell('grep "SIGTERM: stopping\\|ENROLL" /var/log/dmvpnd.log')).out;
    return /ENROLL/.test(l) ? l : undefined;
  }, 300_000, 2000);
  t.match(log ?? '', /SIGTERM: stopping[\s\S]*ENROLL/, 'VM: the factory supervisor stopped (SIGTERM), then the enrollment began');
  const run = await vm!.shell('ls -l /run/dmvpn/provisioning; grep -c /run/dmvpn/stick /proc/mounts');
  t.match(run.out, /^-rw------- .*\/run\/dmvpn\/provisioning\n0\n/, 'VM: the file copied 0600, the stick unmounted');
});

let refusedAt = 0;
step('the hub does not know the token: refused bad-token on both sides, nothing saved', async (t) => {
  const refused = await waitFor(() => (enrollView()?.refused ?? []).find((r: { from: string; reason: string }) => r.reason === 'bad-token' && r.from.includes('172.16.15.')), 600_000, 1000);
  refusedAt = Date.now();
  if (!t.ok(refused, `hub: the VM's request refused bad-token (${since()} s after qemu started; ${JSON.stringify(enrollView()?.refused)})`)) return;
  if (vmNbma) t.ok(refused.from.includes(vmNbma), `from the VM's leased address (${refused.from})`);
  t.match(lab.ctl('R1', 'show dmvpn enrollment'), /Refused \(latest\):\n.*\n.*172\.16\.15\.\d+ +SITE1 +- +bad-token/, 'hub: show dmvpn enrollment says why');
  t.same(enrollView()?.admitted, [], 'hub: nobody admitted');
  const log = await vm!.shell('grep ENROLL /var/log/dmvpnd.log');
  t.match(log.out, /device key DEVICE generated \(Ed25519\)/, 'VM: its device key generated');
  t.match(log.out, /enrolling with hub 172\.16\.15\.2 port 4430 \(source: DHCP option 43\)/, 'VM: the hub found by DHCP option 43 (the stick names none)');
  t.match(log.out, /hub 172\.16\.15\.2 refused enrollment: bad-token: the token is unknown or its secret is wrong \(attempt \d+\); retrying in \d+ s/, 'VM: the refusal and its reason in /var/log/dmvpnd.log');
  const data = await vm!.shell('ls -l /data; test -e /data/startup-config');
  t.not(data.rc, 0, `VM: no startup-config saved (/data: ${data.out.trim().split('\n').slice(1).map((l) => l.split(/\s+/).at(-1)).join(' ')})`);
  t.match((await vm!.shell('ls -l /data/startup-config.keys')).out, /^-rw------- /m, 'VM: its key store (the device key) is 0600 on the persistent partition');
});

// (x86_64) the console session opened at the factory default goes on with the enrolling supervisor,
// which answers there (docs/enrollment.md "At the console while the box enrolls"): why it is refused;
// then the operator stops the enrollment (init: exit 4, the factory default again) and plugs the stick
// in again, which starts it afresh
if (HOTPLUG) step('at the console while it enrolls: why it is refused; stop, the factory default; the stick plugged in again enrolls', async (t) => {
  const shown = await vm!.command('show dmvpn enrollment', PROMPT);
  t.match(shown, /^Zero-touch enrollment: (waiting before the next attempt, next attempt in [\d:]+|asking the hub|looking for the hub) \(attempt \d+, for [\d:]+\)$/m, 'VM console: show dmvpn enrollment answers while the box enrolls');
  t.match(shown, /^  Hub: 172\.16\.15\.2 port 4430 \(source: DHCP option 43\)$/m, 'VM console: the hub and where it was found');
  t.match(shown, /^  Last result \([\d:]+ ago\): refused: hub 172\.16\.15\.2 refused enrollment: bad-token: the token is unknown or its secret is wrong$/m, 'VM console: the hub\'s reason');
  t.match(await vm!.command('show ip nhrp', PROMPT), /% Not available while the box enrolls with its hub/, 'VM console: what is not there yet says so');
  const from = vm!.output.length;
  t.match(await vm!.command('dmvpn enrollment stop', PROMPT), /% enrollment stop/, 'VM console: dmvpn enrollment stop');
  const at = await vm!.expect(/init: enrollment stopped \(exit 4\):/, 120_000, from);
  await vm!.expect(/init: running from the factory default/, 60_000, at);
  t.pass('init: enrollment stopped (exit 4), running from the factory default');
  const factory = await waitFor(async () => /^hostname Router$/m.test(await vm!.command('show running-config', PROMPT)), 300_000, 2000);
  t.ok(factory, `VM console: the factory default answers (${since()} s)`);
  t.not((await vm!.shell('test -e /data/startup-config')).rc, 0, 'VM: nothing saved');
  // plugged in again (a copy of the stick: qemu locks an image file a device holds)
  const again = path.join(lab.dir, 'stick-again.img');
  fs.copyFileSync(stick, again);
  const from2 = vm!.output.length;
  await vm!.plugUsbStick(again);
  await vm!.expect(/init: provisioning file from USB stick \/dev\/sd[a-z]+ \(FAT, \/dmvpn-provisioning\.txt\), plugged in after boot; enrolling with the hub \(dmvpnd --provision\)/, 300_000, from2);
  t.pass(`init: the stick plugged in again found, enrolling (${since()} s)`);
});

step('the token added on the hub: the retry is admitted, the box saves its config and comes UP encrypted', async (t) => {
  const live = dmvpnctlSession(lab, 'R1', ['configure terminal', 'dmvpn enrollment', `token SITE1 ${SECRET} one-time`, 'end']);
  t.equal(live.status, 0, 'hub: token SITE1 typed in configuration mode');
  t.match(lab.ctl('R1', 'show running-config'), /^ token SITE1 sha256 [0-9a-f]{64} one-time$/m, 'hub: in the running-config (hashed)');
  const admitted = await waitFor(() => (enrollView()?.admitted ?? []).find((a: { address: string }) => a.address === '192.168.0.10'), 600_000, 1000);
  if (!t.ok(admitted, `hub: the VM admitted as 192.168.0.10 (${since()} s; ${((Date.now() - refusedAt) / 1000).toFixed(0)} s after the first refusal)`)) return;
  const admittedAt = since();
  t.match(admitted, { hostname: 'spoke-192-168-0-10', token: 'SITE1' }, 'hub: with its hostname and token');
  const up = await waitFor(() => hubPeers().find((p) => p.tunnel === '192.168.0.10' && p.state === 'UP'), 600_000, 1000);
  if (!t.ok(up, `hub: the VM UP in show dmvpn (${JSON.stringify(hubPeers())})`)) return;
  const upAt = since();
  if (vmNbma) t.equal(up!.nbma, vmNbma, 'at its leased address');
  t.match(lab.ctl('R1', 'show crypto ikev2 sa'), /172\.16\.15\.\d+\/\d+ +none\/none +READY[\s\S]*Auth sign: ECDSA, Auth verify: ED25519/, 'hub: IKEv2 SA READY, the VM verified by its enrolled Ed25519 certificate');
  const espBefore = Number(/#pkts decaps: (\d+)/.exec(lab.ctl('R1', 'show crypto ipsec sa'))?.[1] ?? 0);
  t.ok(await waitFor(() => lab.ping(hubNs, '192.168.0.10', 3), 120_000, 2000), 'hub -> 192.168.0.10 (the VM\'s Tunnel0)');
  const ipsec = lab.ctl('R1', 'show crypto ipsec sa');
  const enc = Number(/#pkts encaps: (\d+)/.exec(ipsec)?.[1] ?? 0), dec = Number(/#pkts decaps: (\d+)/.exec(ipsec)?.[1] ?? 0);
  t.ok(enc > 0 && dec > espBefore, `hub: the ping went through ESP (encaps ${enc}, decaps ${espBefore} -> ${dec})`);
  // the console: the supervisor answers now (Press RETURN came when it did, or after its 3-minute wait);
  // after a hot plug the session opened at the factory default goes on, now with the enrolled supervisor
  if (!sessionAt) {
    let at = await vm!.expect(/Press RETURN to get started\./, 600_000);
    vm!.send('\r');
    at = await vm!.expect(/\n(?:Router|spoke-192-168-0-10)>$/, 120_000, at);
    vm!.send('enable\r');
    await vm!.expect(/\n(?:Router|spoke-192-168-0-10)#$/, 60_000, at);
    t.equal(await vm!.command('terminal length 0', PROMPT), '', 'the first input on the console, once the box is UP: terminal length 0');
  }
  const dmvpn = await waitFor(async () => { const o = await vm!.command('show dmvpn', PROMPT); return /172\.16\.15\.2\s+192\.168\.0\.1\s+UP/.test(o) ? o : ''; }, 120_000, 2000);
  t.match(dmvpn, /Tunnel0, Type:Spoke, NHRP Peers:1/, 'VM console: show dmvpn, a spoke');
  t.match(dmvpn, /\b1\s+172\.16\.15\.2\s+192\.168\.0\.1\s+UP\s+\S+\s+S/, 'VM console: the hub, static, UP');
  t.match(await vm!.command('show crypto ikev2 sa', PROMPT), /172\.16\.15\.2\/\d+ +none\/none +READY/, 'VM console: IKEv2 SA with the hub READY');
  t.match(await vm!.command('show running-config', PROMPT), /^hostname spoke-192-168-0-10$/m, 'VM console: running the enrolled config');
  t.comment(`timeline ${ARCH} (s after qemu started, TCG): init ${vm!.secondsTo(/init: slot A/)?.toFixed(1)}, provisioning found${HOTPLUG ? ' (plugged in after boot)' : ''} ${vm!.secondsTo(/provisioning file from USB stick/)?.toFixed(1)}, `
    + `refused (hub) ${((refusedAt - vm!.startedAt) / 1000).toFixed(1)}, admitted ${admittedAt}, UP ${upAt}`);
});

step('the enrolled config is on the persistent partition; no secret anywhere', async (t) => {
  const logs = await vm!.shell('cat /var/log/boot.log /var/log/dmvpnd.log');
  t.match(logs.out, /enrolled with hub 172\.16\.15\.2: spoke-192-168-0-10, tunnel address 192\.168\.0\.10; startup-config saved/, 'VM log: enrolled, saved');
  t.notMatch(logs.out, /supervisor hung/, 'VM log: the hardware watchdog never took the enrolling supervisor for hung');
  for (const [what, text] of [['VM logs', logs.out], ['VM console', vm!.output], ['hub log', lab.routers.get('R1')!.log.join('\n') + lab.ctl('R1', 'show logging')]]) {
    t.notMatch(text, new RegExp(`${SECRET}|${OTHER_SECRET}|PRIVATE KEY`), `${what}: no token secret, no key`);
  }
  // data=journal: the file's blocks reach their place on the disk when the journal is flushed (a
  // read-only remount does it; `reload` unmounts the same way) before debugfs reads them from the host
  t.equal((await vm!.shell('sync; mount -o remount,ro /data')).rc, 0, 'VM: /data remounted read-only (journal flushed)');
  const saved = persistentFile(disk, 'startup-config', lab.dir);
  t.match(saved, /^hostname spoke-192-168-0-10$/m, 'disk: /data/startup-config is the enrolled config');
  t.match(saved, /^ ip address 192\.168\.0\.10 255\.255\.255\.0$/m, 'disk: with the pool address on Tunnel0');
  t.match(saved, /^crypto pki certificate chain DMVPN-ENROLL$/m, 'disk: and the issued certificate chain');
  t.notMatch(saved, new RegExp(SECRET), 'disk: not the token');
  // and the hub's CRL once the spoke has fetched it (at its start, docs/enrollment.md "The CRL"): whether
  // that fetch is done by now depends on the machine's speed, the file is allowed, never required here
  const names = persistentNames(disk, lab.dir).filter((n) => n.startsWith('startup-config'));
  t.same(names.filter((n) => n !== 'startup-config.crls'), ['startup-config', 'startup-config.keys'], `disk: the startup-config and its key store (${names.join(' ')})`);
  if (names.includes('startup-config.crls')) t.notMatch(persistentFile(disk, 'startup-config.crls', lab.dir), new RegExp(`${SECRET}|PRIVATE KEY`), 'disk: the stored CRL holds no secret');
});
