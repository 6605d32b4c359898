// NHRP wire codec: pure functions, no state, no I/O. Input is the NHRP packet starting at the fixed
// header (what follows a GRE header with protocol 0x2001). decodeNhrp never throws: every length
// read from the wire is checked against the buffer before use, and failures are named.
import {
  AFN_IPV4, CIE_HEADER_LEN, CIE_LIST_EXTENSIONS, EXT_COMPULSORY, EXT_HEADER_LEN, EXT_TYPE_MASK,
  FIXED_HEADER_LEN, MANDATORY_FIXED_LEN, MAX_CIES, MAX_EXTENSIONS, NHRP_VERSION, NhrpExtType, NhrpType,
  PRO_IPV4,
} from './types.js';
import type { NhrpCie, NhrpDecodeError, NhrpDecodeResult, NhrpExtension, NhrpMessage } from './types.js';
import { bytesToIpv4, ipv4ToBytes } from '../net/ipv4.js';

// ---------- helpers ----------

/** RFC 2332 ar$chksum: the IP checksum (RFC 1071) over the whole NHRP packet (ar$pktsz bytes).
 *  A packet whose checksum field is correct sums to 0 (returned as 0). */
export function nhrpChecksum(b: Uint8Array, len = b.length): number {
  let sum = 0;
  for (let i = 0; i + 1 < len; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (len & 1) sum += b[len - 1] << 8; // odd byte is the high half of a zero-padded word
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------- encode ----------

function cieSize(c: NhrpCie): number {
  return CIE_HEADER_LEN + (c.nbma ? 4 : 0) + (c.nbmaSub?.length ?? 0) + (c.proto ? 4 : 0);
}

function extPayloadSize(e: NhrpExtension): number {
  if (CIE_LIST_EXTENSIONS.has(e.type) && e.cies) return e.cies.reduce((n, c) => n + cieSize(c), 0);
  if (e.type === NhrpExtType.Authentication && e.auth) return 4 + e.auth.secret.length;
  if (e.type === NhrpExtType.VendorPrivate && e.vendor) return 3 + e.vendor.data.length;
  return e.raw?.length ?? 0;
}

class Writer {
  off = 0;
  constructor(readonly b: Uint8Array) {}
  u8(v: number): void { this.b[this.off++] = v & 0xff; }
  u16(v: number): void { this.u8(v >>> 8); this.u8(v); }
  u32(v: number): void { this.u16(v >>> 16); this.u16(v); }
  bytes(v: Uint8Array): void { this.b.set(v, this.off); this.off += v.length; }
  ip(s: string): void { this.bytes(ipv4ToBytes(s)); }
}

function writeCie(w: Writer, c: NhrpCie): void {
  w.u8(c.code);
  w.u8(c.prefixLen);
  w.u16(0); // unused
  w.u16(c.mtu);
  w.u16(c.holdingTime);
  w.u8(c.nbma ? 4 : 0); // cli addr type/len: type 0 (NSAP format), len 4
  w.u8(c.nbmaSub?.length ?? 0);
  w.u8(c.proto ? 4 : 0);
  w.u8(c.preference);
  if (c.nbma) w.ip(c.nbma);
  if (c.nbmaSub) w.bytes(c.nbmaSub);
  if (c.proto) w.ip(c.proto);
}

/** Encode a message, computing ar$pktsz, ar$extoff and ar$chksum. Throws only on programmer error
 *  (an unparsable address string or a value that does not fit its field). */
export function encodeNhrp(m: NhrpMessage): Uint8Array {
  const isInd = m.type === NhrpType.ErrorIndication || m.type === NhrpType.TrafficIndication;
  const bodyLen = isInd ? (m.payload?.length ?? 0) : m.cies.reduce((n, c) => n + cieSize(c), 0);
  const mandLen = MANDATORY_FIXED_LEN + 4 + 4 + 4 + bodyLen;
  const exts = m.extensions;
  const extLen = exts.length
    ? exts.reduce((n, e) => n + EXT_HEADER_LEN + extPayloadSize(e), 0) + EXT_HEADER_LEN // + End
    : 0;
  const total = FIXED_HEADER_LEN + mandLen + extLen;
  if (total > 0xffff) throw new Error('NHRP packet too large');
  const w = new Writer(new Uint8Array(total));
  // fixed header
  w.u16(AFN_IPV4);
  w.u16(PRO_IPV4);
  w.bytes(new Uint8Array(5)); // ar$pro.snap: unused with a short-form protocol type
  w.u8(m.hopCount);
  w.u16(total);
  w.u16(0); // checksum, filled below
  w.u16(exts.length ? FIXED_HEADER_LEN + mandLen : 0);
  w.u8(NHRP_VERSION);
  w.u8(m.type);
  w.u8(4); // ar$shtl: NSAP format, 4-byte IPv4 NBMA address
  w.u8(0); // ar$sstl: no subaddress
  // mandatory part
  w.u8(4); // src proto len
  w.u8(4); // dst proto len
  if (m.type === NhrpType.ErrorIndication) {
    w.u16(0);
    w.u16(m.errorCode ?? 0);
    w.u16(m.errorOffset ?? 0);
  } else if (m.type === NhrpType.TrafficIndication) {
    w.u16(m.trafficCode ?? 0);
    w.u32(0);
  } else {
    w.u16(m.flags);
    w.u32(m.requestId >>> 0);
  }
  w.ip(m.srcNbma);
  w.ip(m.srcProto);
  w.ip(m.dstProto);
  if (isInd) { if (m.payload) w.bytes(m.payload); } else for (const c of m.cies) writeCie(w, c);
  // extensions, always closed by End (compulsory bit set, as FRR and IOS send it)
  if (exts.length) {
    for (const e of exts) {
      w.u16((e.type & EXT_TYPE_MASK) | (e.compulsory ? EXT_COMPULSORY : 0));
      w.u16(extPayloadSize(e));
      if (CIE_LIST_EXTENSIONS.has(e.type) && e.cies) for (const c of e.cies) writeCie(w, c);
      else if (e.type === NhrpExtType.Authentication && e.auth) { w.u32(e.auth.spi); w.bytes(e.auth.secret); }
      else if (e.type === NhrpExtType.VendorPrivate && e.vendor) {
        w.u8(e.vendor.id >>> 16); w.u16(e.vendor.id); w.bytes(e.vendor.data);
      } else if (e.raw) w.bytes(e.raw);
    }
    w.u16(NhrpExtType.End | EXT_COMPULSORY);
    w.u16(0);
  }
  const cs = nhrpChecksum(w.b);
  w.b[12] = cs >>> 8;
  w.b[13] = cs & 0xff;
  return w.b;
}

// ---------- decode ----------

class DecodeFail {
  constructor(readonly code: NhrpDecodeError, readonly error: string) {}
}
const fail = (code: NhrpDecodeError, error: string): never => { throw new DecodeFail(code, error); };

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** Parse CIEs in b[off, end). `what` names the containing part for error messages. */
function readCies(b: Uint8Array, off: number, end: number, code: NhrpDecodeError, what: string): NhrpCie[] {
  const out: NhrpCie[] = [];
  while (off < end) {
    if (out.length >= MAX_CIES) fail('too-many-cies', `${what}: more than ${MAX_CIES} CIEs`);
    if (end - off < CIE_HEADER_LEN) fail(code, `${what}: ${end - off} bytes left, CIE header needs 12`);
    const nbmaLen = b[off + 8] & 0x3f;
    const subLen = b[off + 9] & 0x3f;
    const protoLen = b[off + 10];
    if (nbmaLen !== 0 && nbmaLen !== 4) fail(code, `${what}: CIE NBMA length ${nbmaLen} (IPv4 only)`);
    if (protoLen !== 0 && protoLen !== 4) fail(code, `${what}: CIE protocol length ${protoLen} (IPv4 only)`);
    const need = CIE_HEADER_LEN + nbmaLen + subLen + protoLen;
    if (end - off < need) fail(code, `${what}: CIE needs ${need} bytes, ${end - off} left`);
    let p = off + CIE_HEADER_LEN;
    const cie: NhrpCie = {
      code: b[off], prefixLen: b[off + 1], mtu: u16(b, off + 4), holdingTime: u16(b, off + 6),
      preference: b[off + 11],
    };
    if (nbmaLen) { cie.nbma = bytesToIpv4(b, p); p += 4; }
    if (subLen) { cie.nbmaSub = b.slice(p, p + subLen); p += subLen; }
    if (protoLen) { cie.proto = bytesToIpv4(b, p); p += 4; }
    out.push(cie);
    off = p;
  }
  return out;
}

function readExtensions(b: Uint8Array, off: number, end: number): NhrpExtension[] {
  const out: NhrpExtension[] = [];
  while (off < end) {
    if (end - off < EXT_HEADER_LEN) fail('bad-extension', `${end - off} stray bytes where an extension header belongs`);
    const t = u16(b, off);
    const len = u16(b, off + 2);
    const type = t & EXT_TYPE_MASK;
    const p = off + EXT_HEADER_LEN;
    if (len > end - p) fail('bad-extension', `extension ${type} length ${len} exceeds the ${end - p} bytes left`);
    if (type === NhrpExtType.End) break; // anything after End is ignored (RFC 2332 5.3)
    if (out.length >= MAX_EXTENSIONS) fail('bad-extension', `more than ${MAX_EXTENSIONS} extensions`);
    const e: NhrpExtension = { type, compulsory: (t & EXT_COMPULSORY) !== 0 };
    if (CIE_LIST_EXTENSIONS.has(type)) {
      e.cies = readCies(b, p, p + len, 'bad-extension', `extension ${type}`);
    } else if (type === NhrpExtType.Authentication) {
      if (len < 4) fail('bad-extension', `authentication extension length ${len} < 4`);
      e.auth = { spi: u32(b, p), secret: b.slice(p + 4, p + len) };
    } else if (type === NhrpExtType.VendorPrivate) {
      if (len < 3) fail('bad-extension', `vendor-private extension length ${len} < 3`);
      e.vendor = { id: (b[p] << 16) | u16(b, p + 1), data: b.slice(p + 3, p + len) };
    } else {
      e.raw = b.slice(p, p + len);
    }
    out.push(e);
    off = p + len;
  }
  return out;
}

function decodeOrThrow(bytes: Uint8Array): NhrpMessage {
  if (bytes.length < FIXED_HEADER_LEN) fail('truncated', `${bytes.length} bytes, fixed header needs 20`);
  const pktsz = u16(bytes, 10);
  if (pktsz < FIXED_HEADER_LEN + MANDATORY_FIXED_LEN) fail('bad-packet-size', `ar$pktsz ${pktsz} is below the minimum 28`);
  if (pktsz > bytes.length) fail('truncated', `ar$pktsz ${pktsz} but only ${bytes.length} bytes`);
  const b = bytes.subarray(0, pktsz); // bytes past ar$pktsz (link padding) are not NHRP
  if (nhrpChecksum(b) !== 0) fail('bad-checksum', `checksum 0x${u16(b, 12).toString(16)} does not verify`);
  if (u16(b, 0) !== AFN_IPV4) fail('unsupported-afn', `ar$afn ${u16(b, 0)} (only 1, IPv4)`);
  if (u16(b, 2) !== PRO_IPV4) fail('unsupported-protocol', `ar$pro.type 0x${u16(b, 2).toString(16)} (only 0x0800)`);
  if (b[16] !== NHRP_VERSION) fail('bad-version', `ar$op.version ${b[16]}`);
  const type = b[17];
  if (type < 1 || type > 8) fail('unknown-type', `ar$op.type ${type}`);
  const nbmaLen = b[18] & 0x3f;
  const subLen = b[19] & 0x3f;
  if (nbmaLen !== 4) fail('bad-address-length', `source NBMA length ${nbmaLen} (IPv4 only)`);
  const srcLen = b[20];
  const dstLen = b[21];
  if (srcLen !== 4 || dstLen !== 4) fail('bad-address-length', `protocol address lengths ${srcLen}/${dstLen} (IPv4 only)`);
  const addrEnd = FIXED_HEADER_LEN + MANDATORY_FIXED_LEN + nbmaLen + subLen + srcLen + dstLen;
  const extoff = u16(b, 14);
  if (extoff !== 0 && (extoff < addrEnd || extoff > pktsz)) {
    fail('bad-extoff', `ar$extoff ${extoff} outside [${addrEnd}, ${pktsz}]`);
  }
  const mandEnd = extoff || pktsz;
  if (mandEnd < addrEnd) fail('truncated', `mandatory part needs ${addrEnd} bytes, packet has ${mandEnd}`);
  let p = FIXED_HEADER_LEN + MANDATORY_FIXED_LEN;
  const srcNbma = bytesToIpv4(b, p); p += 4 + subLen;
  const srcProto = bytesToIpv4(b, p); p += 4;
  const dstProto = bytesToIpv4(b, p); p += 4;
  const msg: NhrpMessage = {
    type, hopCount: b[9], srcNbma, srcProto, dstProto, flags: 0, requestId: 0, cies: [], extensions: [],
  };
  if (type === NhrpType.ErrorIndication) {
    msg.errorCode = u16(b, 24);
    msg.errorOffset = u16(b, 26);
    msg.payload = b.slice(p, mandEnd);
  } else if (type === NhrpType.TrafficIndication) {
    msg.trafficCode = u16(b, 22);
    msg.payload = b.slice(p, mandEnd);
  } else {
    msg.flags = u16(b, 22);
    msg.requestId = u32(b, 24);
    msg.cies = readCies(b, p, mandEnd, 'bad-cie', 'mandatory part');
  }
  if (extoff) msg.extensions = readExtensions(b, extoff, pktsz);
  return msg;
}

export function decodeNhrp(bytes: Uint8Array): NhrpDecodeResult {
  try {
    return { ok: true, msg: decodeOrThrow(bytes) };
  } catch (e) {
    if (e instanceof DecodeFail) return { ok: false, code: e.code, error: e.error };
    // Not reachable by construction; still never let a packet crash the control plane.
    return { ok: false, code: 'truncated', error: `decoder fault: ${String(e)}` };
  }
}
