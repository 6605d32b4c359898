// A received batch whose decryption is shared (docs/dataplane.md "One SA on several cores"): the
// kernel gives one SA's ESP to one worker (SPI hash), so one flow's decryption would stay on one core.
// Two passes over the batch instead of one:
//   1. in order: each ESP slot's checks before the crypto (esp/input.ts espInputCheck: SPI, addresses,
//      replay pre-filter); the decryption is posted to the crypto lane (esp/lane.ts lanePostOpen),
//      or done here when the lane is full; anything else waits for pass 2 as it is;
//   2. in order again: each slot's job result (laneAwait: meanwhile the owner runs unclaimed jobs from
//      the back of the lane, the helpers take them from the front), then the
//      locked replay window update, padding, next header, policy (espInputFinish), GRE decap and the
//      tunTx slot or ctlRx record (forward/inbound.ts). So the window moves in received order and the
//      flows keep their order on tunTx; a replayed copy in one batch is caught by the update.
// What pass 1 found is kept per slot in RX_DEFERRED entries (SCRATCH rxDeferred). The batch is at most
// the lane's jobCount slots and at most the free tunTx slots (every slot's output comes in pass 2,
// after the back-pressure check of pass 1 would have run), so outputs never overflow.
// A trap: the in-flight marker names the slot of either pass; the successor skips it and releases
// the slots before it (worker/recover.ts), so packets of the batch are lost, never delivered twice; a
// slot a helper decrypted in place and the successor takes again fails authentication (counted).
import {
  scratch, SCRATCH_RX_DEFERRED, SCRATCH_PROD_TUN_TX, RX_DEFERRED_STATUS, RX_DEFERRED_JOB, RX_DEFERRED_SA,
  RX_DEFERRED_CT_LEN, RX_DEFERRED_SEQ, RX_DEFERRED_SIZE, RX_STATUS_DONE, RX_STATUS_PLAIN, RX_STATUS_OPENED,
  RX_STATUS_FORGED, RX_STATUS_POSTED, RING_TAIL, RING_SLOT_COUNT, RING_SLOT_SIZE, RING_HEADER_SIZE, SLOT_LEN,
  SLOT_KIND, SLOT_ADDR, SLOT_AUX, SLOT_DATA, NBMA_KIND_ESP, NBMA_KIND_UDP, CRYPTO_LANE_JOB_COUNT,
  COUNTER_DROP_BAD_IP,
} from '../core/layout';
import { count } from '../core/counters';
import { Packet, packet } from '../core/packet';
import { ringBatch, ringRelease, prodSpace } from '../io/ring';
import { espInputCheck, espInputFinish, espOpen, espOf } from '../esp/input';
import { saEntry } from '../esp/sa';
import { lanePostOpen, laneAwait, laneAwaitBegin } from '../esp/lane';
import { ESP_IN_OPEN, ESP_IN_GRE } from '../esp/defs';
import { inbound, inboundGre } from '../forward/inbound';
import { markInFlight } from './recover';

/**
 * Slots of rx ring `r` the two-pass drain may take now (at most `budget`, the lane's jobCount and the
 * free tunTx slots); 0 = let the one-pass drain take the ring (it also does the back-pressure wait).
 */
export function rxParallelCount(r: usize, budget: u32): u32 {
  if (r == 0) return 0;
  let n = ringBatch(r, budget);
  if (n > CRYPTO_LANE_JOB_COUNT) n = CRYPTO_LANE_JOB_COUNT;
  const room = prodSpace(scratch + SCRATCH_PROD_TUN_TX);
  return n <= room ? n : room;
}

/** Fills the context from slot `s` as the one-pass drain does. */
@inline function fromSlot(pk: Packet, s: usize): void {
  pk.kind = load<u32>(s, SLOT_KIND); pk.nbma = load<u32>(s, SLOT_ADDR); pk.aux = load<u32>(s, SLOT_AUX);
  pk.data = s + SLOT_DATA; pk.len = load<u32>(s, SLOT_LEN); pk.sa = 0;
}

/** The two passes over the next `n` slots of rx ring `r` (n from rxParallelCount); returns n. */
export function drainRxParallel(r: usize, n: u32): u32 {
  const tail = load<u32>(r, RING_TAIL);
  const mask = load<u32>(r, RING_SLOT_COUNT) - 1;
  const size = load<u32>(r, RING_SLOT_SIZE);
  const max = size - <u32>SLOT_DATA;
  const pk = packet();
  for (let i: u32 = 0; i < n; i++) { // pass 1
    const t = tail + i;
    const s = r + RING_HEADER_SIZE + <usize>((t & mask) * size);
    const d = scratch + SCRATCH_RX_DEFERRED + <usize>i * RX_DEFERRED_SIZE;
    store<u32>(d, RX_STATUS_DONE, RX_DEFERRED_STATUS);
    if (load<u32>(s, SLOT_LEN) > max) { count(COUNTER_DROP_BAD_IP); continue; }
    markInFlight(r, t);
    fromSlot(pk, s);
    if (pk.kind != NBMA_KIND_ESP && pk.kind != NBMA_KIND_UDP) { store<u32>(d, RX_STATUS_PLAIN, RX_DEFERRED_STATUS); continue; }
    if (espInputCheck(pk, d) != ESP_IN_OPEN) continue;
    const e = saEntry(load<u32>(d, RX_DEFERRED_SA) - 1);
    const esp = espOf(pk), ctLen = load<u32>(d, RX_DEFERRED_CT_LEN), seq = load<u64>(d, RX_DEFERRED_SEQ);
    const job = lanePostOpen(e, esp, ctLen, seq);
    if (job >= 0) { store<u32>(d, RX_STATUS_POSTED, RX_DEFERRED_STATUS); store<u32>(d, <u32>job, RX_DEFERRED_JOB); continue; }
    store<u32>(d, espOpen(e, esp, ctLen, seq) != 0 ? RX_STATUS_OPENED : RX_STATUS_FORGED, RX_DEFERRED_STATUS);
  }
  laneAwaitBegin();
  for (let i: u32 = 0; i < n; i++) { // pass 2, in received order
    const t = tail + i;
    const d = scratch + SCRATCH_RX_DEFERRED + <usize>i * RX_DEFERRED_SIZE;
    const st = load<u32>(d, RX_DEFERRED_STATUS);
    if (st == RX_STATUS_DONE) continue;
    markInFlight(r, t);
    fromSlot(pk, r + RING_HEADER_SIZE + <usize>((t & mask) * size));
    if (st == RX_STATUS_PLAIN) { inbound(pk); continue; }
    const ok: i32 = st == RX_STATUS_OPENED ? 1 : st == RX_STATUS_FORGED ? 0 : laneAwait(load<u32>(d, RX_DEFERRED_JOB));
    if (espInputFinish(pk, d, ok) == ESP_IN_GRE) inboundGre(pk);
  }
  ringRelease(r, tail + n);
  return n;
}
