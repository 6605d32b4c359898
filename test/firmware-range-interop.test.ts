// HTTP byte ranges against programs that are not ours: the hub's firmware server (serve.ts) answering
// curl (a range, the last N bytes, a resumed download with -C -, 416, a stale If-Range, HEAD), and the
// resumable download (download.ts) against busybox httpd (resumed by Range + If-Range; busybox ignores
// If-Range, so a bundle replaced between attempts comes back as a 206 of the new file, which the
// download must notice by its ETag rather than splice). test/firmware-push.test.ts has the rest.
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import type http from 'node:http';
import { FirmwareServer } from '../appliance/firmware/serve.js';
import { downloadResumable, partialPaths } from '../appliance/firmware/download.js';
import { requireTools } from './util/needs.js';
import { waitFor } from './util/lab.js';
import { tmpDir } from './image/firmware-fixture.js';

requireTools(t, ['curl', 'busybox']);

const tmp = (t: { teardown(f: () => void): void }) => tmpDir(t, 'rfw-range');

/** curl's status line and headers (lower-cased names); the body goes to `out`. Asynchronous: the
 *  server answering it runs in this process. */
async function curl(args: string[], out: string): Promise<{ status: number; headers: Record<string, string> }> {
  const stdout = await new Promise<string>((resolve, reject) => execFile('curl', ['-sS', '-D', '-', '-o', out, ...args], (e, o, err) => (e ? reject(new Error(`curl ${args.join(' ')}: ${err}`)) : resolve(o))));
  const blocks = stdout.trim().split(/\r?\n\r?\n/); // -C - may show more than one answer: the last counts
  const lines = blocks[blocks.length - 1].split(/\r?\n/);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) { const i = l.indexOf(':'); if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
  return { status: Number(lines[0].split(' ')[1]), headers };
}

t.test('the hub\'s server answers curl\'s ranges as RFC 9110 says', async (t) => {
  const dir = tmp(t);
  const content = crypto.randomBytes(300_000);
  fs.writeFileSync(path.join(dir, 'b.fw'), content);
  const s = new FirmwareServer({ address: '127.0.0.1', port: 0, dir, isPeer: () => true, onStatus: async () => ({}) });
  await s.listen();
  t.teardown(() => s.close());
  const port = ((s as unknown as { server: http.Server }).server.address() as net.AddressInfo).port;
  const url = `http://127.0.0.1:${port}/firmware/bundle/b.fw`;
  const out = path.join(dir, 'out');

  let r = await curl(['-r', '100-199', url], out);
  t.same([r.status, r.headers['content-range'], r.headers['content-length']], [206, 'bytes 100-199/300000', '100']);
  t.ok(fs.readFileSync(out).equals(content.subarray(100, 200)), 'bytes 100 to 199');
  r = await curl(['-r', '-1000', url], out);
  t.same([r.status, r.headers['content-range']], [206, 'bytes 299000-299999/300000'], 'the last 1000 bytes');
  t.ok(fs.readFileSync(out).equals(content.subarray(299_000)));
  r = await curl(['-r', '300000-', url], out);
  t.same([r.status, r.headers['content-range']], [416, 'bytes */300000'], 'a range past the end: 416');
  const etag = (await curl(['-I', url], out)).headers.etag;
  t.match(etag, /^"[0-9a-f-]+"$/, 'HEAD: a strong ETag');
  r = await curl(['-r', '1000-', '-H', `If-Range: ${etag}`, url], out);
  t.same([r.status, fs.statSync(out).size], [206, 299_000], 'If-Range with the current ETag: the range');
  r = await curl(['-r', '1000-', '-H', 'If-Range: "stale"', url], out);
  t.equal(r.status, 200, 'If-Range with another ETag: the whole bundle');
  t.ok(fs.readFileSync(out).equals(content));
  // curl resuming its own partial file (-C -: the offset is the file's size)
  const partial = path.join(dir, 'partial');
  fs.writeFileSync(partial, content.subarray(0, 123_456));
  r = await curl(['-C', '-', url], partial);
  t.equal(r.status, 206);
  t.ok(fs.readFileSync(partial).equals(content), 'curl resumed to the whole bundle, byte for byte');
  t.same(s.rangeStarts.slice(-1), [123_456], 'from where curl\'s file ended');
  t.match(s.counters, { bundleRanged: 4, rangeUnsatisfiable: 1 });
});

async function busybox(t: { teardown(f: () => void): void }, dir: string): Promise<number> {
  const port = await new Promise<number>((resolve) => { const l = net.createServer().listen(0, '127.0.0.1', () => { const p = (l.address() as net.AddressInfo).port; l.close(() => resolve(p)); }); });
  const p = spawn('busybox', ['httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', dir], { stdio: 'ignore' });
  t.teardown(() => { p.kill(); });
  const up = await waitFor(() => new Promise<boolean>((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); }).on('error', () => resolve(false));
  }), 10_000, 50);
  if (!up) throw new Error('busybox httpd did not start');
  return port;
}

t.test('the download resumes against busybox httpd, and is not fooled by its ignoring If-Range', async (t) => {
  const dir = tmp(t);
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  const old = crypto.randomBytes(200_000);
  fs.writeFileSync(path.join(www, 'b.fw'), old);
  const port = await busybox(t, www);
  const url = `http://127.0.0.1:${port}/b.fw`;
  const dl = path.join(dir, 'dl');
  const first = await downloadResumable(url, { dir: dl, max: 1 << 20, backoffMs: 10 });
  t.ok(fs.readFileSync(first.file).equals(old), 'a whole download');
  t.match(JSON.parse(fs.readFileSync(partialPaths(dl, url).meta, 'utf8')), { etag: /^"[0-9a-f]+-[0-9a-f]+"$/, total: 200_000 }, 'busybox\'s ETag kept');

  // cut short (as a lost connection leaves it): resumed with Range and If-Range, busybox answers 206
  fs.truncateSync(first.file, 50_000);
  const resumed = await downloadResumable(url, { dir: dl, max: 1 << 20, backoffMs: 10 });
  t.ok(fs.readFileSync(resumed.file).equals(old), 'the bundle again, byte for byte');
  t.same(resumed.stats.resumedFrom, [50_000], 'resumed from the partial file\'s end');
  t.equal(resumed.stats.bytesFetched, 150_000, 'only the rest fetched');

  // the bundle replaced by another of the same length (a later time: another ETag), a partial file of
  // the old one: busybox answers the range regardless; the download must start again, not splice
  fs.truncateSync(first.file, 50_000);
  const next = crypto.randomBytes(200_000);
  fs.writeFileSync(path.join(www, 'b.fw'), next);
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(www, 'b.fw'), later, later);
  const again = await downloadResumable(url, { dir: dl, max: 1 << 20, backoffMs: 10 });
  t.ok(fs.readFileSync(again.file).equals(next), 'the new bundle whole, not 50,000 old bytes and the new rest');
  t.same(again.stats.resumedFrom, [], 'not resumed');
  t.equal(again.stats.attempts, 2, 'the 206 of another bundle was dropped, then a whole download');
});
