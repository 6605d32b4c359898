// poll(): one batch through the data plane, as a pipeline over the rings.
//
//   ctlTx  --(commands, NHRP_OUT)-->  tables / nbmaTx
//   tunRx  --(outbound: FIB, peer, GRE encap)-->  nbmaTx (+ tunTx ICMP, ctlRx NO_ENTRY)
//   nbmaRx --(inbound: GRE decap)-->  tunTx, ctlRx (NHRP_IN)
//   publish tunTx, nbmaTx, ctlRx once; ring each consumer's doorbell once (wake only if sleeping)
//
// Each input ring gets up to `budget` slots per call; its tail is stored once and its producer's
// doorbell rung once per batch.
import {
  tunRx, nbmaRx, ctlTx, scratch, SCR_PROD_TUNTX, SCR_PROD_NBMATX, SCR_PROD_CTLRX, RING_HEAD, RING_TAIL,
  RING_SLOT_COUNT, RING_SLOT_SIZE, RING_HEADER, SLOT_HEADER, workerDoorbell,
} from '../core/layout';
import { ringRelease, prodPublish } from '../io/ring';
import { outbound, setNow } from '../forward/outbound';
import { inbound } from '../forward/inbound';
import { tunRxVnet, tsoRoom, tsoStalled } from '../offload/tso';
import { groFlush } from '../offload/gro';
import { TUN_KIND_VNET } from '../offload/vnet';
import { applyCommand, sendNhrp, K_NHRP_OUT } from './commands';
import { espPending, espPublish } from '../esp/input';
import { espReady, espRxRing, udpRxRing } from '../esp/sa';
import { count, DROP_BAD_IP, CMD_BAD } from '../core/counters';
import { markInFlight } from './recover';

export function poll(budget: i32, now: u32): i32 {
  setNow(now);
  const b = budget <= 0 ? <u32>1 : <u32>budget;
  let work: u32 = 0;
  work += drainCtlTx(b);
  work += drainTunRx(b);
  work += drainNbmaRx(b);
  if (espReady) work += drainInbound(espRxRing, b) + drainInbound(udpRxRing, b);
  groFlush(); // finish coalesced tunTx super-packets before they are published
  publishOutputs();
  return <i32>work;
}

export function publishOutputs(): void {
  prodPublish(scratch + SCR_PROD_NBMATX);
  prodPublish(scratch + SCR_PROD_TUNTX);
  prodPublish(scratch + SCR_PROD_CTLRX);
  espPublish(); // udpTx
}

@inline function batchSize(r: usize, budget: u32): u32 {
  const n = atomic.load<u32>(r, RING_HEAD) - load<u32>(r, RING_TAIL);
  return n < budget ? n : budget;
}

function drainCtlTx(budget: u32): u32 {
  const r = ctlTx;
  const n = batchSize(r, budget);
  if (n == 0) return 0;
  let t = load<u32>(r, RING_TAIL);
  const end = t + n;
  const mask = load<u32>(r, RING_SLOT_COUNT) - 1;
  const size = load<u32>(r, RING_SLOT_SIZE);
  const max = size - <u32>SLOT_HEADER;
  for (; t != end; t++) {
    const s = r + RING_HEADER + <usize>((t & mask) * size);
    const len = load<u32>(s);
    const kind = load<u32>(s, 4);
    if (len > max) { count(CMD_BAD); continue; }
    markInFlight(r, t);
    if (kind == K_NHRP_OUT) sendNhrp(s + SLOT_HEADER, len, load<u32>(s, 8), load<u32>(s, 12));
    else applyCommand(kind, s + SLOT_HEADER, len);
  }
  ringRelease(r, end);
  return n;
}

function drainTunRx(budget: u32): u32 {
  const r = tunRx;
  const n = batchSize(r, budget);
  if (n == 0) return 0;
  let t = load<u32>(r, RING_TAIL);
  const end = t + n;
  const mask = load<u32>(r, RING_SLOT_COUNT) - 1;
  const size = load<u32>(r, RING_SLOT_SIZE);
  const max = size - <u32>SLOT_HEADER;
  for (; t != end; t++) {
    const s = r + RING_HEADER + <usize>((t & mask) * size);
    const len = load<u32>(s);
    if (len > max) { count(DROP_BAD_IP); continue; }
    if (load<u32>(s, 4) == TUN_KIND_VNET) { // vnet header, maybe a TSO super-packet (tso.ts)
      if (!tsoRoom(s + SLOT_HEADER, len)) break; // its segments do not fit nbmaTx yet: keep it queued
      markInFlight(r, t);
      tunRxVnet(s + SLOT_HEADER, len);
    } else { markInFlight(r, t); outbound(s + SLOT_HEADER, len); }
  }
  ringRelease(r, t);
  return n - (end - t);
}

function drainNbmaRx(budget: u32): u32 { return drainInbound(nbmaRx, budget); }

/** One receive ring (nbmaRx, espRx, udpRx) into inbound(), which dispatches by slot kind. */
function drainInbound(r: usize, budget: u32): u32 {
  if (r == 0) return 0;
  const n = batchSize(r, budget);
  if (n == 0) return 0;
  let t = load<u32>(r, RING_TAIL);
  const end = t + n;
  const mask = load<u32>(r, RING_SLOT_COUNT) - 1;
  const size = load<u32>(r, RING_SLOT_SIZE);
  const max = size - <u32>SLOT_HEADER;
  for (; t != end; t++) {
    const s = r + RING_HEADER + <usize>((t & mask) * size);
    const len = load<u32>(s);
    if (len > max) { count(DROP_BAD_IP); continue; }
    markInFlight(r, t);
    inbound(load<u32>(s, 4), load<u32>(s, 8), s + SLOT_HEADER, len);
  }
  ringRelease(r, end);
  return n;
}

/** Sleep protocol, first half: returns the doorbell seq to wait on, or 0xFFFFFFFF if work arrived. */
export function prepareSleep(): u32 {
  const db = workerDoorbell;
  const s = atomic.load<u32>(db);
  atomic.store<u32>(db, 1, 4);
  if (pending(ctlTx) || (pending(tunRx) && !tsoStalled()) || pending(nbmaRx) || espPending()) {
    atomic.store<u32>(db, 0, 4);
    return 0xffffffff;
  }
  return s;
}

export function finishSleep(): void {
  atomic.store<u32>(workerDoorbell, 0, 4);
}

@inline function pending(r: usize): bool {
  return atomic.load<u32>(r, RING_HEAD) != atomic.load<u32>(r, RING_TAIL);
}
