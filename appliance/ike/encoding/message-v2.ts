// IKEv2 messages (RFC 7296 3.1-3.2, 3.14): the 28-byte header, the payload chain, and the Encrypted (SK)
// payload, sealed and opened with the SA's keys. Decoding is two pure steps (header, then chain; the
// SK payload's inner chain after it verified). Nothing here throws to its caller: failures are named.
import { DecodeError, Reader, Writer } from './cursor.js';
import { GENERIC_HEADER_LEN, MAX_MESSAGE_LEN, MAX_PAYLOADS } from './constants.js';
import { IKEV2_HEADER_LEN, IKEV2_MAJOR, PayloadV2, SPI_LEN } from './constants-v2.js';
import { decodeChainV2, encodeChainV2, type ChainV2, type PayloadBodyV2, type PayloadV2Decoded } from './payloads-v2.js';
import { sealedLen, skOpen, skSeal, type SkSuite } from '../crypto/sk.js';

// The fixed header is the same 28 bytes in both versions (RFC 7296 3.1 keeps RFC 2408 3.1's layout);
// only the meaning of the version and flag bits differs.
import type { IsakmpHeader, Decoded } from './message-v1.js';
export type HeaderV2 = IsakmpHeader;
export type { Decoded };

/** The keys that protect one direction of an IKE SA. */
export interface SkKeys { suite: SkSuite; encKey: Uint8Array; integKey: Uint8Array }

function fail(e: unknown, what: string): { ok: false; reason: string } {
  return { ok: false, reason: e instanceof DecodeError ? e.reason : `${what}: undecodable` };
}

export function decodeHeaderV2(buf: Uint8Array): Decoded<HeaderV2> {
  try {
    const r = new Reader(buf);
    const h: HeaderV2 = {
      ispi: r.bytes(SPI_LEN, 'initiator SPI'), rspi: r.bytes(SPI_LEN, 'responder SPI'), nextPayload: r.u8('next payload'),
      version: r.u8('version'), exchange: r.u8('exchange type'), flags: r.u8('flags'), messageId: r.u32('message id'), length: r.u32('length'),
    };
    if (h.version >> 4 !== IKEV2_MAJOR) return { ok: false, reason: `version 0x${h.version.toString(16)} is not IKEv2` };
    if (h.length < IKEV2_HEADER_LEN || h.length !== buf.length) return { ok: false, reason: `length ${h.length} in a ${buf.length}-byte datagram` };
    if (h.ispi.every((b) => b === 0)) return { ok: false, reason: 'zero initiator SPI' };
    return { ok: true, value: h };
  } catch (e) { return fail(e, 'header'); }
}

/** The outer chain of a message whose header decoded. */
export function decodeOuterV2(buf: Uint8Array, h: HeaderV2): Decoded<ChainV2> {
  try { return { ok: true, value: decodeChainV2(h.nextPayload, buf, IKEV2_HEADER_LEN, MAX_PAYLOADS) }; } catch (e) { return fail(e, 'payload chain'); }
}

/** Bytes the ICV / AEAD tag covers ahead of the IV: header and SK header (RFC 7296 3.14, RFC 5282 5.1), plus SKF's fragment numbers. */
function coveredPrefix(buf: Uint8Array, enc: NonNullable<ChainV2['encrypted']>): Uint8Array {
  return buf.subarray(0, enc.offset + GENERIC_HEADER_LEN + (enc.type === PayloadV2.SKF ? 4 : 0));
}

/** Verifies and decrypts the SK payload; its inner chain, or a reason (a failed ICV says so). */
export function openSkV2(buf: Uint8Array, enc: NonNullable<ChainV2['encrypted']>, keys: SkKeys): Decoded<{ plain: Uint8Array; payloads?: PayloadV2Decoded[] }> {
  const skip = enc.type === PayloadV2.SKF ? 4 : 0;
  const plain = skOpen(keys.suite, keys.encKey, keys.integKey, coveredPrefix(buf, enc), enc.body.subarray(skip));
  if (!plain) return { ok: false, reason: 'integrity check failed' };
  if (enc.type === PayloadV2.SKF) return { ok: true, value: { plain } };
  try {
    const chain = decodeChainV2(enc.innerFirst, plain, 0, MAX_PAYLOADS);
    if (chain.encrypted) return { ok: false, reason: 'encrypted payload inside an encrypted payload' };
    return { ok: true, value: { plain, payloads: chain.payloads } };
  } catch (e) { return fail(e, 'encrypted payload chain'); }
}

export function decodeInnerV2(first: number, plain: Uint8Array): Decoded<PayloadV2Decoded[]> {
  try {
    const chain = decodeChainV2(first, plain, 0, MAX_PAYLOADS);
    if (chain.encrypted) return { ok: false, reason: 'encrypted payload inside an encrypted payload' };
    return { ok: true, value: chain.payloads };
  } catch (e) { return fail(e, 'reassembled payload chain'); }
}

type HeaderFields = Omit<HeaderV2, 'length' | 'nextPayload' | 'version'>;

function writeHeader(w: Writer, h: HeaderFields, next: number, length: number): void {
  w.bytes(h.ispi).bytes(h.rspi).u8(next).u8(IKEV2_MAJOR << 4).u8(h.exchange).u8(h.flags).u32(h.messageId).u32(length);
}

/** A cleartext message (IKE_SA_INIT). */
export function encodeMessageV2(h: HeaderFields, payloads: readonly PayloadBodyV2[]): Uint8Array {
  const chain = encodeChainV2(payloads);
  const len = IKEV2_HEADER_LEN + chain.bytes.length;
  if (len > MAX_MESSAGE_LEN) throw new Error('IKEv2 message too long');
  const w = new Writer();
  writeHeader(w, h, chain.first, len);
  return w.bytes(chain.bytes).done();
}

/** A message whose payloads all go inside one SK payload (RFC 7296 3.14). */
export function encodeEncryptedV2(h: HeaderFields, payloads: readonly PayloadBodyV2[], keys: SkKeys): Uint8Array {
  const inner = encodeChainV2(payloads);
  return sealInto(h, PayloadV2.SK, inner.first, inner.bytes, keys, new Uint8Array(0));
}

function sealInto(h: HeaderFields, type: PayloadV2.SK | PayloadV2.SKF, innerFirst: number, plain: Uint8Array, keys: SkKeys, extra: Uint8Array): Uint8Array {
  const sealedBytes = sealedLen(keys.suite, plain.length);
  const skLen = GENERIC_HEADER_LEN + extra.length + sealedBytes;
  const total = IKEV2_HEADER_LEN + skLen;
  if (total > MAX_MESSAGE_LEN) throw new Error('IKEv2 message too long');
  const w = new Writer();
  writeHeader(w, h, type, total);
  w.u8(innerFirst).u8(0).u16(skLen).bytes(extra);
  const covered = w.done();
  return new Uint8Array(Buffer.concat([covered, skSeal(keys.suite, keys.encKey, keys.integKey, covered, plain)]));
}

/**
 * RFC 7383: the inner chain split into Encrypted Fragment payloads so that no datagram exceeds `mtu`
 * (IP and UDP headers and the NAT-T marker allowed for by the caller). Only the first fragment names
 * the first inner payload type. One message when it fits.
 */
export function encodeFragmentsV2(h: HeaderFields, payloads: readonly PayloadBodyV2[], keys: SkKeys, maxDatagram: number): Uint8Array[] {
  const inner = encodeChainV2(payloads);
  const whole = IKEV2_HEADER_LEN + GENERIC_HEADER_LEN + sealedLen(keys.suite, inner.bytes.length);
  if (whole <= maxDatagram) return [sealInto(h, PayloadV2.SK, inner.first, inner.bytes, keys, new Uint8Array(0))];
  const overhead = IKEV2_HEADER_LEN + GENERIC_HEADER_LEN + 4 + sealedLen(keys.suite, 0);
  const room = Math.max(16, maxDatagram - overhead - 16);
  const total = Math.ceil(inner.bytes.length / room);
  if (total > 0xffff) throw new Error('too many fragments');
  const out: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    const extra = new Uint8Array([(i + 1) >> 8, (i + 1) & 0xff, total >> 8, total & 0xff]);
    out.push(sealInto(h, PayloadV2.SKF, i === 0 ? inner.first : PayloadV2.None, inner.bytes.subarray(i * room, (i + 1) * room), keys, extra));
  }
  return out;
}

/** The fragment number and count of an SKF payload body (RFC 7383 2.5). */
export function fragmentNumbers(body: Uint8Array): { number: number; total: number } | null {
  if (body.length < 4) return null;
  return { number: (body[0] << 8) | body[1], total: (body[2] << 8) | body[3] };
}
