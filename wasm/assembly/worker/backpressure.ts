// Back-pressure from the output rings to the input rings (issue 14; docs/dataplane.md "Back-pressure").
//
// A packet is taken from an input ring only while the ring it will go out on has a free slot: tunRx
// packets leave on nbmaTx (udpTx too once ESP is set up: a peer may be UDP-encapsulated), nbmaRx,
// espRx and udpRx packets on tunTx. Otherwise the packet stays queued, the worker sleeps until the
// output's consumer pump frees slots (it rings the worker's doorbell, the output ring's producer
// doorbell), and the wait is counted once in the output ring's header (`fullWaits`). The input ring
// then fills and its producer pump waits in turn (its own `fullWaits`), so the excess stays in the
// kernel queue in front of it (TUN queue, socket buffer): no packet is read and processed only to be
// dropped at a full output ring.
//
// Bounded: an output that stays full for STALL_MAX_MS (its pump stopped or gone) no longer holds its
// inputs back: they are processed again, and what does not fit is dropped and counted (`fullDrops`,
// `dropRingFull`) as before. ctlRx is not waited for by data: the supervisor (JS) consumes it, and a
// busy supervisor must not stop the data plane. The control lane (nhrpRx, ikeRx) does wait for it
// (ctlRoom): only control waits behind a busy supervisor, and a registration storm then queues in
// nhrpRx and its socket instead of being dropped at a full ctlRx and retransmitted seconds later.
// A packet with several outputs (multicast copies, fragments) is checked for its first slot only.
import { scratch, SCRATCH_PROD_TUN_TX, SCRATCH_PROD_NBMA_TX, SCRATCH_PROD_CTL_RX, SCRATCH_ESP_PROD_UDP_TX } from '../core/layout';
import { nowMs } from '../core/clock';
import { prodHasRoom, prodCountWait } from '../io/ring';
import { udpTx } from '../esp/sa';

/**
 * How long a full output ring holds its input rings back, at most (ms). Longer than a tx pump's own
 * wait for socket send-buffer room (POLL_MS, 100 ms, in appliance/native/pump.c): a pump waiting on
 * the kernel is alive and its ring will drain (20 ms let 793 of 1M packets drop in bench/e2e.sh).
 */
export const STALL_MAX_MS: u32 = 150;

// Per output ring: 0 = not full, else nowMs (| 1) when it was first found full.
let tunTxFullSince: u32 = 0;
let nbmaTxFullSince: u32 = 0;
let udpTxFullSince: u32 = 0;

/** True if a packet from tunRx (toNbma) or from an NBMA ring (!toNbma) may be taken now. */
export function outputRoom(toNbma: bool): bool {
  if (!toNbma) {
    tunTxFullSince = roomOn(scratch + SCRATCH_PROD_TUN_TX, tunTxFullSince);
    return tunTxFullSince == 0 || stallOver(tunTxFullSince);
  }
  nbmaTxFullSince = roomOn(scratch + SCRATCH_PROD_NBMA_TX, nbmaTxFullSince);
  if (nbmaTxFullSince != 0 && !stallOver(nbmaTxFullSince)) return false;
  if (udpTx == 0) return true;
  udpTxFullSince = roomOn(scratch + SCRATCH_ESP_PROD_UDP_TX, udpTxFullSince);
  return udpTxFullSince == 0 || stallOver(udpTxFullSince);
}

let ctlRxFull: bool = false;

/**
 * True if a control-lane packet may be taken now: ctlRx has a free slot. A wait is counted once in
 * ctlRx's header (`ctlRxFullWaits`); the supervisor rings this worker's doorbell when it frees slots.
 * No bound: nothing else waits behind the control lane, and what overflows its socket is counted there.
 */
export function ctlRoom(): bool {
  const st = scratch + SCRATCH_PROD_CTL_RX;
  if (prodHasRoom(st)) { ctlRxFull = false; return true; }
  if (!ctlRxFull) { prodCountWait(st); ctlRxFull = true; }
  return false;
}

/** The output's new full-since mark: 0 if it has room; a wait starting now is counted in its header. */
function roomOn(st: usize, since: u32): u32 {
  if (prodHasRoom(st)) return 0;
  if (since != 0) return since;
  prodCountWait(st);
  return nowMs | 1;
}

@inline function stallOver(since: u32): bool {
  return nowMs - (since & ~1) > STALL_MAX_MS; // & ~1: the mark's low bit was forced on, not elapsed
}
