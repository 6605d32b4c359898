// Per-ring back-pressure and drop counters from the ring headers (docs/dataplane.md "Back-pressure"),
// named after the ring, so `show dataplane counters` says which ring was full: `<ring>FullWaits` (its
// producer found it full and waited), `<ring>FullDrops` (its producer dropped: a wait past its bound,
// or ctlRx, which only the control lane waits for: NHRP/IKE on a data ring and the notices do not)
// and `<ring>KernelDrops` (socket rx rings: the kernel dropped in front of the pump, its receive
// buffer full).
import { RING } from './abi.js';
import { RING_NAMES, type Layout, type RingName } from './layout.js';

/** Each name sums that ring of every worker (workers > 0 have their own data rings and ctlRx). */
export function readRingCounters(buffer: ArrayBufferLike, l: Pick<Layout, RingName> & Partial<Pick<Layout, 'workerRings'>>): Record<string, number> {
  const u32 = new Uint32Array(buffer);
  const out: Record<string, number> = {};
  const extra = (l.workerRings ?? []).slice(1);
  for (const name of RING_NAMES) {
    // every ring, ESP's too: computeLayout places them all
    const offs = [l[name], ...extra.map((w) => (w as Partial<Record<RingName, number>>)[name]).filter((x): x is number => x !== undefined)];
    const sum = (field: number) => offs.reduce((a, off) => a + u32[(off + field) >>> 2], 0);
    out[`${name}FullWaits`] = sum(RING.fullWaits);
    out[`${name}FullDrops`] = sum(RING.fullDrops);
    out[`${name}KernelDrops`] = sum(RING.kernelDrops);
  }
  return out;
}
