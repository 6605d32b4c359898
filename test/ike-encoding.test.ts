// IKEv1 wire format: the encoder against bytes written from the RFC 2408 field tables, round trips of
// every payload we use, and hostile input: truncations, random bytes and random bit flips never throw
// out of the decoders or the manager; each is a named reason and a counter.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { decodeHeaderV1, decodePayloadsV1, encodeMessageV1 } from '../appliance/ike/encoding/message-v1.js';
import { asDelete, asId, asNotify, asSa, dataOf, type PayloadBodyV1 } from '../appliance/ike/encoding/payloads-v1.js';
import { IkeV1Manager } from '../appliance/ike/manager/ike-v1.js';
import { offerSa } from '../appliance/ike/tasks/phase1-proposal.js';
import { phase1Policy } from '../appliance/ike/config.js';
import { seedCrypto } from './util/ike.js';

const hx = (b: Uint8Array) => Buffer.from(b).toString('hex');
const cky = (n: number) => new Uint8Array(8).fill(n);

t.test('seed 003 message 1 byte for byte (RFC 2408 3.1, 3.4-3.6; RFC 2409 appendix A)', async (t) => {
  const p = phase1Policy({ priority: 10, authentication: 'pre-share' });
  if (!p.ok) throw new Error(p.reason);
  const msg = encodeMessageV1({ ispi: cky(0x11), rspi: cky(0), exchange: 2, messageId: 0, payloads: [offerSa([p.value])] });
  const expected = [
    '1111111111111111', '0000000000000000', // cookies
    '01', '10', '02', '00', '00000000', '00000054', // next SA, v1.0, main mode, flags, M-ID, length 84
    '00', '00', '0038', '00000001', '00000001', // SA: next none, length 56, DOI IPsec, identity only
    '00', '00', '002c', '01', '01', '00', '01', // proposal #1 ISAKMP, no SPI, 1 transform (length 44)
    '00', '00', '0024', '01', '01', '0000', // transform #1 KEY_IKE (length 8 + 5 x 4 + 8 = 36)
    '80010001', '80020002', '80030001', '80040001', '800b0001', // DES, SHA, PSK, group 1, seconds
    '000c000400015180', // life duration 86400: variable (does not fit 16 bits)
  ].join('');
  t.equal(hx(msg), expected);
  const h = decodeHeaderV1(msg);
  t.ok(h.ok);
  if (!h.ok) return;
  const ps = decodePayloadsV1(h.value.header.nextPayload, h.value.body, false);
  t.ok(ps.ok);
  if (!ps.ok) return;
  const sa = asSa(ps.value[0]);
  t.same(sa?.proposals[0].transforms[0].attributes.find((a) => a.type === 12)?.value, 86400, 'lifetime decoded');
  t.equal(hx(sa!.body), expected.slice(64), 'SA body kept as on the wire (SAi_b)');
});

t.test('round trip of every payload kind', async (t) => {
  const payloads: PayloadBodyV1[] = [
    { type: 4, data: randomBytes(96) },
    { type: 10, data: randomBytes(32) },
    { type: 5, idType: 1, protocol: 47, port: 0, data: new Uint8Array([172, 16, 1, 1]) },
    { type: 8, data: randomBytes(20) },
    { type: 11, doi: 1, protocol: 1, spi: randomBytes(16), notifyType: 24578, data: new Uint8Array(0) },
    { type: 12, doi: 1, protocol: 3, spiSize: 4, spis: [randomBytes(4), randomBytes(4)] },
    { type: 13, data: randomBytes(16) },
  ];
  const msg = encodeMessageV1({ ispi: cky(1), rspi: cky(2), exchange: 5, messageId: 0x01020304, payloads });
  const h = decodeHeaderV1(msg);
  if (!h.ok) return t.fail(h.reason);
  t.equal(h.value.header.messageId, 0x01020304);
  const ps = decodePayloadsV1(h.value.header.nextPayload, h.value.body, false);
  if (!ps.ok) return t.fail(ps.reason);
  t.same(ps.value.map((p) => p.type), [4, 10, 5, 8, 11, 12, 13]);
  t.equal(hx(dataOf(ps.value[0])!), hx(dataOf(payloads[0] as never) ?? (payloads[0] as { data: Uint8Array }).data));
  t.same(asId(ps.value[2])?.protocol, 47);
  t.same(asNotify(ps.value[4])?.notifyType, 24578);
  t.same(asDelete(ps.value[5])?.spis.map(hx), (payloads[5] as { spis: Uint8Array[] }).spis.map(hx));
});

t.test('hostile input never throws', async (t) => {
  const p = phase1Policy({ priority: 10, authentication: 'pre-share' });
  if (!p.ok) throw new Error(p.reason);
  const good = encodeMessageV1({ ispi: cky(3), rspi: cky(0), exchange: 2, messageId: 0, payloads: [offerSa([p.value]), { type: 13, data: randomBytes(16) }] });
  let reasons = 0;
  const decodeAll = (b: Uint8Array) => {
    const h = decodeHeaderV1(b);
    if (!h.ok) { reasons++; return; }
    const ps = decodePayloadsV1(h.value.header.nextPayload, h.value.body, false);
    if (!ps.ok) reasons++;
  };
  for (let n = 0; n < good.length; n++) t.doesNotThrow(() => decodeAll(good.subarray(0, n)), `truncated to ${n}`);
  let threw = 0;
  for (let i = 0; i < 5000; i++) {
    const b = good.slice();
    for (let k = 0; k < 1 + (i % 4); k++) b[Math.floor(Math.random() * b.length)] ^= 1 << (i % 8);
    try { decodeAll(b); } catch { threw++; }
    try { decodeAll(randomBytes(i % 200)); } catch { threw++; }
  }
  t.equal(threw, 0, '10000 mutated or random inputs, no exception');
  t.ok(reasons > 1000, `failures are named reasons (${reasons})`);

  // A payload length pointing past the end, a proposal claiming more transforms than it has.
  const b = good.slice();
  b[28 + 2] = 0xff;
  const h = decodeHeaderV1(b);
  t.ok(h.ok);
  if (h.ok) t.match(decodePayloadsV1(1, h.value.body, false), { ok: false, reason: /needs/ });

  const m = new IkeV1Manager(seedCrypto(), '172.16.2.1', () => {});
  for (let i = 0; i < 2000; i++) {
    const x = good.slice();
    x[Math.floor(Math.random() * x.length)] ^= 0xff;
    m.handleDatagram(i % 2 ? x : randomBytes(i % 100), '172.16.1.1', 500);
  }
  t.equal(m.counters.internalErrors, 0, 'manager: no internal error');
  t.equal(m.counters.rxDatagrams, 2000);
  const c = m.counters;
  t.ok(c.malformed + c.unknownSa + c.rejected + c.established >= 1000, 'every datagram accounted for');
  t.ok(m.sas.length <= 1000, 'bounded state');
  m.close();
});
