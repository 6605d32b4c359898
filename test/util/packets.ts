// Test packet builders (IPv4, UDP, TCP SYN with MSS, GRE) and checksum helpers.

export function csum(b: Uint8Array, start = 0, end = b.length, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export interface Ip4Opts {
  src: number; dst: number; proto: number; payload: Uint8Array;
  ttl?: number; tos?: number; id?: number; df?: boolean; mf?: boolean; fragOffset?: number;
  options?: number[]; badChecksum?: boolean; version?: number;
}

export function ipv4(o: Ip4Opts): Uint8Array {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  if (hl % 4) throw new Error('options must pad to 4');
  const p = new Uint8Array(hl + o.payload.length);
  const v = new DataView(p.buffer);
  p[0] = ((o.version ?? 4) << 4) | (hl >> 2);
  p[1] = o.tos ?? 0;
  v.setUint16(2, p.length);
  v.setUint16(4, o.id ?? 0x1234);
  v.setUint16(6, (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) >> 3));
  p[8] = o.ttl ?? 64;
  p[9] = o.proto;
  v.setUint32(12, o.src);
  v.setUint32(16, o.dst);
  p.set(opts, 20);
  v.setUint16(10, csum(p, 0, hl) ^ (o.badChecksum ? 0x5555 : 0));
  p.set(o.payload, hl);
  return p;
}

export function udp(srcPort: number, dstPort: number, dataLen: number, fill = (i: number) => (i * 7 + 3) & 255): Uint8Array {
  const u = new Uint8Array(8 + dataLen);
  const v = new DataView(u.buffer);
  v.setUint16(0, srcPort); v.setUint16(2, dstPort); v.setUint16(4, u.length); v.setUint16(6, 0);
  for (let i = 0; i < dataLen; i++) u[8 + i] = fill(i);
  return u;
}

/** TCP segment with a correct checksum for src/dst. `options` raw bytes (padded to 4). */
export function tcp(src: number, dst: number, flags: number, options: number[], data = new Uint8Array(0)): Uint8Array {
  const hl = 20 + options.length;
  const t = new Uint8Array(hl + data.length);
  const v = new DataView(t.buffer);
  v.setUint16(0, 40000); v.setUint16(2, 443); v.setUint32(4, 1000); v.setUint32(8, 0);
  t[12] = (hl / 4) << 4; t[13] = flags; v.setUint16(14, 65535);
  t.set(options, 20); t.set(data, hl);
  v.setUint16(16, tcpChecksum(src, dst, t));
  return t;
}

export function tcpChecksum(src: number, dst: number, seg: Uint8Array): number {
  const ph = new Uint8Array(12 + seg.length);
  const v = new DataView(ph.buffer);
  v.setUint32(0, src); v.setUint32(4, dst); ph[9] = 6; v.setUint16(10, seg.length);
  const s = seg.slice(); s[16] = 0; s[17] = 0;
  ph.set(s, 12);
  return csum(ph);
}

export interface GreOpts {
  proto: number; payload: Uint8Array; key?: number; version?: number; flags?: number;
}

export function gre(o: GreOpts): Uint8Array {
  const hasKey = o.key !== undefined;
  const g = new Uint8Array((hasKey ? 8 : 4) + o.payload.length);
  const v = new DataView(g.buffer);
  v.setUint16(0, (o.flags ?? 0) | (hasKey ? 0x2000 : 0) | (o.version ?? 0));
  v.setUint16(2, o.proto);
  if (hasKey) v.setUint32(4, o.key!);
  g.set(o.payload, hasKey ? 8 : 4);
  return g;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
