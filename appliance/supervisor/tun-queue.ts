// Drops in the TUN's own queue: packets the kernel routed into the tunnel while the queue in front of
// the tun-rx pump was full (the pump behind: its tunRx ring full and waiting). The kernel counts them
// as the interface's transmit drops; the pump never sees them, so they are read here, from
// /proc/net/dev (it follows the reader's network namespace), for `show dataplane counters`.
import fs from 'node:fs';

/** Transmit drops of interface `name` in a /proc/net/dev text; 0 if it is not there. */
export function parseTxDrops(procNetDev: string, name: string): number {
  for (const line of procNetDev.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== name) continue;
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    return Number.isFinite(f[11]) ? f[11] : 0;
  }
  return 0;
}

export function tunQueueDrops(name: string): number {
  try {
    return parseTxDrops(fs.readFileSync('/proc/net/dev', 'utf8'), name);
  } catch {
    return 0; // no procfs (a test without one): nothing to report
  }
}
