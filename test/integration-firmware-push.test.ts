// Firmware push over the overlay (docs/firmware.md), end to end in namespaces: hub R1 serves signed
// bundles on its tunnel address, inside IPsec (seed 003's crypto block: IKEv1, ESP), spokes R2 and R3 are real dmvpnd processes whose updater writes
// file-backed slots (disk image files, a boot directory with GRUB's grubenv); their "reboot"
// (DMVPN_RELOAD_COMMAND) is test/util/fw-grub-boot.py doing GRUB's slot choice, after which the
// watchdog (bin/dmvpnd) starts the supervisor again as the new slot, which commits once registered.
//   1. `firmware push all wave 1`: R2's download is cut once (ss -K on the hub) and resumes with a
//      Range request from where it stopped (bytes counted on both sides); R3's wave starts only after
//      R2 committed; both end on 1.1.0 from slot B.
//   2. a corrupt 1.2.0: R2 refuses it (its root's SHA-256), the hub shows R2 failed with that reason
//      and stops: R3 is never told.
//   3. a signed 1.3.0 that does not boot (the stand-in's kernel panics): R2 comes back on 1.1.0 and
//      reports the rollback, the push stops; pushed again, R2 refuses to start it (no reboot loop).
//   4. the hub's supervisor killed (SIGKILL) while R2 downloads 1.4.0: its watchdog starts a new one,
//      which takes the push up from push-state.json and finishes both waves.
//   5. nobody else can trigger or use it: the spokes listen on nothing; a host that is not a
//      registered peer is refused by the hub's server (counted).
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Lab, labConfig, waitFor, nsExec, ROOT } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { keyPair, sha256File } from './image/firmware-fixture.js';
import { writeBundle } from '../appliance/firmware/bundle-writer.js';
import { formatGrubenv, readGrubenv } from '../appliance/firmware/grubenv.js';
import { decodeHead, MAX_HEAD, partOffsets } from '../appliance/firmware/manifest.js';
import { withSeedCrypto } from './util/seed003-crypto.js';

requireTools(t, [...LAB_NEEDS, 'python3', 'ss', 'grub-editenv']);

const lab = new Lab(`hfw${process.pid % 10000}`, 2);
t.teardown(() => lab.down());
const vendor = keyPair();
const pub = path.join(lab.dir, 'vendor.pub');
fs.writeFileSync(pub, vendor.publicKeyPem);
const serve = path.join(lab.dir, 'serve');
const SLOT = 8 << 20;
const ROOT_BYTES = 3 << 20;
const RATE = 320 * 1024; // bytes/s per download: about 10 s for a bundle, time to cut it once under load

/** A root part whose first line names its version (what fw-grub-boot.py boots), then random bytes. */
function parts(dir: string, version: string, broken = false): Record<'root' | 'kernel' | 'initrd', string> {
  const out = { root: path.join(dir, `root-${version}`), kernel: path.join(dir, `kernel-${version}`), initrd: path.join(dir, `initrd-${version}`) };
  fs.writeFileSync(out.root, Buffer.concat([Buffer.from(`DMVPN-ROOT version=${version}${broken ? ' broken' : ''}\n`), crypto.randomBytes(ROOT_BYTES)]));
  fs.writeFileSync(out.kernel, crypto.randomBytes(200_000));
  fs.writeFileSync(out.initrd, crypto.randomBytes(100_000));
  return out;
}

/** A spoke's box: two slot image files (A holds the factory 1.0.0), the boot directory, /data. */
function box(name: string): { dir: string; env: Record<string, string> } {
  const dir = path.join(lab.dir, `box-${name}`);
  fs.mkdirSync(path.join(dir, 'boot/grub'), { recursive: true });
  for (const s of ['A', 'B']) {
    fs.mkdirSync(path.join(dir, 'boot', s));
    fs.writeFileSync(path.join(dir, 'boot', s, 'vmlinuz'), `factory kernel ${s}`);
    fs.writeFileSync(path.join(dir, 'boot', s, 'initrd.img'), `factory initrd ${s}`);
    const img = Buffer.alloc(SLOT);
    Buffer.from('DMVPN-ROOT version=1.0.0\n').copy(img);
    fs.writeFileSync(path.join(dir, `slot${s}.img`), img);
  }
  fs.writeFileSync(path.join(dir, 'boot/grub/grubenv'), formatGrubenv(new Map([['slot', 'A']])));
  fs.writeFileSync(path.join(dir, 'slot'), 'A');
  fs.writeFileSync(path.join(dir, 'version'), '1.0.0');
  return { dir, env: {
    DMVPN_FIRMWARE_BOOT: path.join(dir, 'boot'), DMVPN_FIRMWARE_SLOTS: `A=${path.join(dir, 'slotA.img')} B=${path.join(dir, 'slotB.img')}`,
    DMVPN_FIRMWARE_STATE: path.join(dir, 'data/firmware/state.json'), DMVPN_FIRMWARE_KEY: pub,
    DMVPN_FIRMWARE_VERSION_FILE: path.join(dir, 'version'), DMVPN_SLOT_FILE: path.join(dir, 'slot'),
    DMVPN_FIRMWARE_DOWNLOAD: path.join(dir, 'data/firmware/download'), DMVPN_FIRMWARE_TRIAL_S: '120', DMVPN_FIRMWARE_STALL_MS: '5000',
    DMVPN_RELOAD_COMMAND: `python3 ${path.join(ROOT, 'test/util/fw-grub-boot.py')} ${dir}`,
    DMVPN_FIRMWARE_SERVE: path.join(dir, 'no-serve-dir'), // spokes serve nothing
  } };
}

const boxes = { R2: box('R2'), R3: box('R3') };
const pushView = () => lab.ctlJson('R1', 'show firmware push');
const rowOf = (addr: string) => (pushView().rows as Array<{ address: string; state: string; detail: string; bytes?: number; wave: number }>).find((r) => r.address === addr);
const firmwareOf = (r: string) => lab.ctl(r, 'show firmware');
const logOf = (r: string) => lab.routers.get(r)!.log.join('\n');

t.before(async () => {
  lab.up();
  const cfg = (r: string) => lab.writeConfig(r, withSeedCrypto(labConfig(r, { holdtime: 30, registrationTimeout: 5 })));
  lab.start('R1', cfg('R1'), { DMVPN_FIRMWARE_SERVE: serve, DMVPN_FIRMWARE_KEY: pub, DMVPN_FIRMWARE_SERVE_RATE: String(RATE), DMVPN_FIRMWARE_WAVE_S: '240' });
  for (const r of ['R2', 'R3'] as const) lab.start(r, cfg(r), boxes[r].env);
  const up = await waitFor(() => {
    try { return (lab.ctlJson('R1', 'show dmvpn').interfaces[0].peers as unknown[]).length === 2; } catch { return false; }
  }, 60_000, 500);
  if (!up) throw new Error(`two spokes not registered:\n${logOf('R1')}\n${lab.ctl('R1', 'show firmware push')}`);
});

t.test('firmware fetch puts a bundle in the serve directory; the server starts on the tunnel address', async (t) => {
  t.match(lab.ctl('R1', 'show firmware push'), /^Not serving: no serve directory .*: firmware fetch <url> creates it$/m, 'no serve directory yet: not serving');
  t.match(lab.ctl('R1', 'firmware push all'), /% The firmware server is not running \(no serve directory/);
  const www = path.join(lab.dir, 'www');
  fs.mkdirSync(www);
  writeBundle({ version: '1.1.0', arch: 'x86_64', privateKeyPem: vendor.privateKeyPem, parts: parts(lab.dir, '1.1.0') }, path.join(www, 'new.fw'));
  // a web server where the hub can reach it (its own loopback)
  const web = spawn('ip', ['netns', 'exec', lab.ns('r1'), 'python3', '-m', 'http.server', '8099', '--bind', '127.0.0.1', '--directory', www], { stdio: 'ignore' });
  t.teardown(() => { web.kill(); });
  await waitFor(() => nsExec(lab.ns('r1'), ['python3', '-c', 'import socket; socket.create_connection(("127.0.0.1", 8099), 2)'], { allowFail: true }).status === 0, 20_000, 200);
  t.match(lab.ctl('R1', 'firmware fetch http://127.0.0.1:8099/new.fw'), /Fetching http:\/\/127\.0\.0\.1:8099\/new\.fw into /);
  const fetched = await waitFor(() => /Last fetch: fetched dmvpn-x86_64-1\.1\.0\.fw \(\d+ bytes, version 1\.1\.0\)/.test(lab.ctl('R1', 'show firmware push')), 30_000, 500);
  t.ok(fetched, `fetched and verified (${lab.ctl('R1', 'show firmware push')})`);
  t.same(fs.readdirSync(serve), ['dmvpn-x86_64-1.1.0.fw'], 'named by arch and version, nothing else left');
  const serving = await waitFor(() => /^Serving on 192\.168\.0\.1:8737: /m.test(lab.ctl('R1', 'show firmware push')), 20_000, 500);
  t.ok(serving, 'the server runs on the tunnel address');
});

t.test('push in waves of 1: a cut download resumes by Range; wave 2 after wave 1 committed', async (t) => {
  const bundle = path.join(serve, 'dmvpn-x86_64-1.1.0.fw');
  const size = fs.statSync(bundle).size;
  // ESP bytes from the hub to R2 (its NBMA address): the download must travel inside them
  const espToR2 = () => lab.ctlJson<Array<{ peer: string; dir: string; bytes: number }>>('R1', 'show crypto ipsec sa')
    .filter((s) => s.peer === '172.16.25.2' && s.dir === 'out').reduce((n, s) => n + s.bytes, 0);
  const esp0 = espToR2();
  t.match(lab.ctl('R1', 'show firmware push'), /Bundles: dmvpn-x86_64-1\.1\.0\.fw \(1\.1\.0, x86_64\)/, 'the hub offers the signed bundle');
  t.match(lab.ctl('R1', 'firmware push all wave 1'), /Firmware push of 1\.1\.0 \(x86_64, dmvpn-x86_64-1\.1\.0\.fw\) to 2 spoke\(s\) in 2 wave\(s\) of 1 started/);

  // R2 downloads; cut its connection on the hub as soon as R2 reports bytes (its first progress report)
  const midway = await waitFor(() => { const r = rowOf('192.168.0.2'); return r?.state === 'downloading' && (r.bytes ?? 0) > 0 ? r : undefined; }, 60_000, 100);
  nsExec(lab.ns('r1'), ['ss', '-K', 'dst', '192.168.0.2', 'sport', '=', ':8737']);
  const served1 = pushView().counters.bytesServed as number;
  t.ok(midway, `R2 was downloading (${JSON.stringify(midway)})`);
  t.equal(rowOf('192.168.0.3')?.state, 'waiting', 'R3 (wave 2) waits meanwhile');
  t.match(firmwareOf('R3'), /Update: idle/, 'and R3 was told nothing');
  t.ok(served1 < size, `cut at ${served1} of ${size} bytes served`);
  t.ok(espToR2() - esp0 >= served1, `the bundle's bytes went inside ESP to R2 (${espToR2() - esp0} ESP bytes for ${served1} served)`);

  const committed2 = await waitFor(() => rowOf('192.168.0.2')?.state === 'done', 180_000, 500);
  t.ok(committed2, `R2 updated and committed (hub row: ${JSON.stringify(rowOf('192.168.0.2'))}; R2 log:\n${logOf('R2').split('\n').filter((l) => /FIRMWARE|fw-grub/.test(l)).join('\n')})`);
  const resumed = /download resumed from byte (\d+); (\d+) bytes fetched in (\d+) requests/.exec(logOf('R2'));
  t.ok(resumed, 'R2 logged the resumed download');
  const from = Number(resumed?.[1]), fetched = Number(resumed?.[2]);
  t.equal(fetched, size, `R2 fetched the bundle's ${size} bytes exactly once: ${from} before the cut, ${size - from} after`);
  t.ok(from > 0 && from < size, `it resumed from byte ${from}, not from 0`);

  // wave 2 started only after R2's commit (the hub's log, in order)
  const all = await waitFor(() => pushView().push?.state === 'done', 180_000, 500);
  t.ok(all, `the push is done (${lab.ctl('R1', 'show firmware push')})`);
  const v = pushView();
  t.equal(v.counters.bundleFull, 2, 'two whole-bundle requests: R2\'s first, R3\'s');
  t.equal(v.counters.bundleRanged, 1, 'one Range request: R2\'s resumption');
  t.same(v.rangeStarts, [from], 'the Range request started where R2\'s partial file ended');
  t.ok(v.counters.bytesServed >= 2 * size && v.counters.bytesServed < 2 * size + size / 2,
    `the hub served ${v.counters.bytesServed} bytes: two bundles, plus what was in flight at the cut`);
  const hubLog = logOf('R1');
  const r2done = hubLog.indexOf('spoke 192.168.0.2: done'), wave2 = hubLog.indexOf('wave 2 of 2: 192.168.0.3');
  t.ok(r2done >= 0 && wave2 > r2done, 'the hub logged R2 done before starting wave 2');
  const show = lab.ctl('R1', 'show firmware push');
  t.match(show, /^Firmware push: done, wave 2 of 2, started \d\d:\d\d:\d\d ago: all 2 spoke\(s\) updated$/m);
  t.match(show, /^Spoke +Wave +Version +State +Progress +Detail$/m);
  t.match(show, /^192\.168\.0\.2 +1 +1\.1\.0 +done +\S.* committed$/m, 'R2 row: committed');
  t.match(show, /^192\.168\.0\.3 +2 +1\.1\.0 +done +\S.* committed$/m, 'R3 row: committed');
  for (const r of ['R2', 'R3'] as const) {
    await waitFor(() => /booted from slot B/.test(firmwareOf(r)), 20_000, 500);
    t.match(firmwareOf(r), /Firmware version 1\.1\.0 \(x86_64\), booted from slot B/, `${r} runs 1.1.0 from slot B`);
    t.match(firmwareOf(r), /^B {5}1\.1\.0 +running, default$/m, `${r}: slot B committed`);
    t.same([...readGrubenv(path.join(boxes[r].dir, 'boot/grub/grubenv'))], [['slot', 'B']], `${r}: grubenv slot=B`);
    t.equal(sha256File(path.join(boxes[r].dir, 'boot/B/vmlinuz')), sha256File(path.join(lab.dir, 'kernel-1.1.0')), `${r}: B/vmlinuz is the bundle's`);
    t.same(fs.readdirSync(path.join(boxes[r].dir, 'data/firmware/download')), [], `${r}: no partial file left`);
  }
  t.match(logOf('R3'), /hub 192\.168\.0\.1 pushes version 1\.1\.0/, 'R3 took the push from its hub');
});

t.test('a corrupt bundle: refused on R2, reported failed, the push stops before R3', async (t) => {
  const good = path.join(lab.dir, 'good-1.2.0.fw');
  writeBundle({ version: '1.2.0', arch: 'x86_64', privateKeyPem: vendor.privateKeyPem, parts: parts(lab.dir, '1.2.0') }, good);
  const bytes = fs.readFileSync(good);
  const head = decodeHead(bytes.subarray(0, MAX_HEAD), bytes.length);
  bytes[partOffsets(head)[0].offset + 1000] ^= 0x55; // the root's bytes: the signed head still verifies
  fs.writeFileSync(path.join(serve, 'dmvpn-x86_64-1.2.0.fw'), bytes);
  const slotA = sha256File(path.join(boxes.R2.dir, 'slotA.img'));
  const servedBefore = pushView().counters.bytesServed as number;
  t.match(lab.ctl('R1', 'firmware push all wave 1'), /Firmware push of 1\.2\.0 .* to 2 spoke\(s\) in 2 wave\(s\) of 1 started/);
  const failed = await waitFor(() => pushView().push?.state === 'failed', 120_000, 500);
  t.ok(failed, `the push failed (${lab.ctl('R1', 'show firmware push')})`);
  const show = lab.ctl('R1', 'show firmware push');
  t.match(show, /^Firmware push: failed, wave 1 of 2, .*spoke 192\.168\.0\.2 failed: refused: .*part root: SHA-256/m, 'the push names R2 and why');
  t.match(show, /^192\.168\.0\.2 +1 +1\.2\.0 +failed .*refused: .*part root: SHA-256 [0-9a-f]{64} does not match/m);
  t.match(show, /^192\.168\.0\.3 +2 +- +not started +- +the push stopped$/m, 'R3 was never told');
  t.match(firmwareOf('R2'), /Last result: refused: .*part root: SHA-256/, 'R2 shows the refusal itself');
  t.match(firmwareOf('R2'), /Firmware version 1\.1\.0/, 'R2 still runs 1.1.0');
  t.equal(sha256File(path.join(boxes.R2.dir, 'slotA.img')), slotA, 'R2\'s standby slot was not written');
  t.notMatch(logOf('R3'), /pushes version 1\.2\.0/, 'R3 did not hear of 1.2.0');
  t.ok((pushView().counters.bytesServed as number) - servedBefore <= bytes.length, 'only R2 downloaded it');
});

t.test('a version that does not boot: rolled back, reported, and not taken from a push again', async (t) => {
  writeBundle({ version: '1.3.0', arch: 'x86_64', privateKeyPem: vendor.privateKeyPem, parts: parts(lab.dir, '1.3.0', true) }, path.join(serve, 'dmvpn-x86_64-1.3.0.fw'));
  const boots = () => (logOf('R2').match(/fw-grub-boot: .*: booting slot/g) ?? []).length;
  t.match(lab.ctl('R1', 'firmware push all wave 1'), /Firmware push of 1\.3\.0 .* started/);
  const failed = await waitFor(() => pushView().push?.state === 'failed', 180_000, 500);
  t.ok(failed, `the push failed (${lab.ctl('R1', 'show firmware push')})`);
  const show = lab.ctl('R1', 'show firmware push');
  t.match(show, /spoke 192\.168\.0\.2 failed: rolled back: slot A version 1\.3\.0 did not become healthy; running slot B version 1\.1\.0 again/, 'the hub shows R2 rolled back, and why');
  t.match(show, /^192\.168\.0\.3 +2 +- +not started/m, 'R3 was not started');
  t.match(logOf('R2'), /slot A panics at boot: reset[\s\S]*booting slot B/, 'R2 tried slot A, which did not boot, and came back on B');
  t.match(firmwareOf('R2'), /Firmware version 1\.1\.0 \(x86_64\), booted from slot B/);
  t.match(firmwareOf('R2'), /Last result: rolled back: slot A version 1\.3\.0/);
  t.same([...readGrubenv(path.join(boxes.R2.dir, 'boot/grub/grubenv'))], [['slot', 'B']], 'grubenv: B, no try_slot');
  // the hub pushes it again: R2 refuses to start it, so no second trial and no reboot
  const before = boots();
  t.match(lab.ctl('R1', 'firmware push 192.168.0.2'), /Firmware push of 1\.3\.0 .* to 1 spoke/);
  await waitFor(() => pushView().push?.state === 'failed', 60_000, 500);
  t.match(lab.ctl('R1', 'show firmware push'), /spoke 192\.168\.0\.2 failed: refused to start: version 1\.3\.0 rolled back on this box before: not taken from a push again/);
  t.equal(boots(), before, 'R2 did not reboot');
  t.match(firmwareOf('R2'), /Update: idle/);
});

t.test('the hub\'s supervisor killed mid-push: the next one takes the push up from its state file and finishes it', async (t) => {
  writeBundle({ version: '1.4.0', arch: 'x86_64', privateKeyPem: vendor.privateKeyPem, parts: parts(lab.dir, '1.4.0') }, path.join(serve, 'dmvpn-x86_64-1.4.0.fw'));
  t.match(lab.ctl('R1', 'firmware push all wave 1'), /Firmware push of 1\.4\.0 .* to 2 spoke\(s\) in 2 wave\(s\) of 1 started/);
  const downloading = await waitFor(() => { const r = rowOf('192.168.0.2'); return r?.state === 'downloading' && (r.bytes ?? 0) > 0; }, 60_000, 100);
  t.ok(downloading, 'R2 is downloading 1.4.0');
  const stateFile = path.join(lab.dir, 'push-state.json');
  const onDisk = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  t.match(onDisk, { state: 'running', wave: 0, bundles: [{ name: 'dmvpn-x86_64-1.4.0.fw', version: '1.4.0' }] }, 'the push is on disk beside the serve directory');
  t.equal(fs.statSync(stateFile).mode & 0o777, 0o600, 'mode 0600');
  // a crash: SIGKILL to the supervisor (not to its watchdog, which starts a new one)
  const control = lab.routers.get('R1')!.control;
  const sup = nsExec(lab.ns('r1'), ['ps', '-eo', 'pid=,args='], { allowFail: true }).stdout.split('\n')
    .find((l) => l.includes('dist/dmvpnd.mjs') && l.includes(control));
  t.ok(sup, 'the hub\'s supervisor process found');
  const killedAt = logOf('R1').length;
  process.kill(Number(sup!.trim().split(/\s+/)[0]), 'SIGKILL');
  const takenUp = await waitFor(() => /push taken up after a restart: wave 1 of 2/.test(logOf('R1').slice(killedAt)), 60_000, 500);
  t.ok(takenUp, 'the restarted supervisor took the push up (logged)');
  t.match(lab.ctl('R1', 'show firmware push'), /^Firmware push: running, wave 1 of 2, started \d\d:\d\d:\d\d ago \(taken up after a restart \d\d:\d\d:\d\d ago\)$/m, 'show firmware push says so');
  const done = await waitFor(() => pushView().push?.state === 'done', 300_000, 500);
  t.ok(done, `the push finished (${lab.ctl('R1', 'show firmware push')})`);
  const after = logOf('R1').slice(killedAt);
  const r2done = after.indexOf('spoke 192.168.0.2: done'), wave2 = after.indexOf('wave 2 of 2: 192.168.0.3');
  t.ok(r2done >= 0 && wave2 > r2done, 'R2 done and wave 2 started by the new supervisor, in that order');
  for (const r of ['R2', 'R3'] as const) {
    await waitFor(() => /Firmware version 1\.4\.0/.test(firmwareOf(r)), 30_000, 500);
    t.match(firmwareOf(r), /Firmware version 1\.4\.0 \(x86_64\)/, `${r} runs 1.4.0`);
  }
  t.match(JSON.parse(fs.readFileSync(stateFile, 'utf8')), { state: 'done', message: 'all 2 spoke(s) updated' }, 'the finished push on disk');
});

t.test('no one but the spoke\'s hub can trigger an update; no one but a registered peer is served', async (t) => {
  // the spokes listen on nothing: no port on their tunnel address to push to, from the hub or a spoke
  for (const [from, to] of [['r1', '192.168.0.2'], ['r3', '192.168.0.2'], ['r2', '192.168.0.3']]) {
    const r = nsExec(lab.ns(from), ['python3', '-c', `import socket; s=socket.socket(); s.settimeout(5); print(s.connect_ex(('${to}', 8737)))`], { allowFail: true });
    t.equal(r.stdout.trim(), '111', `${from} -> ${to}:8737: connection refused (nothing listens)`);
  }
  // a host behind the hub (not a registered NHRP peer): its forged report and its download are refused
  const before = pushView().counters;
  const py = `
import http.client, json
c = http.client.HTTPConnection('192.168.0.1', 8737, timeout=10)
c.request('POST', '/firmware/v1/status', json.dumps({'v': 1, 'arch': 'x86_64', 'running': '1.0.0', 'phase': 'idle', 'wait': 0}), {'content-type': 'application/json'})
print(c.getresponse().status)
c = http.client.HTTPConnection('192.168.0.1', 8737, timeout=10)
c.request('GET', '/firmware/bundle/dmvpn-x86_64-1.1.0.fw')
print(c.getresponse().status)`;
  const out = nsExec(lab.ns('h1'), ['python3', '-c', py], { allowFail: true });
  t.same(out.stdout.trim().split('\n'), ['403', '403'], `h1 is refused (${out.stderr})`);
  t.equal(pushView().counters.notPeer - before.notPeer, 2, 'counted as "not a peer"');
  t.match(lab.ctl('R1', 'firmware push 10.0.1.10'), /% 10\.0\.1\.10 is not a registered NHRP peer of this hub/);
});
