// Per-ring back-pressure and drop counters from the ring headers (docs/dataplane.md "Back-pressure"),
// named after the ring, so `show dataplane counters` says which ring was full: `<ring>FullWaits` (its
// producer found it full and waited), `<ring>FullDrops` (its producer dropped: a wait past its bound,
// or ctlRx, which only the control lane waits for: NHRP/IKE on a data ring and the notices do not)
// and `<ring>KernelDrops` (socket rx rings: the kernel dropped in front of the pump, its receive
// buffer full).
import { RING } from './abi.js';
import { RING_NAMES, type Layout, type RingName } from './layout.js';

export function readRingCounters(buffer: ArrayBufferLike, l: Pick<Layout, RingName>): Record<string, number> {
  const u32 = new Uint32Array(buffer);
  const out: Record<string, number> = {};
  for (const name of RING_NAMES) {
    const off = l[name]; // every ring, ESP's too: computeLayout places them all
    const at = (field: number) => u32[(off + field) >>> 2];
    out[`${name}FullWaits`] = at(RING.fullWaits);
    out[`${name}FullDrops`] = at(RING.fullDrops);
    out[`${name}KernelDrops`] = at(RING.kernelDrops);
  }
  return out;
}
