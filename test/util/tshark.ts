// Runs tshark on a capture and returns the requested fields per packet, so tests check our packets
// with the real Wireshark dissectors rather than with our own decoder. Every call checks tshark's exit
// status: a failed tshark (bad filter, unreadable capture, missing binary) throws with its stderr
// instead of looking like "no packets matched".
import { spawnSync } from 'node:child_process';

/** tshark with `args`; its stdout, or an Error naming the exit status (or signal) and stderr. */
/** `env`: its environment (e.g. HOME and XDG_CONFIG_HOME naming a profile with an esp_sa UAT). */
export function tshark(args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20, env: env ?? process.env });
  if (r.error) throw new Error(`tshark ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`tshark ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.trim().slice(0, 2000)}`);
  }
  return r.stdout;
}

export function tsharkFields(pcap: string, filter: string, fields: string[]): Array<Record<string, string>> {
  const args = ['-r', pcap, '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f'];
  for (const f of fields) args.push('-e', f);
  return tshark(args).split('\n').filter(Boolean).map((line) => {
    const vals = line.split('\t');
    return Object.fromEntries(fields.map((f, i) => [f, vals[i] ?? '']));
  });
}

/** Expert-info messages tshark raises for a capture (malformed packets, bad checksums...). */
export function tsharkExperts(pcap: string, filter = ''): string {
  return tshark(['-r', pcap, '-q', '-z', 'expert,warn' + (filter ? `,${filter}` : '')]);
}

/** Every occurrence of `field` per packet matching `filter` (tsharkFields keeps only the first). */
export function tsharkAll(pcap: string, filter: string, field: string): string[][] {
  return tshark(['-r', pcap, '-Y', filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', field])
    .split('\n').filter((l) => l.length).map((l) => l.split(','));
}
