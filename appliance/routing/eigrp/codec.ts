// EIGRP packet codec: pure functions, no state, no I/O. Input is the EIGRP packet (the IP payload of
// protocol 88). decodeEigrp never throws: every length read from the wire is checked against what is
// left before use, and each failure is named by a drop reason the caller counts.
import { bytesToIpv4, ipv4ToBytes } from '../../net/ipv4.js';
import {
  AFI_IPV4, EIGRP_HEADER_LEN, EIGRP_VERSION, Tlv,
} from './types.js';
import type {
  ClassicMetric, DecodeResult, EigrpDropReason, EigrpHeader, EigrpPacket, EigrpTlv, ExternalData, Ipv4Prefix, WideMetric,
} from './types.js';

/** More TLVs than any sane packet carries (a 1500-byte packet holds at most ~170 of the smallest). */
const MAX_TLVS = 512;

/** RFC 1071 checksum over the whole EIGRP packet; a packet with a correct checksum field sums to 0. */
export function eigrpChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------- decode ----------

class Fail { constructor(readonly reason: EigrpDropReason, readonly error: string) {} }
const fail = (reason: EigrpDropReason, error: string): never => { throw new Fail(reason, error); };

/** Bounds-checked big-endian reader over b[off, end). */
class Cursor {
  constructor(readonly b: Uint8Array, public off: number, readonly end: number, readonly what: string) {}
  get left(): number { return this.end - this.off; }
  need(n: number): void { if (this.left < n) fail('tlv-body', `${this.what}: needs ${n} more bytes, ${this.left} left`); }
  u8(): number { this.need(1); return this.b[this.off++]; }
  u16(): number { this.need(2); const v = (this.b[this.off] << 8) | this.b[this.off + 1]; this.off += 2; return v; }
  u24(): number { return this.u8() * 0x10000 + this.u16(); }
  u32(): number { return this.u16() * 0x10000 + this.u16(); }
  u48(): number { return this.u16() * 0x1_0000_0000 + this.u32(); }
  ip(): string { this.need(4); const s = bytesToIpv4(this.b, this.off); this.off += 4; return s; }
  bytes(n: number): Uint8Array { this.need(n); const v = this.b.slice(this.off, this.off + n); this.off += n; return v; }
}

function readClassicMetric(c: Cursor): ClassicMetric {
  return {
    delay: c.u32(), bandwidth: c.u32(), mtu: c.u24(), hopCount: c.u8(), reliability: c.u8(), load: c.u8(),
    tag: c.u8(), flags: c.u8(),
  };
}

function readWideMetric(c: Cursor): WideMetric {
  const offset = c.u8(), priority = c.u8(), reliability = c.u8(), load = c.u8(), mtu = c.u24(), hopCount = c.u8();
  const delay = c.u48(), bandwidth = c.u48();
  c.u16(); // reserved
  const flags = c.u16();
  const attributes = c.bytes(offset * 2); // offset counts 16-bit words of extended attributes
  return { offset, priority, reliability, load, mtu, hopCount, delay, bandwidth, flags, attributes };
}

function readExternal(c: Cursor): ExternalData {
  const originRouter = c.ip(), originAs = c.u32(), tag = c.u32(), externalMetric = c.u32();
  c.u16(); // reserved
  return { originRouter, originAs, tag, externalMetric, protocol: c.u8(), flags: c.u8() };
}

/** Destinations to the end of the TLV: a prefix length, then only the significant bytes of the prefix. */
function readDestinations(c: Cursor): Ipv4Prefix[] {
  const out: Ipv4Prefix[] = [];
  while (c.left > 0) {
    const len = c.u8();
    if (len > 32) fail('prefix-length', `${c.what}: prefix length ${len} > 32`);
    const n = (len + 7) >> 3;
    const raw = c.bytes(n);
    const a = new Uint8Array(4);
    a.set(raw);
    out.push({ prefix: bytesToIpv4(a, 0), len });
  }
  if (!out.length) fail('tlv-body', `${c.what}: no destination`);
  return out;
}

function readTlv(type: number, c: Cursor): EigrpTlv {
  switch (type) {
    case Tlv.Parameters: {
      const k = [c.u8(), c.u8(), c.u8(), c.u8(), c.u8(), c.u8()] as [number, number, number, number, number, number];
      return { type: 'parameters', k, holdTime: c.u16() };
    }
    case Tlv.Auth: {
      const authType = c.u16(), len = c.u16(), keyId = c.u32(), keySeq = c.u32();
      c.bytes(8); // null pad
      return { type: 'auth', authType, keyId, keySeq, digest: c.bytes(len) };
    }
    case Tlv.Sequence: {
      const addresses: string[] = [];
      while (c.left > 0) {
        const n = c.u8();
        if (n !== 4) fail('tlv-body', `sequence TLV: address length ${n}, only IPv4 (4) is understood`);
        addresses.push(c.ip());
      }
      return { type: 'sequence', addresses };
    }
    case Tlv.SoftwareVersion: return { type: 'software-version', os: [c.u8(), c.u8()], tlv: [c.u8(), c.u8()] };
    case Tlv.NextMcastSeq: return { type: 'next-multicast-seq', seq: c.u32() };
    case Tlv.Stub: return { type: 'stub', flags: c.u16() };
    case Tlv.PeerTermination: return { type: 'peer-termination', data: c.bytes(c.left) };
    case Tlv.Ipv4Internal: case Tlv.Ipv4External: {
      const nextHop = c.ip();
      const external = type === Tlv.Ipv4External ? readExternal(c) : undefined;
      const metric = readClassicMetric(c);
      const t: EigrpTlv = { type: 'ipv4-route', nextHop, metric, destinations: readDestinations(c) };
      if (external) t.external = external;
      return t;
    }
    case Tlv.WideInternal: case Tlv.WideExternal: {
      const topologyId = c.u16(), afi = c.u16(), routerId = c.ip();
      if (afi !== AFI_IPV4) return { type: 'unknown', code: type, data: c.b.slice(c.off - 8, c.end) };
      const metric = readWideMetric(c);
      const nextHop = c.ip();
      const external = type === Tlv.WideExternal ? readExternal(c) : undefined;
      const t: EigrpTlv = { type: 'wide-route', topologyId, routerId, nextHop, metric, destinations: readDestinations(c) };
      if (external) t.external = external;
      return t;
    }
    default: return { type: 'unknown', code: type, data: c.bytes(c.left) };
  }
}

/** Which TLV bodies must be consumed exactly (a fixed-size TLV with bytes left over is malformed). */
const FIXED_SIZE = new Set<number>([Tlv.Parameters, Tlv.SoftwareVersion, Tlv.NextMcastSeq, Tlv.Stub]);

export function decodeEigrpHeader(b: Uint8Array): EigrpHeader {
  const c = new Cursor(b, 0, b.length, 'header');
  return { version: c.u8(), opcode: c.u8(), checksum: c.u16(), flags: c.u32(), seq: c.u32(), ack: c.u32(), vrid: c.u16(), as: c.u16() };
}

/** Decode one EIGRP packet. `verifyChecksum` false is for tests feeding hand-built bodies. */
export function decodeEigrp(b: Uint8Array, verifyChecksum = true): DecodeResult {
  try {
    if (b.length < EIGRP_HEADER_LEN) fail('short', `${b.length} bytes, the header needs ${EIGRP_HEADER_LEN}`);
    const header = decodeEigrpHeader(b);
    if (header.version !== EIGRP_VERSION) fail('version', `version ${header.version}, expected ${EIGRP_VERSION}`);
    if (verifyChecksum && eigrpChecksum(b) !== 0) fail('checksum', `bad checksum 0x${header.checksum.toString(16)}`);
    const tlvs: EigrpTlv[] = [];
    let off = EIGRP_HEADER_LEN;
    while (off < b.length) {
      if (tlvs.length >= MAX_TLVS) fail('too-many-tlvs', `more than ${MAX_TLVS} TLVs`);
      if (b.length - off < 4) fail('tlv-length', `${b.length - off} trailing bytes after TLV ${tlvs.length}, a TLV header needs 4`);
      const type = (b[off] << 8) | b[off + 1], len = (b[off + 2] << 8) | b[off + 3];
      if (len < 4 || off + len > b.length) fail('tlv-length', `TLV 0x${type.toString(16).padStart(4, '0')} length ${len} at offset ${off} (packet ${b.length})`);
      const c = new Cursor(b, off + 4, off + len, `TLV 0x${type.toString(16).padStart(4, '0')}`);
      tlvs.push(readTlv(type, c));
      if (FIXED_SIZE.has(type) && c.left) fail('tlv-body', `${c.what}: ${c.left} unexpected trailing bytes`);
      off += len;
    }
    return { ok: true, packet: { header, tlvs } };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, reason: e.reason, error: e.error };
    return { ok: false, reason: 'tlv-body', error: `decoder: ${(e as Error).message}` };
  }
}

// ---------- encode ----------

class Writer {
  readonly parts: number[] = [];
  u8(v: number): void { this.parts.push(v & 0xff); }
  u16(v: number): void { this.u8(v >>> 8); this.u8(v); }
  u24(v: number): void { this.u8(v >>> 16); this.u16(v); }
  u32(v: number): void { this.u16(Math.floor(v / 0x10000)); this.u16(v); }
  u48(v: number): void { this.u16(Math.floor(v / 0x1_0000_0000)); this.u32(v % 0x1_0000_0000); }
  ip(s: string): void { for (const x of ipv4ToBytes(s)) this.u8(x); }
  bytes(b: Uint8Array): void { for (const x of b) this.u8(x); }
}

function writeExternal(w: Writer, e: ExternalData): void {
  w.ip(e.originRouter); w.u32(e.originAs); w.u32(e.tag); w.u32(e.externalMetric); w.u16(0); w.u8(e.protocol); w.u8(e.flags);
}

function writeDestinations(w: Writer, ds: Ipv4Prefix[]): void {
  for (const d of ds) {
    w.u8(d.len);
    const a = ipv4ToBytes(d.prefix);
    for (let i = 0; i < (d.len + 7) >> 3; i++) w.u8(a[i]);
  }
}

function tlvCode(t: EigrpTlv): number {
  switch (t.type) {
    case 'parameters': return Tlv.Parameters;
    case 'auth': return Tlv.Auth;
    case 'sequence': return Tlv.Sequence;
    case 'software-version': return Tlv.SoftwareVersion;
    case 'next-multicast-seq': return Tlv.NextMcastSeq;
    case 'stub': return Tlv.Stub;
    case 'peer-termination': return Tlv.PeerTermination;
    case 'ipv4-route': return t.external ? Tlv.Ipv4External : Tlv.Ipv4Internal;
    case 'wide-route': return t.external ? Tlv.WideExternal : Tlv.WideInternal;
    case 'unknown': return t.code;
  }
}

function writeBody(w: Writer, t: EigrpTlv): void {
  switch (t.type) {
    case 'parameters': t.k.forEach((k) => w.u8(k)); w.u16(t.holdTime); return;
    case 'auth': w.u16(t.authType); w.u16(t.digest.length); w.u32(t.keyId); w.u32(t.keySeq); w.bytes(new Uint8Array(8)); w.bytes(t.digest); return;
    case 'sequence': for (const a of t.addresses) { w.u8(4); w.ip(a); } return;
    case 'software-version': w.u8(t.os[0]); w.u8(t.os[1]); w.u8(t.tlv[0]); w.u8(t.tlv[1]); return;
    case 'next-multicast-seq': w.u32(t.seq); return;
    case 'stub': w.u16(t.flags); return;
    case 'peer-termination': w.bytes(t.data); return;
    case 'ipv4-route': {
      const m = t.metric;
      w.ip(t.nextHop);
      if (t.external) writeExternal(w, t.external);
      w.u32(m.delay); w.u32(m.bandwidth); w.u24(m.mtu); w.u8(m.hopCount); w.u8(m.reliability); w.u8(m.load); w.u8(m.tag); w.u8(m.flags);
      writeDestinations(w, t.destinations);
      return;
    }
    case 'wide-route': {
      const m = t.metric;
      w.u16(t.topologyId); w.u16(AFI_IPV4); w.ip(t.routerId);
      w.u8(m.attributes.length >> 1); w.u8(m.priority); w.u8(m.reliability); w.u8(m.load); w.u24(m.mtu); w.u8(m.hopCount);
      w.u48(m.delay); w.u48(m.bandwidth); w.u16(0); w.u16(m.flags); w.bytes(m.attributes);
      w.ip(t.nextHop);
      if (t.external) writeExternal(w, t.external);
      writeDestinations(w, t.destinations);
      return;
    }
    case 'unknown': w.bytes(t.data);
  }
}

/** The bytes of one TLV, header included. */
export function encodeTlv(t: EigrpTlv): Uint8Array {
  const w = new Writer();
  writeBody(w, t);
  const out = new Uint8Array(4 + w.parts.length);
  const len = out.length;
  out[0] = tlvCode(t) >>> 8; out[1] = tlvCode(t) & 0xff; out[2] = len >>> 8; out[3] = len & 0xff;
  out.set(w.parts, 4);
  return out;
}

/** Encode a packet with its checksum (computed over the final bytes; auth.ts fills a digest first). */
export function encodeEigrp(p: EigrpPacket): Uint8Array {
  const bodies = p.tlvs.map(encodeTlv);
  const total = EIGRP_HEADER_LEN + bodies.reduce((n, x) => n + x.length, 0);
  const out = new Uint8Array(total);
  const h = p.header;
  const dv = new DataView(out.buffer);
  dv.setUint8(0, h.version); dv.setUint8(1, h.opcode); dv.setUint16(2, 0);
  dv.setUint32(4, h.flags >>> 0); dv.setUint32(8, h.seq >>> 0); dv.setUint32(12, h.ack >>> 0);
  dv.setUint16(16, h.vrid); dv.setUint16(18, h.as);
  let off = EIGRP_HEADER_LEN;
  for (const x of bodies) { out.set(x, off); off += x.length; }
  setChecksum(out);
  return out;
}

/** Recompute the checksum field in place (after a digest was written into the packet). */
export function setChecksum(b: Uint8Array): void {
  b[2] = 0; b[3] = 0;
  const cs = eigrpChecksum(b);
  b[2] = cs >>> 8; b[3] = cs & 0xff;
}
