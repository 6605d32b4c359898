// Firmware push, the parts without namespaces (the whole is test/integration-firmware-push.test.ts):
// byte ranges, the resumable download against the hub's server on loopback (a cut, a bundle replaced
// between attempts, a server without validators), the report and answer parsers fed hostile input,
// the wave logic, and the spoke's rules for a pushed update (newer only, never forced, never a
// version that rolled back here, the announced version checked against the signed manifest).
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import crypto from 'node:crypto';
import { FirmwareServer } from '../appliance/firmware/serve.js';
import { parseRange } from '../appliance/firmware/byte-range.js';
import { downloadResumable, partialPaths } from '../appliance/firmware/download.js';
import { parseReport, parseAnswer, type SpokeReport } from '../appliance/firmware/report.js';
import { PushController } from '../appliance/firmware/push.js';
import { FirmwareService } from '../appliance/firmware/update.js';
import { keyPair, partFiles, bundle, fakeBox, tmpDir } from './image/firmware-fixture.js';
import { waitFor } from './util/lab.js';

const tmp = (t: { teardown(f: () => void): void }) => tmpDir(t, 'hfw-push');

t.test('parseRange: the single-range forms of RFC 9110 14.1.2', async (t) => {
  t.same(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
  t.same(parseRange('bytes=500-', 1000), { start: 500, end: 999 });
  t.same(parseRange('bytes=-100', 1000), { start: 900, end: 999 }, 'the last 100 bytes');
  t.same(parseRange('bytes=900-5000', 1000), { start: 900, end: 999 }, 'an end past the size is clipped');
  t.equal(parseRange('bytes=1000-', 1000), null, 'a start at the size is unsatisfiable');
  t.equal(parseRange('bytes=5-4', 1000), null, 'end before start');
  t.equal(parseRange('bytes=-0', 1000), null);
  t.equal(parseRange(undefined, 1000), undefined);
  t.equal(parseRange('bytes=0-1,5-9', 1000), undefined, 'several ranges: the whole resource is sent (allowed)');
  t.equal(parseRange('items=0-1', 1000), undefined);
  t.equal(parseRange('bytes=-', 1000), undefined);
});

async function server(t: { teardown(f: () => void): void }, dir: string, rate = 0) {
  const s = new FirmwareServer({ address: '127.0.0.1', port: 0, dir, rate, isPeer: (a) => a === '127.0.0.1', onStatus: async () => ({}) });
  // port 0: let the kernel choose, then read it back
  await s.listen();
  t.teardown(() => s.close());
  const srv = (s as unknown as { server: http.Server }).server;
  const sockets: import('node:net').Socket[] = [];
  srv.on('connection', (c) => sockets.push(c));
  return { s, port: (srv.address() as { port: number }).port, sockets };
}

t.test('download: cut mid-way, resumed by Range from the partial file; a replaced bundle comes whole', async (t) => {
  const dir = tmp(t);
  const serveDir = path.join(dir, 'serve');
  fs.mkdirSync(serveDir);
  const file = path.join(serveDir, 'b.fw');
  const content = crypto.randomBytes(1 << 20);
  fs.writeFileSync(file, content);
  const { s, port, sockets } = await server(t, serveDir, 256 * 1024);
  const url = `http://127.0.0.1:${port}/firmware/bundle/b.fw`;
  const dl = path.join(dir, 'dl');
  // cut the first connection once a third has arrived: the client sees the connection die
  let cut = false;
  const first = downloadResumable(url, { dir: dl, max: 2 << 20, backoffMs: 50, onProgress: (have) => {
    if (!cut && have > content.length / 3) { cut = true; for (const sock of sockets) sock.destroy(); }
  } });
  const { file: got, stats } = await first;
  t.ok(fs.readFileSync(got).equals(content), 'the file is the bundle, byte for byte');
  t.equal(stats.bytesFetched, content.length, 'every byte fetched exactly once');
  t.equal(stats.resumedFrom.length, 1, 'one resumption');
  t.ok(stats.resumedFrom[0] > content.length / 3, `from byte ${stats.resumedFrom[0]}`);
  t.same({ full: s.counters.bundleFull, ranged: s.counters.bundleRanged }, { full: 1, ranged: 1 });
  t.same(s.rangeStarts, stats.resumedFrom, 'the server saw the range the client asked');

  // a partial file of the old bundle, then the bundle is replaced: If-Range does not match, 200 whole
  fs.truncateSync(got, 1000);
  const next = crypto.randomBytes(300_000);
  fs.writeFileSync(`${file}.new`, next);
  fs.renameSync(`${file}.new`, file);
  const again = await downloadResumable(url, { dir: dl, max: 2 << 20, backoffMs: 50 });
  t.ok(fs.readFileSync(again.file).equals(next), 'the new bundle, not a splice of the two');
  t.same(again.stats.resumedFrom, [], 'it was not resumed');
  t.equal(s.counters.bundleFull, 2);

  // limits: a bundle larger than allowed is refused without retrying
  fs.rmSync(partialPaths(dl, url).file);
  await t.rejects(downloadResumable(url, { dir: dl, max: 1000, backoffMs: 50 }), /exceeds 1000 bytes/);
  // a reserve beyond any disk (the free space itself would race with whatever else runs on this machine)
  await t.rejects(downloadResumable(url, { dir: dl, max: 2 << 20, reserve: 1e15 }), /exceeds the room on .* \(0 bytes\)/,
    'a bundle that would eat into the reserve of the persistent partition is refused');
  await t.rejects(downloadResumable(`http://127.0.0.1:${port}/firmware/bundle/none.fw`, { dir: dl, max: 1000, backoffMs: 50 }), /HTTP 404/);
  // a path that is not a bundle name
  const r = await fetch(`http://127.0.0.1:${port}/firmware/bundle/..%2Fetc%2Fpasswd`);
  t.equal(r.status, 404, 'no path out of the serve directory');
});

t.test('a slow reader: the server waits for drain without piling listeners on the response', async (t) => {
  const dir = tmp(t);
  fs.writeFileSync(path.join(dir, 'big.fw'), Buffer.alloc(24 << 20));
  const { port } = await server(t, dir);
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.teardown(() => { process.off('warning', onWarning); });
  // read a little at a time, so the server's writes hit backpressure again and again
  let got = 0;
  await new Promise<void>((resolve, reject) => http.get(`http://127.0.0.1:${port}/firmware/bundle/big.fw`, (res) => {
    const step = () => { for (let c; (c = res.read(256 * 1024)) !== null;) got += c.length; if (!res.readableEnded) setTimeout(step, 2); };
    res.on('readable', () => undefined);
    res.on('end', resolve);
    res.on('error', reject);
    setTimeout(step, 2);
  }).on('error', reject));
  await new Promise((r) => setImmediate(r)); // a warning is emitted on the next tick
  t.equal(got, 24 << 20, 'the whole bundle arrived');
  t.same(warnings.filter((w) => /MaxListeners/.test(w)), [], 'no listener leak warning');
});

t.test('no room on the persistent partition: the download goes to the fallback directory (RAM on the box)', async (t) => {
  const dir = tmp(t);
  const vendor = keyPair();
  const b = fakeBox(dir);
  const f = bundle(dir, vendor.privateKeyPem, partFiles(dir), { version: '1.2.0' });
  fs.mkdirSync(path.join(dir, 'www'));
  fs.renameSync(f, path.join(dir, 'www', 'b.fw'));
  const { port } = await server(t, path.join(dir, 'www'));
  const logs: string[] = [];
  const reboots: string[] = [];
  const fw = new FirmwareService({ arch: 'x86_64', runningVersion: '1.1.0', booted: 'A', bootDir: b.boot, slots: { A: b.slotA, B: b.slotB },
    publicKeyPem: vendor.publicKeyPem, stateFile: path.join(dir, 'state.json'), downloadDir: path.join(dir, 'data'), downloadFallbackDir: path.join(dir, 'ram'),
    downloadReserve: 1e15, reboot: (r) => { reboots.push(r); }, log: (_l, m, x) => logs.push(`${m}: ${x}`) });
  fw.update(`http://127.0.0.1:${port}/firmware/bundle/b.fw`, false);
  await waitFor(() => reboots.length > 0 || fw.view().job.phase === 'idle', 20_000, 20);
  t.same(reboots, ['firmware update to version 1.2.0 (slot B)'], `updated (${logs.join('; ')})`);
  t.match(logs.join('\n'), /DOWNLOAD: the bundle \(\d+ bytes\) exceeds the room on .*data .*: downloading to .*ram instead \(not resumable after a reboot\)/);
  t.same(fs.readdirSync(path.join(dir, 'data')), [], 'nothing left on the persistent partition');
  t.same(fs.readdirSync(path.join(dir, 'ram')), [], 'nor in RAM once written');
});

for (const [what, etag] of [['no ETag', undefined], ['a weak ETag, which If-Range may not carry', 'W/"1"']] as const) t.test(`download without a strong validator (${what}): never resumed, a fresh start`, async (t) => {
  const dir = tmp(t);
  const body = crypto.randomBytes(50_000);
  const ranges: Array<string | undefined> = [];
  const srv = http.createServer((req, res) => { ranges.push(req.headers.range); res.writeHead(200, { 'content-length': body.length, ...(etag ? { etag } : {}) }); res.end(body); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/x.fw`;
  const p = partialPaths(dir, url);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(p.file, body.subarray(0, 1000));
  fs.writeFileSync(p.meta, JSON.stringify({ url, etag }));
  const r = await downloadResumable(url, { dir, max: 1 << 20 });
  t.ok(fs.readFileSync(r.file).equals(body));
  fs.truncateSync(r.file, 1000); // as a cut leaves it, with the metadata that whole download wrote
  await downloadResumable(url, { dir, max: 1 << 20 });
  t.same(ranges, [undefined, undefined], 'no Range asked');
});

const report = (o: Partial<SpokeReport> = {}) => Buffer.from(JSON.stringify({ v: 1, arch: 'x86_64', running: '1.0.0', phase: 'idle', wait: 0, ...o }));

t.test('the report and the answer are checked as hostile input', async (t) => {
  t.same(parseReport(report({ wait: 999 })).wait, 30, 'the wait is capped');
  const bad: Array<[string, Buffer, RegExp]> = [
    ['not JSON', Buffer.from('{'), /not JSON/],
    ['an array', Buffer.from('[]'), /not an object/],
    ['an unknown field', report({ evil: 1 } as never), /unknown fields: evil/],
    ['another version', report({ v: 2 } as never), /report version 2/],
    ['a bad arch', report({ arch: 'mips' } as never), /arch/],
    ['a bad phase', report({ phase: 'pwned' } as never), /phase/],
    ['a running version that is not one', report({ running: '1.0; rm -rf /' }), /running is not a dotted version/],
    ['negative bytes', report({ bytes: -1 }), /bytes is not a byte count/],
    ['a control character', report({ last: { result: 'failed', message: 'a\x1b[2Jb', at: 'x' } }), /printable/],
    ['a huge message', report({ last: { result: 'failed', message: 'x'.repeat(401), at: 'x' } }), /at most 400/],
    ['an unknown result', report({ last: { result: 'owned', message: '', at: '' } } as never), /result is unknown/],
    ['too long', Buffer.alloc(5000, 0x20), /longer than 4096/],
  ];
  for (const [what, b, re] of bad) t.throws(() => parseReport(b), re, what);

  const hub = '192.168.0.1';
  const ok = parseAnswer(Buffer.from(JSON.stringify({ update: { version: '1.1.0', url: `http://${hub}:8737/firmware/bundle/a.fw` } })), hub, 8737);
  t.same(ok, { update: { version: '1.1.0', url: `http://${hub}:8737/firmware/bundle/a.fw` } });
  t.same(parseAnswer(Buffer.from('{}'), hub, 8737), {});
  const answers: Array<[string, unknown, RegExp]> = [
    ['another host', { update: { version: '1.1.0', url: 'http://10.9.9.9:8737/firmware/bundle/a.fw' } }, /is not a bundle on 192\.168\.0\.1:8737/],
    ['a host that starts like the hub', { update: { version: '1.1.0', url: `http://${hub}0:8737/firmware/bundle/a.fw` } }, /not a bundle on/],
    ['another port', { update: { version: '1.1.0', url: `http://${hub}:80/firmware/bundle/a.fw` } }, /not a bundle on/],
    ['a path out', { update: { version: '1.1.0', url: `http://${hub}:8737/firmware/bundle/../../x.fw` } }, /not a bundle on/],
    ['https elsewhere', { update: { version: '1.1.0', url: 'https://evil.example/a.fw' } }, /not a bundle on/],
    ['a bad version', { update: { version: 'latest', url: `http://${hub}:8737/firmware/bundle/a.fw` } }, /update version/],
    ['force', { update: { version: '1.1.0', url: `http://${hub}:8737/firmware/bundle/a.fw`, force: true } }, /unknown fields: force/],
  ];
  for (const [what, a, re] of answers) t.throws(() => parseAnswer(Buffer.from(JSON.stringify(a)), hub, 8737), re, what);
});

t.test('waves: told in turn, the next wave after success, the first failure stops the push', async (t) => {
  const logs: string[] = [];
  let bundles = [{ name: 'a.fw', version: '1.1.0', arch: 'x86_64' as const }];
  const c = new PushController({ bundles: () => bundles, url: (n) => `http://h/${n}`, waveTimeoutMs: 60_000, log: (_l, _m, x) => logs.push(x) });
  t.teardown(() => c.stop());
  const never = new AbortController().signal;
  const rep = (o: Partial<SpokeReport> = {}) => parseReport(report(o));
  t.match(c.start([], 1), /No registered NHRP peer/);
  t.match(c.start(['10.0.0.2', '10.0.0.3', '10.0.0.4'], 2), /to 3 spoke\(s\) in 2 wave\(s\) of 2 started/);
  t.match(c.start(['10.0.0.2'], 1), /A firmware push is running/);
  t.same(await c.onReport('10.0.0.4', rep(), never), {}, 'wave 2 is not told during wave 1');
  t.same(await c.onReport('10.0.0.9', rep(), never), {}, 'a peer outside the push is told nothing');
  t.same(await c.onReport('10.0.0.2', rep(), never), { update: { version: '1.1.0', url: 'http://h/a.fw' } }, 'wave 1 is told');
  t.same(await c.onReport('10.0.0.3', rep({ running: '1.1.0' }), never), {}, 'a spoke already on the version is done at once');
  t.equal(c.view().rows.find((r) => r.address === '10.0.0.3')?.detail, 'already runs 1.1.0');
  await c.onReport('10.0.0.2', rep({ phase: 'downloading', version: '1.1.0', bytes: 10, total: 100 }), never);
  t.same(c.view().rows.find((r) => r.address === '10.0.0.2')?.state, 'downloading');
  t.same(await c.onReport('10.0.0.2', rep(), never), { update: { version: '1.1.0', url: 'http://h/a.fw' } }, 'idle again with no result (restarted): told again, to resume');
  t.same(await c.onReport('10.0.0.2', rep({ last: { result: 'interrupted', version: '1.1.0', message: 'interrupted while downloading by a restart', at: 't0.5' } }), never),
    { update: { version: '1.1.0', url: 'http://h/a.fw' } }, 'idle with a new "interrupted" (a power cut mid-download): no failure, told again');
  t.equal(c.view().push?.state, 'running', 'the push goes on');
  // a long poll of wave 2 is answered as soon as its wave starts
  const waiting = c.onReport('10.0.0.4', rep({ wait: 30 }), never);
  t.same(await c.onReport('10.0.0.4', rep({ wait: 30 }), never), {}, 'a second report held for the same peer is answered at once');
  await c.onReport('10.0.0.2', rep({ phase: 'trial', running: '1.1.0' }), never);
  await c.onReport('10.0.0.2', rep({ running: '1.1.0', last: { result: 'committed', version: '1.1.0', message: 'ok', at: 't1' } }), never);
  t.same(await waiting, { update: { version: '1.1.0', url: 'http://h/a.fw' } }, 'wave 2 is told at once when wave 1 is done');
  // wave 2's spoke rolls back: the push fails, naming it
  await c.onReport('10.0.0.4', rep({ phase: 'rebooting', version: '1.1.0' }), never);
  await c.onReport('10.0.0.4', rep({ last: { result: 'rolled back', version: '1.1.0', message: 'no registration with the hub within 300 s', at: 't2' } }), never);
  t.equal(c.view().push?.state, 'failed');
  t.match(c.view().push?.message ?? '', /spoke 10\.0\.0\.4 failed: rolled back: no registration with the hub within 300 s/);
  t.same(await c.onReport('10.0.0.4', rep(), never), {}, 'a failed spoke is not told again');

  // a refusal to start, an old result that is not new, a missing arch, the wave timeout
  bundles = [{ name: 'b.fw', version: '1.2.0', arch: 'x86_64' }];
  const old = { result: 'refused' as const, version: '1.2.0', message: 'old', at: 't0' };
  c.start(['10.0.0.2', '10.0.0.3'], 1);
  t.ok((await c.onReport('10.0.0.2', rep({ last: old }), never)).update, 'told (its last result is from before)');
  t.same(await c.onReport('10.0.0.2', rep({ phase: 'downloading', last: old }), never), {}, 'the same old result is not a failure');
  await c.onReport('10.0.0.2', rep({ last: old, refusal: { version: '1.2.0', message: 'version 1.2.0 rolled back on this box before' } }), never);
  t.match(c.view().push?.message ?? '', /spoke 10\.0\.0\.2 failed: refused to start: version 1\.2\.0 rolled back/);
  t.equal(c.view().rows.find((r) => r.address === '10.0.0.3')?.state, 'not started');

  const d = new PushController({ bundles: () => bundles, url: (n) => n, waveTimeoutMs: 200, log: () => undefined });
  t.teardown(() => d.stop());
  d.start(['10.0.0.5'], 1);
  await d.onReport('10.0.0.5', rep({ arch: 'aarch64' }), never);
  t.match(d.view().push?.message ?? '', /no bundle for aarch64/);
  d.start(['10.0.0.5'], 1);
  await waitFor(() => d.view().push?.state === 'failed', 5000, 20);
  t.match(d.view().push?.message ?? '', /spoke 10\.0\.0\.5 failed: no success within 0 s \(last state: waiting\)/, 'a silent spoke fails the wave at its timeout');
  t.match(d.cancel(), /No firmware push is running/);
  t.ok(logs.some((l) => /push stopped in wave 2/.test(l)), 'logged');
});

t.test('a push keeps the bundle it started with: a later wave gets what the earlier proved', async (t) => {
  let reads = 0;
  let bundles = [{ name: 'a.fw', version: '1.1.0', arch: 'x86_64' as const }];
  const c = new PushController({ bundles: () => { reads++; return bundles; }, url: (n) => `http://h/${n}`, waveTimeoutMs: 60_000, log: () => undefined });
  t.teardown(() => c.stop());
  const never = new AbortController().signal;
  const rep = (o: Partial<SpokeReport> = {}) => parseReport(report(o));
  c.start(['10.0.0.2', '10.0.0.3'], 1);
  bundles = [...bundles, { name: 'b.fw', version: '1.2.0', arch: 'x86_64' }]; // fetched during the push
  t.same(await c.onReport('10.0.0.2', rep(), never), { update: { version: '1.1.0', url: 'http://h/a.fw' } });
  await c.onReport('10.0.0.2', rep({ running: '1.1.0', last: { result: 'committed', version: '1.1.0', message: 'ok', at: 't1' } }), never);
  t.equal(c.view().rows[0].state, 'done', 'wave 1 done on 1.1.0 (not told 1.2.0 after it)');
  t.same(await c.onReport('10.0.0.3', rep(), never), { update: { version: '1.1.0', url: 'http://h/a.fw' } }, 'wave 2 gets 1.1.0, not the untried 1.2.0');
  t.equal(reads, 1, 'the serve directory was read once, at the start, not per report');
});

t.test('a push outlives the supervisor: taken up from its store, the wave timer and the baselines kept', async (t) => {
  const never = new AbortController().signal;
  const rep = (o: Partial<SpokeReport> = {}) => parseReport(report(o));
  let saved: string | undefined;
  let saves = 0;
  const store = { load: () => saved, save: (x: string) => { saved = x; saves++; } };
  let bundles = [{ name: 'a.fw', version: '1.1.0', arch: 'x86_64' as const }];
  const logs: string[] = [];
  const controller = (waveTimeoutMs = 60_000) => {
    const c = new PushController({ bundles: () => bundles, url: (n) => `http://h/${n}`, waveTimeoutMs, log: (_l, _m, x) => logs.push(x), store });
    t.teardown(() => c.stop());
    return c;
  };
  const a = controller();
  a.start(['10.0.0.2', '10.0.0.3', '10.0.0.4'], 1);
  t.ok(saved, 'saved at the start');
  t.same(await a.onReport('10.0.0.2', rep({ last: { result: 'committed', version: '1.0.0', message: 'old', at: 't0' } }), never), { update: { version: '1.1.0', url: 'http://h/a.fw' } }, 'wave 1 told');
  const n = saves;
  await a.onReport('10.0.0.2', rep({ phase: 'downloading', bytes: 10, total: 100, last: { result: 'committed', version: '1.0.0', message: 'old', at: 't0' } }), never);
  await a.onReport('10.0.0.2', rep({ phase: 'downloading', bytes: 50, total: 100, last: { result: 'committed', version: '1.0.0', message: 'old', at: 't0' } }), never);
  t.equal(saves, n + 1, 'saved when the state changed (downloading), not for each progress report');
  a.stop(); // the supervisor dies here

  const b = controller();
  t.match(b.view().push, { state: 'running', wave: 1, waves: 3 }, 'the next supervisor has the push');
  t.ok(b.view().push?.resumedAt, 'marked as taken up');
  t.match(b.view().rows.find((r) => r.address === '10.0.0.2'), { state: 'downloading', version: '1.1.0', baseline: 't0' }, 'the row, its baseline kept');
  t.ok(logs.some((l) => /push taken up after a restart: wave 1 of 3/.test(l)), 'logged');
  t.same(await b.onReport('10.0.0.3', rep(), never), {}, 'wave 2 is still not told');
  t.same(await b.onReport('10.0.0.2', rep({ phase: 'downloading', bytes: 60, total: 100, last: { result: 'committed', version: '1.0.0', message: 'old', at: 't0' } }), never), {}, 'its old result is still not new: no failure, not told twice');
  await b.onReport('10.0.0.2', rep({ running: '1.1.0', last: { result: 'committed', version: '1.1.0', message: 'ok', at: 't1' } }), never);
  t.same(await b.onReport('10.0.0.3', rep(), never), { update: { version: '1.1.0', url: 'http://h/a.fw' } }, 'wave 1 done after the restart: wave 2 told');
  b.stop();

  // a result that came while the hub was down is judged against the kept baseline: a rollback fails the push
  const c = controller();
  await c.onReport('10.0.0.3', rep({ last: { result: 'rolled back', version: '1.1.0', message: 'no registration within 300 s', at: 't2' } }), never);
  t.match(c.view().push, { state: 'failed', message: /spoke 10\.0\.0\.3 failed: rolled back: no registration within 300 s/ });
  t.equal(c.view().rows.find((r) => r.address === '10.0.0.4')?.state, 'not started');
  const lastTakenUp = c.view().push?.resumedAt;
  c.stop();
  await new Promise((r) => setTimeout(r, 5));
  const d = controller();
  t.match(d.view().push, { state: 'failed', message: /10\.0\.0\.3 failed/ }, 'a finished push is still shown after a restart');
  t.equal(d.view().push?.resumedAt, lastTakenUp, 'and not taken up again (nothing to go on with)');
  d.stop();

  // the wave timeout runs across the restart: a wave whose time ran out while the hub was down fails at once
  saved = undefined;
  const e = controller(100_000);
  e.start(['10.0.0.5'], 1);
  e.stop();
  saved = saved!.replace(/"waveStartedAt":\d+/, `"waveStartedAt":${Date.now() - 100_000}`);
  const f = controller(100_000);
  await waitFor(() => f.view().push?.state === 'failed', 5000, 20);
  t.match(f.view().push?.message ?? '', /spoke 10\.0\.0\.5 failed: no success within 100 s/, 'timed out at once, not 100 s later');
  f.stop();

  // the bundle gone from the serve directory meanwhile: stopped, saying so
  saved = undefined;
  const g = controller();
  g.start(['10.0.0.6'], 1);
  g.stop();
  bundles = [{ name: 'b.fw', version: '1.2.0', arch: 'x86_64' }];
  const h = controller();
  t.match(h.view().push, { state: 'failed', message: 'bundle a.fw (1.1.0) is no longer served: the push cannot go on after the restart' });
  h.stop();

  // damaged or foreign state: refused with the reason, no push taken up, the next push works
  for (const [what, text, why] of [
    ['not JSON', '{"format":1,', /not JSON/],
    ['another format', '{"format":2}', /format 2, not 1/],
    ['a row outside its wave', saved!.replace('"wave":1', '"wave":7'), /row 1: 10\.0\.0\.6: not in its wave 7/],
    ['a state of its own', saved!.replace(/"state":"(failed|running)","message"/, '"state":"exploded","message"'), /state "exploded"/],
    ['a bundle name with a path', saved!.replace('"name":"a.fw"', '"name":"../../etc/passwd"'), /bundle /],
  ] as const) {
    logs.length = 0;
    saved = text;
    const x = controller();
    t.equal(x.view().push, undefined, `${what}: no push taken up`);
    t.match(logs.join('\n'), new RegExp(`push state unreadable \\(.*${why.source}`), `${what}: logged with the reason`);
    x.stop();
  }
  const throwing = new PushController({ bundles: () => bundles, url: (n) => n, waveTimeoutMs: 1000, log: (_l, _m, x) => logs.push(x), store: { load: () => { throw new Error('EIO'); }, save: () => { throw new Error('ENOSPC'); } } });
  t.teardown(() => throwing.stop());
  t.match(throwing.start(['10.0.0.7'], 1), /started/, 'an unreadable store: a push still starts');
  t.ok(logs.some((l) => /push state not saved \(ENOSPC\): a restart now would forget the push/.test(l)), 'a failed save is logged, the push goes on in memory');
});

t.test('a pushed update: newer only, never forced, not a version that rolled back, the announced one', async (t) => {
  const dir = tmp(t);
  const vendor = keyPair();
  const b = fakeBox(dir);
  const reboots: string[] = [];
  const host = { arch: 'x86_64' as const, runningVersion: '1.1.0', booted: 'A' as const, bootDir: b.boot, slots: { A: b.slotA, B: b.slotB },
    publicKeyPem: vendor.publicKeyPem, stateFile: path.join(dir, 'state.json'), downloadDir: path.join(dir, 'dl'),
    reboot: (r: string) => { reboots.push(r); }, log: () => undefined };
  const fw = new FirmwareService(host);
  const parts = partFiles(dir);
  t.match(fw.update('x.fw', true, { version: '1.0.0' }), /% pushed version 1\.0\.0 is not newer than the running 1\.1\.0: a hub may only upgrade/);
  t.match(fw.update('x.fw', false, { version: '1.1.0' }), /not newer/, 'not a reinstall either');
  // the announced version is what the signed manifest must say
  const f = bundle(dir, vendor.privateKeyPem, parts, { version: '1.2.0' });
  t.match(fw.update(f, false, { version: '1.3.0' }), /started/);
  await waitFor(() => fw.view().job.phase === 'idle', 10_000, 20);
  t.match(fw.view().last?.message ?? '', /bundle version 1\.2\.0 is not the 1\.3\.0 the hub announced/);
  t.equal(fw.view().last?.result, 'refused');
  // a downgrade bundle announced as newer: verify refuses it, force or not (force is never remote)
  const down = bundle(dir, vendor.privateKeyPem, parts, { version: '1.0.5' });
  fw.update(down, true, { version: '1.2.0' });
  await waitFor(() => fw.view().job.phase === 'idle', 10_000, 20);
  t.match(fw.view().last?.message ?? '', /older than the running 1\.1\.0: a downgrade needs "force"/, 'force is dropped for a pushed update');
  // a version that rolled back here is not taken from a push again
  fs.writeFileSync(host.stateFile, JSON.stringify({ slots: { A: '1.1.0', B: '1.2.0' }, rolledBack: ['1.2.0'] }));
  const again = new FirmwareService(host);
  t.match(again.update(f, false, { version: '1.2.0' }), /% version 1\.2\.0 rolled back on this box before: not taken from a push again/);
  t.match(again.update(f, false), /started/, 'a local firmware update may still try it');
  await waitFor(() => again.view().job.phase !== 'verifying' && again.view().job.phase !== 'writing', 10_000, 20);
  t.same(reboots, ['firmware update to version 1.2.0 (slot B)'], 'only the local one got as far as a reboot');
});

t.test('the versions rolled back here: each once, the latest last, the 8 latest kept', async (t) => {
  const { addRolledBack } = await import('../appliance/firmware/state.js');
  const s: import('../appliance/firmware/state.js').FirmwareState = { slots: {} };
  for (let i = 1; i <= 9; i++) addRolledBack(s, `1.${i}.0`);
  t.same(s.rolledBack, ['1.2.0', '1.3.0', '1.4.0', '1.5.0', '1.6.0', '1.7.0', '1.8.0', '1.9.0']);
  addRolledBack(s, '1.2.0');
  t.same(s.rolledBack, ['1.3.0', '1.4.0', '1.5.0', '1.6.0', '1.7.0', '1.8.0', '1.9.0', '1.2.0'], 'rolled back again: the latest, not the first to go');
});

t.test('the trial clock: the kernel\'s start, or the slot file\'s time when later and believable', async (t) => {
  const { bootedAt } = await import('../appliance/entry/firmware-box.js');
  const dir = tmp(t);
  const slot = path.join(dir, 'slot');
  fs.writeFileSync(slot, 'B');
  const now = Math.floor(Date.now() / 1000) * 1000; // whole seconds: a file time keeps them exactly
  fs.utimesSync(slot, new Date(now - 10_000), new Date(now - 10_000));
  t.equal(bootedAt(slot, 86_400, now), now - 10_000, 'a host up for a day, the slot chosen 10 s ago: 10 s ago');
  t.equal(bootedAt(slot, 5, now), now - 5000, 'an age beyond the uptime (the clock stepped since): the kernel\'s start');
  fs.utimesSync(slot, new Date(now + 60_000), new Date(now + 60_000));
  t.equal(bootedAt(slot, 100, now), now, 'a file from the future (stepped back): now');
  t.equal(bootedAt(path.join(dir, 'none'), 100, now), now - 100_000, 'no slot file: the kernel\'s start');
});

t.test('the spoke\'s reporter: acts only on a good answer from its hub; a refusal goes back in the next report', async (t) => {
  const { PushClient } = await import('../appliance/firmware/push-client.js');
  const dir = tmp(t);
  const vendor = keyPair();
  const b = fakeBox(dir);
  const fw = new FirmwareService({ arch: 'x86_64', runningVersion: '1.1.0', booted: 'A', bootDir: b.boot, slots: { A: b.slotA, B: b.slotB },
    publicKeyPem: vendor.publicKeyPem, stateFile: path.join(dir, 'state.json'), downloadDir: path.join(dir, 'dl'), downloadAttempts: 1,
    reboot: () => undefined, log: () => undefined });
  const reports: SpokeReport[] = [];
  let answers: unknown[] = [];
  const hub = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { reports.push(parseReport(Buffer.concat(chunks))); res.end(JSON.stringify(answers.shift() ?? {})); });
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  t.teardown(() => hub.close());
  const port = (hub.address() as { port: number }).port;
  const logs: string[] = [];
  const c = new PushClient(fw, { hub: () => ({ address: '127.0.0.1', local: '127.0.0.1' }), port, waitS: 0, log: (_l, _m, x) => logs.push(x) });
  t.teardown(() => c.stop());
  const url = `http://127.0.0.1:${port}/firmware/bundle/a.fw`;
  answers = [{ update: { version: '2.0.0', url: 'http://10.6.6.6:8737/firmware/bundle/a.fw' } }, { update: { version: '1.0.0', url } }];
  c.start();
  await waitFor(() => reports.some((r) => r.refusal), 20_000, 20);
  t.equal(c.counters.badAnswers, 1, 'an answer sending it elsewhere is refused');
  t.match(logs.join('\n'), /answer from 127\.0\.0\.1 refused: update url "http:\/\/10\.6\.6\.6/);
  const refusal = reports.find((r) => r.refusal)?.refusal;
  t.same(refusal?.version, '1.0.0');
  t.match(refusal?.message ?? '', /not newer than the running 1\.1\.0/, 'the downgrade refusal goes back to the hub');
  t.equal(fw.view().job.phase, 'idle', 'nothing started');
  t.equal(reports[0].running, '1.1.0');
  t.equal(reports[0].phase, 'idle');
});

t.test('firmware fetch: a bundle into the serve directory, verified whole, named by arch and version', async (t) => {
  const { fetchBundle } = await import('../appliance/firmware/fetch.js');
  const dir = tmp(t);
  const vendor = keyPair();
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  const good = bundle(dir, vendor.privateKeyPem, partFiles(dir), { version: '2.0.1', arch: 'aarch64' });
  fs.copyFileSync(good, path.join(www, 'good.fw'));
  const bad = fs.readFileSync(good);
  bad[bad.length - 10] ^= 1; // the last part's bytes: the head still verifies
  fs.writeFileSync(path.join(www, 'bad.fw'), bad);
  const { port } = await server(t, www);
  const serveDir = path.join(dir, 'serve');
  const got = await fetchBundle(`http://127.0.0.1:${port}/firmware/bundle/good.fw`, { dir: serveDir, publicKeyPem: vendor.publicKeyPem });
  t.same(got, { name: 'dmvpn-aarch64-2.0.1.fw', version: '2.0.1', size: fs.statSync(good).size }, 'another arch than the hub\'s is fine');
  t.same(fs.readdirSync(serveDir), ['dmvpn-aarch64-2.0.1.fw'], 'only the named bundle is left');
  await t.rejects(fetchBundle(`http://127.0.0.1:${port}/firmware/bundle/bad.fw`, { dir: serveDir, publicKeyPem: vendor.publicKeyPem }), /part initrd: SHA-256/);
  await t.rejects(fetchBundle(`http://127.0.0.1:${port}/firmware/bundle/good.fw`, { dir: serveDir, publicKeyPem: keyPair().publicKeyPem }), /bad signature/);
  t.same(fs.readdirSync(serveDir), ['dmvpn-aarch64-2.0.1.fw'], 'the refused ones are gone');
});

t.test('the hub offers only bundles signed with its key', async (t) => {
  const { servedBundles } = await import('../appliance/firmware/push-service.js');
  const dir = tmp(t);
  const vendor = keyPair();
  const serveDir = path.join(dir, 'serve');
  fs.mkdirSync(serveDir);
  const parts = partFiles(dir);
  fs.renameSync(bundle(dir, vendor.privateKeyPem, parts, { version: '1.2.0' }), path.join(serveDir, 'good.fw'));
  fs.renameSync(bundle(dir, keyPair().privateKeyPem, parts, { version: '9.0.0' }), path.join(serveDir, 'other-key.fw'));
  fs.writeFileSync(path.join(serveDir, 'junk.fw'), crypto.randomBytes(5000));
  fs.copyFileSync(path.join(serveDir, 'good.fw'), path.join(serveDir, 'good.fw.partial'));
  t.same(servedBundles(serveDir, vendor.publicKeyPem), [{ name: 'good.fw', version: '1.2.0', arch: 'x86_64', size: fs.statSync(path.join(serveDir, 'good.fw')).size }],
    'not one signed with another key, not junk, not a name that is not a bundle\'s');
  t.same(servedBundles(path.join(dir, 'none'), vendor.publicKeyPem), [], 'no serve directory: none');
});

t.test('show firmware push: the push, the server, a row per spoke and per reporting peer', async (t) => {
  const { formatFirmwarePush } = await import('../appliance/supervisor/exec-firmware-push.js');
  const now = Date.UTC(2026, 0, 2);
  const counters = { requests: 9, notPeer: 1, badRequest: 0, notFound: 2, statusPosts: 7, bundleFull: 1, bundleRanged: 1, rangeUnsatisfiable: 0, bytesServed: 2031616 };
  const out = formatFirmwarePush({
    push: { state: 'running', message: '', wave: 1, waves: 2, startedAt: now - 2 * 86_400_000 - 3_600_000 },
    rows: [{ address: '192.168.0.2', wave: 1, state: 'downloading', version: '1.1.0', bytes: 1_000_000, total: 2_000_000, detail: 'downloading', updatedAt: now }],
    reports: [{ address: '192.168.0.9', at: now - 65_000, report: { v: 1, arch: 'x86_64', running: '1.0.0', phase: 'idle', wait: 25 } }],
    fetching: undefined, lastFetch: undefined, serving: '192.168.0.1:8737', notServing: undefined, counters, rangeStarts: [917504],
    bundles: [{ name: 'dmvpn-x86_64-1.1.0.fw', version: '1.1.0', arch: 'x86_64', size: 3 }],
  }, now);
  t.equal(out, [
    'Firmware push: running, wave 1 of 2, started 2d01h ago',
    'Serving on 192.168.0.1:8737: 9 requests, 7 reports, 1 full and 1 ranged downloads (from byte 917504), 2031616 bytes; refused: 1 not a peer, 0 bad, 2 not found',
    'Bundles: dmvpn-x86_64-1.1.0.fw (1.1.0, x86_64)',
    '',
    'Spoke            Wave  Version     State        Progress          Detail',
    '192.168.0.2      1     1.1.0       downloading  50% of 2.0MB      downloading',
    '192.168.0.9      -     1.0.0       idle         -                 reported 00:01:05 ago',
    '',
  ].join('\n'));
});

t.test('the server: a bad report is 400, an oversized one 413, a stranger 403, other paths 404; each counted', async (t) => {
  const dir = tmp(t);
  const s = new FirmwareServer({ address: '127.0.0.1', port: 0, dir, isPeer: (a) => a === '127.0.0.1',
    onStatus: async (_p, body) => { parseReport(body); return {}; } });
  await s.listen();
  t.teardown(() => s.close());
  const port = ((s as unknown as { server: http.Server }).server.address() as { port: number }).port;
  const post = (body: string | Buffer) => fetch(`http://127.0.0.1:${port}/firmware/v1/status`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body) });
  t.equal((await post('{"v":1,"arch":"x86_64","running":"1.0","phase":"idle","x":1}')).status, 400);
  t.equal((await post(Buffer.alloc(5000, 0x20))).status, 413);
  t.equal((await post(report())).status, 200);
  t.equal((await fetch(`http://127.0.0.1:${port}/etc/passwd`)).status, 404);
  t.equal((await fetch(`http://127.0.0.1:${port}/firmware/v1/status`)).status, 404, 'GET of the report path');
  t.match(s.counters, { badRequest: 2, statusPosts: 1, notFound: 2, notPeer: 0 });
  const stranger = new FirmwareServer({ address: '127.0.0.1', port: 0, dir, isPeer: () => false, onStatus: async () => ({ update: { version: '9.9', url: 'x' } }) });
  await stranger.listen();
  t.teardown(() => stranger.close());
  const port2 = ((stranger as unknown as { server: http.Server }).server.address() as { port: number }).port;
  const r = await fetch(`http://127.0.0.1:${port2}/firmware/v1/status`, { method: 'POST', body: new Uint8Array(report()) });
  t.equal(r.status, 403);
  t.match(await r.text(), /127\.0\.0\.1 is not a registered NHRP peer of this hub/);
  t.equal(stranger.counters.notPeer, 1);
});
