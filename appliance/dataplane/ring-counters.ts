// Per-ring back-pressure and drop counters from the ring headers (docs/dataplane.md "Back-pressure"),
// named after the ring, so `show dataplane counters` says which ring was full: `<ring>FullWaits` (its
// producer found it full and waited), `<ring>FullDrops` (its producer dropped: a wait past its bound,
// or ctlRx, which is never waited for) and `<ring>KernelDrops` (socket rx rings: the kernel dropped
// in front of the pump, its receive buffer full).
import { RING } from './abi.js';
import type { Layout } from './layout.js';

export const RING_NAMES = ['tunRx', 'tunTx', 'nbmaRx', 'nbmaTx', 'ctlRx', 'ctlTx', 'udpTx', 'espRx', 'udpRx'] as const;
export type RingName = (typeof RING_NAMES)[number];

export function readRingCounters(buffer: ArrayBufferLike, l: Pick<Layout, RingName>): Record<string, number> {
  const u32 = new Uint32Array(buffer);
  const out: Record<string, number> = {};
  for (const name of RING_NAMES) {
    const off = l[name];
    if (!off) continue; // ESP rings are absent without ESP
    const at = (field: number) => u32[(off + field) >>> 2];
    out[`${name}FullWaits`] = at(RING.fullWaits);
    out[`${name}FullDrops`] = at(RING.fullDrops);
    out[`${name}KernelDrops`] = at(RING.kernelDrops);
  }
  return out;
}
