// Benchmark of the ESP cipher primitives: our AssemblyScript/WebAssembly code (constant time) vs
// node:crypto (OpenSSL, one cipher object per packet, the realistic per-packet way) vs
// @noble/ciphers (pure JS). Prints seal/open MB/s at 64, 512 and 1400-byte packets and the ratio
// ours/OpenSSL. Asserts nothing. Run: node bench/crypto.mjs [CPU-seconds per cell, default 0.45]
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { gcm } from '@noble/ciphers/aes.js';
import { cpuRates, best } from './lib/cpu-rate.mjs';

const CELL = Number(process.argv[2] ?? 0.45);
const SIZES = [64, 512, 1400];
const AAD_LEN = 8; // SPI || seq

function findWasm() {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'wasm', 'build', 'crypto.wasm');
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) throw new Error('wasm/build/crypto.wasm not found (make wasm/build/crypto.wasm)');
    dir = up;
  }
}
const memory = new WebAssembly.Memory({ initial: 512, maximum: 4096, shared: true });
const { exports: x } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(findWasm())), {
  env: { memory, abort() { throw new Error('abort'); } },
});
const u8 = new Uint8Array(memory.buffer);
const SCRATCH = 0x200000, CTX = 0x210000, KEY = 0x212000, NONCE = 0x212100, TAG = 0x212200, AAD = 0x213000;
const BUF = 0x220000, SAVE = 0x240000, SAVETAG = 0x212300;
x.cryptoSetScratch(SCRATCH);

// Best of 3 runs of CELL/3 CPU-seconds each, after a warm-up.
const rate = (fn, bytes) => best(cpuRates(fn, bytes, CELL, 3));

const key32 = randomBytes(32), key16 = randomBytes(16), nonce = randomBytes(12), aad = randomBytes(AAD_LEN);

// ---- ours ----
function oursChaCha(size, simd) {
  u8.set(key32, KEY); u8.set(nonce, NONCE); u8.set(aad, AAD); u8.set(randomBytes(size), BUF);
  x.chachaPolyInit(CTX, KEY);
  const seal = () => x.chachaPolySeal(CTX, NONCE, AAD, AAD_LEN, BUF, size, TAG, simd);
  seal();
  u8.copyWithin(SAVE, BUF, BUF + size); u8.copyWithin(SAVETAG, TAG, TAG + 16);
  const open = () => { u8.copyWithin(BUF, SAVE, SAVE + size); return x.chachaPolyOpen(CTX, NONCE, AAD, AAD_LEN, BUF, size, SAVETAG, simd); };
  if (open() !== 1) throw new Error('chacha open failed');
  return { seal, open };
}
function oursGcm(size, key) {
  u8.set(key, KEY); u8.set(nonce, NONCE); u8.set(aad, AAD); u8.set(randomBytes(size), BUF);
  x.gcmInit(CTX, KEY, key.length);
  const seal = () => x.gcmSeal(CTX, NONCE, AAD, AAD_LEN, BUF, size, TAG, 16);
  seal();
  u8.copyWithin(SAVE, BUF, BUF + size); u8.copyWithin(SAVETAG, TAG, TAG + 16);
  const open = () => { u8.copyWithin(BUF, SAVE, SAVE + size); return x.gcmOpen(CTX, NONCE, AAD, AAD_LEN, BUF, size, SAVETAG, 16); };
  if (open() !== 1) throw new Error('gcm open failed');
  return { seal, open };
}
function oursCbcHmac(size) {
  // ESP AES-128-CBC + HMAC-SHA-256-128: encrypt-then-MAC over hdr || iv || ct
  const plen = (size + 15) & ~15;
  u8.set(key16, KEY); u8.set(randomBytes(plen + 24), BUF - 24);
  x.aesInit(CTX, KEY, 16);
  const HM = CTX + 4096;
  u8.set(key32, KEY + 64); x.hmacSha256Init(HM, KEY + 64, 32);
  const seal = () => { x.aesCbcEncrypt(CTX, BUF - 16, BUF, plen); x.hmacSha256(HM, BUF - 24, plen + 24, TAG); };
  seal();
  u8.copyWithin(SAVE, BUF - 24, BUF + plen); u8.copyWithin(SAVETAG, TAG, TAG + 16);
  const open = () => {
    u8.copyWithin(BUF - 24, SAVE, SAVE + plen + 24);
    const ok = x.hmacSha256Verify(HM, BUF - 24, plen + 24, SAVETAG, 16);
    x.aesCbcDecrypt(CTX, BUF - 16, BUF, plen);
    return ok;
  };
  if (open() !== 1) throw new Error('cbc open failed');
  return { seal, open };
}

// ---- OpenSSL via node:crypto ----
function sslAead(alg, key, size) {
  const pt = randomBytes(size);
  const seal = () => {
    const c = createCipheriv(alg, key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: size });
    const out = c.update(pt); c.final();
    return [out, c.getAuthTag()];
  };
  const [ct, tag] = seal();
  const open = () => {
    const d = createDecipheriv(alg, key, nonce, { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: size }); d.setAuthTag(tag);
    const out = d.update(ct); d.final();
    return out;
  };
  open();
  return { seal, open };
}

// ---- noble ----
function nobleAead(make, key, size) {
  const pt = randomBytes(size);
  const seal = () => make(key, nonce, aad).encrypt(pt);
  const sealed = seal();
  const open = () => make(key, nonce, aad).decrypt(sealed);
  open();
  return { seal, open };
}

const rows = [];
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)).padStart(7);
function bench(name, mk) {
  const r = { name };
  for (const s of SIZES) {
    const impl = mk(s);
    r[`seal${s}`] = rate(impl.seal, s);
    r[`open${s}`] = rate(impl.open, s);
  }
  rows.push(r);
  return r;
}

console.log(`node ${process.version}, best of 3 x ${(CELL / 3).toFixed(2)} s CPU time per cell, AAD ${AAD_LEN} B; MB/s = 1e6 payload bytes per CPU-second, one thread\n`);
const groups = [
  ['ChaCha20-Poly1305', [
    ['ours WASM SIMD', (s) => oursChaCha(s, 1)],
    ['ours WASM scalar', (s) => oursChaCha(s, 0)],
    ['node:crypto (OpenSSL)', (s) => sslAead('chacha20-poly1305', key32, s)],
    ['@noble/ciphers', (s) => nobleAead(chacha20poly1305, key32, s)],
  ]],
  ['AES-128-GCM', [
    ['ours WASM (bitsliced, CT)', (s) => oursGcm(s, key16)],
    ['node:crypto (OpenSSL)', (s) => sslAead('aes-128-gcm', key16, s)],
    ['@noble/ciphers', (s) => nobleAead(gcm, key16, s)],
  ]],
  ['AES-256-GCM', [
    ['ours WASM (bitsliced, CT)', (s) => oursGcm(s, key32)],
    ['node:crypto (OpenSSL)', (s) => sslAead('aes-256-gcm', key32, s)],
    ['@noble/ciphers', (s) => nobleAead(gcm, key32, s)],
  ]],
  ['AES-128-CBC + HMAC-SHA-256-128', [
    ['ours WASM', (s) => oursCbcHmac(s)],
  ]],
];
const head = ['implementation'.padEnd(28), ...SIZES.flatMap((s) => [`seal ${s}`.padStart(9), `open ${s}`.padStart(9)])].join(' ');
for (const [gname, impls] of groups) {
  console.log(`== ${gname}\n${head}`);
  const res = impls.map(([n, mk]) => {
    const r = bench(n, mk);
    console.log([n.padEnd(28), ...SIZES.flatMap((s) => [fmt(r[`seal${s}`]).padStart(9), fmt(r[`open${s}`]).padStart(9)])].join(' '));
    return r;
  });
  const ssl = res.find((r) => r.name.startsWith('node:crypto'));
  if (ssl) {
    for (const r of res.filter((r) => r.name.startsWith('ours'))) {
      console.log([`  ratio ${r.name.startsWith('ours WASM S') ? 'SIMD' : r.name.startsWith('ours WASM s') ? 'scalar' : 'ours'}/OpenSSL`.padEnd(28),
        ...SIZES.flatMap((s) => [(r[`seal${s}`] / ssl[`seal${s}`]).toFixed(2).padStart(9), (r[`open${s}`] / ssl[`open${s}`]).toFixed(2).padStart(9)])].join(' '));
    }
  }
  console.log('');
}

// Bulk reference: OpenSSL with one cipher object over 64 KiB (no per-packet setup) vs ours on 64 KiB
const BULK = 65536;
{
  const pt = randomBytes(BULK);
  const c1 = rate(() => { const c = createCipheriv('chacha20-poly1305', key32, nonce, { authTagLength: 16 }); c.update(pt); c.final(); }, BULK);
  const c2 = rate(() => { const c = createCipheriv('aes-128-gcm', key16, nonce); c.update(pt); c.final(); }, BULK);
  u8.set(pt, BUF);
  const o1 = rate(() => x.chachaPolySeal(CTX, NONCE, AAD, 0, BUF, BULK, TAG, 1), BULK);
  x.gcmInit(CTX + 8192, KEY, 16);
  const o2 = rate(() => x.gcmSeal(CTX + 8192, NONCE, AAD, 0, BUF, BULK, TAG, 16), BULK);
  x.chachaPolyInit(CTX, KEY);
  console.log(`bulk 64 KiB seal: ChaCha20-Poly1305 ours ${fmt(o1)} / OpenSSL ${fmt(c1)} = ${(o1 / c1).toFixed(2)};` +
    ` AES-128-GCM ours ${fmt(o2)} / OpenSSL ${fmt(c2)} = ${(o2 / c2).toFixed(2)}`);
}
