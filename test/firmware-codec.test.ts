// The firmware bundle codec and its verification (appliance/firmware/manifest.ts, verify.ts): a good
// bundle passes; a corrupt part, a bad or foreign signature, an unsigned bundle, the wrong arch, a
// downgrade (unless forced), a truncated or padded file and hostile manifests are refused, each with a
// message naming the problem. Also measures Ed25519 verification by node:crypto against @noble/curves.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { verifyBundle, checkHead } from '../appliance/firmware/verify.js';
import { BundleError, MAX_HEAD, compareVersions, decodeHead, encodeHead, encodeManifest, parseManifest, signedMessage } from '../appliance/firmware/manifest.js';
import { keyPair, partFiles, bundle, flipped } from './image/firmware-fixture.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hfw-codec-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const vendor = keyPair();
const other = keyPair();
const parts = partFiles(dir);
const box = { publicKey: vendor.publicKeyPem, arch: 'x86_64' as const, runningVersion: '1.0.0' };

const refused = async (t: { ok: (v: unknown, m: string) => void; match: (a: string, r: RegExp, m: string) => void }, file: string, re: RegExp, what: string, o = box) => {
  const err = await verifyBundle(file, o).then(() => undefined, (e: Error) => e);
  t.ok(err instanceof BundleError, `${what}: refused as a bad bundle (${err?.message})`);
  t.match(err?.message ?? '', re, `${what}: the message names the problem`);
};

t.test('a good bundle verifies; its parts are where the manifest says', async (t) => {
  const f = bundle(dir, vendor.privateKeyPem, parts);
  const v = await verifyBundle(f, box);
  t.equal(v.head.manifest.version, '1.1.0');
  t.same(v.parts.map((p) => p.name), ['root', 'kernel', 'initrd']);
  const b = fs.readFileSync(f);
  for (const p of v.parts) t.ok(b.subarray(p.offset, p.offset + p.size).equals(fs.readFileSync(parts[p.name])), `part ${p.name} at offset ${p.offset}`);
  t.equal(v.size, b.length);
});

t.test('refusals', async (t) => {
  const good = bundle(dir, vendor.privateKeyPem, parts);
  const head = decodeHead(fs.readFileSync(good).subarray(0, MAX_HEAD), fs.statSync(good).size);
  await refused(t, flipped(good, head.partsOffset + 1000), /part root: SHA-256 \w+ does not match/, 'a corrupt root');
  await refused(t, flipped(good, -1), /part initrd: SHA-256/, 'a corrupt initrd (last byte)');
  await refused(t, flipped(good, head.partsOffset - 10), /bad signature/, 'a flipped signature byte');
  await refused(t, bundle(dir, other.privateKeyPem, parts), /bad signature/, 'signed by another key');
  await refused(t, bundle(dir, vendor.privateKeyPem, parts, { sign: false }), /not signed/, 'unsigned');
  await refused(t, bundle(dir, vendor.privateKeyPem, parts, { arch: 'aarch64' }), /bundle is for aarch64, this box is x86_64/, 'wrong arch');
  await refused(t, bundle(dir, vendor.privateKeyPem, parts, { version: '0.9.9' }), /older than the running 1\.0\.0: a downgrade needs "force"/, 'a downgrade');
  const forced = await verifyBundle(bundle(dir, vendor.privateKeyPem, parts, { version: '0.9.9' }), { ...box, force: true });
  t.equal(forced.head.manifest.version, '0.9.9', 'a downgrade with force passes');
  t.equal((await verifyBundle(bundle(dir, vendor.privateKeyPem, parts, { version: '1.0.0' }), box)).head.manifest.version, '1.0.0', 'the same version (a reinstall) passes');
  const b = fs.readFileSync(good);
  const cut = path.join(dir, 'cut.fw'); fs.writeFileSync(cut, b.subarray(0, b.length - 1));
  await refused(t, cut, /bundle is \d+ bytes, its manifest says \d+/, 'truncated');
  const padded = path.join(dir, 'padded.fw'); fs.writeFileSync(padded, Buffer.concat([b, Buffer.from('x')]));
  await refused(t, padded, /its manifest says/, 'trailing bytes');
  const junk = path.join(dir, 'junk.fw'); fs.writeFileSync(junk, crypto.randomBytes(5000));
  await refused(t, junk, /bad magic/, 'not a bundle');
  const empty = path.join(dir, 'empty.fw'); fs.writeFileSync(empty, '');
  await refused(t, empty, /bad magic/, 'an empty file');
  // the manifest re-encoded with a different part size, the old signature kept
  const m = JSON.parse(head.manifestBytes.toString());
  m.parts[0].size -= 1;
  const forged = path.join(dir, 'forged.fw');
  fs.writeFileSync(forged, Buffer.concat([encodeHead(Buffer.from(JSON.stringify(m)), head.signature), b.subarray(head.partsOffset, b.length - 1)]));
  await refused(t, forged, /bad signature/, 'a manifest changed after signing');
});

t.test('hostile manifests: each field checked', async (t) => {
  const ok = { format: 1, version: '1.0', arch: 'x86_64', parts: [{ name: 'root', size: 1, sha256: 'a'.repeat(64) }, { name: 'kernel', size: 1, sha256: 'b'.repeat(64) }, { name: 'initrd', size: 1, sha256: 'c'.repeat(64) }] };
  const bad = (mut: (m: any) => void, re: RegExp) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const m = structuredClone(ok); mut(m);
    t.throws(() => parseManifest(Buffer.from(JSON.stringify(m))), re);
  };
  t.same(parseManifest(encodeManifest(ok as never)), ok, 'the canonical encoding parses back');
  bad((m) => { m.format = 2; }, /format 2 is not supported/);
  bad((m) => { m.extra = 1; }, /unknown fields: extra/);
  bad((m) => { m.version = '1.0-rc1'; }, /not a dotted number/);
  bad((m) => { m.arch = 'mips'; }, /arch "mips"/);
  bad((m) => { m.parts.pop(); }, /must list the parts/);
  bad((m) => { m.parts.reverse(); }, /part 1 must be root/);
  bad((m) => { m.parts[1].size = -1; }, /kernel: size/);
  bad((m) => { m.parts[0].size = 2 ** 40; }, /root: size/);
  bad((m) => { m.parts[0].size = 1.5; }, /root: size/);
  bad((m) => { m.parts[2].sha256 = 'A'.repeat(64); }, /sha256 must be 64 hex/);
  t.throws(() => parseManifest(Buffer.from('[')), /not JSON/);
  t.throws(() => parseManifest(Buffer.from('null')), /not an object/);
  const longHead = Buffer.alloc(16); Buffer.from('DMVPNFW\0').copy(longHead); longHead.writeUInt32BE(1 << 30, 8);
  t.throws(() => decodeHead(longHead, 1 << 30), /manifest length \d+ out of range/);
  const sig2 = encodeHead(encodeManifest(ok as never), Buffer.alloc(32));
  t.throws(() => decodeHead(sig2, sig2.length + 3), /signature length 32/);
});

t.test('versions compare numerically', async (t) => {
  t.equal(compareVersions('0.10.0', '0.9.9'), 1);
  t.equal(compareVersions('1.0', '1.0.0'), 0);
  t.equal(compareVersions('1.2.3', '1.2.4'), -1);
});

t.test('Ed25519 verification: node:crypto and @noble/curves agree; node:crypto is the faster', async (t) => {
  const f = bundle(dir, vendor.privateKeyPem, parts);
  const head = decodeHead(fs.readFileSync(f).subarray(0, MAX_HEAD), fs.statSync(f).size);
  const msg = signedMessage(head.manifestBytes);
  const raw = crypto.createPublicKey(vendor.publicKeyPem).export({ format: 'jwk' }).x!;
  const pub = Buffer.from(raw, 'base64url');
  t.ok(ed25519.verify(head.signature, msg, pub), '@noble/curves accepts the signature node:crypto made');
  const key = crypto.createPublicKey(vendor.publicKeyPem);
  const N = 200;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) checkHead(head, { publicKey: key, arch: 'x86_64', runningVersion: '1.0.0' });
  const nodeUs = Number(process.hrtime.bigint() - t0) / 1000 / N;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) ed25519.verify(head.signature, msg, pub);
  const nobleUs = Number(process.hrtime.bigint() - t0) / 1000 / N;
  t.comment(`Ed25519 verify of a manifest: node:crypto ${nodeUs.toFixed(0)} µs, @noble/curves ${nobleUs.toFixed(0)} µs (mean of ${N}, this machine under its load)`);
  const big = bundle(dir, vendor.privateKeyPem, partFiles(dir, { root: 32 << 20, kernel: 8 << 20, initrd: 3 << 20 }, 'big'));
  t0 = process.hrtime.bigint();
  await verifyBundle(big, box);
  t.comment(`whole-bundle verification of ${(fs.statSync(big).size / 1e6).toFixed(1)} MB (signature + SHA-256 of each part): ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`);
  t.pass('measured');
});
