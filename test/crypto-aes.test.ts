// AES block cipher (bitsliced, constant time): S-box circuit vs a reference S-box computed here,
// FIPS-197 vectors, NIST SP 800-38A CBC vectors, and random cross-checks against node:crypto.
import t from 'tap';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { WasmCrypto } from './util/wasm-crypto.js';

const h = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const wc = WasmCrypto.load();

// Reference S-box from the definition: multiplicative inverse in GF(2^8) then the affine map.
function gmul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    const hi = a & 0x80;
    a = (a << 1) & 0xff;
    if (hi) a ^= 0x1b;
    b >>= 1;
  }
  return p;
}
const SBOX = new Uint8Array(256);
for (let x = 0; x < 256; x++) {
  let inv = 0;
  if (x) for (let y = 1; y < 256; y++) if (gmul(x, y) === 1) { inv = y; break; }
  let s = inv;
  for (let i = 1; i <= 4; i++) s ^= ((inv << i) | (inv >> (8 - i))) & 0xff;
  SBOX[x] = s ^ 0x63;
}

t.test('S-box circuit equals the FIPS-197 S-box on all 256 inputs', async (t) => {
  t.equal(SBOX[0x00], 0x63); t.equal(SBOX[0x53], 0xed); // FIPS-197 5.1.1 example
  let bad = 0, badInv = 0;
  for (let b = 0; b < 256; b += 16) {
    const input = Uint8Array.from({ length: 16 }, (_, i) => b + i);
    const out = wc.sbox(input);
    const inv = wc.sbox(out, true);
    for (let i = 0; i < 16; i++) {
      if (out[i] !== SBOX[b + i]) bad++;
      if (inv[i] !== b + i) badInv++;
    }
  }
  t.equal(bad, 0, 'forward S-box mismatches');
  t.equal(badInv, 0, 'inverse S-box mismatches');
});

t.test('FIPS-197 known answers', async (t) => {
  const vec = [
    // Appendix B
    ['2b7e151628aed2a6abf7158809cf4f3c', '3243f6a8885a308d313198a2e0370734', '3925841d02dc09fbdc118597196a0b32'],
    // Appendix C.1 / C.2 / C.3
    ['000102030405060708090a0b0c0d0e0f', '00112233445566778899aabbccddeeff', '69c4e0d86a7b0430d8cdb78070b4c55a'],
    ['000102030405060708090a0b0c0d0e0f1011121314151617', '00112233445566778899aabbccddeeff', 'dda97ca4864cdfe06eaf70a0ec0d7191'],
    ['000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', '00112233445566778899aabbccddeeff', '8ea2b7ca516745bfeafc49904b496089'],
  ];
  for (const [k, p, c] of vec) {
    t.equal(hex(wc.aesEncryptBlocks(h(k), h(p))), c, `encrypt AES-${k.length * 4}`);
    t.equal(hex(wc.aesDecryptBlocks(h(k), h(c))), p, `decrypt AES-${k.length * 4}`);
  }
});

t.test('8-block core: every lane independent, matches node:crypto ECB', async (t) => {
  for (const klen of [16, 24, 32]) {
    for (let trial = 0; trial < 20; trial++) {
      const key = randomBytes(klen);
      const data = randomBytes(16 * (1 + (trial % 17)));
      const e = createCipheriv(`aes-${klen * 8}-ecb`, key, null).setAutoPadding(false);
      const ref = Buffer.concat([e.update(data), e.final()]);
      const ours = wc.aesEncryptBlocks(key, data);
      t.equal(hex(ours), ref.toString('hex'), `AES-${klen * 8} ECB encrypt ${data.length} B`);
      t.equal(hex(wc.aesDecryptBlocks(key, ours)), data.toString('hex'), `AES-${klen * 8} ECB decrypt`);
    }
  }
});

t.test('NIST SP 800-38A F.2 CBC vectors (AES-128 F.2.1/F.2.2, AES-256 F.2.5/F.2.6)', async (t) => {
  const iv = h('000102030405060708090a0b0c0d0e0f');
  const pt = h(`6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710`);
  const vec = [
    ['2b7e151628aed2a6abf7158809cf4f3c',
      '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7'],
    ['603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4',
      'f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b'],
  ];
  for (const [k, c] of vec) {
    t.equal(hex(wc.cbcEncrypt(h(k), iv, pt)), c, `CBC-AES${k.length * 4}.Encrypt`);
    t.equal(hex(wc.cbcDecrypt(h(k), iv, h(c))), hex(pt), `CBC-AES${k.length * 4}.Decrypt`);
  }
});

t.test('CBC vs node:crypto, every block count 0..130 (crosses the 8-block chunking)', async (t) => {
  let bad = 0;
  for (const klen of [16, 32]) {
    for (let blocks = 0; blocks <= 130; blocks++) {
      const key = randomBytes(klen), iv = randomBytes(16), data = randomBytes(blocks * 16);
      const e = createCipheriv(`aes-${klen * 8}-cbc`, key, iv).setAutoPadding(false);
      const ref = Buffer.concat([e.update(data), e.final()]);
      const ours = wc.cbcEncrypt(key, iv, data);
      if (hex(ours) !== ref.toString('hex')) bad++;
      const d = createDecipheriv(`aes-${klen * 8}-cbc`, key, iv).setAutoPadding(false);
      const back = Buffer.concat([d.update(ref), d.final()]);
      if (hex(wc.cbcDecrypt(key, iv, ref)) !== back.toString('hex')) bad++;
    }
  }
  t.equal(bad, 0, 'CBC mismatches against OpenSSL');
  t.throws(() => wc.cbcEncrypt(randomBytes(16), randomBytes(16), randomBytes(15)), 'rejects partial blocks');
  t.throws(() => wc.aesEncryptBlocks(randomBytes(20), randomBytes(16)), 'rejects bad key length');
});
