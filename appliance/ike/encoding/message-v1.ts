// IKEv1 messages (RFC 2408 3.1): the 28-byte ISAKMP header and the payload chain. Decoding happens in
// two pure steps because an encrypted body can only be chained after the SA layer decrypts it:
// decodeHeaderV1 (header + the length-checked body bytes) and decodePayloadsV1 (the chain). Neither
// throws: every failure is a named reason the caller counts and drops.
import { DecodeError, Reader, Writer } from './cursor.js';
import { COOKIE_LEN, FLAG_ENCRYPTION, IKEV1_VERSION, ISAKMP_HEADER_LEN, MAX_MESSAGE_LEN, MAX_PAYLOADS } from './constants.js';
import { decodeChain, encodeChain, type PayloadBodyV1, type PayloadV1Decoded } from './payloads-v1.js';

export interface IsakmpHeader {
  ispi: Uint8Array; // initiator cookie
  rspi: Uint8Array; // responder cookie (zero in the first message)
  nextPayload: number;
  version: number;
  exchange: number;
  flags: number;
  messageId: number;
  length: number;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The header and the bytes it covers after itself (still encrypted when flags has E). */
export function decodeHeaderV1(buf: Uint8Array): Decoded<{ header: IsakmpHeader; body: Uint8Array }> {
  try {
    const r = new Reader(buf);
    const ispi = r.bytes(COOKIE_LEN, 'initiator cookie');
    const rspi = r.bytes(COOKIE_LEN, 'responder cookie');
    const nextPayload = r.u8('next payload');
    const version = r.u8('version');
    const exchange = r.u8('exchange type');
    const flags = r.u8('flags');
    const messageId = r.u32('message id');
    const length = r.u32('length');
    if (version >> 4 !== IKEV1_VERSION >> 4) return { ok: false, reason: `version 0x${version.toString(16)} is not IKEv1` };
    if (length < ISAKMP_HEADER_LEN || length > buf.length) return { ok: false, reason: `length ${length} does not fit the ${buf.length}-byte datagram` };
    if (ispi.every((b) => b === 0)) return { ok: false, reason: 'zero initiator cookie' };
    const body = buf.slice(ISAKMP_HEADER_LEN, length);
    return { ok: true, value: { header: { ispi, rspi, nextPayload, version, exchange, flags, messageId, length }, body } };
  } catch (e) {
    return { ok: false, reason: e instanceof DecodeError ? e.reason : 'header: undecodable' };
  }
}

/**
 * The payload chain of a (decrypted) body. `allowPadding`: a decrypted body ends in cipher padding
 * after the last payload; a cleartext one must end exactly with its last payload.
 */
export function decodePayloadsV1(first: number, body: Uint8Array, allowPadding: boolean): Decoded<PayloadV1Decoded[]> {
  try {
    const { payloads, trailing } = decodeChain(first, body, MAX_PAYLOADS);
    if (trailing && !allowPadding) return { ok: false, reason: `${trailing} bytes after the last payload` };
    return { ok: true, value: payloads };
  } catch (e) {
    return { ok: false, reason: e instanceof DecodeError ? e.reason : 'payloads: undecodable' };
  }
}

export interface OutgoingV1 {
  ispi: Uint8Array;
  rspi: Uint8Array;
  exchange: number;
  flags?: number;
  messageId: number;
  payloads: readonly PayloadBodyV1[];
}

/**
 * Builds a message. With `encrypt`, the chain is passed through it (the SA layer pads and encrypts)
 * and the E flag is set; the header's length always covers what follows it on the wire.
 */
export function encodeMessageV1(m: OutgoingV1, encrypt?: (plain: Uint8Array) => Uint8Array): Uint8Array {
  if (m.ispi.length !== COOKIE_LEN || m.rspi.length !== COOKIE_LEN) throw new Error('cookies must be 8 bytes');
  const chain = encodeChain(m.payloads);
  const body = encrypt ? encrypt(chain.bytes) : chain.bytes;
  const length = ISAKMP_HEADER_LEN + body.length;
  if (length > MAX_MESSAGE_LEN) throw new Error('message too long');
  const flags = (m.flags ?? 0) | (encrypt ? FLAG_ENCRYPTION : 0);
  return new Writer().bytes(m.ispi).bytes(m.rspi).u8(chain.first).u8(IKEV1_VERSION).u8(m.exchange).u8(flags)
    .u32(m.messageId).u32(length).bytes(body).done();
}

