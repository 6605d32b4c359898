// Runs tshark on a capture and returns the requested fields per packet, so tests check our packets
// with the real Wireshark dissectors rather than with our own decoder.
import { spawnSync } from 'node:child_process';

export function tsharkFields(pcap: string, filter: string, fields: string[]): Array<Record<string, string>> {
  const args = ['-r', pcap, '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f'];
  for (const f of fields) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((line) => {
    const vals = line.split('\t');
    return Object.fromEntries(fields.map((f, i) => [f, vals[i] ?? '']));
  });
}

/** Expert-info messages tshark raises for a capture (malformed packets, bad checksums...). */
export function tsharkExperts(pcap: string, filter = ''): string {
  const args = ['-r', pcap, '-q', '-z', 'expert,warn' + (filter ? `,${filter}` : '')];
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return r.stdout;
}
