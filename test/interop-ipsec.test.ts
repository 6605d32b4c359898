// Interoperability under IPsec with the reference peers the team's lab runs (../shared/lab, IPSEC=2):
// FRR nhrpd (Debian bookworm) as a DMVPN hub on kernel mGRE, and strongSwan charon 5.9.8 protecting
// its GRE with ESP in transport mode through the kernel's xfrm (static swanctl connections, PSK,
// responder only), in one qemu VM (test/interop/build-image.sh, configured by
// test/interop/ipsec-vm-setup.sh through qemu-guest-agent). Our appliances are its spokes, with
// `tunnel protection ipsec profile` and `mode transport` as IOS writes it:
//
//   PREFIX-h2 ─ R2 (IKEv1, Tunnel0 192.168.1.2) ─┐
//   PREFIX-h3 ─ R3 (IKEv1, Tunnel0 192.168.1.3) ─┼─ inet ── tap0 ─ VM eth0 172.16.99.2  gre1 192.168.1.1  FRR hub
//   PREFIX-h4 ─ R4 (IKEv2, Tunnel0 192.168.1.4) ─┤                   lo 10.0.9.1 (a host behind the hub)
//   PREFIX-h5 ─ R5 (IKEv2, Tunnel0 192.168.1.5) ─┘
//
// IKEv1: crypto isakmp policy (AES-256, SHA-256, group 14) / key / transform-set esp-aes 256
// esp-sha256-hmac `mode transport` / ipsec profile (seed 003's block shape). IKEv2: ikev2 proposal /
// keyring / profile, `set ikev2-profile`, esp-gcm 256 `mode transport`. Checks: IKE and Child SAs up
// at both ends (swanctl --list-sas in the VM, our show crypto isakmp|ikev2 sa), the spokes register
// with FRR through ESP (FRR's NHRP cache), pings between hosts both ways through the kernel's ESP,
// the xfrm error counters of the VM's kernel stay 0 (XfrmAcquireError reported, see below), the NBMA
// links carry ESP and IKE only, no cleartext GRE (tshark). Phase 3: R2 and R3 (IKEv1), then R4 and R5 (IKEv2), get a shortcut through
// FRR's hub with an SA of their own (our IKE at both ends) and their traffic leaves the hub.
import t, { type Test } from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, sh, waitFor, sleep } from './util/lab.js';
import { capture } from './util/esp-lab.js';
import { tsharkFields } from './util/tshark.js';
import { ikev2IosBlock } from './util/ikev2-ios.js';
import { requireTools, cannotRun, LAB_NEEDS } from './util/needs.js';
import { Vm, buildImage, vmScript } from './interop/vm.js';
import { FRR_HUB_NBMA as HUB_NBMA, spokeNbma as nbma, frrHubSpokeConfig } from './interop/frr-hub-spoke.js';

const T0 = Date.now();
const HUB_HOST = '10.0.9.1';
/** one group key for the whole NBMA range, as seed 003 has it; random so a leak in a log is found */
const PSK = `Ipsec${crypto.randomBytes(6).toString('hex')}`;
/** our spokes: R2, R3 over IKEv1, R4, R5 over IKEv2 */
const SPOKES = [2, 3, 4, 5];

const IKEV1_CRYPTO = `crypto isakmp policy 10
 encryption aes 256
 hash sha256
 authentication pre-share
 group 14
crypto isakmp key ${PSK} address 172.16.0.0 255.255.0.0
!
crypto ipsec transform-set MyTransformSet esp-aes 256 esp-sha256-hmac
 mode transport
!
crypto ipsec profile MyProfile
 set transform-set MyTransformSet
`;

const IKEV2_CRYPTO = ikev2IosBlock(PSK).replace('transform-set MyTransformSet esp-aes esp-sha-hmac\n',
  'transform-set MyTransformSet esp-gcm 256\n mode transport\n');
if (!IKEV2_CRYPTO.includes('esp-gcm 256')) throw new Error('test/util/ikev2-ios.ts changed its transform set: update IKEV2_CRYPTO');

interface IsakmpRow { dst: string; src: string; state: string; status: string }
interface SaJson { peer: string; dir: string; spi: number; packets: number; flags: number; drops: Record<string, number> }

/** Rows of `show crypto ikev2 sa`: local, remote, status. */
const ikev2Rows = (text: string) => [...text.matchAll(/^\d+ +(\S+)\/\d+ +(\S+)\/\d+ +none\/none +(\S+)/gm)]
  .map((m) => ({ local: m[1], remote: m[2], status: m[3] }));

/** One IKE SA block of `swanctl --list-sas` (its header line to the next header). */
function swanSa(list: string, remote: string): string | undefined {
  const blocks = list.split(/\n(?=\S)/);
  return blocks.find((b) => new RegExp(`remote '[^']*' @ ${remote.replace(/\./g, '\\.')}\\[`).test(b));
}

/** `in SPI, N bytes, M packets` and `out ...` of a CHILD_SA block: [packets in, packets out]. */
function swanPackets(block: string): [number, number] {
  const m = /\n\s+in\s+[0-9a-f]{8}[^,\n]*,\s+(\d+) bytes,\s+(\d+) packets[\s\S]*?\n\s+out\s+[0-9a-f]{8}[^,\n]*,\s+(\d+) bytes,\s+(\d+) packets/.exec(block);
  return m ? [Number(m[2]), Number(m[4])] : [0, 0];
}

// ---- environment ---------------------------------------------------------------------------
// Missing tools or an image that cannot be built: a failure under CI, a loud SKIP elsewhere.
requireTools(t, [...LAB_NEEDS, 'tshark', 'dumpcap', 'qemu-system-x86_64', 'debootstrap', 'mkfs.ext4', 'busybox', 'cpio', 'modprobe']);
let imageDir = '';
try { imageDir = buildImage(); } catch (e) { cannotRun(t, [`the FRR VM image (${(e as Error).message.slice(-1500)})`]); }
// one parent test: tap ends the root test when nothing is queued, and the steps between subtests
// (captures stopped, swanctl read) take seconds
await t.test('FRR nhrpd + strongSwan hub (kernel xfrm, ESP transport for GRE), our spokes under IKEv1 and IKEv2', main);

async function main(t: Test) {
  t.comment(`image ${imageDir} ready after ${((Date.now() - T0) / 1000).toFixed(1)} s`);
  const lab = new Lab(`hrv${process.pid % 10000}`, 4); // R1 unused: FRR is the hub
  const inet = lab.ns('inet');
  const vm = new Vm('ipsec', lab.dir, imageDir, inet, [{ tap: 'tap0', mac: '52:54:00:00:99:02' }]);
  const captures: Array<{ stop: () => Promise<void> }> = [];
  const stopCaptures = async () => { for (const c of captures.splice(0)) await c.stop(); };
  let keep = false;
  const failed = () => { keep = true; };
  t.teardown(async () => {
    await stopCaptures();
    // leave evidence for a human when something failed: FRR's and charon's logs, the xfrm state
    for (const [file, cmd] of [['frr.log', 'cat /var/log/frr/frr.log'], ['charon.log', 'cat /var/log/charon.log'],
      ['xfrm.txt', 'ip -s xfrm state; ip xfrm policy; cat /proc/net/xfrm_stat']]) {
      try { fs.writeFileSync(path.join(lab.dir, file), (await vm.sh(cmd, 10_000)).out); } catch { /* VM gone */ }
    }
    await vm.stop();
    for (const r of lab.routers.values()) fs.writeFileSync(path.join(lab.dir, `${r.name}.log`), r.log.join('\n'));
    lab.down();
    if (!keep && !process.env.DMVPN_INTEROP_KEEP) fs.rmSync(lab.dir, { recursive: true, force: true });
    else t.comment(`artifacts kept in ${lab.dir}`);
  });
  // if tap's timeout kills us (SIGTERM) or a human does (SIGINT), teardown does not run: never leave a
  // VM or namespaces behind
  const emergency = () => { vm.proc?.kill('SIGKILL'); lab.down(); };
  process.once('exit', emergency);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => { emergency(); process.exit(128 + (sig === 'SIGTERM' ? 15 : 2)); });

  lab.up();
  sh('ip', ['-n', inet, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap']);
  sh('ip', ['-n', inet, 'addr', 'add', '172.16.99.1/24', 'dev', 'tap0']);
  sh('ip', ['-n', inet, 'link', 'set', 'tap0', 'up']);
  vm.start();
  // the NBMA links, from before anything is sent: the hub's (tap0) and each spoke's
  const pcaps = new Map<string, string>();
  for (const link of ['tap0', 'r2', 'r3', 'r4', 'r5']) {
    pcaps.set(link, path.join(lab.dir, `wire-${link}.pcap`));
    captures.push(await capture(inet, link, pcaps.get(link)!, 'ip'));
  }
  const bootMs = await vm.waitReady(120_000);
  t.comment(`VM ready after ${(bootMs / 1000).toFixed(1)} s`);
  const setup = await vm.exec(['/bin/sh', '-s', PSK], { input: vmScript('frr-hub.sh', 'ipsec-vm-setup.sh'), timeoutMs: 240_000 });
  if (setup.code !== 0 || !/CHARON-UP/.test(setup.out) || !/FRR-UP/.test(setup.out)) {
    failed();
    throw new Error(`VM setup failed (${setup.code}):\n${setup.out}\n${setup.err}`);
  }
  t.comment(`charon and FRR up after ${((Date.now() - T0) / 1000).toFixed(1)} s`);
  lab.start('R2', lab.writeConfig('R2', frrHubSpokeConfig(2, IKEV1_CRYPTO)));
  lab.start('R3', lab.writeConfig('R3', frrHubSpokeConfig(3, IKEV1_CRYPTO)));
  lab.start('R4', lab.writeConfig('R4', frrHubSpokeConfig(4, IKEV2_CRYPTO)));
  lab.start('R5', lab.writeConfig('R5', frrHubSpokeConfig(5, IKEV2_CRYPTO)));
  const swanctl = async () => (await vm.exec(['swanctl', '--list-sas'], { timeoutMs: 20_000 })).out;
  const logs = () => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-60).join('\n')}`).join('\n');
  const charonLog = async () => (await vm.sh('grep -E "\\[(IKE|CHD|KNL|CFG)\\]" /var/log/charon.log | tail -60', 10_000)).out;

  await t.test('IKE: our spokes negotiate with charon, IKE SA and transport-mode Child SA up at both ends', async (t) => {
    const up = await waitFor(async () => {
      const list = await swanctl();
      return SPOKES.every((n) => /INSTALLED, TRANSPORT/.test(swanSa(list, nbma(n)) ?? '')) ? list : '';
    }, 90_000, 1000);
    t.ok(up, 'charon: an IKE SA with R2, R3, R4 and R5, each with an INSTALLED transport-mode CHILD_SA') || failed();
    const list = up || await swanctl();
    if (!up) t.comment(`${list}\n${await charonLog()}\n${logs()}`);
    for (const n of SPOKES) {
      // the two ends name the same SAs: charon's inbound SPI is our outbound one and vice versa
      const spis = /\n\s+in\s+([0-9a-f]{8})[\s\S]*?\n\s+out\s+([0-9a-f]{8})/.exec(swanSa(list, nbma(n)) ?? '');
      const ours = lab.ctlJson<SaJson[]>(`R${n}`, 'show crypto ipsec sa').filter((s) => s.peer === HUB_NBMA);
      const hex = (d: string) => ours.filter((s) => s.dir === d).map((s) => (s.spi >>> 0).toString(16).padStart(8, '0'));
      t.ok(spis && hex('out').includes(spis[1]) && hex('in').includes(spis[2]),
        `R${n}: charon's in/out SPIs ${spis?.[1]}/${spis?.[2]} are our out/in (${hex('out')}/${hex('in')})`);
    }
    for (const n of [2, 3]) {
      const b = swanSa(list, nbma(n)) ?? '';
      t.match(b, /ESTABLISHED, IKEv1/, `charon: R${n} IKEv1 SA ESTABLISHED`);
      t.match(b, /AES_CBC-256\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/MODP_2048/, `charon: R${n} IKE suite is the isakmp policy's`);
      t.match(b, /reqid \d+, INSTALLED, TRANSPORT, ESP:AES_CBC-256\/HMAC_SHA2_256_128/, `charon: R${n} Child SA, ESP AES-CBC-256/HMAC-SHA-256 in transport mode`);
      t.match(b, new RegExp(`local\\s+172\\.16\\.99\\.2/32\\[gre\\]\\s*\\n\\s+remote\\s+${nbma(n).replace(/\./g, '\\.')}/32\\[gre\\]`), `charon: R${n} selectors are GRE between the NBMA addresses`);
    }
    for (const n of [4, 5]) {
      const b = swanSa(list, nbma(n)) ?? '';
      t.match(b, /ESTABLISHED, IKEv2/, `charon: R${n} IKEv2 SA ESTABLISHED`);
      t.match(b, /AES_CBC-256\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/MODP_2048/, `charon: R${n} IKE suite is the ikev2 proposal's`);
      t.match(b, /reqid \d+, INSTALLED, TRANSPORT, ESP:AES_GCM_16-256/, `charon: R${n} Child SA, ESP AES-GCM-256 in transport mode`);
    }

    // the kernel's SAs, as charon installed them
    const xfrm = (await vm.exec(['ip', 'xfrm', 'state'])).out;
    for (const n of SPOKES) {
      t.match(xfrm, new RegExp(`src ${nbma(n).replace(/\./g, '\\.')} dst 172\\.16\\.99\\.2\\s*\\n\\s*proto esp spi 0x[0-9a-f]+ reqid \\d+ mode transport`),
        `VM kernel: inbound ESP transport SA from R${n}`);
    }
    t.match(xfrm, /aead rfc4106\(gcm\(aes\)\)/, 'VM kernel: an rfc4106(gcm(aes)) SA (R4, R5)');
    t.match(xfrm, /auth-trunc hmac\(sha256\) 0x[0-9a-f]+ 128/, 'VM kernel: hmac(sha256) truncated to 128 bits (R2, R3)');

    // ours: IKEv1 QM_IDLE with the hub; IKEv2 READY
    for (const r of ['R2', 'R3']) {
      const rows = lab.ctlJson<IsakmpRow[]>(r, 'show crypto isakmp sa');
      t.ok(rows.some((x) => x.state === 'QM_IDLE' && x.dst === HUB_NBMA && x.src === nbma(Number(r[1])) && x.status === 'ACTIVE'),
        `${r}: show crypto isakmp sa: ${HUB_NBMA} ${nbma(Number(r[1]))} QM_IDLE ACTIVE (${JSON.stringify(rows)})`);
      t.match(lab.ctl(r, 'show crypto ipsec sa'), /in use settings =\{Transport, \}/, `${r}: transport mode`);
    }
    for (const r of ['R4', 'R5']) {
      const v2 = lab.ctl(r, 'show crypto ikev2 sa');
      t.ok(ikev2Rows(v2).some((x) => x.local === nbma(Number(r[1])) && x.remote === HUB_NBMA && x.status === 'READY'), `${r}: show crypto ikev2 sa READY with the hub:\n${v2}`);
      t.match(v2, /Encr: AES-CBC, keysize: 256, PRF: SHA256, Hash: SHA256, DH Grp:14, Auth sign: PSK, Auth verify: PSK/, `${r}: the negotiated suite`);
      t.match(lab.ctl(r, 'show crypto ipsec sa'), /in use settings =\{Transport, \}/, `${r}: transport mode`);
    }
  });

  await t.test('NHRP through IPsec: our spokes register with FRR\'s hub', async (t) => {
    for (const r of SPOKES.map((n) => `R${n}`)) {
      const nhs = await waitFor(() => {
        try { return lab.ctlJson<any[]>(r, 'show ip nhrp nhs').find((n) => n.up); } catch { return undefined; }
      }, 60_000, 500);
      t.ok(nhs, `${r}: NHS 192.168.1.1 up`) || failed();
      t.equal(nhs?.lastNak, undefined, `${r}: no NAK from FRR`);
    }
    const want = SPOKES.map((n) => new RegExp(`gre1\\s+dynamic\\s+192\\.168\\.1\\.${n}\\s+172\\.16\\.${n}5\\.2\\s`));
    const cache = await waitFor(async () => {
      const out = await vm.vtysh('show ip nhrp cache');
      return want.every((re) => re.test(out)) ? out : '';
    }, 20_000, 1000);
    t.ok(cache, 'FRR hub cache: R2 to R5 dynamic at their NBMA addresses') || failed();
    if (!cache) t.comment(await vm.vtysh('show ip nhrp cache'));
  });

  await t.test('hosts ping across the hub both ways, through our ESP and the kernel\'s', async (t) => {
    for (const n of SPOKES) {
      const ok = await waitFor(() => lab.ping(lab.ns(`h${n}`), HUB_HOST, 3), 20_000, 1000);
      t.ok(ok, `h${n} -> ${HUB_HOST} (behind the hub)`) || failed();
      const back = await vm.exec(['ping', '-c', '3', '-i', '0.3', '-W', '2', '-I', HUB_HOST, `10.0.${n}.10`], { timeoutMs: 20_000 });
      t.equal(back.code, 0, `hub ${HUB_HOST} -> h${n}:\n${back.out}${back.err}`) || failed();
    }
    // counters at both ends of each pair: charon's (the kernel's xfrm SA) and our data plane's
    const list = await swanctl();
    for (const n of SPOKES) {
      const [swIn, swOut] = swanPackets(swanSa(list, nbma(n)) ?? '');
      t.ok(swIn >= 6 && swOut >= 6, `charon: R${n}'s CHILD_SA counted ${swIn} packets in, ${swOut} out`);
      const sas = lab.ctlJson<SaJson[]>(`R${n}`, 'show crypto ipsec sa').filter((s) => s.peer === HUB_NBMA);
      const pin = sas.filter((s) => s.dir === 'in').reduce((a, s) => a + s.packets, 0);
      const pout = sas.filter((s) => s.dir === 'out').reduce((a, s) => a + s.packets, 0);
      t.ok(pin >= 6 && pout >= 6, `R${n}: its SAs with the hub counted ${pin} in, ${pout} out`);
      const drops = sas.filter((s) => s.dir === 'in').reduce((a, s) => a + s.drops.auth + s.drops.badPad + s.drops.badNextHeader + s.drops.malformed + s.drops.policy, 0);
      t.equal(drops, 0, `R${n}: no authentication, padding, next-header, malformed or policy drop on what the kernel sent`);
    }
    // the VM kernel found nothing wrong with what we sent (a cleartext GRE refused by charon's policy
    // would count XfrmInTmplMismatch / XfrmInNoPols; a bad ICV XfrmInStateProtoError; a bad pad or
    // next header XfrmInStateInvalid / XfrmInHdrError). XfrmAcquireError is left out: it counts ESP
    // that reached an SPI charon had allocated (quick mode message 2) but not installed yet: an IKEv1
    // spoke's first packet, sent 300 ms after message 3 (charon sets no commit bit, so nothing says when
    // it has installed) while charon, under TCG and busy with the other spokes' DH, took up to ~1 s to
    // install (its log; 1 or 2 per run, and still 2 with a 1000 ms wait tried instead). The race RFC
    // 2408's commit bit exists for; NHRP retransmits the packet. Reported, not failed.
    const stat = (await vm.exec(['cat', '/proc/net/xfrm_stat'])).out;
    const nonZero = stat.split('\n').filter((l) => /^Xfrm\S+\s+[1-9]/.test(l));
    t.same(nonZero.filter((l) => !l.startsWith('XfrmAcquireError')), [], `VM kernel xfrm error counters 0:\n${stat}`);
    const acquire = nonZero.find((l) => l.startsWith('XfrmAcquireError'));
    if (acquire) t.comment(`VM kernel: ${acquire.replace(/\s+/, ' ')} (ESP before charon's SA was installed, see above)`);
  });

  for (const [a, b, version] of [[2, 3, 1], [4, 5, 2]] as const) {
    await t.test(`Phase 3 through FRR's hub under IPsec: R${a}-R${b} shortcut with an IKEv${version} SA of their own`, (t) => phase3(t, a, b, version));
  }

  await stopCaptures();
  await t.test('the NBMA links carry ESP and IKE only: no cleartext GRE', async (t) => {
    for (const [link, file] of pcaps) {
      t.equal(tsharkFields(file, 'gre || ip.proto == 47', ['frame.number']).length, 0, `${link}: no GRE, no IP protocol 47`);
      const esp = tsharkFields(file, 'esp', ['ip.src', 'ip.dst', 'esp.spi']);
      t.ok(esp.length >= 10, `${link}: ESP (${esp.length} packets)`);
      const other = tsharkFields(file, '!esp && !isakmp', ['frame.protocols', 'ip.src', 'ip.dst']);
      t.same(other, [], `${link}: nothing but ESP and IKE on the wire (IPv4)`);
      if (link !== 'tap0') t.ok(esp.some((p) => p['ip.src'] === HUB_NBMA), `${link}: ESP from the hub (the kernel's xfrm)`);
    }
    for (const [a, b] of [[2, 3], [4, 5]]) {
      const direct = tsharkFields(pcaps.get(`r${b}`)!, `esp && ip.src == ${nbma(a)}`, ['esp.spi']);
      t.ok(direct.length >= 10, `r${b} link: ESP straight from R${a} (${direct.length} packets, the shortcut)`);
    }
    const ike = tsharkFields(pcaps.get('tap0')!, 'isakmp', ['ip.src', 'isakmp.version']);
    t.ok(ike.some((p) => p['isakmp.version'] === '0x10'), 'hub link: IKEv1 (version 1.0)');
    t.ok(ike.some((p) => p['isakmp.version'] === '0x20'), 'hub link: IKEv2 (version 2.0)');
    for (const r of lab.routers.values()) t.notOk(r.log.some((l) => l.includes(PSK)), `${r.name}: the pre-shared key is in no log line`);
  });

  t.comment(`total ${((Date.now() - T0) / 1000).toFixed(1)} s`);

  /** Spoke Ra pings Rb's host through the hub, gets a Traffic Indication, resolves through FRR,
   *  negotiates an SA with Rb (our IKE at both ends) and sends over it. */
  async function phase3(t: Test, a: number, b: number, version: 1 | 2): Promise<void> {
    const ra = `R${a}`, rb = `R${b}`, ha = lab.ns(`h${a}`), hostB = `10.0.${b}.10`;
    t.ok(lab.ping(ha, hostB, 3), `h${a} -> h${b} first pings get through (via the FRR hub)`) || failed();
    const short = await waitFor(() => {
      lab.ping(ha, hostB, 1);
      return lab.ctlJson<any[]>(ra, 'show ip nhrp shortcut').find((e) => e.prefix === `10.0.${b}.0`);
    }, 30_000, 500);
    t.ok(short, `${ra} installed a shortcut for ${rb}'s LAN (Traffic Indication from FRR, resolution through it)`) || failed();
    t.equal(short?.via, `192.168.1.${b}`, `via ${rb}'s tunnel address`);
    const sa = version === 1
      ? () => lab.ctlJson<IsakmpRow[]>(ra, 'show crypto isakmp sa').some((r) => r.state === 'QM_IDLE' && [r.src, r.dst].includes(nbma(b)))
      : () => ikev2Rows(lab.ctl(ra, 'show crypto ikev2 sa')).some((r) => r.remote === nbma(b) && r.status === 'READY');
    const direct = await waitFor(sa, 30_000, 500);
    t.ok(direct, `${ra} <-> ${rb} IKEv${version} SA up (${version === 1 ? 'QM_IDLE' : 'READY'}, our IKE at both ends)`) || failed();
    const out = await waitFor(() => lab.ctlJson<SaJson[]>(ra, 'show crypto ipsec sa').some((s) => s.peer === nbma(b) && s.dir === 'out'), 20_000);
    t.ok(out, `${ra} has an outbound ESP SA straight to ${rb}`);
    if (!short || !direct || !out) t.comment(logs());
    await sleep(500);
    const hubIn = async () => swanPackets(swanSa(await swanctl(), nbma(a)) ?? '')[0];
    const before = await hubIn();
    const bIn = () => lab.ctlJson<SaJson[]>(rb, 'show crypto ipsec sa').filter((s) => s.peer === nbma(a) && s.dir === 'in').reduce((n, s) => n + s.packets, 0);
    const bBefore = bIn();
    t.ok(lab.ping(ha, hostB, 10), `h${a} -> h${b}: 10 pings over the shortcut`);
    const viaHub = (await hubIn()) - before;
    // the spoke keeps registering with the hub (every 10 s) meanwhile: a few packets, not ten
    t.ok(viaHub < 5, `the hub's SA with ${ra} counted ${viaHub} packets in meanwhile (registrations, not the pings)`) || failed();
    t.ok(bIn() - bBefore >= 10, `${rb}'s SA from ${ra} counted ${bIn() - bBefore} packets`);
  }
}
