// IKEv2 primitives against published vectors and independent implementations: X25519 (RFC 7748 6.1),
// ECP-256/384 against @noble/curves with fixed keys (KE data x | y without a format byte, secret = x,
// RFC 5903 7), refusal of invalid peer values, prf+ by hand from HMAC (RFC 7296 2.13), and the SK
// payload's transforms: round trips, every single-bit flip refused, wrong key refused.
import t from 'tap';
import { createHmac, randomBytes } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { keExchange } from '../appliance/ike/crypto/ke.js';
import { prfPlus, ikeKeys, childKeys, pskAuth } from '../appliance/ike/keymat/ikev2.js';
import { skOpen, skSeal, sealedLen, type SkSuite } from '../appliance/ike/crypto/sk.js';

const h = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('hex') : String(b));

t.test('X25519: RFC 7748 6.1 (Alice and Bob)', async (t) => {
  const alice = keExchange(31, h('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
  const bob = keExchange(31, h('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
  t.equal(hex(alice.publicKey), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', "Alice's public key");
  t.equal(hex(bob.publicKey), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', "Bob's public key");
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  t.equal(hex(alice.secret(bob.publicKey)), shared, 'shared secret (Alice)');
  t.equal(hex(bob.secret(alice.publicKey)), shared, 'shared secret (Bob)');
  t.equal(alice.secret(new Uint8Array(32)), null, 'the all-zero point (an all-zero secret) refused (RFC 8031 2)');
  t.equal(alice.secret(new Uint8Array(31)), null, 'wrong length refused');
});

for (const [group, curve, len] of [[19, p256, 32], [20, p384, 48]] as const) {
  t.test(`ECP group ${group} against @noble/curves`, async (t) => {
    const priv = curve.utils.randomSecretKey();
    const peerPriv = curve.utils.randomSecretKey();
    const ours = keExchange(group, priv);
    const noblePub = curve.getPublicKey(priv, false);
    t.equal(hex(ours.publicKey), hex(noblePub.subarray(1)), 'KE data = x | y of the same point, no format byte');
    t.equal(ours.publicKey.length, 2 * len);
    const peerPub = curve.getPublicKey(peerPriv, false).subarray(1);
    const want = curve.getSharedSecret(peerPriv, noblePub).subarray(1, 1 + len);
    t.equal(hex(ours.secret(peerPub)), hex(want), 'shared secret = x coordinate, as noble computes it');
    const offCurve = new Uint8Array(peerPub); offCurve[offCurve.length - 1] ^= 1;
    t.equal(ours.secret(offCurve), null, 'a point off the curve refused');
    t.equal(ours.secret(new Uint8Array(2 * len)), null, 'the zero point refused');
    t.equal(ours.secret(peerPub.subarray(1)), null, 'wrong length refused');
  });
}

t.test('MODP 2048 (group 14): agreement', async (t) => {
  const a = keExchange(14), b = keExchange(14);
  t.equal(a.publicKey.length, 256);
  t.equal(hex(a.secret(b.publicKey)), hex(b.secret(a.publicKey)));
});

t.test('prf+ (RFC 7296 2.13) by hand from HMAC', async (t) => {
  const key = new Uint8Array(randomBytes(32)), seed = new Uint8Array(randomBytes(40));
  const mac = (...p: Uint8Array[]) => { const m = createHmac('sha256', key); for (const x of p) m.update(x); return m.digest(); };
  const t1 = mac(seed, Buffer.from([1])), t2 = mac(t1, seed, Buffer.from([2])), t3 = mac(t2, seed, Buffer.from([3]));
  t.equal(hex(prfPlus('sha256', key, seed, 80)), Buffer.concat([t1, t2, t3]).subarray(0, 80).toString('hex'), 'T1 | T2 | T3, cut at 80');
  t.throws(() => prfPlus('sha256', key, seed, 32 * 256), 'more than 255 blocks refused');
  const k = ikeKeys('sha256', key, seed.subarray(0, 16), seed.subarray(16, 32), new Uint8Array(8).fill(1), new Uint8Array(8).fill(2), 36, 0);
  const all = prfPlus('sha256', key, Buffer.concat([seed.subarray(0, 32), new Uint8Array(8).fill(1), new Uint8Array(8).fill(2)]), 3 * 32 + 2 * 36);
  t.equal(hex(k.skD) + hex(k.skAi) + hex(k.skAr) + hex(k.skEi) + hex(k.skEr) + hex(k.skPi) + hex(k.skPr), hex(all), 'SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr in that order');
  t.equal(k.skEi.length, 36, 'AEAD: key and 4-byte salt');
  const c = childKeys('sha256', key, seed.subarray(0, 16), seed.subarray(16, 32), 16, 20);
  t.equal(hex(c.encI) + hex(c.integI) + hex(c.encR) + hex(c.integR), hex(prfPlus('sha256', key, seed.subarray(0, 32), 72)), 'KEYMAT: ei ai er ar');
  const auth = pskAuth('sha256', Buffer.from('P4ssw0rd'), seed, key, key, seed);
  const inner = createHmac('sha256', 'P4ssw0rd').update('Key Pad for IKEv2').digest();
  t.equal(hex(auth), createHmac('sha256', inner).update(seed).update(key).update(createHmac('sha256', key).update(seed).digest()).digest('hex'), 'AUTH = prf(prf(K, "Key Pad for IKEv2"), msg | nonce | prf(SK_p, ID))');
});

const suites: Array<[string, SkSuite]> = [
  ['AES-CBC-128 + HMAC-SHA-256-128', { encr: 'aes-cbc', keyBits: 128, integ: { hash: 'sha256', keyLen: 32, icvLen: 16 } }],
  ['AES-CBC-256 + HMAC-SHA-512-256', { encr: 'aes-cbc', keyBits: 256, integ: { hash: 'sha512', keyLen: 64, icvLen: 32 } }],
  ['AES-GCM-16-256', { encr: 'aes-gcm-16', keyBits: 256 }],
  ['ChaCha20-Poly1305', { encr: 'chacha20-poly1305', keyBits: 256 }],
];
for (const [name, s] of suites) {
  t.test(`SK payload, ${name}: round trip, every bit flip refused`, async (t) => {
    const encKey = new Uint8Array(randomBytes(s.keyBits / 8 + (s.encr === 'aes-cbc' ? 0 : 4)));
    const integKey = new Uint8Array(randomBytes(s.integ?.keyLen ?? 0));
    const covered = new Uint8Array(randomBytes(32)), plain = new Uint8Array(randomBytes(61));
    const sealed = skSeal(s, encKey, integKey, covered, plain);
    t.equal(sealed.length, sealedLen(s, plain.length), 'length as announced');
    t.equal(hex(skOpen(s, encKey, integKey, covered, sealed)), hex(plain), 'opens to the plaintext');
    let refused = 0;
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const x = new Uint8Array(sealed); x[bit >> 3] ^= 1 << (bit & 7);
      if (skOpen(s, encKey, integKey, covered, x) === null) refused++;
    }
    t.equal(refused, sealed.length * 8, 'every flipped bit of IV, ciphertext or ICV refused');
    const c2 = new Uint8Array(covered); c2[0] ^= 0x80;
    t.equal(skOpen(s, encKey, integKey, c2, sealed), null, 'a changed header (covered bytes) refused');
    const k2 = new Uint8Array(encKey); k2[0] ^= 1;
    if (s.encr !== 'aes-cbc') t.equal(skOpen(s, k2, integKey, covered, sealed), null, 'wrong key refused');
    t.equal(skOpen(s, encKey, integKey, covered, sealed.subarray(0, 5)), null, 'truncated refused');
  });
}
