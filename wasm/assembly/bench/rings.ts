// Benchmarks run the real path over scratch memory without touching the real rings: for the length of
// a benchmark the four producers (tunTx, nbmaTx, ctlRx, udpTx) are pointed at one-slot rings in
// scratch whose consumer "takes" every slot at once (benchSync), and their real states are put back
// afterwards. So the ring code has no benchmark branch, and outputs are counted by producer heads.
import {
  scratch, RING_TAIL, RING_SLOT_COUNT, RING_SLOT_SIZE, RING_HEADER_SIZE, SLOT_DATA, SCRATCH_PROD_TUN_TX,
  SCRATCH_PROD_NBMA_TX, SCRATCH_PROD_CTL_RX, SCRATCH_ESP_PROD_UDP_TX, SCRATCH_BENCH_SAVED, SCRATCH_BENCH_RINGS,
  SCRATCH_BENCH_RING_BYTES,
} from '../core/layout';
import { copyBytes } from '../core/mem';
import { prodInit, prodHead } from '../io/ring';
import { udpTx } from '../esp/sa';

const PRODUCER_BYTES: usize = 32;
/** udpTx's producer exists only with ESP. */
@inline function producers(): u32 { return udpTx != 0 ? 4 : 3; }
const SLOT_BYTES: u32 = SCRATCH_BENCH_RING_BYTES - <u32>RING_HEADER_SIZE;

@inline function producerAt(i: u32): usize {
  return scratch + (i == 0 ? SCRATCH_PROD_TUN_TX : i == 1 ? SCRATCH_PROD_NBMA_TX : i == 2 ? SCRATCH_PROD_CTL_RX : SCRATCH_ESP_PROD_UDP_TX);
}
/** The one-slot ring of producer `i`. */
@inline export function benchRing(i: u32): usize { return scratch + SCRATCH_BENCH_RINGS + <usize>i * SCRATCH_BENCH_RING_BYTES; }
export const BENCH_TUN_TX: u32 = 0;
export const BENCH_NBMA_TX: u32 = 1;
export const BENCH_UDP_TX: u32 = 3;

/** Saves the real producer states and points the producers at the bench rings. */
export function benchBegin(): void {
  for (let i: u32 = 0; i < producers(); i++) {
    copyBytes(scratch + SCRATCH_BENCH_SAVED + <usize>i * PRODUCER_BYTES, producerAt(i), PRODUCER_BYTES);
    const r = benchRing(i);
    memory.fill(r, 0, RING_HEADER_SIZE);
    store<u32>(r, 1, RING_SLOT_COUNT);
    store<u32>(r, SLOT_BYTES, RING_SLOT_SIZE);
    prodInit(producerAt(i), r);
  }
}

/** Frees every bench slot (after each packet; unrolled, it is part of every measured packet). */
@inline export function benchSync(): void {
  store<u32>(benchRing(0), prodHead(scratch + SCRATCH_PROD_TUN_TX), RING_TAIL);
  store<u32>(benchRing(1), prodHead(scratch + SCRATCH_PROD_NBMA_TX), RING_TAIL);
  store<u32>(benchRing(2), prodHead(scratch + SCRATCH_PROD_CTL_RX), RING_TAIL);
  if (udpTx != 0) store<u32>(benchRing(3), prodHead(scratch + SCRATCH_ESP_PROD_UDP_TX), RING_TAIL);
}

/** Puts the real producer states back; returns the slots committed since benchBegin(). */
export function benchEnd(): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i < producers(); i++) {
    n += prodHead(producerAt(i));
    copyBytes(producerAt(i), scratch + SCRATCH_BENCH_SAVED + <usize>i * PRODUCER_BYTES, PRODUCER_BYTES);
  }
  return n;
}

/** Data of the bench slot of producer `i` (what the last packet wrote there). */
@inline export function benchSlotData(i: u32): usize { return benchRing(i) + RING_HEADER_SIZE + SLOT_DATA; }
/** Its length, from the slot header. */
@inline export function benchSlotLen(i: u32): u32 { return load<u32>(benchRing(i) + RING_HEADER_SIZE); }
