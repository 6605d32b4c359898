// poll(): one batch through the data plane, as a pipeline over the rings.
//
//   nhrpRx --(inbound: GRE decap, NHRP)-->  ctlRx                              (forward/inbound.ts)
//   ikeRx  --(inbound: IKE behind the non-ESP marker)-->  ctlRx               (esp/natt.ts)
//   ctlTx  --(commands, NHRP_OUT)-->  tables / nbmaTx                         (worker/commands.ts)
//   tunRx  --(outbound: FIB, peer, GRE encap [, ESP])-->  nbmaTx / udpTx        (forward/outbound.ts)
//            (+ tunTx ICMP, ctlRx NO_ENTRY); kind-1 slots are cut by offload/tso.ts first
//   nbmaRx, espRx, udpRx --(inbound: [ESP,] GRE decap)-->  tunTx, ctlRx       (forward/inbound.ts)
//   finish GRO items; finish this batch's crypto lane (esp/lane.ts: with several workers the tunRx
//   drain may post its encryption for any worker to run); publish tunTx, nbmaTx, ctlRx, udpTx once;
//   ring each consumer's doorbell once. Other workers' posted encryption is run after ctlTx.
//
// Each input ring gets up to `budget` slots per call; its tail is stored once and its producer's
// doorbell rung once per batch. A data slot is taken only while its output ring has room
// (worker/backpressure.ts): a full output holds its inputs back instead of dropping. The control
// lane comes first and never waits for data's outputs: nhrpRx and ikeRx (NHRP and IKE on 4500, which
// the kernel already put on sockets of their own) go to ctlRx, and wait only while ctlRx is full
// (a busy supervisor), so a data flood neither delays nor drops them here.
// Every packet goes down the path in the worker's one per-packet context (core/packet.ts).
// Every worker has data rings of its own (its layout block, docs/dataplane.md "Every core forwards"):
// worker 0 also has ctlTx and the control lane (nhrpRx, ikeRx), which are 0 in the blocks of the
// others. A worker > 0 starts each batch by publishing the SA epoch it runs in and reloading the tunnel
// configuration if worker 0 changed it, and marks itself idle before it sleeps (core/tables.ts).
import {
  tunRx, nbmaRx, nhrpRx, ctlTx, scratch, workerDoorbell, SCRATCH_PROD_TUN_TX, SCRATCH_PROD_NBMA_TX,
  SCRATCH_PROD_CTL_RX, RING_TAIL, RING_SLOT_COUNT, RING_SLOT_SIZE, RING_HEADER_SIZE, SLOT_LEN, SLOT_KIND, SLOT_ADDR, SLOT_AUX, SLOT_DATA, DOORBELL_SEQ,
  DOORBELL_SLEEPING, SCRATCH_ESP_PROD_UDP_TX, workerIndex, TUN_KIND_VNET, CTL_OUT_NHRP_OUT, CTL_OUT_IKE_OUT, CTL_OUT_KEEPALIVE, COUNTER_DROP_BAD_IP, COUNTER_CMD_BAD,
} from '../core/layout';
import { count } from '../core/counters';
import { setNow } from '../core/clock';
import { packet } from '../core/packet';
import { ringRelease, prodPublish, ringBatch, ringNonEmpty, slotAt } from '../io/ring';
import { tsoRoom, tsoStalled, tsoStart, tsoPacket, tsoLen } from '../offload/tso';
import { groFlush } from '../offload/gro';
import { espReady, espRxRing, udpRxRing, ikeRxRing, udpTx } from '../esp/sa';
import { outbound } from '../forward/outbound';
import { inbound } from '../forward/inbound';
import { runCommand, sendNhrp } from './commands';
import { markInFlight, testTrapRequested } from './recover';
import { epochEnter, epochLeave } from '../core/tables';
import { configRefresh } from '../core/config';
import { outputRoom, ctlRoom } from './backpressure';
import { laneBegin, lanePause, laneFinish, laneHelp, laneWaiting, laneActive } from '../esp/lane';
import { rxParallelCount, drainRxParallel } from './parallel-rx';

/**
 * False for a worker > 0 set up on worker 0's own layout block (its ctlTx is set): the benchmarks run
 * such workers beside worker 0; its rings are worker 0's (SPSC), so it must not poll them.
 */
@inline function ownRings(): bool { return workerIndex == 0 || ctlTx == 0; }

export function poll(budget: i32, now: u32): i32 {
  if (!ownRings()) return 0;
  if (workerIndex != 0) { testTrapRequested(); epochEnter(); configRefresh(); }
  setNow(now);
  const b = budget <= 0 ? <u32>1 : <u32>budget;
  let work: u32 = 0;
  work += drain(nhrpRx, b, FROM_CONTROL_LANE);
  if (espReady) work += drain(ikeRxRing, b, FROM_CONTROL_LANE);
  work += drain(ctlTx, b, FROM_CTL);
  work += laneHelp(); // other workers' posted encryption first: their owners wait for it to publish
  laneBegin();
  work += drain(tunRx, b, FROM_TUN);
  work += drainRx(nbmaRx, b);
  if (espReady) work += drainRx(espRxRing, b) + drainRx(udpRxRing, b);
  lanePause();
  groFlush(); // finish coalesced tunTx super-packets before they are published
  laneFinish(); // every posted encryption done before nbmaTx/udpTx are published (esp/lane.ts)
  publishOutputs();
  return <i32>work;
}

export function publishOutputs(): void {
  prodPublish(scratch + SCRATCH_PROD_NBMA_TX);
  prodPublish(scratch + SCRATCH_PROD_TUN_TX);
  prodPublish(scratch + SCRATCH_PROD_CTL_RX);
  if (udpTx != 0) prodPublish(scratch + SCRATCH_ESP_PROD_UDP_TX);
}

// What an input ring carries, for drain().
const FROM_CTL: u32 = 0;
const FROM_TUN: u32 = 1;
const FROM_NBMA: u32 = 2;
/** nhrpRx, ikeRx: handled like an NBMA slot; held back only by a full ctlRx, never by data's outputs. */
const FROM_CONTROL_LANE: u32 = 3;

/**
 * Takes up to `budget` slots of input ring `r` (0 = absent) and hands each to the path for `from`;
 * returns the slots consumed. The tail is stored once; a data slot whose output ring is full, or a TSO
 * super-packet whose segments do not fit nbmaTx yet, stops the batch and stays queued.
 */
@inline function drain(r: usize, budget: u32, from: u32): u32 {
  if (r == 0) return 0;
  const n = ringBatch(r, budget);
  if (n == 0) return 0;
  let t = load<u32>(r, RING_TAIL);
  const end = t + n;
  const mask = load<u32>(r, RING_SLOT_COUNT) - 1; // hoisted: the ring's shape does not change
  const size = load<u32>(r, RING_SLOT_SIZE);
  const max = size - <u32>SLOT_DATA;
  const pk = packet();
  for (; t != end; t++) {
    const s = r + RING_HEADER_SIZE + <usize>((t & mask) * size);
    const len = load<u32>(s, SLOT_LEN);
    if (len > max) { count(from == FROM_CTL ? COUNTER_CMD_BAD : COUNTER_DROP_BAD_IP); continue; }
    if ((from == FROM_TUN || from == FROM_NBMA) && !outputRoom(from == FROM_TUN)) break; // stays queued (worker/backpressure.ts)
    if (from == FROM_CONTROL_LANE && !ctlRoom()) break; // waits for the supervisor, and only control does
    const kind = load<u32>(s, SLOT_KIND);
    if (from == FROM_CTL && sendsPacket(kind) && !outputRoom(true)) break; // NHRP/IKE out wait for a slot, not dropped
    const d = s + SLOT_DATA;
    if (from == FROM_TUN && kind == TUN_KIND_VNET && !tsoRoom(d, len)) break;
    markInFlight(r, t);
    if (from == FROM_CTL) {
      if (kind == CTL_OUT_NHRP_OUT) sendNhrp(d, len, load<u32>(s, SLOT_ADDR), load<u32>(s, SLOT_AUX));
      else if (!runCommand(kind, d, len)) break; // waits for the other workers (esp/sa.ts saRemove)
    } else if (from == FROM_TUN) {
      if (kind == TUN_KIND_VNET) { // vnet header, maybe a TSO super-packet
        const k = tsoStart(d, len);
        for (let i: u32 = 0; i < k; i++) { pk.data = tsoPacket(i); pk.len = tsoLen; outbound(pk); }
      } else { pk.data = d; pk.len = len; outbound(pk); }
    } else {
      pk.kind = kind; pk.nbma = load<u32>(s, SLOT_ADDR); pk.aux = load<u32>(s, SLOT_AUX);
      pk.data = d; pk.len = len;
      inbound(pk);
    }
  }
  ringRelease(r, t);
  return n - (end - t);
}

/**
 * An rx ring: in two passes, its decryption shared, when this batch shares its crypto and the ring
 * has slots the two-pass drain may take (worker/parallel-rx.ts); else in one pass.
 */
@inline function drainRx(r: usize, budget: u32): u32 {
  if (laneActive()) {
    const k = rxParallelCount(r, budget);
    if (k > 0) return drainRxParallel(r, k);
  }
  return drain(r, budget, FROM_NBMA);
}

/** Sleep protocol, first half: returns the doorbell seq to wait on, or 0xFFFFFFFF if work arrived. */
export function prepareSleep(): u32 {
  const db = workerDoorbell;
  const s = atomic.load<u32>(db, DOORBELL_SEQ);
  if (!ownRings()) return s; // worker 0's `sleeping` flag is not ours to set
  atomic.store<u32>(db, 1, DOORBELL_SLEEPING);
  // An input held back by a full output (a TSO super-packet, or worker/backpressure.ts) is no work:
  // the output's consumer rings this doorbell when it frees slots. Another worker's posted
  // encryption is (esp/lane.ts): its owner rings only once per batch.
  if ((controlPending() && ctlRoom()) || ctlTxReady() || laneWaiting() || (ringNonEmpty(tunRx) && !tsoStalled() && outputRoom(true)) ||
      ((ringNonEmpty(nbmaRx) || espPending()) && outputRoom(false))) {
    atomic.store<u32>(db, 0, DOORBELL_SLEEPING);
    return 0xffffffff;
  }
  epochLeave(); // asleep: no SA reference held, worker 0 need not wait for this worker
  return s;
}

export function finishSleep(): void {
  if (!ownRings()) return;
  atomic.store<u32>(workerDoorbell, 0, DOORBELL_SLEEPING);
}

/**
 * ctlTx kinds that put a packet on nbmaTx or udpTx: they wait (in ring order, so the commands behind
 * them too) while that ring is full, as data does, instead of being dropped at a ring full of data;
 * ctlTx is drained before tunRx, so they go first once the pump frees a slot.
 */
@inline function sendsPacket(kind: u32): bool {
  return kind == CTL_OUT_NHRP_OUT || kind == CTL_OUT_IKE_OUT || kind == CTL_OUT_KEEPALIVE;
}

/** ctlTx has a slot the worker can take now (not one held by a full output ring). */
function ctlTxReady(): bool {
  if (ctlTx == 0 || !ringNonEmpty(ctlTx)) return false; // a worker > 0 has no ctlTx
  const kind = load<u32>(slotAt(ctlTx, load<u32>(ctlTx, RING_TAIL)), SLOT_KIND);
  return !sendsPacket(kind) || outputRoom(true);
}

@inline function controlPending(): bool {
  return (nhrpRx != 0 && ringNonEmpty(nhrpRx)) || (ikeRxRing != 0 && ringNonEmpty(ikeRxRing));
}

@inline function espPending(): bool {
  return (espRxRing != 0 && ringNonEmpty(espRxRing)) || (udpRxRing != 0 && ringNonEmpty(udpRxRing));
}
