// One SA on several cores (docs/dataplane.md "One SA on several cores"): the ESP packets one worker
// reads from its own tunRx are encrypted partly by another worker, and still leave on the owner's
// nbmaTx in the order they were read, with consecutive sequence numbers, each authenticating under
// node:crypto, none published before it was encrypted (each slot is read as soon as the owner
// publishes it). A helper that dies in the middle of a job: its successor's setup(), or the
// supervisor at the death, fails the job and the owner sends that slot zeroed, never its plaintext. An owner that dies with jobs posted: its
// successor cancels the unclaimed ones and waits for the claimed ones before reusing its slots. One
// worker: nothing is posted, as before.
import t from 'tap';
import { CRYPTO_LANE, CRYPTO_JOB, JOB_STATE, DOORBELL } from '../appliance/dataplane/abi.js';
import { failClaimedJobs } from '../appliance/dataplane/crypto-lane.js';
import { readEspCounters } from '../appliance/dataplane/sa.js';
import { laneWorld, packet, openSlot, espFromPeer, PEER_NBMA, type Sent } from './util/lane-workers.js';

const BATCH = 64;
const OWNER = 1, HELPER = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fills worker w's tunRx with packets first..first+n-1. */
function feed(x: ReturnType<typeof laneWorld>, w: number, first: number, n: number) {
  const rx = x.ring(w, 'tunRx');
  for (let i = 0; i < n; i++) if (!rx.fill(0, 0, 0, packet(first + i))) throw new Error('tunRx full');
  rx.publish();
}

/** Takes everything worker w published on nbmaTx, decrypted. */
function take(x: ReturnType<typeof laneWorld>, w: number): Sent[] {
  const out: Sent[] = [];
  x.ring(w, 'nbmaTx').drain((kind, addr, _aux, data) => {
    if (kind !== 50 || addr !== PEER_NBMA) throw new Error(`slot kind ${kind} to ${addr}`);
    out.push(openSlot(data.slice()));
  });
  return out;
}

/**
 * Waits (this thread blocks) for worker w's next nbmaTx publish, as the raw-tx pump does: asleep on
 * the ring's consumer doorbell, which the owner rings right after its head store; then takes the slots
 * at once, while the owner may still be inside poll().
 */
function atPublish(x: ReturnType<typeof laneWorld>, w: number, start: () => Promise<number>): { sent: Sent[]; polled: Promise<number> } {
  const db = x.l.workerRings[w].nbmaTxDoorbell;
  const i32 = new Int32Array(x.buf);
  const seq = Atomics.load(i32, (db + DOORBELL.seq) >>> 2); // before the poll can publish
  Atomics.store(i32, (db + DOORBELL.sleeping) >>> 2, 1);
  const polled = start();
  Atomics.wait(i32, (db + DOORBELL.seq) >>> 2, seq, 60_000);
  Atomics.store(i32, (db + DOORBELL.sleeping) >>> 2, 0);
  return { sent: take(x, w), polled };
}

/** Problems of a run of sent packets expected to be 0..n-1 with numbers 1..n in order (scrubbed: allowed failures). */
function audit(sent: Sent[], n: number, scrubbed = new Set<number>()) {
  const bad: string[] = [];
  if (sent.length !== n) bad.push(`${sent.length} packets, not ${n}`);
  sent.forEach((s, i) => {
    if (s.seq !== i + 1) bad.push(`slot ${i}: seq ${s.seq}`);
    if (s.plaintextSeen) bad.push(`slot ${i}: plaintext on the wire`);
    if (scrubbed.has(s.seq)) { if (!s.zeroed || s.ok) bad.push(`slot ${i}: failed job not scrubbed`); return; }
    if (!s.ok) bad.push(`slot ${i}: does not authenticate`);
    if (s.index !== i) bad.push(`slot ${i}: carries packet ${s.index}`);
  });
  return bad.slice(0, 10);
}

t.test('one worker: nothing posted, every packet encrypted in place and in order', async (t) => {
  const x = laneWorld(1);
  const rx = x.ring(0, 'tunRx');
  for (let i = 0; i < BATCH; i++) rx.fill(0, 0, 0, packet(i));
  rx.publish();
  x.w0.poll(256, 0);
  t.same(audit(take(x, 0), BATCH), [], 'in order, numbers 1..n, all authenticate');
  t.equal(x.crypto(0).cryptoJobsPosted, 0, 'no job posted');
});

t.test('two workers: one worker\'s batch of one SA is encrypted partly by the other, published in order', async (t) => {
  const x = laneWorld(3); // worker 0 applies commands here; 1 owns the flow, 2 helps
  const owner = x.start(OWNER, 'owner');
  const helper = x.start(HELPER, 'helper');
  t.teardown(async () => { await owner.stop(); await helper.stop(); });
  await Promise.all([owner.setupDone, helper.setupDone]);
  const sent: Sent[] = [];
  const publishes: number[] = [];
  let batches = 0;
  // Until the helper has done jobs in 5 batches (a loaded machine may not run it in every one); the
  // nbmaTx slots are decrypted right after each publish, so a slot published before its encryption
  // ended would not authenticate or would show its cleartext.
  for (let helpedBatches = 0; helpedBatches < 5 && batches < 400; batches++) {
    const before = x.crypto(HELPER).cryptoJobsHelped;
    feed(x, OWNER, batches * BATCH, BATCH);
    const { sent: got, polled } = atPublish(x, OWNER, () => owner.poll(BATCH));
    await polled;
    publishes.push(got.length);
    sent.push(...got);
    if (x.crypto(HELPER).cryptoJobsHelped > before) helpedBatches++;
  }
  const n = batches * BATCH;
  t.same(publishes.filter((k) => k !== BATCH), [], 'each poll published its whole batch at once');
  t.same(audit(sent, n), [], `${n} packets: in order, consecutive numbers, each authenticates, no cleartext`);
  const o = x.crypto(OWNER), h = x.crypto(HELPER);
  t.ok(h.cryptoJobsHelped > 0, `the helper encrypted ${h.cryptoJobsHelped} of the owner's ${o.cryptoJobsPosted} jobs`);
  t.equal(o.cryptoJobsOwn + h.cryptoJobsHelped + x.crypto(0).cryptoJobsHelped, o.cryptoJobsPosted, 'every job done exactly once');
  t.equal(o.cryptoJobsFailed, 0, 'none failed');
  t.equal(x.u32At(x.lane(OWNER) + CRYPTO_LANE.posted), 0, 'the owner\'s lane is empty between batches');
  t.equal(x.u32At(x.lane(OWNER) + CRYPTO_LANE.pending), 0, 'nothing pending');
});

t.test('two workers, receiving: one worker\'s batch of one SA is decrypted partly by the other, delivered in order', async (t) => {
  const x = laneWorld(3);
  const owner = x.start(OWNER, 'owner');
  const helper = x.start(HELPER, 'helper');
  t.teardown(async () => { await owner.stop(); await helper.stop(); });
  await Promise.all([owner.setupDone, helper.setupDone]);
  const order: number[] = [];
  let seq = 0, batches = 0, forged = 0, replayed = 0;
  for (let helpedBatches = 0; helpedBatches < 5 && batches < 400; batches++) {
    const before = x.crypto(HELPER).cryptoJobsHelped;
    const rx = x.ring(OWNER, 'espRx');
    for (let i = 0; i < BATCH; i++) {
      seq++;
      const p = espFromPeer(seq, packet(seq - 1));
      if (!rx.fill(50, PEER_NBMA, 0, p)) throw new Error('espRx full');
      if (i === 10) { rx.fill(50, PEER_NBMA, 0, p); replayed++; } // the same packet twice in one batch: the second is a replay
      if (i === 20) { rx.fill(50, PEER_NBMA, 0, espFromPeer(seq + 1000000, packet(0), true)); forged++; } // fails authentication
    }
    rx.publish();
    await owner.poll(256);
    x.ring(OWNER, 'tunTx').drain((_kind, _addr, _aux, data) => { order.push(new DataView(data.buffer, data.byteOffset).getUint32(28)); });
    if (x.crypto(HELPER).cryptoJobsHelped > before) helpedBatches++;
  }
  const wrong = order.map((v, i) => [i, v]).filter(([i, v]) => i !== v);
  t.equal(order.length, seq, `${seq} packets delivered to tunTx, once each`);
  t.same(wrong.slice(0, 5), [], 'in the order they were received');
  const h = x.crypto(HELPER), o = x.crypto(OWNER);
  t.ok(h.cryptoJobsHelped > 0, `the helper decrypted ${h.cryptoJobsHelped} of the owner's ${o.cryptoJobsPosted} jobs`);
  t.equal(o.cryptoJobsOwn + h.cryptoJobsHelped, o.cryptoJobsPosted, 'every job done exactly once');
  const c = readEspCounters(x.buf, x.l);
  t.equal(c.dropEspReplay, replayed, 'each duplicate in a batch dropped as a replay (the window moves in order)');
  t.equal(c.dropEspAuth, forged, 'each forged packet dropped');
});

t.test('a helper that dies in the middle of a job: its successor fails the job, the owner sends it zeroed', async (t) => {
  const x = laneWorld(3);
  const owner = x.start(OWNER, 'owner');
  t.teardown(() => owner.stop());
  await owner.setupDone;
  x.pretendAsleep(HELPER); // an idle worker 2, so the owner posts its batch
  let victimSeq = 0, first = 0, batches = 0;
  const sent: Sent[] = [];
  const claim = x.claimAndDie(HELPER, OWNER); // one thread, until it has claimed a job of some batch
  while (!victimSeq && batches < 200) {
    batches++;
    feed(x, OWNER, first, BATCH);
    const done = owner.poll(BATCH);
    const seq = await Promise.race([claim, done.then(() => 0)]);
    if (seq) {
      // the owner runs the rest of its batch, then waits for this one (generous: a loaded machine)
      for (let i = 0; i < 600 && x.u32At(x.lane(OWNER) + CRYPTO_LANE.pending) !== 1; i++) await sleep(50);
      t.equal(x.u32At(x.lane(OWNER) + CRYPTO_LANE.pending), 1, 'the owner waits for the claimed job (pending 1)');
      t.equal(x.ring(OWNER, 'nbmaTx').pending, 0, 'and has published nothing of its batch meanwhile');
      x.instance(HELPER); // worker 2's successor: setup()
      victimSeq = seq;
    }
    await done;
    sent.push(...take(x, OWNER));
    first += BATCH;
  }
  t.ok(victimSeq > 0, `a job was claimed and abandoned (after ${batches} batches)`);
  t.same(audit(sent, first, new Set([victimSeq])), [], 'all in order with consecutive numbers; the failed one zeroed, the rest authenticate');
  t.equal(x.crypto(OWNER).cryptoJobsFailed, 1, 'the owner counted one failed job');
  t.equal(x.u32At(x.job(OWNER, 0) + CRYPTO_JOB.state), JOB_STATE.FREE, 'the lane is emptied');
});

t.test('the supervisor fails a dead helper\'s jobs at its death (no wait for its successor)', async (t) => {
  const x = laneWorld(3);
  const owner = x.start(OWNER, 'owner');
  t.teardown(() => owner.stop());
  await owner.setupDone;
  x.pretendAsleep(HELPER);
  let failed = 0, first = 0, victimSeq = 0;
  const sent: Sent[] = [];
  const claim = x.claimAndDie(HELPER, OWNER);
  for (let batches = 0; !failed && batches < 200; batches++) {
    feed(x, OWNER, first, BATCH);
    const done = owner.poll(BATCH);
    victimSeq = await Promise.race([claim, done.then(() => 0)]);
    if (victimSeq) failed = failClaimedJobs(x.buf, x.l, HELPER); // what DataplaneHost's onDeath does
    await done;
    sent.push(...take(x, OWNER));
    first += BATCH;
  }
  t.equal(failed, 1, 'one claimed job failed');
  t.same(audit(sent, first, new Set([victimSeq])), [], 'the owner went on: in order, the failed one zeroed, the rest authenticate');
  t.equal(failClaimedJobs(x.buf, x.l, HELPER), 0, 'nothing left to fail (a successor\'s setup finds none)');
});

t.test('an owner that dies with jobs posted: its successor cancels the unclaimed and waits for the claimed', async (t) => {
  const x = laneWorld(3);
  const u32 = new Uint32Array(x.buf);
  const lane = x.lane(OWNER);
  const state = (j: number) => (x.job(OWNER, j) + CRYPTO_JOB.state) >>> 2;
  // What a dead worker 1 may leave: job 0 posted, job 1 being encrypted by worker 2, job 2 done.
  u32[state(0)] = JOB_STATE.POSTED; u32[state(1)] = JOB_STATE.CLAIMED | HELPER; u32[state(2)] = JOB_STATE.DONE;
  u32[(lane + CRYPTO_LANE.posted) >>> 2] = 3;
  u32[(lane + CRYPTO_LANE.pending) >>> 2] = 2;
  const successor = x.start(OWNER, 'setup');
  t.teardown(() => successor.stop());
  let ready = false;
  void successor.setupDone.then(() => { ready = true; });
  for (let i = 0; i < 600 && Atomics.load(u32, (lane + CRYPTO_LANE.pending) >>> 2) !== 1; i++) await sleep(50);
  t.equal(Atomics.load(u32, state(0)), JOB_STATE.FREE, 'the unclaimed job is cancelled');
  t.equal(Atomics.load(u32, (lane + CRYPTO_LANE.pending) >>> 2), 1, 'only the claimed job is pending');
  await sleep(200);
  t.notOk(ready, 'setup() has not returned while worker 2 still writes into a slot of the lane');
  // worker 2 finishes its job
  t.equal(Atomics.compareExchange(u32, state(1), JOB_STATE.CLAIMED | HELPER, JOB_STATE.DONE), JOB_STATE.CLAIMED | HELPER);
  Atomics.sub(u32, (lane + CRYPTO_LANE.pending) >>> 2, 1);
  await successor.setupDone;
  t.equal(Atomics.load(u32, (lane + CRYPTO_LANE.posted) >>> 2), 0, 'then the lane is emptied');
  t.same([0, 1, 2].map((j) => Atomics.load(u32, state(j))), [0, 0, 0], 'every job free');
  t.equal(x.crypto(OWNER).cryptoJobsCancelled, 1, 'one job counted as cancelled');
});
