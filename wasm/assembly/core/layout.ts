// Reads the layout block (docs/dataplane.md, "Layout block") once at setup. Every offset the data
// plane uses comes from here; nothing about the memory map is hard-coded in the WASM module.

export const LAYOUT_MAGIC: u32 = 0x444d5631; // "DMV1"
export const LAYOUT_VERSION: u32 = 1;

// Ring header fields.
export const RING_HEAD: usize = 0;
export const RING_TAIL: usize = 64;
export const RING_SLOT_COUNT: usize = 128;
export const RING_SLOT_SIZE: usize = 132;
export const RING_CONSUMER_DB: usize = 136;
export const RING_PRODUCER_DB: usize = 140;
export const RING_FULL_DROPS: usize = 144;
export const RING_HEADER: usize = 256;
export const SLOT_HEADER: usize = 16;

/** Address of the layout block (setup's argument). */
export let layoutBlock: usize = 0;
export let tunRx: usize = 0;
export let tunTx: usize = 0;
export let nbmaRx: usize = 0;
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
export let tunnelState: usize = 0;
export let nbmaIndex: usize = 0;

/** Returns 0, or -1 (bad magic/version), -2 (capacity not a power of two). */
export function readLayout(base: usize): i32 {
  if (load<u32>(base, 0) != LAYOUT_MAGIC || load<u32>(base, 4) != LAYOUT_VERSION) return -1;
  layoutBlock = base;
  tunRx = load<u32>(base, 8);
  tunTx = load<u32>(base, 12);
  nbmaRx = load<u32>(base, 16);
  nbmaTx = load<u32>(base, 20);
  ctlRx = load<u32>(base, 24);
  ctlTx = load<u32>(base, 28);
  workerDoorbell = load<u32>(base, 32);
  counters = load<u32>(base, 36);
  peerTable = load<u32>(base, 40);
  peerCapacity = load<u32>(base, 44);
  fib = load<u32>(base, 48);
  fibCapacity = load<u32>(base, 52);
  scratch = load<u32>(base, 56);
  scratchSize = load<u32>(base, 60);
  tunnelState = load<u32>(base, 64);
  nbmaIndex = load<u32>(base, 68);
  if (peerCapacity < 2 || (peerCapacity & (peerCapacity - 1)) != 0) return -2;
  if (fibCapacity < 2 || (fibCapacity & (fibCapacity - 1)) != 0) return -2;
  return 0;
}

/** Data bytes a slot of ring `r` can hold. */
@inline export function slotDataMax(r: usize): u32 {
  return load<u32>(r, RING_SLOT_SIZE) - <u32>SLOT_HEADER;
}

// Per-worker scratch area (docs/dataplane.md, "Per-worker scratch").
export const SCR_PROD_TUNTX: usize = 0; // producer states, 32 bytes each
export const SCR_PROD_NBMATX: usize = 32;
export const SCR_PROD_CTLRX: usize = 64;
export const SCR_FRAG_HDR: usize = 128; // 64 bytes: header template of non-first fragments
export const SCR_NOENTRY: usize = 1024; // 256 x {nextHop u32, lastMs u32}
export const SCR_NOENTRY_SLOTS: u32 = 256;
export const SCR_BENCH_IN: usize = 4096; // 4 KiB: benchmark input packet
export const SCR_BENCH_OUT: usize = 8192; // 4 KiB: benchmark output slot
export const SCR_NEEDED: u32 = 12288;
