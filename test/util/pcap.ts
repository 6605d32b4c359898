// Minimal pcap writer (classic libpcap format, LINKTYPE_RAW = 101: each record is an IP packet).
import { writeFileSync } from 'node:fs';

export const LINKTYPE_RAW = 101;

export function pcapBytes(packets: Uint8Array[], linktype = LINKTYPE_RAW): Uint8Array {
  const total = 24 + packets.reduce((n, p) => n + 16 + p.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true); // magic (microsecond timestamps), little-endian file
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, 65535, true); // snaplen
  v.setUint32(20, linktype, true);
  let o = 24;
  packets.forEach((p, i) => {
    v.setUint32(o, 1_700_000_000 + i, true);
    v.setUint32(o + 4, 0, true);
    v.setUint32(o + 8, p.length, true);
    v.setUint32(o + 12, p.length, true);
    out.set(p, o + 16);
    o += 16 + p.length;
  });
  return out;
}

export function writePcap(path: string, packets: Uint8Array[], linktype = LINKTYPE_RAW): void {
  writeFileSync(path, pcapBytes(packets, linktype));
}
