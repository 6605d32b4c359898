// The shared-memory contract, AssemblyScript side. Every offset, size, kind and counter index the
// supervisor (TypeScript) and the C pumps share with the worker is generated into ./abi from the one
// spec wasm/layout/dataplane.layout.json (docs/layout-contract.md) and re-exported here, so the rest of
// wasm/assembly/ imports the contract from core/layout and never writes a number of it. This module
// adds what only the worker has: the pointers it reads from the layout block once at setup() (nothing
// about where rings and tables are is hard-coded), its own index among the workers on this memory, and
// from that its own scratch and counter array (docs/dataplane.md "ESP across workers").
import {
  LAYOUT_MAGIC, LAYOUT_VERSION, LB_MAGIC, LB_VERSION, LB_TUN_RX, LB_TUN_TX, LB_NBMA_RX, LB_NBMA_TX, LB_CTL_RX,
  LB_CTL_TX, LB_WORKER_DOORBELL, LB_COUNTERS, LB_PEER_TABLE, LB_PEER_CAPACITY, LB_FIB, LB_FIB_CAPACITY,
  LB_SCRATCH, LB_SCRATCH_SIZE, LB_TUNNEL_STATE, LB_NBMA_INDEX, LB_NHRP_RX, LB_WORKERS, RING_SLOT_SIZE, SLOT_DATA,
  COUNTER_SLOTS,
} from './abi';
export * from './abi';

// ---- the layout block as read by setup() ----
export let layoutBlock: usize = 0;
export let tunRx: usize = 0;
export let tunTx: usize = 0;
export let nbmaRx: usize = 0;
/** NHRP's own receive ring (0: NHRP comes on nbmaRx with the data). */
export let nhrpRx: usize = 0;
export let nbmaTx: usize = 0;
export let ctlRx: usize = 0;
export let ctlTx: usize = 0;
export let workerDoorbell: usize = 0;
export let counters: usize = 0;
export let peerTable: usize = 0;
export let peerCapacity: u32 = 0;
export let fib: usize = 0;
export let fibCapacity: u32 = 0;
export let scratch: usize = 0;
export let scratchSize: u32 = 0;
/** Worker 0's scratch: the notice limiters (core/notify.ts) there are every worker's, so a notice is
 *  rate-limited once for the appliance, not once per worker. */
export let noticeScratch: usize = 0;
export let tunnelState: usize = 0;
export let nbmaIndex: usize = 0;
/** This worker's index (0 = the one that applies commands and owns the rings) and the worker count. */
export let workerIndex: u32 = 0;
export let workerCount: u32 = 1;

/** Bytes of one worker's counter array. */
const COUNTER_ARRAY_BYTES: u64 = <u64>COUNTER_SLOTS << 3;
const WASM_PAGE_BYTES: u64 = 65536;

/**
 * Returns 0, or -1 (bad magic/version), -2 (capacity not a power of two), -4 (`index` is not below the
 * layout's worker count, or that worker's scratch / counter array would lie beyond the memory).
 */
export function readLayout(base: usize, index: u32): i32 {
  if (load<u32>(base, LB_MAGIC) != LAYOUT_MAGIC || load<u32>(base, LB_VERSION) != LAYOUT_VERSION) return -1;
  const n = load<u32>(base, LB_WORKERS);
  const workers: u32 = n == 0 ? 1 : n; // a layout written before the field existed: one worker
  const scratch0 = <u64>load<u32>(base, LB_SCRATCH), counters0 = <u64>load<u32>(base, LB_COUNTERS);
  const size = <u64>load<u32>(base, LB_SCRATCH_SIZE);
  const end = <u64>memory.size() * WASM_PAGE_BYTES;
  if (index >= workers || scratch0 + <u64>workers * size > end || counters0 + <u64>workers * COUNTER_ARRAY_BYTES > end) return -4;
  workerIndex = index;
  workerCount = workers;
  layoutBlock = base;
  tunRx = load<u32>(base, LB_TUN_RX);
  tunTx = load<u32>(base, LB_TUN_TX);
  nbmaRx = load<u32>(base, LB_NBMA_RX);
  nhrpRx = load<u32>(base, LB_NHRP_RX);
  nbmaTx = load<u32>(base, LB_NBMA_TX);
  ctlRx = load<u32>(base, LB_CTL_RX);
  ctlTx = load<u32>(base, LB_CTL_TX);
  workerDoorbell = load<u32>(base, LB_WORKER_DOORBELL);
  counters = <usize>(counters0 + <u64>index * COUNTER_ARRAY_BYTES);
  peerTable = load<u32>(base, LB_PEER_TABLE);
  peerCapacity = load<u32>(base, LB_PEER_CAPACITY);
  fib = load<u32>(base, LB_FIB);
  fibCapacity = load<u32>(base, LB_FIB_CAPACITY);
  scratchSize = <u32>size;
  scratch = <usize>(scratch0 + <u64>index * size);
  noticeScratch = <usize>scratch0;
  tunnelState = load<u32>(base, LB_TUNNEL_STATE);
  nbmaIndex = load<u32>(base, LB_NBMA_INDEX);
  if (peerCapacity < 2 || (peerCapacity & (peerCapacity - 1)) != 0) return -2;
  if (fibCapacity < 2 || (fibCapacity & (fibCapacity - 1)) != 0) return -2;
  return 0;
}

/** A u32 field of the layout block (for the ESP fields, read by esp/sa.ts and worker/recover.ts). */
@inline export function layoutField(off: usize): usize { return <usize>load<u32>(layoutBlock + off); }

/** Data bytes a slot of ring `r` can hold. */
@inline export function slotDataMax(r: usize): u32 {
  return load<u32>(r, RING_SLOT_SIZE) - <u32>SLOT_DATA;
}
