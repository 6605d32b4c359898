// Per-worker packet counts (`show dataplane workers`): each worker writes its own counter array
// (docs/dataplane.md "Global counters"); `show dataplane counters` sums them, this shows them apart, so
// one sees whether every worker forwards.
import { COUNTER_NAMES, ESP_COUNTER_NAMES, ESP_COUNTER_BASE } from './abi.js';
import { counterArrays, type CounterLayout } from './layout.js';

/** The counters shown per worker: packets in and out of each side. */
const SHOWN = ['tunRxPackets', 'greTxPackets', 'greRxPackets', 'tunTxPackets'] as const;
const SHOWN_ESP = ['espTxPackets', 'espRxPackets'] as const;

export interface WorkerStat { worker: number; restarts: number; counters: Record<string, number> }

export function workerStats(buffer: ArrayBufferLike, l: CounterLayout, restarts: number[]): WorkerStat[] {
  return counterArrays(buffer, l).map((a, worker) => {
    const counters: Record<string, number> = {};
    for (const n of SHOWN) counters[n] = Number(a[COUNTER_NAMES.indexOf(n)]);
    for (const n of SHOWN_ESP) counters[n] = Number(a[ESP_COUNTER_BASE + ESP_COUNTER_NAMES.indexOf(n)]);
    return { worker, restarts: restarts[worker] ?? 0, counters };
  });
}
