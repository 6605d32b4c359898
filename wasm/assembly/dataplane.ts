// WASM data plane for mGRE (+ ESP): entry point (exports only). See docs/dataplane.md.
//
//   setup(layoutBase, workerIndex)  read the layout block, init producers/tables/config; 0 = ok, < 0 = error
//   poll(budget, nowMs)      one batch through the pipeline (worker/poll.ts); returns slots consumed
//   prepareSleep()/finishSleep()   doorbell sleep protocol for the worker loop
//   bench*                   run the real encap/decap over scratch memory, without rings (bench/)
import {
  readLayout, scratch, noticeScratch, scratchSize, tunTx, nbmaTx, ctlRx, counters, layoutBlock, SCRATCH_NEEDED,
  SCRATCH_NO_ENTRY, SCRATCH_REDIRECT_END, SCRATCH_MCAST_END, SCRATCH_PROD_TUN_TX, SCRATCH_PROD_NBMA_TX,
  SCRATCH_PROD_CTL_RX, COUNTER_GRE_TX_PACKETS, workerCount,
} from './core/layout';
import { loadConfig } from './core/config';
import { noticeReset } from './core/notify';
import { prodInit } from './io/ring';
import { seedIpId } from './net/ipv4';
import { icmpReset } from './net/icmp';
import { espSetup, espReady } from './esp/sa';
import { laneSetup } from './esp/lane';
import { peersInit } from './forward/peers';
import { fibInit } from './forward/fib';
import { recoverState } from './worker/recover';
import { epochLeave } from './core/tables';
export { poll, prepareSleep, finishSleep } from './worker/poll';
export { benchOutbound, benchInbound } from './bench/gre';
export { benchEspOutbound, benchEspInbound, benchEspReceive } from './bench/esp';

const IP_ID_SEED_MIX: u32 = 0x5a5a;
const IP_ID_SPACE: u32 = 0x10000;

/**
 * `workerIndex` (JS callers that pass only the layout get 0): worker 0 owns the rings, applies the
 * commands and repairs what a dead predecessor left; a worker > 0 (below the layout's `workers`) runs
 * beside it on the same memory with its own scratch and counter array. Until each worker has rings of
 * its own (issue 14's next step) it only runs the bench exports: poll() does nothing there.
 */
export function setup(layoutBase: u32, workerIndex: u32): i32 {
  const r = readLayout(layoutBase, workerIndex);
  if (r != 0) return r;
  if (scratchSize < SCRATCH_NEEDED || <usize>scratchSize < SCRATCH_REDIRECT_END || <usize>scratchSize < SCRATCH_MCAST_END) return -3;
  const owner = workerIndex == 0;
  // Each worker produces into the output rings its own layout block names (SPSC: one producer each).
  prodInit(scratch + SCRATCH_PROD_TUN_TX, tunTx);
  prodInit(scratch + SCRATCH_PROD_NBMA_TX, nbmaTx);
  prodInit(scratch + SCRATCH_PROD_CTL_RX, ctlRx);
  epochLeave(); // holds no SA reference until its first poll()
  if (owner) noticeReset(noticeScratch + SCRATCH_NO_ENTRY); // shared by every worker (core/notify.ts)
  peersInit();
  fibInit();
  recoverState(owner); // a restarted worker: skip the slot the last one died on; worker 0 repairs torn entries
  loadConfig();
  icmpReset(0);
  // IP ids go on from where a dead worker left them (greTxPackets advances with them); each worker
  // starts in its own part of the 16-bit space, so two workers do not hand out the same id at once.
  seedIpId((<u32>layoutBlock ^ IP_ID_SEED_MIX) + <u32>load<u64>(counters + (<usize>COUNTER_GRE_TX_PACKETS << 3)) +
    workerIndex * (IP_ID_SPACE / workerCount));
  espSetup(scratchSize, owner); // ESP off unless the layout has an SA table; worker 0 rebuilds the SA indexes
  laneSetup(espReady); // several workers: encryption may be shared; a restart repairs the lanes (esp/lane.ts)
  return 0;
}
