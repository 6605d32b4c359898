// IKEv2 payload bodies (RFC 7296 3.3-3.15): one encoder and one decoder each. A decoded payload keeps
// its body bytes (`body`, without the generic header) because AUTH signs the ID payload body as sent.
// The SK and SKF payloads end a chain (RFC 7296 3.14, RFC 7383 2.5): the chain decoder returns their
// bytes for the message layer to authenticate and decrypt.
import { DecodeError, Reader, Writer } from './cursor.js';
import { GENERIC_HEADER_LEN } from './constants.js';
import { ATTR_KEY_LENGTH, PayloadV2, TS_IPV4_ADDR_RANGE } from './constants-v2.js';

export interface TransformV2 { type: number; id: number; keyLength?: number }
export interface ProposalV2 { number: number; protocol: number; spi: Uint8Array; transforms: TransformV2[] }
export interface TrafficSelector { type: number; protocol: number; startPort: number; endPort: number; start: Uint8Array; end: Uint8Array }

export interface SaBodyV2 { type: PayloadV2.SA; proposals: ProposalV2[] }
export interface KeBodyV2 { type: PayloadV2.KE; group: number; data: Uint8Array }
export interface IdBodyV2 { type: PayloadV2.IDi | PayloadV2.IDr; idType: number; data: Uint8Array }
export interface AuthBodyV2 { type: PayloadV2.Auth; method: number; data: Uint8Array }
export interface DataBodyV2 { type: PayloadV2.Nonce | PayloadV2.VendorId | PayloadV2.Cert | PayloadV2.CertReq; data: Uint8Array }
export interface NotifyBodyV2 { type: PayloadV2.Notify; protocol: number; spi: Uint8Array; notifyType: number; data: Uint8Array }
export interface DeleteBodyV2 { type: PayloadV2.Delete; protocol: number; spiSize: number; spis: Uint8Array[] }
export interface TsBodyV2 { type: PayloadV2.TSi | PayloadV2.TSr; selectors: TrafficSelector[] }
/** A payload type we do not interpret: kept whole; `critical` means the peer requires us to understand it. */
export interface UnknownBodyV2 { type: number; unknown: true; critical: boolean; data: Uint8Array }

export type PayloadBodyV2 = SaBodyV2 | KeBodyV2 | IdBodyV2 | AuthBodyV2 | DataBodyV2 | NotifyBodyV2 | DeleteBodyV2 | TsBodyV2 | UnknownBodyV2;
export type PayloadV2Decoded = PayloadBodyV2 & { body: Uint8Array };

const DATA = new Set<number>([PayloadV2.Nonce, PayloadV2.VendorId, PayloadV2.Cert, PayloadV2.CertReq]);
const MAX_PROPOSALS = 64, MAX_TRANSFORMS = 64, MAX_SELECTORS = 32, MAX_DELETE_SPIS = 256;

// ---------- encode ----------

function writeProposals(w: Writer, ps: readonly ProposalV2[]): void {
  ps.forEach((p, i) => {
    const start = w.length;
    w.u8(i === ps.length - 1 ? 0 : 2).u8(0).u16(0).u8(p.number).u8(p.protocol).u8(p.spi.length).u8(p.transforms.length).bytes(p.spi);
    p.transforms.forEach((t, j) => {
      const ts = w.length;
      w.u8(j === p.transforms.length - 1 ? 0 : 3).u8(0).u16(0).u8(t.type).u8(0).u16(t.id);
      if (t.keyLength !== undefined) w.u16(0x8000 | ATTR_KEY_LENGTH).u16(t.keyLength);
      w.patchU16(ts + 2, w.length - ts);
    });
    w.patchU16(start + 2, w.length - start);
  });
}

export function encodeBodyV2(p: PayloadBodyV2): Uint8Array {
  const w = new Writer();
  if ('unknown' in p) return w.bytes(p.data).done();
  switch (p.type) {
    case PayloadV2.SA: writeProposals(w, p.proposals); break;
    case PayloadV2.KE: w.u16(p.group).u16(0).bytes(p.data); break;
    case PayloadV2.IDi: case PayloadV2.IDr: w.u8(p.idType).u8(0).u16(0).bytes(p.data); break;
    case PayloadV2.Auth: w.u8(p.method).u8(0).u16(0).bytes(p.data); break;
    case PayloadV2.Notify: w.u8(p.protocol).u8(p.spi.length).u16(p.notifyType).bytes(p.spi).bytes(p.data); break;
    case PayloadV2.Delete:
      w.u8(p.protocol).u8(p.spiSize).u16(p.spis.length);
      for (const s of p.spis) { if (s.length !== p.spiSize) throw new Error('delete: SPI of the wrong size'); w.bytes(s); }
      break;
    case PayloadV2.TSi: case PayloadV2.TSr:
      w.u8(p.selectors.length).u8(0).u16(0);
      for (const s of p.selectors) w.u8(s.type).u8(s.protocol).u16(8 + s.start.length * 2).u16(s.startPort).u16(s.endPort).bytes(s.start).bytes(s.end);
      break;
    default: w.bytes(p.data);
  }
  return w.done();
}

/** A plain payload chain; `tail` is the type the last payload names as next (SK's inner chain: none). */
export function encodeChainV2(payloads: readonly PayloadBodyV2[]): { first: number; bytes: Uint8Array } {
  const w = new Writer();
  payloads.forEach((p, i) => {
    const body = encodeBodyV2(p);
    const len = GENERIC_HEADER_LEN + body.length;
    if (len > 0xffff) throw new Error(`payload ${p.type} too long`);
    const critical = 'unknown' in p && p.critical ? 0x80 : 0;
    w.u8(i + 1 < payloads.length ? payloads[i + 1].type : PayloadV2.None).u8(critical).u16(len).bytes(body);
  });
  return { first: payloads.length ? payloads[0].type : PayloadV2.None, bytes: w.done() };
}

// ---------- decode ----------

function readProposals(r: Reader): ProposalV2[] {
  const out: ProposalV2[] = [];
  let more = 2;
  while (more === 2) {
    if (out.length >= MAX_PROPOSALS) throw new DecodeError('SA: too many proposals');
    more = r.u8('proposal last/more');
    r.u8('proposal reserved');
    const len = r.u16('proposal length');
    if (len < 8) throw new DecodeError(`proposal length ${len}`);
    const b = r.sub(len - 4, 'proposal body');
    const number = b.u8('proposal number'), protocol = b.u8('protocol id'), spiSize = b.u8('SPI size'), count = b.u8('transform count');
    const spi = b.bytes(spiSize, 'SPI');
    if (count === 0 || count > MAX_TRANSFORMS) throw new DecodeError(`proposal with ${count} transforms`);
    const transforms: TransformV2[] = [];
    let tmore = 3;
    for (let i = 0; i < count; i++) {
      if (tmore !== 3) throw new DecodeError('proposal: transform chain ended early');
      tmore = b.u8('transform last/more');
      b.u8('transform reserved');
      const tlen = b.u16('transform length');
      if (tlen < 8) throw new DecodeError(`transform length ${tlen}`);
      const t = b.sub(tlen - 4, 'transform body');
      const type = t.u8('transform type');
      t.u8('transform reserved');
      const tr: TransformV2 = { type, id: t.u16('transform id') };
      while (t.remaining) {
        const at = t.u16('attribute type');
        if (!(at & 0x8000)) { t.bytes(t.u16('attribute length'), 'attribute value'); tr.keyLength = -1; continue; }
        const v = t.u16('attribute value');
        if ((at & 0x7fff) === ATTR_KEY_LENGTH) tr.keyLength = v; else tr.keyLength = -1; // an attribute we cannot honour
      }
      transforms.push(tr);
    }
    if (tmore !== 0) throw new DecodeError('proposal: more transforms than announced');
    if (b.remaining) throw new DecodeError('proposal: trailing bytes');
    out.push({ number, protocol, spi, transforms });
  }
  if (more !== 0) throw new DecodeError(`SA: bad last/more value ${more}`);
  if (r.remaining) throw new DecodeError('SA: trailing bytes after proposals');
  if (!out.length) throw new DecodeError('SA: no proposal');
  return out;
}

function readSelectors(r: Reader): TrafficSelector[] {
  const n = r.u8('TS count');
  r.bytes(3, 'TS reserved');
  if (n === 0 || n > MAX_SELECTORS) throw new DecodeError(`TS payload with ${n} selectors`);
  const out: TrafficSelector[] = [];
  for (let i = 0; i < n; i++) {
    const type = r.u8('TS type'), protocol = r.u8('TS protocol'), len = r.u16('TS length');
    if (len < 8) throw new DecodeError(`selector length ${len}`);
    const b = r.sub(len - 4, 'selector');
    const startPort = b.u16('start port'), endPort = b.u16('end port');
    const alen = b.remaining / 2;
    if (type === TS_IPV4_ADDR_RANGE && alen !== 4) throw new DecodeError('IPv4 selector of the wrong length');
    if (!Number.isInteger(alen)) throw new DecodeError('selector addresses of odd length');
    out.push({ type, protocol, startPort, endPort, start: b.bytes(alen, 'start address'), end: b.bytes(alen, 'end address') });
  }
  if (r.remaining) throw new DecodeError('TS: trailing bytes');
  return out;
}

function decodeBody(type: number, critical: boolean, r: Reader): PayloadBodyV2 {
  if (DATA.has(type)) return { type, data: r.rest() } as DataBodyV2;
  switch (type) {
    case PayloadV2.SA: return { type, proposals: readProposals(r) };
    case PayloadV2.KE: { const group = r.u16('KE group'); r.u16('KE reserved'); return { type, group, data: r.rest() }; }
    case PayloadV2.IDi: case PayloadV2.IDr: { const idType = r.u8('ID type'); r.bytes(3, 'ID reserved'); return { type, idType, data: r.rest() }; }
    case PayloadV2.Auth: { const method = r.u8('auth method'); r.bytes(3, 'auth reserved'); return { type, method, data: r.rest() }; }
    case PayloadV2.Notify: {
      const protocol = r.u8('notify protocol'), spiSize = r.u8('notify SPI size'), notifyType = r.u16('notify type');
      return { type, protocol, notifyType, spi: r.bytes(spiSize, 'notify SPI'), data: r.rest() };
    }
    case PayloadV2.Delete: {
      const protocol = r.u8('delete protocol'), spiSize = r.u8('delete SPI size'), n = r.u16('delete SPI count');
      if (n > MAX_DELETE_SPIS) throw new DecodeError(`delete of ${n} SPIs`);
      const spis: Uint8Array[] = [];
      for (let i = 0; i < n; i++) spis.push(r.bytes(spiSize, 'deleted SPI'));
      if (r.remaining) throw new DecodeError('delete: trailing bytes');
      return { type, protocol, spiSize, spis };
    }
    case PayloadV2.TSi: case PayloadV2.TSr: return { type, selectors: readSelectors(r) };
    default: return { type, unknown: true, critical, data: r.rest() };
  }
}

export interface ChainV2 {
  payloads: PayloadV2Decoded[];
  /** The SK or SKF payload that ended the chain: its type, the type of its first inner payload, its offset in `buf` and body. */
  encrypted?: { type: PayloadV2.SK | PayloadV2.SKF; innerFirst: number; offset: number; body: Uint8Array };
}

/** A payload chain from `first`, from `start` to the end of `buf`; throws DecodeError (the message layer catches it). */
export function decodeChainV2(first: number, buf: Uint8Array, start: number, maxPayloads: number): ChainV2 {
  const r = new Reader(buf, start);
  const payloads: PayloadV2Decoded[] = [];
  let next = first;
  while (next !== PayloadV2.None) {
    if (payloads.length >= maxPayloads) throw new DecodeError(`more than ${maxPayloads} payloads`);
    const offset = r.offset;
    const type = next;
    next = r.u8('next payload');
    const critical = (r.u8('critical flag') & 0x80) !== 0;
    const len = r.u16('payload length');
    if (len < GENERIC_HEADER_LEN) throw new DecodeError(`payload ${type}: length ${len} below header`);
    const body = r.sub(len - GENERIC_HEADER_LEN, `payload ${type}`);
    if (type === PayloadV2.SK || type === PayloadV2.SKF) {
      if (r.remaining) throw new DecodeError('bytes after the encrypted payload');
      return { payloads, encrypted: { type, innerFirst: next, offset, body: body.rest() } };
    }
    const bytes = new Reader(buf, body.offset, body.offset + body.remaining).rest();
    payloads.push({ ...decodeBody(type, critical, body), body: bytes } as PayloadV2Decoded);
    if (body.remaining) throw new DecodeError(`payload ${type}: trailing bytes`);
  }
  if (r.remaining) throw new DecodeError(`${r.remaining} bytes after the last payload`);
  return { payloads };
}

// ---------- helpers for the tasks ----------

/** The first payload of `type` that we decoded (not an unknown one), typed as the caller names it. */
export const findV2 = <B extends PayloadBodyV2>(ps: readonly PayloadV2Decoded[], type: PayloadV2) =>
  ps.find((p) => p.type === type && !('unknown' in p)) as (B & { body: Uint8Array }) | undefined;

export const notifiesV2 = (ps: readonly PayloadV2Decoded[]) => ps.filter((p): p is NotifyBodyV2 & { body: Uint8Array } => p.type === PayloadV2.Notify);

export const notify = (notifyType: number, data: Uint8Array = new Uint8Array(0), protocol = 0, spi: Uint8Array = new Uint8Array(0)): NotifyBodyV2 =>
  ({ type: PayloadV2.Notify, protocol, spi, notifyType, data });
