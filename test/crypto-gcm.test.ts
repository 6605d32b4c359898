// AES-GCM (RFC 4106 profile: 12-byte nonce, tags of 8/12/16 bytes) on the bitsliced AES and the
// constant-time GHASH: McGrew-Viega / SP 800-38D test cases, node:crypto cross-checks on every
// length 0..2000 and on long AAD and 64 KiB messages, tag truncation, tamper detection, and GHASH
// alone against its bit-serial definition (random and extreme keys and data), and what a call
// leaves in scratch.
import t from 'tap';
import { createCipheriv, randomBytes } from 'node:crypto';
import { WasmCrypto, LAYOUT } from './util/wasm-crypto.js';

const h = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const wc = WasmCrypto.load();

function refSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array, tagLen = 16): Buffer {
  const c = createCipheriv(`aes-${key.length * 8}-gcm` as 'aes-128-gcm', key, nonce);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(pt), c.final()]);
  return Buffer.concat([ct, c.getAuthTag().subarray(0, tagLen)]);
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases with 96-bit IVs
// (cases 5/6 and 17/18 use 64- and 480-bit IVs, which ESP never does and this API does not take).
const K3 = 'feffe9928665731c6d6a8f9467308308';
const IV3 = 'cafebabefacedbaddecaf888';
const P3 = 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
  '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
const P4 = P3.slice(0, 120);
const A4 = 'feedfacedeadbeeffeedfacedeadbeefabaddad2';
const C3 = '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e' +
  '21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985';
const C15 = '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
  '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad';
const CASES: [string, string, string, string, string, string, string][] = [
  ['1', '00'.repeat(16), '00'.repeat(12), '', '', '', '58e2fccefa7e3061367f1d57a4e7455a'],
  ['2', '00'.repeat(16), '00'.repeat(12), '00'.repeat(16), '', '0388dace60b6a392f328c2b971b2fe78', 'ab6e47d42cec13bdf53a67b21257bddf'],
  ['3', K3, IV3, P3, '', C3, '4d5c2af327cd64a62cf35abd2ba6fab4'],
  ['4', K3, IV3, P4, A4, C3.slice(0, 120), '5bc94fbc3221a5db94fae95ae7121a47'],
  ['13', '00'.repeat(32), '00'.repeat(12), '', '', '', '530f8afbc74536b9a963b4f1c4cb738b'],
  ['14', '00'.repeat(32), '00'.repeat(12), '00'.repeat(16), '', 'cea7403d4d606b6e074ec5d3baf39d18', 'd0d1c8a799996bf0265b98b5d48ab919'],
  ['15', K3 + K3, IV3, P3, '', C15, 'b094dac5d93471bdec1a502270e3cc6c'],
  ['16', K3 + K3, IV3, P4, A4, C15.slice(0, 120), '76fc6ece0f4e1768cddf8853bb2d551b'],
];

t.test('GCM spec test cases 1-4 (AES-128) and 13-16 (AES-256)', async (t) => {
  for (const [name, k, iv, p, a, c, tag] of CASES) {
    const out = wc.sealGcm(h(k), h(iv), h(a), h(p));
    t.equal(hex(out), c + tag, `test case ${name} seal`);
    const back = wc.openGcm(h(k), h(iv), h(a), out);
    t.equal(back && hex(back), p, `test case ${name} open`);
    // RFC 4106 truncated ICVs are the leading bytes of the full tag
    t.equal(hex(wc.sealGcm(h(k), h(iv), h(a), h(p), 8)), c + tag.slice(0, 16), `test case ${name} tag 8`);
    t.equal(hex(wc.sealGcm(h(k), h(iv), h(a), h(p), 12)), c + tag.slice(0, 24), `test case ${name} tag 12`);
  }
});

t.test('cross-check vs node:crypto: every length 0..2000, AES-128/256, AAD 0/8/12/16/20', async (t) => {
  const aads = [0, 8, 12, 16, 20];
  for (const klen of [16, 32]) {
    let bad = 0;
    for (let len = 0; len <= 2000; len++) {
      const aadLen = aads[len % 5];
      const key = randomBytes(klen), nonce = randomBytes(12), aad = randomBytes(aadLen), pt = randomBytes(len);
      const ref = refSeal(key, nonce, aad, pt);
      if (Buffer.compare(Buffer.from(wc.sealGcm(key, nonce, aad, pt)), ref) !== 0) bad++;
      const back = wc.openGcm(key, nonce, aad, ref);
      if (!back || Buffer.compare(Buffer.from(back), pt) !== 0) bad++;
    }
    t.equal(bad, 0, `AES-${klen * 8}-GCM mismatches`);
  }
});

t.test('cross-check all AAD lengths on a length sweep, and truncated tags 8/12', async (t) => {
  let bad = 0;
  for (const klen of [16, 32]) {
    for (const aadLen of [0, 8, 12, 16, 20]) {
      for (let len = 0; len <= 2000; len += 1 + ((len * 7) % 23)) {
        const key = randomBytes(klen), nonce = randomBytes(12), aad = randomBytes(aadLen), pt = randomBytes(len);
        for (const tagLen of [8, 12, 16]) {
          const ref = refSeal(key, nonce, aad, pt, tagLen);
          if (Buffer.compare(Buffer.from(wc.sealGcm(key, nonce, aad, pt, tagLen)), ref) !== 0) bad++;
          const back = wc.openGcm(key, nonce, aad, ref, tagLen);
          if (!back || Buffer.compare(Buffer.from(back), pt) !== 0) bad++;
        }
      }
    }
  }
  t.equal(bad, 0, 'mismatches');
});

t.test('tamper: one flipped bit in ciphertext, tag or AAD -> reject, buffer wiped', async (t) => {
  let accepted = 0, leaked = 0, trials = 0;
  for (const tagLen of [8, 12, 16]) {
    for (let i = 0; i < 400; i++) {
      const len = 1 + ((i * 53) % 1500), aadLen = [8, 12, 16, 20][i % 4];
      const key = randomBytes(i % 2 ? 32 : 16), nonce = randomBytes(12), aad = randomBytes(aadLen), pt = randomBytes(len);
      const sealed = wc.sealGcm(key, nonce, aad, pt, tagLen);
      const ct = Uint8Array.from(sealed), a = Uint8Array.from(aad);
      const where = i % 3;
      if (where === 0) ct[(i * 11) % len] ^= 1 << (i % 8);
      else if (where === 1) ct[len + (i % tagLen)] ^= 1 << (i % 8);
      else a[i % aadLen] ^= 1 << (i % 8);
      trials++;
      if (wc.openGcm(key, nonce, a, ct, tagLen) !== null) accepted++;
      if (wc.get(LAYOUT.buf, len).some((b) => b !== 0)) leaked++;
    }
  }
  t.equal(accepted, 0, `forgeries accepted out of ${trials}`);
  t.equal(leaked, 0, 'rejected opens that left bytes in the buffer');
});

t.test('tag lengths other than 8/12/16 are refused', async (t) => {
  const key = randomBytes(16), nonce = randomBytes(12), pt = randomBytes(40);
  t.throws(() => wc.sealGcm(key, nonce, new Uint8Array(0), pt, 4), 'seal with tagLen 4');
  const sealed = wc.sealGcm(key, nonce, new Uint8Array(0), pt, 16);
  for (const bad of [0, 1, 4, 15]) {
    t.equal(wc.openGcm(key, nonce, new Uint8Array(0), sealed.subarray(0, 40 + bad), bad), null, `open with tagLen ${bad}`);
  }
});

// GHASH alone against the bit-serial definition (SP 800-38D, Algorithm 1), for every block count
// 1..13 in one ghashBlocks call: groups of 4 in the SIMD lanes (H^4..H^1), the last 1-3 blocks on
// the scalar path in groups of at most 2 (H^2, H^1).
function gfMul(x: bigint, y: bigint): bigint {
  const R = 0xe1n << 120n;
  let z = 0n, v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}
const big = (b: Uint8Array) => BigInt('0x' + (hex(b) || '0'));

t.test('ghashBlocks equals the bit-serial GHASH for 1..13 blocks per call (aggregated groups)', async (t) => {
  const L = LAYOUT, gk = L.ctx + wc.consts.GCM_GHASH_OFFSET, y = L.aux;
  t.ok(gk > L.ctx, 'GCM_GHASH_OFFSET exported');
  let bad = 0;
  for (let trial = 0; trial < 20; trial++) {
    const key = randomBytes(trial % 2 ? 32 : 16);
    wc.put(L.key, key);
    wc.x.gcmInit(L.ctx, L.key, key.length);
    const c = createCipheriv(`aes-${key.length * 8}-ecb` as 'aes-128-ecb', key, null);
    const hKey = big(c.update(Buffer.alloc(16)));
    for (let n = 1; n <= 13; n++) {
      const y0 = randomBytes(16), m = randomBytes(16 * n);
      let want = big(y0);
      for (let i = 0; i < n; i++) want = gfMul(want ^ big(m.subarray(16 * i, 16 * i + 16)), hKey);
      // Y is kept as two native u64 holding the big-endian values of its two halves
      const dv = new DataView(wc.memory.buffer);
      dv.setBigUint64(y, y0.readBigUInt64BE(0), true); dv.setBigUint64(y + 8, y0.readBigUInt64BE(8), true);
      wc.put(L.buf, m);
      wc.x.ghashBlocks(gk, y, L.buf, n);
      const got = (dv.getBigUint64(y, true) << 64n) | dv.getBigUint64(y + 8, true);
      if (got !== want) bad++;
    }
  }
  t.equal(bad, 0, 'GHASH mismatches out of 260');
});

// The masked multiplies' carries must never reach a kept bit, whatever the operands: chosen hash
// keys (all ones, one bit, alternating) against chosen data (all ones, all zeros but one bit,
// alternating) and random data, through ghashInit directly, for 1..21 blocks per call (groups of 4
// in the SIMD lanes, 0-3 left for the scalar path).
t.test('ghashBlocks with extreme keys and data equals the bit-serial GHASH', async (t) => {
  const L = LAYOUT, gk = L.ctx + wc.consts.GCM_GHASH_OFFSET, y = L.aux, hp = L.key, tmp = L.tag;
  const keys = ['ff'.repeat(16), '80' + '00'.repeat(15), '00'.repeat(15) + '01', 'aa'.repeat(16), '55'.repeat(16), 'ff'.repeat(8) + '00'.repeat(8)];
  const fills = [(n: number) => Buffer.alloc(16 * n, 0xff), (n: number) => { const b = Buffer.alloc(16 * n); b[16 * n - 1] = 1; return b; },
    (n: number) => Buffer.alloc(16 * n, 0xa5), (n: number) => randomBytes(16 * n)];
  const dv = new DataView(wc.memory.buffer);
  let bad = 0, runs = 0;
  for (const k of keys) {
    const hKey = BigInt('0x' + k);
    wc.put(hp, h(k));
    wc.x.ghashInit(gk, hp, tmp);
    for (const fill of fills) {
      for (let n = 1; n <= 21; n++) {
        const y0 = n % 2 ? Buffer.alloc(16, 0xff) : randomBytes(16), m = fill(n);
        let want = big(y0);
        for (let i = 0; i < n; i++) want = gfMul(want ^ big(m.subarray(16 * i, 16 * i + 16)), hKey);
        dv.setBigUint64(y, y0.readBigUInt64BE(0), true); dv.setBigUint64(y + 8, y0.readBigUInt64BE(8), true);
        wc.put(L.buf, m);
        wc.x.ghashBlocks(gk, y, L.buf, n);
        if (((dv.getBigUint64(y, true) << 64n) | dv.getBigUint64(y + 8, true)) !== want) bad++;
        runs++;
      }
    }
  }
  t.equal(runs, 6 * 4 * 21);
  t.equal(bad, 0, 'GHASH mismatches');
});

t.test('cross-check vs node:crypto: long AAD (SIMD GHASH path) and messages up to 64 KiB', async (t) => {
  let bad = 0, n = 0;
  for (const klen of [16, 32]) {
    for (const aadLen of [63, 64, 65, 127, 300]) {
      for (const len of [0, 15, 64, 65, 1420, 4096 + 7, 65536, 65536 - 1]) {
        const key = randomBytes(klen), nonce = randomBytes(12), aad = randomBytes(aadLen), pt = randomBytes(len);
        const want = refSeal(key, nonce, aad, pt);
        if (Buffer.compare(Buffer.from(wc.sealGcm(key, nonce, aad, pt)), want) !== 0) bad++;
        const back = wc.openGcm(key, nonce, aad, want);
        if (!back || Buffer.compare(Buffer.from(back), pt) !== 0) bad++;
        n++;
      }
    }
  }
  t.equal(n, 80);
  t.equal(bad, 0, 'mismatches');
});

// What a call leaves in the per-worker scratch must not depend on the key or the data: the
// keystream, the GHASH SIMD path's word products and the GHASH value (from which, with the known
// AAD and ciphertext, H can be solved for) are wiped on every path, a rejected open included.
// Two runs with different keys and data must leave the same scratch bytes behind.
t.test('seal, open and a rejected open leave no key- or data-dependent byte in scratch', async (t) => {
  const S = LAYOUT.scratch, size = wc.consts.CRYPTO_SCRATCH_SIZE;
  const after = (klen: number, aadLen: number, len: number, tagLen: number, what: 'seal' | 'open' | 'reject') => {
    const key = randomBytes(klen), nonce = randomBytes(12), aad = randomBytes(aadLen), pt = randomBytes(len);
    const sealed = refSeal(key, nonce, aad, pt, tagLen);
    if (what === 'reject') sealed[sealed.length - 1] ^= 1;
    wc.u8.fill(0, S, S + size);
    if (what === 'seal') wc.sealGcm(key, nonce, aad, pt, tagLen);
    else if ((wc.openGcm(key, nonce, aad, sealed, tagLen) === null) !== (what === 'reject')) throw new Error(`${what} went the wrong way`);
    return Buffer.from(wc.get(S, size));
  };
  t.ok(size >= 4096, 'CRYPTO_SCRATCH_SIZE exported');
  let differ = 0, n = 0;
  for (const klen of [16, 32]) {
    for (const [aadLen, len] of [[8, 1420], [64, 64], [300, 0], [12, 17]]) {
      for (const tagLen of [8, 16]) {
        for (const what of ['seal', 'open', 'reject'] as const) {
          const a = after(klen, aadLen, len, tagLen, what), b = after(klen, aadLen, len, tagLen, what);
          if (!a.equals(b)) { differ++; t.comment(`${what} AES-${klen * 8} AAD ${aadLen} len ${len}: bytes ${[...a.keys()].filter((i) => a[i] !== b[i]).slice(0, 8).join(', ')}...`); }
          n++;
        }
      }
    }
  }
  t.equal(n, 48);
  t.equal(differ, 0, 'calls whose scratch depended on key or data');
});
