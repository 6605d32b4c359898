// Memory discipline of crypto.wasm: imports only env.memory (+ abort), writes nothing outside
// its static data (< 1 MiB) and the areas it is handed (scratch, contexts, buffers), and exports
// the documented context sizes.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { findCryptoWasm } from './util/wasm-crypto.js';

const mod = new WebAssembly.Module(readFileSync(findCryptoWasm()));

t.test('imports: shared memory from env, nothing else but abort', async (t) => {
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`);
  t.ok(imports.includes('env.memory:memory'), 'imports env.memory');
  t.same(imports.filter((i) => i !== 'env.memory:memory' && i !== 'env.abort:function'), [], 'no other imports');
});

t.test('static data below 1 MiB; no writes outside the given areas', async (t) => {
  const memory = new WebAssembly.Memory({ initial: 512, maximum: 4096, shared: true });
  const u8 = new Uint8Array(memory.buffer);
  const CANARY = 0xa5;
  // Everything from 1 MiB up is canary except the areas we hand out below.
  u8.fill(CANARY, 0x100000);
  const x = new WebAssembly.Instance(mod, { env: { memory, abort() { throw new Error('abort'); } } }).exports as any;
  let dirty = 0;
  for (let i = 0x100000; i < u8.length; i++) if (u8[i] !== CANARY) { dirty++; }
  t.equal(dirty, 0, 'instantiation wrote nothing at or above 1 MiB');

  const SCRATCH = 0x200000, CTX = 0x201000, KEY = 0x204000, NONCE = 0x204100, TAG = 0x204200, AAD = 0x204300, BUF = 0x205000;
  const used: [number, number][] = [[SCRATCH, x.CRYPTO_SCRATCH_SIZE.value], [CTX, 0x3000], [KEY, 64], [NONCE, 16], [TAG, 32], [AAD, 32], [BUF, 2048]];
  for (const [a, n] of used) u8.fill(0, a, a + n);
  x.cryptoSetScratch(SCRATCH);
  u8.set(randomBytes(32), KEY); u8.set(randomBytes(12), NONCE); u8.set(randomBytes(20), AAD); u8.set(randomBytes(2000), BUF);
  for (const simd of [0, 1]) {
    x.chachaPolyInit(CTX, KEY);
    x.chachaPolySeal(CTX, NONCE, AAD, 20, BUF, 2000, TAG, simd);
    t.equal(x.chachaPolyOpen(CTX, NONCE, AAD, 20, BUF, 2000, TAG, simd), 1);
  }
  for (const klen of [16, 32]) {
    x.gcmInit(CTX, KEY, klen);
    x.gcmSeal(CTX, NONCE, AAD, 20, BUF, 2000, TAG, 16);
    t.equal(x.gcmOpen(CTX, NONCE, AAD, 20, BUF, 2000, TAG, 16), 1);
    x.aesInit(CTX, KEY, klen);
    x.aesCbcEncrypt(CTX, NONCE, BUF, 2000 & ~15);
    x.aesCbcDecrypt(CTX, NONCE, BUF, 2000 & ~15);
  }
  x.hmacSha256Init(CTX, KEY, 32); x.hmacSha256(CTX, BUF, 2000, TAG);
  x.hmacSha1Init(CTX, KEY, 20); x.hmacSha1(CTX, BUF, 2000, TAG);
  const inUse = (i: number) => used.some(([a, n]) => i >= a && i < a + n);
  dirty = 0;
  for (let i = 0x100000; i < u8.length; i++) if (!inUse(i) && u8[i] !== CANARY) dirty++;
  t.equal(dirty, 0, 'no byte outside scratch/contexts/buffers changed');
  const ctxEnd = Math.max(x.GCM_CTX_SIZE.value, x.AES_CTX_SIZE.value);
  t.ok(ctxEnd <= 0x3000, 'contexts fit the area given');
});

t.test('documented sizes', async (t) => {
  const memory = new WebAssembly.Memory({ initial: 512, maximum: 4096, shared: true });
  const x = new WebAssembly.Instance(mod, { env: { memory, abort() {} } }).exports as any;
  t.same({
    CRYPTO_SCRATCH_SIZE: x.CRYPTO_SCRATCH_SIZE.value, CHACHAPOLY_CTX_SIZE: x.CHACHAPOLY_CTX_SIZE.value,
    AES_CTX_SIZE: x.AES_CTX_SIZE.value, GHASH_KEY_SIZE: x.GHASH_KEY_SIZE.value, GCM_CTX_SIZE: x.GCM_CTX_SIZE.value,
    POLY1305_STATE_SIZE: x.POLY1305_STATE_SIZE.value, HMAC_SHA1_CTX_SIZE: x.HMAC_SHA1_CTX_SIZE.value,
    HMAC_SHA256_CTX_SIZE: x.HMAC_SHA256_CTX_SIZE.value,
  }, {
    CRYPTO_SCRATCH_SIZE: 4096, CHACHAPOLY_CTX_SIZE: 32, AES_CTX_SIZE: 1936, GHASH_KEY_SIZE: 784, GCM_CTX_SIZE: 2720,
    POLY1305_STATE_SIZE: 96, HMAC_SHA1_CTX_SIZE: 40, HMAC_SHA256_CTX_SIZE: 64,
  });
});
