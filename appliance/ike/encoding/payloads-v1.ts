// IKEv1 payload bodies (RFC 2408 3.4-3.15, RFC 2407 4.6, RFC 3947 3.2): one encoder and one decoder
// each. A decoded payload keeps its exact wire bytes (`raw`, generic header included) because IKEv1
// hashes payloads as they were sent (SAi_b, IDii_b, quick-mode HASH(1)/(2)), never a re-encoding.
import { DecodeError, Reader, Writer } from './cursor.js';
import { readAttributes, writeAttribute, type SaAttribute } from './attributes.js';
import { DOI_IPSEC, GENERIC_HEADER_LEN, PayloadV1, SIT_IDENTITY_ONLY } from './constants.js';

export interface TransformV1 { number: number; id: number; attributes: SaAttribute[] }
export interface ProposalV1 { number: number; protocol: number; spi: Uint8Array; transforms: TransformV1[] }

export interface SaBodyV1 { type: PayloadV1.SA; doi: number; situation: number; proposals: ProposalV1[] }
export interface DataBodyV1 { type: PayloadV1.KE | PayloadV1.Nonce | PayloadV1.Hash | PayloadV1.VendorId | PayloadV1.NatD; data: Uint8Array }
export interface IdBodyV1 { type: PayloadV1.ID; idType: number; protocol: number; port: number; data: Uint8Array }
export interface NotifyBodyV1 { type: PayloadV1.Notify; doi: number; protocol: number; spi: Uint8Array; notifyType: number; data: Uint8Array }
export interface DeleteBodyV1 { type: PayloadV1.Delete; doi: number; protocol: number; spiSize: number; spis: Uint8Array[] }
/** A payload type we do not interpret: kept whole, skipped by the tasks. */
export interface UnknownBodyV1 { type: number; unknown: true; data: Uint8Array }

export type PayloadBodyV1 = SaBodyV1 | DataBodyV1 | IdBodyV1 | NotifyBodyV1 | DeleteBodyV1 | UnknownBodyV1;

/** A decoded payload: its body, the exact bytes on the wire, and the body alone (without header). */
export type PayloadV1Decoded = PayloadBodyV1 & { raw: Uint8Array; body: Uint8Array };

const DATA_PAYLOADS = new Set<number>([PayloadV1.KE, PayloadV1.Nonce, PayloadV1.Hash, PayloadV1.VendorId, PayloadV1.NatD]);

// ---------- encode ----------

function writeTransforms(w: Writer, ts: readonly TransformV1[]): void {
  ts.forEach((t, i) => {
    const start = w.length;
    w.u8(i === ts.length - 1 ? 0 : PayloadV1.Transform).u8(0).u16(0).u8(t.number).u8(t.id).u16(0);
    for (const a of t.attributes) writeAttribute(w, a);
    w.patchU16(start + 2, w.length - start);
  });
}

function writeProposals(w: Writer, ps: readonly ProposalV1[]): void {
  ps.forEach((p, i) => {
    const start = w.length;
    w.u8(i === ps.length - 1 ? 0 : PayloadV1.Proposal).u8(0).u16(0)
      .u8(p.number).u8(p.protocol).u8(p.spi.length).u8(p.transforms.length).bytes(p.spi);
    writeTransforms(w, p.transforms);
    w.patchU16(start + 2, w.length - start);
  });
}

/** The body of one payload (what follows its generic header). */
export function encodeBody(p: PayloadBodyV1): Uint8Array {
  const w = new Writer();
  if ('unknown' in p) return w.bytes(p.data).done();
  switch (p.type) {
    case PayloadV1.SA:
      w.u32(p.doi).u32(p.situation);
      writeProposals(w, p.proposals);
      break;
    case PayloadV1.ID:
      w.u8(p.idType).u8(p.protocol).u16(p.port).bytes(p.data);
      break;
    case PayloadV1.Notify:
      w.u32(p.doi).u8(p.protocol).u8(p.spi.length).u16(p.notifyType).bytes(p.spi).bytes(p.data);
      break;
    case PayloadV1.Delete:
      w.u32(p.doi).u8(p.protocol).u8(p.spiSize).u16(p.spis.length);
      for (const s of p.spis) {
        if (s.length !== p.spiSize) throw new Error('delete: SPI of the wrong size');
        w.bytes(s);
      }
      break;
    default:
      w.bytes(p.data);
  }
  return w.done();
}

/** A payload chain: each generic header names the type of the next payload; returns the first type. */
export function encodeChain(payloads: readonly PayloadBodyV1[]): { first: number; bytes: Uint8Array } {
  const w = new Writer();
  payloads.forEach((p, i) => {
    const body = encodeBody(p);
    const len = GENERIC_HEADER_LEN + body.length;
    if (len > 0xffff) throw new Error(`payload ${p.type} too long`);
    w.u8(i + 1 < payloads.length ? payloads[i + 1].type : PayloadV1.None).u8(0).u16(len).bytes(body);
  });
  return { first: payloads.length ? payloads[0].type : PayloadV1.None, bytes: w.done() };
}

// ---------- decode ----------

/** A proposal or transform substructure: same generic header as a payload. */
function readGeneric(r: Reader, what: string): { next: number; body: Reader } {
  const next = r.u8(`${what} next payload`);
  r.u8(`${what} reserved`);
  const len = r.u16(`${what} length`);
  if (len < GENERIC_HEADER_LEN) throw new DecodeError(`${what}: length ${len} below header`);
  const body = r.sub(len - GENERIC_HEADER_LEN, `${what} body`);
  return { next, body };
}

function readTransforms(r: Reader, count: number): TransformV1[] {
  const out: TransformV1[] = [];
  let next = PayloadV1.Transform as number;
  for (let i = 0; i < count; i++) {
    if (next !== PayloadV1.Transform) throw new DecodeError(`proposal: transform ${i} announced but chain ended`);
    const g = readGeneric(r, 'transform');
    next = g.next;
    const number = g.body.u8('transform number');
    const id = g.body.u8('transform id');
    g.body.u16('transform reserved');
    out.push({ number, id, attributes: readAttributes(g.body) });
  }
  if (next !== PayloadV1.None) throw new DecodeError('proposal: more transforms than announced');
  if (r.remaining) throw new DecodeError('proposal: trailing bytes after transforms');
  return out;
}

function readProposals(r: Reader): ProposalV1[] {
  const out: ProposalV1[] = [];
  let next = PayloadV1.Proposal as number;
  while (next === PayloadV1.Proposal) {
    if (out.length >= 64) throw new DecodeError('SA: too many proposals');
    const g = readGeneric(r, 'proposal');
    next = g.next;
    const number = g.body.u8('proposal number');
    const protocol = g.body.u8('protocol id');
    const spiSize = g.body.u8('SPI size');
    const count = g.body.u8('transform count');
    const spi = g.body.bytes(spiSize, 'SPI');
    if (count === 0) throw new DecodeError('proposal without transforms');
    out.push({ number, protocol, spi, transforms: readTransforms(g.body, count) });
  }
  if (next !== PayloadV1.None) throw new DecodeError(`SA: payload type ${next} inside proposal chain`);
  if (r.remaining) throw new DecodeError('SA: trailing bytes after proposals');
  if (!out.length) throw new DecodeError('SA: no proposal');
  return out;
}

function decodeBody(type: number, r: Reader): PayloadBodyV1 {
  if (DATA_PAYLOADS.has(type)) return { type, data: r.rest() } as PayloadBodyV1;
  switch (type) {
    case PayloadV1.SA: {
      const doi = r.u32('SA DOI');
      const situation = r.u32('SA situation');
      if (doi !== DOI_IPSEC) throw new DecodeError(`SA: DOI ${doi} not IPsec`);
      if (situation !== SIT_IDENTITY_ONLY) throw new DecodeError(`SA: situation ${situation} unsupported`);
      return { type, doi, situation, proposals: readProposals(r) };
    }
    case PayloadV1.ID:
      return { type, idType: r.u8('ID type'), protocol: r.u8('ID protocol'), port: r.u16('ID port'), data: r.rest() };
    case PayloadV1.Notify: {
      const doi = r.u32('notify DOI');
      const protocol = r.u8('notify protocol');
      const spiSize = r.u8('notify SPI size');
      const notifyType = r.u16('notify type');
      return { type, doi, protocol, notifyType, spi: r.bytes(spiSize, 'notify SPI'), data: r.rest() };
    }
    case PayloadV1.Delete: {
      const doi = r.u32('delete DOI');
      const protocol = r.u8('delete protocol');
      const spiSize = r.u8('delete SPI size');
      const n = r.u16('delete SPI count');
      const spis: Uint8Array[] = [];
      for (let i = 0; i < n; i++) spis.push(r.bytes(spiSize, 'delete SPI'));
      if (r.remaining) throw new DecodeError('delete: trailing bytes');
      return { type, doi, protocol, spiSize, spis };
    }
    default:
      return { type, unknown: true, data: r.rest() };
  }
}

/**
 * Decodes a payload chain starting with type `first` from `r`. Bytes after the last payload are
 * returned as `trailing` (padding of a decrypted message; the caller decides whether they are allowed).
 * Throws DecodeError; the message decoder catches it.
 */
export function decodeChain(first: number, buf: Uint8Array, maxPayloads: number): { payloads: PayloadV1Decoded[]; trailing: number } {
  const r = new Reader(buf);
  const payloads: PayloadV1Decoded[] = [];
  let type = first;
  while (type !== PayloadV1.None) {
    if (payloads.length >= maxPayloads) throw new DecodeError(`more than ${maxPayloads} payloads`);
    if (type === PayloadV1.Proposal || type === PayloadV1.Transform) throw new DecodeError(`payload type ${type} outside an SA`);
    const start = r.offset;
    const next = r.u8('next payload');
    r.u8('reserved');
    const len = r.u16('payload length');
    if (len < GENERIC_HEADER_LEN) throw new DecodeError(`payload ${type}: length ${len} below header`);
    const body = r.sub(len - GENERIC_HEADER_LEN, `payload ${type}`);
    const bodyStart = body.offset;
    const decoded = decodeBody(type, body);
    if (body.remaining) throw new DecodeError(`payload ${type}: trailing bytes`);
    payloads.push({ ...decoded, raw: buf.slice(start, start + len), body: buf.slice(bodyStart, start + len) } as PayloadV1Decoded);
    type = next;
  }
  return { payloads, trailing: r.remaining };
}

// ---------- typed access (the open `unknown` variant defeats narrowing on `type` alone) ----------

type Wire = { raw: Uint8Array; body: Uint8Array };
export type SaPayloadV1 = SaBodyV1 & Wire;
export type IdPayloadV1 = IdBodyV1 & Wire;
export type NotifyPayloadV1 = NotifyBodyV1 & Wire;
export type DeletePayloadV1 = DeleteBodyV1 & Wire;

const known = (p: PayloadV1Decoded) => !('unknown' in p);
export const asSa = (p?: PayloadV1Decoded) => (p && known(p) && p.type === PayloadV1.SA ? (p as SaPayloadV1) : undefined);
export const asId = (p?: PayloadV1Decoded) => (p && known(p) && p.type === PayloadV1.ID ? (p as IdPayloadV1) : undefined);
export const asNotify = (p?: PayloadV1Decoded) => (p && known(p) && p.type === PayloadV1.Notify ? (p as NotifyPayloadV1) : undefined);
export const asDelete = (p?: PayloadV1Decoded) => (p && known(p) && p.type === PayloadV1.Delete ? (p as DeletePayloadV1) : undefined);
/** The data of a KE, nonce, hash, vendor ID or NAT-D payload. */
export const dataOf = (p?: PayloadV1Decoded) => (p && known(p) && DATA_PAYLOADS.has(p.type) ? (p as { data: Uint8Array }).data : undefined);

/** The payload of `type` when the message has exactly one, else undefined (two hashes are an attack). */
export function single(payloads: readonly PayloadV1Decoded[], type: number): PayloadV1Decoded | undefined {
  const found = payloads.filter((p) => p.type === type);
  return found.length === 1 ? found[0] : undefined;
}
