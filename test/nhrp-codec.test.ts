// Codec robustness: malformed input must come back as a named error, never as an exception.
import t from 'tap';
import { decodeNhrp, encodeNhrp, nhrpChecksum } from '../appliance/nhrp/codec.js';
import { MAX_CIES } from '../appliance/nhrp/types.js';
import type { NhrpDecodeError, NhrpDecodeResult, NhrpMessage } from '../appliance/nhrp/types.js';
import { cie, samples } from './util/nhrp-samples.js';

const CODES: NhrpDecodeError[] = ['truncated', 'bad-packet-size', 'bad-checksum', 'unsupported-afn',
  'unsupported-protocol', 'bad-version', 'unknown-type', 'bad-address-length', 'bad-extoff', 'bad-cie',
  'too-many-cies', 'bad-extension'];

/** Rewrite ar$pktsz (optional) and recompute ar$chksum so a mutation reaches the deeper parsers. */
function fix(b: Uint8Array, pktsz = b.length): Uint8Array {
  const c = b.slice(0, pktsz);
  c[10] = pktsz >> 8; c[11] = pktsz & 0xff;
  c[12] = 0; c[13] = 0;
  const cs = nhrpChecksum(c);
  c[12] = cs >> 8; c[13] = cs & 0xff;
  return c;
}

function safeDecode(b: Uint8Array): NhrpDecodeResult | 'threw' {
  try { return decodeNhrp(b); } catch { return 'threw'; }
}

function code(r: NhrpDecodeResult | 'threw'): string {
  return r === 'threw' ? 'threw' : r.ok ? 'ok' : r.code;
}

const regReq = (): NhrpMessage => samples()[0].msg;

t.test('checksum is RFC 1071 (known vector)', async (t) => {
  // RFC 1071 section 3 example: words 0001 f203 f4f5 f6f7 sum to ddf2 -> checksum 220d
  t.equal(nhrpChecksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
  t.equal(nhrpChecksum(new Uint8Array([0x01])), 0xfeff, 'odd trailing byte is the high half');
});

t.test('every sample round-trips', async (t) => {
  for (const s of samples()) {
    const r = decodeNhrp(encodeNhrp(s.msg));
    t.ok(r.ok, s.name);
    if (r.ok) t.same(r.msg, s.msg, `${s.name}: decode(encode(m)) == m`);
  }
});

t.test('every truncation of every sample is a named error', async (t) => {
  for (const s of samples()) {
    const full = encodeNhrp(s.msg);
    const seen = new Set<string>();
    for (let n = 0; n < full.length; n++) {
      const c = code(safeDecode(full.subarray(0, n)));
      seen.add(c);
      if (c !== 'truncated') t.fail(`${s.name}: cut at ${n} gave ${c}`);
    }
    t.same([...seen], ['truncated'], `${s.name}: ${full.length} cut lengths all 'truncated'`);
  }
});

t.test('every consistent truncation (pktsz and checksum fixed up) never throws', async (t) => {
  for (const s of samples()) {
    const full = encodeNhrp(s.msg);
    const seen = new Set<string>();
    for (let n = 0; n < full.length; n++) {
      const c = code(safeDecode(fix(full, Math.max(n, 0))));
      seen.add(c);
      if (c === 'threw' || (c !== 'ok' && !CODES.includes(c as NhrpDecodeError))) t.fail(`${s.name}: pktsz ${n} gave ${c}`);
    }
    t.notOk(seen.has('threw'), `${s.name}: outcomes ${[...seen].join(', ')}`);
  }
});

t.test('random corruption with a valid checksum never throws', async (t) => {
  let seed = 12345;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const outcomes = new Map<string, number>();
  for (const s of samples()) {
    const full = encodeNhrp(s.msg);
    for (let i = 0; i < 400; i++) {
      const b = full.slice();
      for (let k = 0, flips = 1 + rnd(4); k < flips; k++) b[14 + rnd(b.length - 14)] = rnd(256);
      const c = code(safeDecode(fix(b, b.length)));
      outcomes.set(c, (outcomes.get(c) ?? 0) + 1);
    }
  }
  t.notOk(outcomes.has('threw'), `outcomes: ${JSON.stringify([...outcomes])}`);
  t.ok([...outcomes.keys()].every((c) => c === 'ok' || CODES.includes(c as NhrpDecodeError)), 'only named errors');
});

t.test('specific malformations get specific names', async (t) => {
  const good = encodeNhrp(regReq());
  const mutate = (f: (b: Uint8Array) => void, pktsz?: number): string => {
    const b = good.slice();
    f(b);
    return code(safeDecode(fix(b, pktsz ?? b.length)));
  };
  t.equal(code(decodeNhrp(new Uint8Array(0))), 'truncated', 'empty');
  t.equal(code(decodeNhrp(good.slice(0, 19))), 'truncated', 'shorter than the fixed header');
  const badSum = good.slice(); badSum[12] ^= 0xff;
  t.equal(code(decodeNhrp(badSum)), 'bad-checksum', 'checksum field altered');
  const badBody = good.slice(); badBody[40] ^= 0x10;
  t.equal(code(decodeNhrp(badBody)), 'bad-checksum', 'body altered');
  t.equal(mutate(() => undefined, 27), 'bad-packet-size', 'pktsz below 28');
  t.equal(mutate((b) => { b[1] = 2; }), 'unsupported-afn', 'afn 2 (IPv6 NBMA)');
  t.equal(mutate((b) => { b[2] = 0x86; b[3] = 0xdd; }), 'unsupported-protocol', 'IPv6 protocol');
  t.equal(mutate((b) => { b[16] = 2; }), 'bad-version', 'version 2');
  t.equal(mutate((b) => { b[17] = 9; }), 'unknown-type', 'type 9');
  t.equal(mutate((b) => { b[17] = 0; }), 'unknown-type', 'type 0');
  t.equal(mutate((b) => { b[18] = 6; }), 'bad-address-length', 'NBMA length 6');
  t.equal(mutate((b) => { b[20] = 16; }), 'bad-address-length', 'src proto length 16');
  t.equal(mutate((b) => { b[14] = 0x7f; b[15] = 0xff; }), 'bad-extoff', 'extoff beyond the packet');
  t.equal(mutate((b) => { b[14] = 0; b[15] = 30; }), 'bad-extoff', 'extoff inside the addresses');
  // extoff moved 4 bytes early: the mandatory part ends inside the CIE
  t.equal(mutate((b) => { b[15] -= 4; }), 'bad-cie', 'CIE cut by extoff');
  t.equal(mutate((b) => { b[48] = 0x3f; }), 'bad-cie', 'CIE NBMA length 63');
  const extoff = (good[14] << 8) | good[15];
  t.equal(mutate((b) => { b[extoff + 2] = 0xff; b[extoff + 3] = 0xf0; }), 'bad-extension', 'extension length past the end');
  t.equal(mutate(() => undefined, good.length - 2), 'bad-extension', '2 stray bytes where an extension header belongs');
  // Anything after End is ignored; a truncated End is not.
  const padded = new Uint8Array(good.length + 7); padded.set(good);
  t.equal(code(decodeNhrp(padded)), 'ok', 'link padding past ar$pktsz is ignored');
});

t.test('bad lengths inside typed extensions', async (t) => {
  const m = regReq();
  m.extensions = [{ type: 7, compulsory: true, raw: new Uint8Array([0, 1]) }];
  t.equal(code(decodeNhrp(encodeNhrp(m))), 'bad-extension', 'authentication extension of 2 bytes');
  m.extensions = [{ type: 8, compulsory: false, raw: new Uint8Array([0, 0]) }];
  t.equal(code(decodeNhrp(encodeNhrp(m))), 'bad-extension', 'vendor-private extension of 2 bytes');
  m.extensions = [{ type: 3, compulsory: true, raw: new Uint8Array(11) }];
  t.equal(code(decodeNhrp(encodeNhrp(m))), 'bad-extension', 'responder extension with a partial CIE');
  m.extensions = [{ type: 7, compulsory: true, auth: { spi: 1, secret: new Uint8Array([1, 2, 3, 4]) } }];
  const long = encodeNhrp(m);
  const eo = (long[14] << 8) | long[15];
  long[eo + 3] = 0x40; // auth length 64, only 12 bytes (8 + End) left
  t.equal(code(safeDecode(fix(long))), 'bad-extension', 'authentication extension longer than the packet');
  m.extensions = [{ type: 0x2000, compulsory: false, raw: new Uint8Array([1, 2, 3]) }];
  const r = decodeNhrp(encodeNhrp(m));
  t.ok(r.ok && r.msg.extensions[0].raw?.length === 3, 'unknown non-compulsory extension kept raw');
});

t.test('huge CIE counts are refused, not parsed', async (t) => {
  const m = regReq();
  m.extensions = [];
  m.cies = Array.from({ length: MAX_CIES + 1 }, () => cie({ holdingTime: 1 }));
  t.equal(code(decodeNhrp(encodeNhrp(m))), 'too-many-cies', `${MAX_CIES + 1} CIEs in the mandatory part`);
  m.cies = Array.from({ length: MAX_CIES }, () => cie({ holdingTime: 1 }));
  t.equal(code(decodeNhrp(encodeNhrp(m))), 'ok', `${MAX_CIES} CIEs accepted`);
  m.cies = [cie({})];
  m.extensions = [{ type: 4, compulsory: true, cies: Array.from({ length: 2000 }, () => cie({ nbma: '1.2.3.4', proto: '10.0.0.1' })) }];
  t.equal(code(decodeNhrp(encodeNhrp(m))), 'too-many-cies', '2000 CIEs in a transit record');
});
