// AES-GCM per core, before and after in one run: this tree's wasm/build/crypto.wasm, the same module
// built from a baseline git revision (default: the constant-time GCM before issue 14's rework;
// GCM_BASELINE_REV=<rev> to choose another, GCM_BASELINE_REV= to skip it), and node:crypto (OpenSSL,
// AES-NI + PCLMULQDQ, one cipher object per packet as a per-packet caller must). ESP-sized packets
// (64, 512, 1420 B), AAD 8 B (SPI || seq), 16-byte tag; seal and open; AES-128 and AES-256.
// Prints the median of RUNS runs (alternating between the implementations) in MB/s (1e6 payload bytes per CPU-second, one thread) and the
// ratios. Asserts nothing, but checks once that every implementation agrees on the ciphertext and tag.
// Last line: where the time goes, AES-CTR alone and GHASH alone per implementation.
// Run: node bench/crypto-gcm.mjs [CPU-seconds per cell, default 0.6]
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { cpuRates, median } from './lib/cpu-rate.mjs';

const CELL = Number(process.argv[2] ?? 0.6);
const RUNS = 5;
const SIZES = [64, 512, 1420];
const AAD_LEN = 8;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BASE_REV = process.env.GCM_BASELINE_REV ?? 'a0d02dd923406afe1e78d1df0ee63324d08aa304';
// The flags of the Makefile's crypto.wasm rule.
const ASC_FLAGS = ['--runtime', 'stub', '--enable', 'simd', '--enable', 'threads', '--importMemory', '--sharedMemory',
  '--initialMemory', '512', '--maximumMemory', '4096', '-O3', '--noAssert', '--converge'];

/** crypto.wasm of git revision rev (built once into /tmp), or null with the reason printed. */
function baselineWasm(rev) {
  if (!rev) return null;
  const dir = `/tmp/dmvpn-gcm-baseline-${rev}`;
  const out = join(dir, 'crypto.wasm');
  if (existsSync(out)) return out;
  const git = (...a) => spawnSync('git', ['-C', root, ...a], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const files = git('ls-tree', '-r', '--name-only', rev, 'wasm/assembly/crypto', 'wasm/assembly/crypto-entry.ts');
  if (files.status !== 0) { console.log(`(baseline ${rev} not in this clone's history: skipped)`); return null; }
  for (const f of files.stdout.split('\n').filter(Boolean)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), git('show', `${rev}:${f}`).stdout);
  }
  const asc = spawnSync(join(root, 'node_modules/.bin/asc'), [join(dir, 'wasm/assembly/crypto-entry.ts'), '-o', out, ...ASC_FLAGS], { encoding: 'utf8' });
  if (asc.status !== 0) { console.log(`(baseline ${rev} does not build: skipped)\n${asc.stderr}`); return null; }
  return out;
}

/** One instance of a crypto.wasm over its own memory, driving gcmSeal/gcmOpen in place. */
function wasmGcm(path) {
  const memory = new WebAssembly.Memory({ initial: 512, maximum: 4096, shared: true });
  const { exports: x } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {
    env: { memory, abort() { throw new Error('abort'); } },
  });
  const u8 = new Uint8Array(memory.buffer);
  const SCRATCH = 0x200000, CTX = 0x210000, KEY = 0x212000, NONCE = 0x212100, TAG = 0x212200, AAD = 0x213000;
  const BUF = 0x220000, SAVE = 0x240000, SAVETAG = 0x212300;
  x.cryptoSetScratch(SCRATCH);
  const gcm = (key, nonce, aad, pt) => {
    const size = pt.length;
    u8.set(key, KEY); u8.set(nonce, NONCE); u8.set(aad, AAD); u8.set(pt, BUF);
    x.gcmInit(CTX, KEY, key.length);
    const seal = () => x.gcmSeal(CTX, NONCE, AAD, AAD_LEN, BUF, size, TAG, 16);
    seal();
    u8.copyWithin(SAVE, BUF, BUF + size); u8.copyWithin(SAVETAG, TAG, TAG + 16);
    const sealed = Buffer.concat([u8.subarray(SAVE, SAVE + size), u8.subarray(SAVETAG, SAVETAG + 16)]);
    const open = () => { u8.copyWithin(BUF, SAVE, SAVE + size); return x.gcmOpen(CTX, NONCE, AAD, AAD_LEN, BUF, size, SAVETAG, 16); };
    if (open() !== 1) throw new Error(`${path}: open failed`);
    return { seal, open, sealed };
  };
  // The two halves of a seal on their own, over `size` bytes (a multiple of 128) in place: AES-CTR
  // keystream xor (aesCtr8 per 8 blocks) and GHASH (ghashBlocks over all blocks in one call).
  gcm.split = (key, size) => {
    u8.set(key, KEY); u8.set(randomBytes(12), NONCE); u8.set(randomBytes(size), BUF);
    x.gcmInit(CTX, KEY, key.length);
    const ctr = () => { for (let off = 0, c = 2; off < size; off += 128, c += 8) x.aesCtr8(CTX, NONCE, c, BUF + off, BUF + off, 1); };
    // GCM_GHASH_OFFSET is exported since 477e90a; it is AES_CTX_SIZE in every revision.
    const gk = CTX + (x.GCM_GHASH_OFFSET ?? x.AES_CTX_SIZE).value;
    const ghash = () => x.ghashBlocks(gk, TAG, BUF, size >> 4);
    return { ctr, ghash };
  };
  return gcm;
}

function opensslGcm(key, nonce, aad, pt) {
  const alg = `aes-${key.length * 8}-gcm`;
  const seal = () => {
    const c = createCipheriv(alg, key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: pt.length });
    const out = c.update(pt); c.final();
    return [out, c.getAuthTag()];
  };
  const [ct, tag] = seal();
  const open = () => {
    const d = createDecipheriv(alg, key, nonce, { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: pt.length }); d.setAuthTag(tag);
    const out = d.update(ct); d.final();
    return out;
  };
  return { seal, open, sealed: Buffer.concat([ct, tag]) };
}

/**
 * MB/s of each of fns (each processing `bytes` per call): the median of RUNS runs of
 * cpuSeconds / RUNS, the runs alternating between the functions (ours, baseline, OpenSSL, ours,
 * ...), so a change of load on the host during the cell hits all of them alike.
 */
function alternatingMedians(fns, bytes, cpuSeconds) {
  const rates = fns.map(() => []);
  for (let r = 0; r < RUNS; r++) fns.forEach((fn, i) => rates[i].push(...cpuRates(fn, bytes, cpuSeconds / RUNS, 1)));
  return rates.map(median);
}

const impls = [['ours', wasmGcm(join(root, 'wasm/build/crypto.wasm'))]];
const basePath = baselineWasm(BASE_REV);
if (basePath) impls.push([`baseline ${BASE_REV.slice(0, 7)}`, wasmGcm(basePath)]);
impls.push(['node:crypto (OpenSSL)', opensslGcm]);

console.log(`node ${process.version}; median of ${RUNS} x ${(CELL / RUNS).toFixed(2)} s CPU per cell; AAD ${AAD_LEN} B, 16-byte tag; MB/s per core`);
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)).padStart(9);
const cols = SIZES.flatMap((s) => [`seal ${s}`, `open ${s}`]);
for (const klen of [16, 32]) {
  const key = randomBytes(klen), nonce = randomBytes(12), aad = randomBytes(AAD_LEN);
  console.log(`== AES-${klen * 8}-GCM\n${'implementation'.padEnd(24)}${cols.map((c) => c.padStart(10)).join('')}`);
  const res = Object.fromEntries(impls.map(([name]) => [name, []]));
  for (const size of SIZES) {
    const pt = randomBytes(size), ref = opensslGcm(key, nonce, aad, pt).sealed;
    const cells = impls.map(([name, make]) => {
      const im = make(key, nonce, aad, pt);
      if (!im.sealed.equals(ref)) throw new Error(`${name}: AES-${klen * 8}-GCM output differs from OpenSSL at ${size} B`);
      return { name, im };
    });
    const rates = alternatingMedians(cells.flatMap((c) => [c.im.seal, c.im.open]), size, CELL);
    cells.forEach((c, i) => res[c.name].push(rates[2 * i], rates[2 * i + 1]));
  }
  for (const [name, row] of Object.entries(res)) console.log(`${name.padEnd(24)}${row.map((v) => ` ${fmt(v)}`).join('')}`);
  const ratio = (a, b) => console.log(`${`  ${a.split(' ')[0]} / ${b.split(' ')[0]}`.padEnd(24)}${res[a].map((v, i) => ` ${(v / res[b][i]).toFixed(2).padStart(9)}`).join('')}`);
  const names = Object.keys(res), ssl = names[names.length - 1];
  ratio('ours', ssl);
  if (names.length === 3) { ratio(names[1], ssl); ratio('ours', names[1]); }
}

// The bulk figure the issue quotes (0.13x OpenSSL per core): one 64 KiB message, OpenSSL with one
// cipher object (no per-packet setup), i.e. AES-NI + PCLMULQDQ at full speed.
{
  const BULK = 65536, key = randomBytes(16), nonce = randomBytes(12), aad = randomBytes(AAD_LEN), pt = randomBytes(BULK);
  const medians = alternatingMedians(impls.map(([, make]) => make(key, nonce, aad, pt).seal), BULK, CELL);
  const rates = impls.map(([name], i) => [name, medians[i]]);
  const ssl = rates[rates.length - 1][1];
  console.log(`bulk 64 KiB AES-128-GCM seal: ${rates.map(([n, r]) => `${n.split(' ')[0]} ${fmt(r).trim()}`).join(', ')} MB/s;` +
    ` ${rates.slice(0, -1).map(([n, r]) => `${n.split(' ')[0]}/OpenSSL ${(r / ssl).toFixed(2)}`).join(', ')}`);
}

// Where the time goes: AES-CTR alone and GHASH alone (AES-128, 1408 B = 11 x 128 in place), per
// wasm implementation; a seal costs about 1 / (1/ctr + 1/ghash).
{
  const SPLIT = 1408, key = randomBytes(16);
  const wasm = impls.slice(0, -1);
  const rates = alternatingMedians(wasm.flatMap(([, make]) => { const { ctr, ghash } = make.split(key, SPLIT); return [ctr, ghash]; }), SPLIT, CELL);
  const row = wasm.map(([name], i) => `${name.split(' ')[0]} AES-128-CTR ${fmt(rates[2 * i]).trim()}, GHASH ${fmt(rates[2 * i + 1]).trim()}`);
  console.log(`split at ${SPLIT} B (MB/s): ${row.join('; ')}`);
}
