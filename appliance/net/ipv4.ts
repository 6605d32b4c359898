// IPv4 addresses and prefixes, the one place the supervisor converts between dotted quads, bytes and
// 32-bit numbers and does mask arithmetic. The lowest layer: it imports nothing, everything else
// (NHRP, config, CLI, supervisor, tests) imports it.
//
// Two ways in from text, on purpose: `ipv4Bytes`/`ipv4ToBytes`/`parseIpv4` check the text (it may come
// from a peer or an operator); `ipToU32` does not (it converts addresses the config grammar or the NHRP
// decoder already checked, on the paths that program the data plane, and maps '' to 0).

/** The four bytes of a dotted quad, or undefined when `s` is not one (each part 1-3 digits, <= 255). */
export function ipv4Bytes(s: string): Uint8Array | undefined {
  const p = s.split('.');
  if (p.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = Number(p[i]);
    if (!/^\d{1,3}$/.test(p[i]) || n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** The four bytes of a dotted quad; throws on anything else. */
export function ipv4ToBytes(s: string): Uint8Array {
  const b = ipv4Bytes(s);
  if (!b) throw new Error(`bad IPv4 address ${s}`);
  return b;
}

/** The dotted quad at `b[off..off+4)`. */
export function bytesToIpv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** A checked dotted quad as an unsigned 32-bit number; throws on anything else. */
export function parseIpv4(s: string): number {
  const b = ipv4ToBytes(s);
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

/** An already-checked dotted quad as an unsigned 32-bit number (no validation; see the header). */
export const ipToU32 = (s: string): number => {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
};

/** An unsigned 32-bit number as a dotted quad. */
export const u32ToIp = (n: number): string =>
  `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** The netmask of a prefix length as a number (lengths above 32 count as 32). */
export const prefixMask = (len: number): number => (len <= 0 ? 0 : (0xffffffff << (32 - Math.min(len, 32))) >>> 0);

/** Is `ip` inside `prefix`/`len`? Both addresses are checked (they may come from the wire). */
export function inPrefix(ip: string, prefix: string, len: number): boolean {
  const m = prefixMask(len);
  return ((parseIpv4(ip) & m) >>> 0) === ((parseIpv4(prefix) & m) >>> 0);
}

/** The network address of `ip`/`len`. */
export function networkOf(ip: string, len: number): string {
  return u32ToIp((parseIpv4(ip) & prefixMask(len)) >>> 0);
}

/** Is `mask` ones then zeros (IOS refuses other netmasks)? */
export function isContiguousMask(mask: string): boolean {
  const inv = ~ipToU32(mask) >>> 0;
  return (inv & (inv + 1)) === 0;
}

/** The prefix length of a contiguous netmask; throws RangeError on any other. */
export function maskToLen(mask: string): number {
  const n = ipToU32(mask);
  let len = 0;
  while (len < 32 && (n & (0x80000000 >>> len))) len++;
  if (((n << len) >>> 0) !== 0 && len < 32) throw new RangeError(`${mask} is not a contiguous netmask`);
  return len;
}

/** Source and destination of an IPv4 packet, or undefined when it is not one. */
export function ipv4PacketAddrs(pkt: Uint8Array): { src: string; dst: string } | undefined {
  if (pkt.length < 20 || pkt[0] >> 4 !== 4) return undefined;
  return { src: bytesToIpv4(pkt, 12), dst: bytesToIpv4(pkt, 16) };
}
