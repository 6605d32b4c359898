// RFC 7634 Appendix A ("ESP Example"): the published ChaCha20-Poly1305 ESP packet, checked against
// our WASM AEAD (both code paths) and pushed whole through the data plane's inbound ESP path
// (tunnel-mode SA, next header 4), including anti-replay.
//
// Provenance of the bytes below (facts only, no code carried over). The appendix's key, salt, SPI,
// sequence number, IV, plaintext (inner IPv4 ICMP echo + padding + pad length + next header),
// ciphertext and tag agree byte for byte in four independent public copies:
//   - OpenDataPlane/odp test/validation/api/ipsec/test_vectors.h (key_rfc7634, key_rfc7634_salt,
//     pkt_ipv4_rfc7634, pkt_ipv4_rfc7634_esp; the latter also carries the outer IPv4 header);
//   - OpenBSD regress chachapoly_test.c, "Test vector from RFC7634 Appendix A";
//   - a Python AEAD test suite ("From https://tools.ietf.org/html/rfc7634#page-9");
//   - a Rust ESP decoder's test_chacha20_poly1305_rfc7634_appendix_a.
// The outer IPv4 header (203.0.113.153 -> 203.0.113.5, protocol 50) is from the ODP copy only; it
// is self-consistent (total length 140 = 20 + 8 + 8 + 88 + 16, valid header checksum).
import t from 'tap';
import { WasmCrypto } from './util/wasm-crypto.js';
import { ESP_ENC } from '../appliance/dataplane/sa.js';
import { node, ip } from './util/esp-env.js';
import { csum } from './util/packets.js';

const h = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const cat = (...a: Uint8Array[]) => Uint8Array.from(Buffer.concat(a));

// ---- RFC 7634 Appendix A ----
const KEY = h(`80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f
               90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f`);
const SALT = h('a0 a1 a2 a3');
const SPI = 0x01020304;
const SEQ = 5;
const ESP_HDR = h('01 02 03 04 00 00 00 05'); // SPI || sequence number = the AAD
const IV = h('10 11 12 13 14 15 16 17');
/** the protected packet: ICMP echo request 198.51.100.5 -> 192.0.2.5 */
const INNER = h(`45 00 00 54 a6 f2 00 00 40 01 e7 78 c6 33 64 05
                 c0 00 02 05 08 00 5b 7a 3a 08 00 00 55 3b ec 10
                 00 07 36 27 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13
                 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23
                 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33
                 34 35 36 37`);
const TRAILER = h('01 02 02 04'); // padding 01 02, pad length 2, next header 4 (IPv4)
const CIPHERTEXT = h(`24 03 94 28 b9 7f 41 7e 3c 13 75 3a 4f 05 08 7b
                      67 c3 52 e6 a7 fa b1 b9 82 d4 66 ef 40 7a e5 c6
                      14 ee 80 99 d5 28 44 eb 61 aa 95 df ab 4c 02 f7
                      2a a7 1e 7c 4c 4f 64 c9 be fe 2f ac c6 38 e8 f3
                      cb ec 16 3f ac 46 9b 50 27 73 f6 fb 94 e6 64 da
                      91 65 b8 28 29 f6 41 e0`);
const TAG = h('76 aa a8 26 6b 7f b0 f7 b1 1b 36 99 07 e1 ad 43');
const OUTER = h(`45 00 00 8c 23 45 00 00 40 32 de 5b cb 00 71 99
                 cb 00 71 05`); // 203.0.113.153 -> 203.0.113.5, protocol 50
const WIRE = cat(OUTER, ESP_HDR, IV, CIPHERTEXT, TAG);

const ESP_PAYLOAD = cat(INNER, TRAILER);
const NONCE = cat(SALT, IV);

t.test('the vector is self-consistent', async (t) => {
  t.equal(INNER.length, 84, 'inner total length 0x54');
  t.equal(csum(INNER, 0, 20), 0, 'inner header checksum valid');
  t.equal(csum(OUTER), 0, 'outer header checksum valid');
  t.equal(OUTER[9], 50, 'outer protocol ESP');
  t.equal(WIRE.length, 0x8c, 'outer total length covers ESP header, IV, ciphertext and tag');
  t.equal(ESP_PAYLOAD.length, CIPHERTEXT.length, 'ciphertext length = payload + trailer');
  t.equal(ESP_PAYLOAD.length % 4, 0, 'payload + trailer 4-byte aligned (RFC 4303)');
  t.same(new DataView(ESP_HDR.buffer).getUint32(0), SPI);
  t.same(new DataView(ESP_HDR.buffer).getUint32(4), SEQ);
});

t.test('WASM ChaCha20-Poly1305 reproduces RFC 7634 A: AAD = SPI || seq, nonce = salt || IV', async (t) => {
  const wc = WasmCrypto.load();
  for (const simd of [true, false]) {
    const name = simd ? 'SIMD' : 'scalar';
    const sealed = wc.sealChaCha(KEY, NONCE, ESP_HDR, ESP_PAYLOAD, simd);
    t.same(Buffer.from(sealed.subarray(0, CIPHERTEXT.length)).toString('hex'), Buffer.from(CIPHERTEXT).toString('hex'), `${name}: ciphertext`);
    t.same(Buffer.from(sealed.subarray(CIPHERTEXT.length)).toString('hex'), Buffer.from(TAG).toString('hex'), `${name}: tag`);
    const opened = wc.openChaCha(KEY, NONCE, ESP_HDR, cat(CIPHERTEXT, TAG), simd);
    t.ok(opened, `${name}: opens`);
    t.same(opened, ESP_PAYLOAD, `${name}: plaintext = inner packet || 01 02 02 04`);
    // the AAD, the nonce and the tag are all bound
    const badTag = cat(CIPHERTEXT, TAG); badTag[badTag.length - 1] ^= 1;
    t.equal(wc.openChaCha(KEY, NONCE, ESP_HDR, badTag, simd), null, `${name}: flipped tag bit rejected`);
    t.equal(wc.openChaCha(KEY, NONCE, h('01 02 03 04 00 00 00 06'), cat(CIPHERTEXT, TAG), simd), null, `${name}: other seq in AAD rejected`);
    t.equal(wc.openChaCha(KEY, cat(h('a0 a1 a2 a4'), IV), ESP_HDR, cat(CIPHERTEXT, TAG), simd), null, `${name}: other salt rejected`);
  }
});

// The receiving gateway is the RFC's outer destination; the sender its outer source.
const ME = { nbma: ip('203.0.113.5'), tun: ip('10.0.0.1'), lan: ip('172.16.1.0'), host: ip('172.16.1.10') };
const PEER = { nbma: ip('203.0.113.153'), tun: ip('10.0.0.2'), lan: ip('172.16.2.0'), host: ip('172.16.2.20') };

function receiver(tunnel: boolean, greOnly = false) {
  const n = node(ME, PEER);
  n.sa.saAdd({ index: 0, dir: 'in', spi: SPI, peer: PEER.nbma, enc: ESP_ENC.CHACHA20_POLY1305, key: cat(KEY, SALT), tunnel, greOnly });
  n.apply();
  return n;
}

t.test('data plane: the RFC 7634 A packet through an inbound tunnel-mode SA, then its replay', async (t) => {
  const n = receiver(true);
  t.equal(n.counters().cmdBad, 0, 'SA_ADD accepted');
  const [sa0] = n.sas();
  t.equal(sa0?.spi, SPI); t.equal(sa0?.dir, 'in'); t.equal(sa0?.enc, ESP_ENC.CHACHA20_POLY1305);

  n.r.espRx.pushSlot(50, PEER.nbma, 0, WIRE);
  n.poll();
  const got = n.take(n.r.tunTx);
  t.equal(got.length, 1, 'one packet to the tunnel side');
  t.same(got[0]?.data, INNER, 'inner IPv4 packet intact');
  let sa = n.sas()[0];
  t.equal(sa.packets, 1);
  t.equal(sa.seq, BigInt(SEQ), 'highest authenticated sequence number = 5');
  t.same(sa.drops, { replay: 0, tooOld: 0, auth: 0, badPad: 0, badNextHeader: 0, lifetime: 0, malformed: 0, policy: 0, seqLimit: 0 });
  let c = n.counters();
  t.equal(c.espRxPackets, 1); t.equal(c.dropEspAuth, 0); t.equal(c.dropEspInvalid, 0);

  // the same packet again: anti-replay drops it before decryption
  n.r.espRx.pushSlot(50, PEER.nbma, 0, WIRE);
  n.poll();
  t.equal(n.take(n.r.tunTx).length, 0, 'replay not delivered');
  sa = n.sas()[0];
  t.equal(sa.drops.replay, 1, 'SA replay drop');
  t.equal(sa.packets, 1);
  c = n.counters();
  t.equal(c.dropEspReplay, 1, 'global replay drop');
  t.equal(c.dropEspAuth, 0);
});

t.test('data plane: a tunnel-protection SA (selectors: GRE only) refuses the authentic non-GRE inner packet', async (t) => {
  const n = receiver(true, true);
  n.r.espRx.pushSlot(50, PEER.nbma, 0, WIRE);
  n.poll();
  t.equal(n.take(n.r.tunTx).length, 0, 'inner UDP is outside the SA\'s selectors: not delivered');
  t.equal(n.sas()[0].drops.policy, 1, 'SA policy drop');
  t.equal(n.counters().dropEspPolicy, 1, 'global policy drop');
});

t.test('data plane: one flipped ciphertext bit is an auth drop and does not move the window', async (t) => {
  const n = receiver(true);
  const bad = WIRE.slice(); bad[20 + 16 + 10] ^= 0x80;
  n.r.espRx.pushSlot(50, PEER.nbma, 0, bad);
  n.poll();
  t.equal(n.take(n.r.tunTx).length, 0);
  t.equal(n.sas()[0].drops.auth, 1);
  t.equal(n.counters().dropEspAuth, 1);
  n.r.espRx.pushSlot(50, PEER.nbma, 0, WIRE);
  n.poll();
  t.same(n.take(n.r.tunTx)[0]?.data, INNER, 'genuine packet still accepted');
});

t.test('data plane: without the tunnel flag the non-GRE inner packet is refused (bad next header)', async (t) => {
  const n = receiver(false);
  n.r.espRx.pushSlot(50, PEER.nbma, 0, WIRE);
  n.poll();
  t.equal(n.take(n.r.tunTx).length, 0);
  const sa = n.sas()[0];
  t.equal(sa.drops.auth, 0, 'it authenticated');
  t.equal(sa.drops.badNextHeader, 1);
  t.equal(n.counters().dropEspInvalid, 1);
});
