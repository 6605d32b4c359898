// ChaCha20, Poly1305 and the ChaCha20-Poly1305 AEAD (RFC 8439) in both the scalar and the 4-block
// SIMD paths: published vectors, an ESP-shaped packet, node:crypto cross-checks on every length
// 0..2000, and tamper detection.
import t from 'tap';
import { createCipheriv, randomBytes } from 'node:crypto';
import { WasmCrypto, LAYOUT } from './util/wasm-crypto.js';

const h = (s: string) => Uint8Array.from(Buffer.from(s.replace(/[\s:]+/g, ''), 'hex'));
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const wc = WasmCrypto.load();
const PATHS = [true, false] as const;
const pname = (simd: boolean) => (simd ? 'SIMD' : 'scalar');

const SUNSCREEN = ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
const KEY00 = h('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const KEY80 = h('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');

function refSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: pt.length });
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

t.test('RFC 8439 2.3.2 block function', async (t) => {
  const blk = wc.chacha20Block(KEY00, h('000000090000004a00000000'), 1);
  t.equal(hex(blk), '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e' +
    'd2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e');
});

t.test('RFC 8439 2.4.2 encryption (both paths)', async (t) => {
  const expect = '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b' +
    'f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8' +
    '07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736' +
    '5af90bbf74a35be6b40b8eedf2785e42874d';
  for (const simd of PATHS) {
    t.equal(hex(wc.chacha20(KEY00, h('000000000000004a00000000'), 1, SUNSCREEN, simd)), expect, pname(simd));
  }
});

t.test('ChaCha20 SIMD == scalar for lengths 0..1100 and arbitrary counters', async (t) => {
  let bad = 0;
  for (let len = 0; len <= 1100; len += 1 + (len % 7)) {
    const key = randomBytes(32), nonce = randomBytes(12), data = randomBytes(len);
    const ctr = (len * 2654435761) >>> 0;
    if (hex(wc.chacha20(key, nonce, ctr, data, true)) !== hex(wc.chacha20(key, nonce, ctr, data, false))) bad++;
  }
  t.equal(bad, 0);
});

t.test('RFC 8439 2.5.2 Poly1305 and 2.6.2 key generation', async (t) => {
  const key = h('85:d6:be:78:57:55:6d:33:7f:44:52:fe:42:d5:06:a8:01:03:80:8a:fb:0d:b2:fd:4a:bf:f6:af:41:49:f5:1b');
  t.equal(hex(wc.poly1305(key, ascii('Cryptographic Forum Research Group'))), 'a8061dc1305136c6c22b8baf0c0127a9');
  const otk = wc.chacha20Block(KEY80, h('000000000001020304050607'), 0).subarray(0, 32);
  t.equal(hex(otk), '8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646');
});

t.test('RFC 8439 2.8.2 AEAD (both paths)', async (t) => {
  const nonce = h('070000004041424344454647'), aad = h('50515253c0c1c2c3c4c5c6c7');
  const ct = 'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6' +
    '3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36' +
    '92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
    '3ff4def08e4b7a9de576d26586cec64b6116';
  const tag = '1ae10b594f09e26a7e902ecbd0600691';
  for (const simd of PATHS) {
    const out = wc.sealChaCha(KEY80, nonce, aad, SUNSCREEN, simd);
    t.equal(hex(out), ct + tag, `seal ${pname(simd)}`);
    const back = wc.openChaCha(KEY80, nonce, aad, out, simd);
    t.equal(back && hex(back), hex(SUNSCREEN), `open ${pname(simd)}`);
  }
});

t.test('RFC 8439 A.5 AEAD decryption', async (t) => {
  const key = h('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0');
  const nonce = h('000000000102030405060708'), aad = h('f33388860000000000004e91');
  const ctTag = h(
    '64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2' +
    '4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf' +
    '332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855' +
    '9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4' +
    'b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e' +
    'af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a' +
    '0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10' +
    '49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29' +
    'a6ad5cb4022b02709b' + 'eead9d67890cbb22392336fea1851f38');
  const pt = '496e7465726e65742d4472616674732061726520647261667420646f63756d65' +
    '6e74732076616c696420666f722061206d6178696d756d206f6620736978206d' +
    '6f6e74687320616e64206d617920626520757064617465642c207265706c6163' +
    '65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65' +
    '6e747320617420616e792074696d652e20497420697320696e617070726f7072' +
    '6961746520746f2075736520496e7465726e65742d4472616674732061732072' +
    '65666572656e6365206d6174657269616c206f7220746f206369746520746865' +
    '6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67' +
    '726573732e2fe2809d';
  for (const simd of PATHS) {
    const out = wc.openChaCha(key, nonce, aad, ctTag, simd);
    t.equal(out && hex(out), pt, pname(simd));
  }
});

t.test('ESP-shaped packet (RFC 7634 layout): AAD = SPI || seq, nonce = salt || IV', async (t) => {
  // RFC 7634 section 2: nonce = 4-byte salt (from KEYMAT) || 8-byte IV; AAD = SPI || 32-bit seq
  // (section 2.1, no ESN). The payload is inner IP packet || padding || pad len || next header.
  const key = randomBytes(32), salt = randomBytes(4), iv = h('0001020304050607');
  const aad = h('01020304' + '00000005');
  const inner = randomBytes(84); // e.g. an ICMP echo in IPv4
  const padLen = (4 - ((inner.length + 2) % 4)) % 4;
  const payload = new Uint8Array(inner.length + padLen + 2);
  payload.set(inner);
  for (let i = 0; i < padLen; i++) payload[inner.length + i] = i + 1;
  payload[payload.length - 2] = padLen; payload[payload.length - 1] = 4; // next header: IPv4
  const nonce = Uint8Array.from([...salt, ...iv]);
  for (const simd of PATHS) {
    const out = wc.sealChaCha(key, nonce, aad, payload, simd);
    t.equal(hex(out), hex(refSeal(key, nonce, aad, payload)), `matches OpenSSL (${pname(simd)})`);
    t.equal(hex(wc.openChaCha(key, nonce, aad, out, simd)!), hex(payload));
  }
});

t.test('cross-check vs node:crypto: every length 0..2000 x AAD 0/8/12/16/20, both paths', async (t) => {
  const bad: Record<string, number> = {};
  for (const simd of PATHS) {
    for (const aadLen of [0, 8, 12, 16, 20]) {
      let n = 0;
      for (let len = 0; len <= 2000; len++) {
        // The scalar path is checked on every length with AAD cycling, the SIMD path on all pairs.
        if (!simd && len % 5 !== [0, 8, 12, 16, 20].indexOf(aadLen)) continue;
        const key = randomBytes(32), nonce = randomBytes(12), aad = randomBytes(aadLen), pt = randomBytes(len);
        const ref = refSeal(key, nonce, aad, pt);
        const ours = wc.sealChaCha(key, nonce, aad, pt, simd);
        if (Buffer.compare(Buffer.from(ours), ref) !== 0) n++;
        const back = wc.openChaCha(key, nonce, aad, ref, simd);
        if (!back || Buffer.compare(Buffer.from(back), pt) !== 0) n++;
      }
      bad[`${pname(simd)} aad=${aadLen}`] = n;
    }
  }
  for (const [k, v] of Object.entries(bad)) t.equal(v, 0, `mismatches ${k}`);
});

t.test('tamper: one flipped bit in ciphertext, tag or AAD -> reject, buffer wiped', async (t) => {
  let accepted = 0, leaked = 0, trials = 0;
  for (const simd of PATHS) {
    for (let i = 0; i < 600; i++) {
      const len = 1 + ((i * 37) % 1500), aadLen = [8, 12, 16, 20][i % 4];
      const key = randomBytes(32), nonce = randomBytes(12), aad = randomBytes(aadLen), pt = randomBytes(len);
      const sealed = wc.sealChaCha(key, nonce, aad, pt, simd);
      const where = i % 3; // 0 ciphertext, 1 tag, 2 AAD
      const ct = Uint8Array.from(sealed), a = Uint8Array.from(aad);
      if (where === 0) ct[i % len] ^= 1 << (i % 8);
      else if (where === 1) ct[len + (i % 16)] ^= 1 << (i % 8);
      else a[i % aadLen] ^= 1 << (i % 8);
      trials++;
      if (wc.openChaCha(key, nonce, a, ct, simd) !== null) accepted++;
      if (wc.get(LAYOUT.buf, len).some((b) => b !== 0)) leaked++;
    }
  }
  t.equal(accepted, 0, `forgeries accepted out of ${trials}`);
  t.equal(leaked, 0, 'rejected opens that left bytes in the buffer');
  // and an untampered open still works after all that
  const key = randomBytes(32), nonce = randomBytes(12), pt = randomBytes(100);
  t.ok(wc.openChaCha(key, nonce, new Uint8Array(0), wc.sealChaCha(key, nonce, new Uint8Array(0), pt)));
});
