// Minimal pcap writer for tests: NHRP bytes -> GRE (proto 0x2001, optional key) -> IPv4 (proto 47),
// one packet per record, LINKTYPE_RAW (101) so tshark starts dissecting at the IPv4 header.
import { writeFileSync } from 'node:fs';
import { ipv4ToBytes } from '../../appliance/net/ipv4.js';

const ipv4 = (s: string): number[] => [...ipv4ToBytes(s)];

function ipChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function greIpv4(src: string, dst: string, nhrp: Uint8Array, key?: number): Uint8Array {
  const gre = key === undefined ? [0x00, 0x00, 0x20, 0x01]
    : [0x20, 0x00, 0x20, 0x01, (key >>> 24) & 0xff, (key >>> 16) & 0xff, (key >>> 8) & 0xff, key & 0xff];
  const total = 20 + gre.length + nhrp.length;
  const ip = new Uint8Array(total);
  ip.set([0x45, 0, total >> 8, total & 0xff, 0, 0, 0x40, 0, 64, 47, 0, 0, ...ipv4(src), ...ipv4(dst)]);
  const cs = ipChecksum(ip.subarray(0, 20));
  ip[10] = cs >> 8; ip[11] = cs & 0xff;
  ip.set(gre, 20);
  ip.set(nhrp, 20 + gre.length);
  return ip;
}

export function writePcap(path: string, packets: Uint8Array[]): void {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0); gh.writeUInt16LE(2, 4); gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16); gh.writeUInt32LE(101, 20);
  parts.push(gh);
  packets.forEach((p, i) => {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1_700_000_000 + i, 0); rh.writeUInt32LE(p.length, 8); rh.writeUInt32LE(p.length, 12);
    parts.push(rh, Buffer.from(p));
  });
  writeFileSync(path, Buffer.concat(parts));
}
