// SHA-1/SHA-256, HMAC (RFC 2202, RFC 4231), constant-time compare, and AES-CBC + HMAC as ESP
// uses them (encrypt-then-MAC over SPI || seq || IV || ciphertext), cross-checked with node:crypto.
import t from 'tap';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { WasmCrypto } from './util/wasm-crypto.js';

const h = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const fill = (n: number, b: number) => new Uint8Array(n).fill(b);
const wc = WasmCrypto.load();

t.test('SHA-1 / SHA-256 FIPS 180 examples and lengths 0..300 vs node:crypto', async (t) => {
  t.equal(hex(wc.sha1(ascii('abc'))), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  t.equal(hex(wc.sha256(ascii('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.equal(hex(wc.sha256(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  let bad = 0;
  for (let len = 0; len <= 300; len++) {
    const m = randomBytes(len);
    if (hex(wc.sha1(m)) !== createHash('sha1').update(m).digest('hex')) bad++;
    if (hex(wc.sha256(m)) !== createHash('sha256').update(m).digest('hex')) bad++;
  }
  t.equal(bad, 0, 'digest mismatches');
});

t.test('RFC 2202 HMAC-SHA1 test cases 1-7 (and HMAC-SHA1-96)', async (t) => {
  const k4 = Uint8Array.from({ length: 25 }, (_, i) => i + 1);
  const cases: [Uint8Array, Uint8Array, string][] = [
    [fill(20, 0x0b), ascii('Hi There'), 'b617318655057264e28bc0b6fb378c8ef146be00'],
    [ascii('Jefe'), ascii('what do ya want for nothing?'), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79'],
    [fill(20, 0xaa), fill(50, 0xdd), '125d7342b9ac11cd91a39af48aa17b4f63f175d3'],
    [k4, fill(50, 0xcd), '4c9007f4026250c6bc8414f9bf50c86c2d7235da'],
    [fill(20, 0x0c), ascii('Test With Truncation'), '4c1a03424b55e07fe7f27be1d58bb9324a9a5a04'],
    [fill(80, 0xaa), ascii('Test Using Larger Than Block-Size Key - Hash Key First'), 'aa4ae5e15272d00e95705637ce8a3b55ed402112'],
    [fill(80, 0xaa), ascii('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'), 'e8e99d0f45237d786d6bbaa7965c7808bbff1a91'],
  ];
  cases.forEach(([k, m, d], i) => t.equal(hex(wc.hmacSha1(k, m)), d, `case ${i + 1}`));
  t.ok(wc.hmacVerify('sha1', fill(20, 0x0c), ascii('Test With Truncation'), h('4c1a03424b55e07fe7f27be1')), 'case 5 HMAC-SHA1-96 verifies');
  t.notOk(wc.hmacVerify('sha1', fill(20, 0x0c), ascii('Test With Truncation'), h('4c1a03424b55e07fe7f27be0')), 'flipped bit rejected');
});

t.test('RFC 4231 HMAC-SHA-256 test cases 1-7 (case 5 truncated to 128 bits)', async (t) => {
  const k4 = Uint8Array.from({ length: 25 }, (_, i) => i + 1);
  const cases: [Uint8Array, Uint8Array, string][] = [
    [fill(20, 0x0b), ascii('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    [ascii('Jefe'), ascii('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    [fill(20, 0xaa), fill(50, 0xdd), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
    [k4, fill(50, 0xcd), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
    [fill(131, 0xaa), ascii('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
    [fill(131, 0xaa), ascii('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'],
  ];
  cases.forEach(([k, m, d], i) => t.equal(hex(wc.hmacSha256(k, m)), d, `case ${i < 4 ? i + 1 : i + 2}`));
  // Test case 5: truncation to 128 bits (HMAC-SHA-256-128 as in RFC 4868)
  t.equal(hex(wc.hmacSha256(fill(20, 0x0c), ascii('Test With Truncation')).subarray(0, 16)), 'a3b6167473100ee06e0c796c2955552b', 'case 5');
  t.ok(wc.hmacVerify('sha256', fill(20, 0x0c), ascii('Test With Truncation'), h('a3b6167473100ee06e0c796c2955552b')), 'case 5 verifies at 16 bytes');
  t.notOk(wc.hmacVerify('sha256', fill(20, 0x0c), ascii('Test With Truncation'), h('a3b6167473100ee06e0c796c2955552a')), 'flipped bit rejected');
});

t.test('constant-time compare', async (t) => {
  const a = randomBytes(37);
  t.ok(wc.ctEqual(a, Uint8Array.from(a)));
  let missed = 0;
  for (let i = 0; i < a.length * 8; i++) {
    const b = Uint8Array.from(a); b[i >> 3] ^= 1 << (i & 7);
    if (wc.ctEqual(a, b)) missed++;
  }
  t.equal(missed, 0, 'single-bit differences reported equal');
  t.ok(wc.ctEqual(new Uint8Array(0), new Uint8Array(0)));
});

t.test('ESP AES-CBC + HMAC (SHA1-96, SHA-256-128) vs node:crypto, lengths 0..2000, tamper', async (t) => {
  let bad = 0, forged = 0;
  for (const [alg, icv] of [['sha1', 12], ['sha256', 16]] as const) {
    for (const klen of [16, 32]) {
      for (let len = 0; len <= 2000; len += alg === 'sha1' ? 1 : 3) {
        const ekey = randomBytes(klen), akey = randomBytes(alg === 'sha1' ? 20 : 32), iv = randomBytes(16);
        const hdr = randomBytes(8); // SPI || seq
        const plen = (len + 2 + 15) & ~15; // ESP pad to the block size (payload || pad || padlen || nh)
        const pt = randomBytes(plen);
        const ct = wc.cbcEncrypt(ekey, iv, pt);
        const e = createCipheriv(`aes-${klen * 8}-cbc`, ekey, iv).setAutoPadding(false);
        const refCt = Buffer.concat([e.update(pt), e.final()]);
        if (Buffer.compare(Buffer.from(ct), refCt) !== 0) bad++;
        const authed = Buffer.concat([hdr, iv, refCt]);
        const ours = alg === 'sha1' ? wc.hmacSha1(akey, authed) : wc.hmacSha256(akey, authed);
        const ref = createHmac(alg, akey).update(authed).digest();
        if (Buffer.compare(Buffer.from(ours), ref) !== 0) bad++;
        if (!wc.hmacVerify(alg, akey, authed, ref.subarray(0, icv))) bad++;
        const tampered = Buffer.from(authed); tampered[len % tampered.length] ^= 1 << (len % 8);
        if (wc.hmacVerify(alg, akey, tampered, ref.subarray(0, icv))) forged++;
        if (hex(wc.cbcDecrypt(ekey, iv, refCt)) !== hex(pt)) bad++;
      }
    }
  }
  t.equal(bad, 0, 'mismatches');
  t.equal(forged, 0, 'tampered packets accepted');
});

t.test('HMAC verify refuses empty or over-long tags', async (t) => {
  const key = randomBytes(20), msg = randomBytes(50);
  t.notOk(wc.hmacVerify('sha1', key, msg, new Uint8Array(0)), 'empty SHA1 tag');
  t.notOk(wc.hmacVerify('sha256', key, msg, new Uint8Array(0)), 'empty SHA-256 tag');
  const full1 = wc.hmacSha1(key, msg);
  t.notOk(wc.hmacVerify('sha1', key, msg, Uint8Array.from([...full1, 0])), '21-byte SHA1 tag');
  t.ok(wc.hmacVerify('sha1', key, msg, full1), 'full SHA1 tag');
});
