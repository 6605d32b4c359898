// IPv4 prefix arithmetic shared by resolution, shortcuts and purge (addresses are dotted quads).
import { ipv4ToBytes } from './codec.js';

export function ipNum(s: string): number {
  const b = ipv4ToBytes(s);
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

export function numIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const mask = (len: number): number => (len <= 0 ? 0 : (0xffffffff << (32 - Math.min(len, 32))) >>> 0);

export function inPrefix(ip: string, prefix: string, len: number): boolean {
  return ((ipNum(ip) & mask(len)) >>> 0) === ((ipNum(prefix) & mask(len)) >>> 0);
}

export function networkOf(ip: string, len: number): string {
  return numIp((ipNum(ip) & mask(len)) >>> 0);
}

/** CIE prefix length as a real length: 0 and 0xff (RFC 2332 "the whole address") mean /32. */
export function cieLen(len: number): number {
  return len === 0 || len >= 32 ? 32 : len;
}

/** Source and destination of an IPv4 packet, or undefined when it is not one. */
export function ipv4Addrs(pkt: Uint8Array): { src: string; dst: string } | undefined {
  if (pkt.length < 20 || pkt[0] >> 4 !== 4) return undefined;
  const at = (o: number): string => `${pkt[o]}.${pkt[o + 1]}.${pkt[o + 2]}.${pkt[o + 3]}`;
  return { src: at(12), dst: at(16) };
}
