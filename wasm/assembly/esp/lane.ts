// One SA on several cores (docs/dataplane.md "One SA on several cores"): ordered parallel encryption
// and decryption, as wireguard-go does it (parallel crypto, output in order). Below, the sending side;
// a received batch posts OPEN jobs the same way (worker/parallel-rx.ts: the owner takes each result in
// received order with laneAwait, then updates the replay window and decapsulates).
//
// The kernel gives one TCP flow to one TUN queue, so one worker reads all of its packets. That worker
// (the owner) still does everything that decides order in order: lookup, GRE, ESP header, the
// sequence number, padding, the outer header, the slot's place in its output ring. Only the cipher is
// left: it posts it as a job to its crypto lane (SCRATCH cryptoLane, CRYPTO_LANE in the layout) and
// goes on with the next packet. Any worker claims a POSTED job with a compare-and-swap of its state
// (POSTED -> CLAIMED | its index), encrypts the owner's slot in place (esp/seal.ts) and marks it DONE.
// At the end of its batch the owner encrypts whatever nobody claimed, helps other lanes while it waits
// for the claimed ones, and only then publishes its output rings (worker/poll.ts): nothing is
// published before it is encrypted, and the ring order is the order the packets were read in.
//
// The lane holds the jobs of one batch (job 0..posted-1); the owner empties it before the next. Jobs
// are offloaded only when it can pay: more than one worker on the memory, inside poll() (never in the
// bench exports, whose one-slot rings reuse a slot at once), and another worker asleep or having done
// some of this worker's previous batch; the sleepers are woken once LANE_WAKE_AT jobs wait. With one
// worker espSend encrypts in place as before and nothing here runs.
//
// A worker that dies while it encrypts another's job (state CLAIMED | its index) leaves that slot half
// encrypted: its successor's setup() marks the job FAILED (laneRecover), the owner, still waiting,
// zeroes the slot's payload (the packet goes out as an ESP packet that fails authentication: its
// number is a gap, as when a worker dies between reserving a number and sending it) and publishes.
// A dead owner's successor cancels the jobs nobody claimed and waits for the claimed ones before it
// reuses its output slots (their outputs were never published: lost, as before).
import {
  scratch, scratchSize, workerIndex, workerCount, layoutField, LAYOUT_BASE, LB_SCRATCH, LB_WORKER_BLOCKS,
  LB_WORKER_DOORBELL, LB_SIZE, DOORBELL_SLEEPING, SCRATCH_CRYPTO_LANE, SCRATCH_CRYPTO_LANE_END, CRYPTO_LANE_POSTED,
  CRYPTO_LANE_PENDING, CRYPTO_LANE_JOBS, CRYPTO_LANE_JOB_COUNT, CRYPTO_JOB_STATE, CRYPTO_JOB_SA, CRYPTO_JOB_ESP,
  CRYPTO_JOB_PADDED, CRYPTO_JOB_SEQ, CRYPTO_JOB_OP, CRYPTO_JOB_RESULT, CRYPTO_JOB_SIZE, JOB_OP_SEAL, JOB_OP_OPEN, SA_ENTRY_ICV_LEN, JOB_STATE_FREE, JOB_STATE_POSTED,
  JOB_STATE_DONE, JOB_STATE_FAILED, JOB_STATE_CLAIMED, COUNTER_CRYPTO_JOBS_POSTED, COUNTER_CRYPTO_JOBS_HELPED,
  COUNTER_CRYPTO_JOBS_OWN, COUNTER_CRYPTO_JOBS_FAILED, COUNTER_CRYPTO_JOBS_CANCELLED, COUNTER_CRYPTO_WAITS,
} from '../core/layout';
import { count } from '../core/counters';
import { doorbellRing } from '../io/ring';
import { READ_SPINS, READ_WAIT_NS } from '../core/tables';
import { espSeal, espHeaderLen } from './seal';
import { espOpen } from './input';
import { ESP_IV, ESP_HDR_LEN } from './defs';

/** Jobs waiting in the lane when the owner wakes the sleeping workers (once per batch). */
const LANE_WAKE_AT: u32 = 4;

/** This worker has a lane (several workers, scratch large enough): set by laneSetup(). */
let laneReady: bool = false;
/** Jobs may be posted now: inside a poll batch that decided to offload (laneBegin). */
let laneOn: bool = false;
/** Some of the last batch's jobs were done by another worker: it is worth posting again. */
let helpedLast: bool = false;

@inline function laneOf(w: u32): usize {
  return layoutField(LB_SCRATCH) + <usize>w * <usize>scratchSize + SCRATCH_CRYPTO_LANE;
}
@inline function jobAt(lane: usize, j: u32): usize { return lane + CRYPTO_LANE_JOBS + <usize>j * CRYPTO_JOB_SIZE; }
@inline function claimedBy(w: u32): u32 { return JOB_STATE_CLAIMED | w; }

/** Worker w's doorbell (worker 0's block is at LAYOUT_BASE, the others' at workerBlocks). */
function doorbellOf(w: u32): usize {
  const block = w == 0 ? LAYOUT_BASE : layoutField(LB_WORKER_BLOCKS) + <usize>(w - 1) * LB_SIZE;
  return <usize>load<u32>(block, LB_WORKER_DOORBELL);
}

/** setup(): whether this worker posts and helps, and the repair of what a dead predecessor left. */
export function laneSetup(espOn: bool): void {
  laneReady = espOn && workerCount > 1 && <usize>scratchSize >= SCRATCH_CRYPTO_LANE_END;
  laneOn = false;
  helpedLast = false;
  if (laneReady) laneRecover();
}

/**
 * Before the owner's tunRx drain: offload its encryption if another worker can take some of it. Only
 * tunRx posts: worker 0 applies commands (SA_DEL wipes keys) in its ctlTx drain, before this, so no job
 * of its own can be pending on an SA it removes; another owner's SAs are kept for it by its epoch.
 */
export function laneBegin(): void {
  if (!laneReady) return;
  let idle = helpedLast;
  for (let w: u32 = 0; !idle && w < workerCount; w++) {
    if (w != workerIndex && atomic.load<u32>(doorbellOf(w), DOORBELL_SLEEPING) != 0) idle = true;
  }
  laneOn = idle;
}

/** After the tunRx drain: no more posting this batch (laneFinish still runs the jobs). */
export function lanePause(): void { laneOn = false; }

/**
 * Posts the encryption of the ESP packet at `esp` (`padded` payload bytes, SA `e`, number `seq`) as a
 * job; false = encrypt it now (no lane this batch, or the lane is full).
 */
export function lanePost(e: usize, esp: usize, padded: u32, seq: u64): bool {
  return post(JOB_OP_SEAL, e, esp, padded, seq) >= 0;
}

/**
 * Posts the verification and decryption of the received ESP packet at `esp` (`ctLen` ciphertext
 * bytes, SA `e`, number `seq`); the job's index for laneAwait, or -1 = open it now.
 */
export function lanePostOpen(e: usize, esp: usize, ctLen: u32, seq: u64): i32 {
  return post(JOB_OP_OPEN, e, esp, ctLen, seq);
}

/** This batch shares its crypto (laneBegin decided so): worker/parallel-rx.ts takes its two passes. */
@inline export function laneActive(): bool { return laneOn; }

function post(op: u32, e: usize, esp: usize, padded: u32, seq: u64): i32 {
  if (!laneOn) return -1;
  const lane = scratch + SCRATCH_CRYPTO_LANE;
  const n = load<u32>(lane, CRYPTO_LANE_POSTED);
  if (n >= CRYPTO_LANE_JOB_COUNT) return -1;
  const j = jobAt(lane, n);
  store<u32>(j, op, CRYPTO_JOB_OP);
  store<u32>(j, <u32>e, CRYPTO_JOB_SA);
  store<u32>(j, <u32>esp, CRYPTO_JOB_ESP);
  store<u32>(j, padded, CRYPTO_JOB_PADDED);
  store<u64>(j, seq, CRYPTO_JOB_SEQ);
  atomic.add<u32>(lane + CRYPTO_LANE_PENDING, 1); // before it can be claimed, so a finish never sees it below 0
  atomic.store<u32>(j + CRYPTO_JOB_STATE, JOB_STATE_POSTED); // the fields above are visible with it
  atomic.store<u32>(lane + CRYPTO_LANE_POSTED, n + 1);
  count(COUNTER_CRYPTO_JOBS_POSTED);
  if (n + 1 == LANE_WAKE_AT) wakeSleepers();
  return <i32>n;
}

function wakeSleepers(): void {
  for (let w: u32 = 0; w < workerCount; w++) {
    if (w == workerIndex) continue;
    const db = doorbellOf(w);
    if (atomic.load<u32>(db, DOORBELL_SLEEPING) != 0) doorbellRing(db);
  }
}

/** Claims job j (POSTED -> CLAIMED by this worker), encrypts it and marks it DONE. False = not claimed. */
function runJob(lane: usize, j: usize): bool {
  if (atomic.load<u32>(j + CRYPTO_JOB_STATE) != JOB_STATE_POSTED) return false;
  const me = claimedBy(workerIndex);
  if (atomic.cmpxchg<u32>(j + CRYPTO_JOB_STATE, JOB_STATE_POSTED, me) != JOB_STATE_POSTED) return false;
  const e = <usize>load<u32>(j, CRYPTO_JOB_SA), esp = <usize>load<u32>(j, CRYPTO_JOB_ESP);
  if (load<u32>(j, CRYPTO_JOB_OP) == JOB_OP_OPEN) {
    store<u32>(j, <u32>espOpen(e, esp, load<u32>(j, CRYPTO_JOB_PADDED), load<u64>(j, CRYPTO_JOB_SEQ)), CRYPTO_JOB_RESULT);
  } else espSeal(e, esp, load<u32>(j, CRYPTO_JOB_PADDED), load<u64>(j, CRYPTO_JOB_SEQ));
  // Only the claimer moves CLAIMED | me on, and only one of DONE / FAILED counts the job finished.
  if (atomic.cmpxchg<u32>(j + CRYPTO_JOB_STATE, me, JOB_STATE_DONE) == me) atomic.sub<u32>(lane + CRYPTO_LANE_PENDING, 1);
  return true;
}

/** Encrypts every job posted in the other workers' lanes that nobody has claimed yet; returns how many. */
export function laneHelp(): u32 {
  if (!laneReady) return 0;
  let done: u32 = 0;
  for (let w: u32 = 0; w < workerCount; w++) {
    if (w == workerIndex) continue;
    const lane = laneOf(w);
    const n = atomic.load<u32>(lane + CRYPTO_LANE_POSTED);
    for (let i: u32 = 0; i < n && i < CRYPTO_LANE_JOB_COUNT; i++) if (runJob(lane, jobAt(lane, i))) done++;
  }
  if (done > 0) count(COUNTER_CRYPTO_JOBS_HELPED, done);
  return done;
}

/** Another worker's lane has a job nobody has claimed (the sleep check: a helper does not sleep on it). */
export function laneWaiting(): bool {
  if (!laneReady) return false;
  for (let w: u32 = 0; w < workerCount; w++) {
    if (w == workerIndex) continue;
    const lane = laneOf(w);
    const n = atomic.load<u32>(lane + CRYPTO_LANE_POSTED);
    for (let i: u32 = 0; i < n && i < CRYPTO_LANE_JOB_COUNT; i++) {
      if (atomic.load<u32>(jobAt(lane, i) + CRYPTO_JOB_STATE) == JOB_STATE_POSTED) return true;
    }
  }
  return false;
}

/**
 * End of the owner's batch, before it publishes: encrypts its jobs nobody claimed, waits (helping the
 * other lanes meanwhile) until the claimed ones are done, scrubs a FAILED one, and empties the lane.
 */
export function laneFinish(): void {
  if (!laneReady) return;
  laneOn = false;
  const lane = scratch + SCRATCH_CRYPTO_LANE;
  const n = load<u32>(lane, CRYPTO_LANE_POSTED);
  if (n == 0) return;
  let own: u32 = 0;
  // from the back: the other workers claim from the front (laneHelp), so the two rarely meet
  for (let i = n; i > 0; i--) if (runJob(lane, jobAt(lane, i - 1))) own++;
  count(COUNTER_CRYPTO_JOBS_OWN, own);
  helpedLast = own < n;
  if (atomic.load<u32>(lane + CRYPTO_LANE_PENDING) != 0) {
    count(COUNTER_CRYPTO_WAITS);
    waitPending(lane);
  }
  for (let i: u32 = 0; i < n; i++) {
    const j = jobAt(lane, i);
    if (atomic.load<u32>(j + CRYPTO_JOB_STATE) == JOB_STATE_FAILED) {
      if (load<u32>(j, CRYPTO_JOB_OP) == JOB_OP_SEAL) scrub(j); // an OPEN job's slot is a received one: dropped (laneAwait)
      count(COUNTER_CRYPTO_JOBS_FAILED);
    }
    atomic.store<u32>(j + CRYPTO_JOB_STATE, JOB_STATE_FREE);
  }
  atomic.store<u32>(lane + CRYPTO_LANE_POSTED, 0);
}

/** The owner's next job from the back of its lane for laneAwait (set by laneAwaitBegin). */
let back: i32 = -1;

/** Before the owner's in-order pass over a received batch: its own work starts at the lane's end. */
export function laneAwaitBegin(): void {
  back = <i32>load<u32>(scratch + SCRATCH_CRYPTO_LANE, CRYPTO_LANE_POSTED) - 1;
}

/**
 * The owner, in received order: the result of its OPEN job `index` (1 = authentic), running it itself
 * if nobody has claimed it, else waiting for it as waitPending does. A job whose worker died (FAILED)
 * counts as not authentic: the packet is dropped, whatever the slot now holds.
 */
export function laneAwait(index: u32): i32 {
  const lane = scratch + SCRATCH_CRYPTO_LANE;
  const j = jobAt(lane, index);
  const st = j + CRYPTO_JOB_STATE;
  let v = atomic.load<u32>(st);
  for (let spins: u32 = 0; v != JOB_STATE_DONE && v != JOB_STATE_FAILED; spins++) {
    // while its job waits, the owner runs the lane's last unclaimed jobs (the helpers take the first
    // ones), down to this one; then it helps the other lanes until this one is done
    if (back >= <i32>index) {
      if (runJob(lane, jobAt(lane, <u32>back))) count(COUNTER_CRYPTO_JOBS_OWN);
      back--;
    } else if (laneHelp() == 0 && spins >= READ_SPINS) atomic.wait<i32>(st, <i32>v, READ_WAIT_NS);
    v = atomic.load<u32>(st);
  }
  return v == JOB_STATE_DONE ? <i32>load<u32>(j, CRYPTO_JOB_RESULT) : 0;
}

/**
 * Until every claimed job of `lane` is DONE or FAILED: helps the other lanes, spins, then sleeps
 * READ_WAIT_NS at a time. No bound: a claimed job is finished by its worker within one encryption, or
 * failed by the setup() of that worker's successor if it died.
 */
function waitPending(lane: usize): void {
  const p = lane + CRYPTO_LANE_PENDING;
  for (let spins: u32 = 0; ; spins++) {
    const v = atomic.load<u32>(p);
    if (v == 0) return;
    if (laneHelp() != 0) continue;
    if (spins >= READ_SPINS) atomic.wait<i32>(p, <i32>v, READ_WAIT_NS);
  }
}

/** A job whose worker died mid-way: zero everything behind the ESP header, so no plaintext is sent. */
function scrub(j: usize): void {
  const e = <usize>load<u32>(j, CRYPTO_JOB_SA);
  const esp = <usize>load<u32>(j, CRYPTO_JOB_ESP);
  memory.fill(esp + ESP_IV, 0, <usize>(espHeaderLen(e) - ESP_HDR_LEN + load<u32>(j, CRYPTO_JOB_PADDED) + load<u32>(e, SA_ENTRY_ICV_LEN)));
}

/**
 * setup() of every worker when there is a lane (laneReady). Jobs its predecessor (same index) had
 * claimed in any lane are FAILED (their owners scrub them). Its own lane: jobs nobody claimed are
 * cancelled (their slots were never published and will be reused), the claimed ones are waited for,
 * then the lane is emptied. On a first start the lanes are zero and nothing happens.
 */
function laneRecover(): void {
  const me = claimedBy(workerIndex);
  for (let w: u32 = 0; w < workerCount; w++) {
    const lane = laneOf(w);
    for (let i: u32 = 0; i < CRYPTO_LANE_JOB_COUNT; i++) {
      const j = jobAt(lane, i);
      if (atomic.cmpxchg<u32>(j + CRYPTO_JOB_STATE, me, JOB_STATE_FAILED) == me) atomic.sub<u32>(lane + CRYPTO_LANE_PENDING, 1);
    }
  }
  const lane = scratch + SCRATCH_CRYPTO_LANE;
  let cancelled: u32 = 0;
  for (let i: u32 = 0; i < CRYPTO_LANE_JOB_COUNT; i++) {
    const j = jobAt(lane, i);
    if (atomic.cmpxchg<u32>(j + CRYPTO_JOB_STATE, JOB_STATE_POSTED, JOB_STATE_FREE) == JOB_STATE_POSTED) {
      atomic.sub<u32>(lane + CRYPTO_LANE_PENDING, 1);
      cancelled++;
    }
  }
  if (cancelled > 0) count(COUNTER_CRYPTO_JOBS_CANCELLED, cancelled);
  waitPending(lane);
  for (let i: u32 = 0; i < CRYPTO_LANE_JOB_COUNT; i++) atomic.store<u32>(jobAt(lane, i) + CRYPTO_JOB_STATE, JOB_STATE_FREE);
  atomic.store<u32>(lane + CRYPTO_LANE_POSTED, 0);
}
