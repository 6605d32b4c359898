// What a dead data-plane worker was processing: the in-flight marker it keeps in its scratch
// (wasm/assembly/worker/recover.ts), read before the new worker skips that slot. Named for the log line, with
// the sender's address for packets from the network (a packet of death names its source).
import { RING, SLOT, SCRATCH_IN_FLIGHT, NBMA_KIND, type Layout } from '../dataplane/layout.js';
import { u32ToIp } from '../net/ipv4.js';

/** What worker `worker` was processing (its own scratch; workers > 0 name their own rings). */
export function inFlightSlot(buffer: ArrayBufferLike, l: Layout, worker = 0): string {
  const u32 = new Uint32Array(buffer);
  const scratch = l.scratch + worker * l.scratchSize;
  const ring = u32[(scratch + SCRATCH_IN_FLIGHT) >>> 2], slot = u32[(scratch + SCRATCH_IN_FLIGHT + 4) >>> 2];
  const w = l.workerRings?.[worker] ?? l;
  const names: Record<number, string> = worker === 0
    ? { [l.ctlTx]: 'ctlTx', [l.tunRx]: 'tunRx', [l.nbmaRx]: 'nbmaRx', [l.espRx]: 'espRx', [l.udpRx]: 'udpRx', [l.nhrpRx]: 'nhrpRx', [l.ikeRx]: 'ikeRx' }
    : { [w.tunRx]: 'tunRx', [w.nbmaRx]: 'nbmaRx', [w.espRx]: 'espRx', [w.udpRx]: 'udpRx' };
  const name = names[ring];
  if (ring === 0 || !name) return '';
  const tail = Atomics.load(u32, (ring + RING.tail) >>> 2), head = Atomics.load(u32, (ring + RING.head) >>> 2);
  if (((slot - tail) >>> 0) >= ((head - tail) >>> 0)) return 'not inside a ring slot';
  const count = u32[(ring + RING.slotCount) >>> 2], size = u32[(ring + RING.slotSize) >>> 2];
  const s = ring + RING.headerSize + (slot & (count - 1)) * size;
  const kind = u32[(s + SLOT.kind) >>> 2], addr = u32[(s + SLOT.addr) >>> 2], len = u32[(s + SLOT.len) >>> 2];
  const from = name !== 'ctlTx' && name !== 'tunRx' && (kind === NBMA_KIND.GRE || kind === NBMA_KIND.ESP || kind === NBMA_KIND.UDP)
    ? ` from ${u32ToIp(addr)}` : '';
  return `processing ${name} slot ${slot} (kind ${kind}, ${len} bytes${from}; it is skipped)`;
}
