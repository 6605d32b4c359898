// ESP across workers (docs/dataplane.md "ESP across workers"): two worker_threads, each a data-plane
// instance with its own worker index on one shared memory, drive ONE outbound SA and ONE inbound SA
// through the real ESP path (bench exports: FIB, peer, GRE, encrypt; decrypt, replay, decap).
// Outbound: every sequence number is handed out once (no duplicate) and none is skipped (the SA's
// number equals the packets sent), the lifetime counters lose no packet, a persisted reservation limit
// is never passed and its SEQ_LOW event is sent once. Inbound: the same authenticated packets offered
// to both workers, at the same time (lockstep) or each in its own order, are accepted exactly once each
// and every other copy is counted as a replay.
import t from 'tap';
import { ESP_ENC } from '../appliance/dataplane/sa.js';
import { multiWorker, PEER_NBMA, DST, type Result } from './util/esp-workers.js';

const THREADS = 2;
const OUT = 0, IN = 1;
const chacha = { spi: 0x1001, peer: PEER_NBMA, enc: ESP_ENC.CHACHA20_POLY1305, key: new Uint8Array(36).map((_, i) => i * 7 + 1) };
const gcm = { spi: 0x2002, peer: PEER_NBMA, enc: ESP_ENC.AES_GCM_128, icvLen: 16, key: new Uint8Array(20).map((_, i) => i * 5 + 3) };

/** Sequence numbers in `results` that occur more than once, and those of 1..n that never occur. */
function audit(results: Result[], n: number) {
  const seen = new Uint8Array(n + 1);
  const dup: number[] = [], outside: number[] = [];
  for (const r of results) for (const s of r.seqs ?? []) {
    if (s < 1 || s > n) outside.push(s);
    else if (seen[s]++) dup.push(s);
  }
  const missing: number[] = [];
  for (let s = 1; s <= n; s++) if (!seen[s]) missing.push(s);
  return { dup: dup.length, outside: outside.length, missing: missing.length, firstDup: dup.slice(0, 5) };
}

t.test('one outbound SA, two workers: each sequence number once, none skipped, no lost count', async (t) => {
  const x = multiWorker(THREADS);
  x.apply({ index: OUT, dir: 'out', ...chacha });
  const PER = 20000, LEN = 1400;
  const res = await x.run({ kind: 'send', len: LEN, count: PER, dst: DST });
  const total = THREADS * PER;
  t.same(res.map((r) => r.sent), [PER, PER], 'every call sent its packet');
  t.same(audit(res, total), { dup: 0, outside: 0, missing: 0, firstDup: [] }, 'the numbers sent are exactly 1..total');
  const sa = x.saRow(OUT);
  t.equal(sa.seq, BigInt(total), 'the SA\'s last number = packets sent (no gap)');
  t.equal(sa.packets, total, 'lifetime packets: no lost update');
  t.equal(sa.bytes, total * (LEN + 4), 'lifetime bytes (GRE packet: inner + 4)');
  t.equal(x.counters().espTxPackets, total, 'espTxPackets summed over the workers\' counter arrays');

  const BULK = 50000;
  const bulk = await x.run({ kind: 'sendBulk', len: 64, count: BULK, dst: DST });
  t.same(bulk.map((r) => r.sent), [BULK, BULK], 'bulk: every packet sent');
  t.equal(x.saRow(OUT).seq, BigInt(total + THREADS * BULK), 'bulk: the SA\'s number = all packets sent');
  t.equal(x.saRow(OUT).packets, total + THREADS * BULK, 'bulk: lifetime packets');
  t.equal(x.counters().espTxPackets, total + THREADS * BULK, 'bulk: espTxPackets');
});

t.test('a persisted reservation is never passed by two workers, and SEQ_LOW is sent once', async (t) => {
  const x = multiWorker(THREADS);
  x.apply({ index: OUT, dir: 'out', seqLimited: true, ...chacha });
  const LIMIT = 15000;
  x.sa.saLimit(OUT, BigInt(LIMIT), BigInt(LIMIT - 5000));
  x.dp.poll(256, 0);
  const PER = 10000;
  const res = await x.run({ kind: 'send', len: 200, count: PER, dst: DST });
  t.equal(res.reduce((a, r) => a + r.sent, 0), LIMIT, 'exactly the reserved numbers were sent');
  t.same(audit(res, LIMIT), { dup: 0, outside: 0, missing: 0, firstDup: [] }, 'they are 1..limit, each once');
  const sa = x.saRow(OUT);
  t.equal(sa.seq, BigInt(LIMIT), 'the SA stopped at the limit');
  t.equal(sa.drops.seqLimit, THREADS * PER - LIMIT, 'the rest counted as dropSeqLimit');
  t.equal(res.reduce((a, r) => a + r.events, 0), 1, 'one SEQ_LOW event from the two workers');
});

/** `n` indices in blocks of 64, each block in a random order (within any replay window). */
function blockShuffled(from: number, n: number, seed: number): number[] {
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) >>> 0; return s / 2 ** 32; };
  const out: number[] = [];
  for (let b = from; b < from + n; b += 64) {
    const blk = Array.from({ length: Math.min(64, from + n - b) }, (_, i) => b + i);
    for (let i = blk.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [blk[i], blk[j]] = [blk[j], blk[i]]; }
    out.push(...blk);
  }
  return out;
}

t.test('one inbound SA, two workers offered the same packets: each accepted exactly once', async (t) => {
  const LOCKSTEP = 3000, FREE = 6000, M = LOCKSTEP + FREE;
  const x = multiWorker(THREADS, M);
  x.apply({ index: OUT, dir: 'out', ...gcm }, { index: IN, dir: 'in', ...gcm });
  const lens = x.storePackets(M, 1400);
  const inOrder = Array.from({ length: LOCKSTEP }, (_, i) => i);
  // Lockstep: both decrypt packet i at the same moment (a barrier before each), so both pass the
  // check before decryption and only the update after it can tell them apart.
  const a = await x.run({ kind: 'receive', packets: M, lens, src: PEER_NBMA, lockstep: true, orders: [inOrder, inOrder] });
  // Free-running: each thread its own order (shuffled within blocks of 64), at its own pace.
  const b = await x.run({
    kind: 'receive', packets: M, lens, src: PEER_NBMA,
    orders: Array.from({ length: THREADS }, (_, k) => blockShuffled(LOCKSTEP, FREE, 7 + k)),
  });
  const times = (i: number) => [...a, ...b].reduce((n, r) => n + (r.accepted?.[i] ?? 0), 0);
  const wrong = Array.from({ length: M }, (_, i) => i).filter((i) => times(i) !== 1);
  t.same(wrong.slice(0, 10), [], 'every packet accepted by exactly one worker');
  t.equal(wrong.length, 0, `${wrong.length} of ${M} packets accepted other than once`);
  const sa = x.saRow(IN);
  t.equal(sa.seq, BigInt(M), 'the window\'s top = the highest number');
  t.equal(sa.packets, M, 'inbound lifetime packets: one per accepted packet');
  t.equal(sa.drops.replay + sa.drops.tooOld, (THREADS - 1) * M, 'every other copy dropped on the SA');
  t.equal(sa.drops.auth, 0, 'no authentication failure');
  const c = x.counters();
  t.equal(c.dropEspReplay, (THREADS - 1) * M, 'dropEspReplay summed over the workers');
  t.equal(c.tunTxPackets, M, 'one decapsulated packet per accepted one');
});

t.test('worker indexes: beyond the layout refused, a worker > 0 leaves the rings to worker 0', async (t) => {
  const x = multiWorker(THREADS);
  const instance = () => new WebAssembly.Instance(x.module, { env: { memory: x.memory, wake() {}, abort() { throw new Error('abort'); } } })
    .exports as unknown as { setup(b: number, i: number): number; poll(budget: number, now: number): number };
  t.equal(instance().setup(x.l.base, THREADS + 1), -4, 'index = workers: -4');
  const w1 = instance();
  t.equal(w1.setup(x.l.base, 1), 0, 'index 1: set up');
  x.apply({ index: OUT, dir: 'out', ...chacha }); // through worker 0, as always
  const before = x.counters().cmdApplied;
  x.cmd.peerSet(PEER_NBMA + 1, PEER_NBMA + 1);
  t.equal(w1.poll(256, 0), 0, 'worker 1 takes nothing from ctlTx');
  t.equal(x.dp.poll(256, 0), 1, 'worker 0 still gets the command');
  t.equal(x.counters().cmdApplied, before + 1, 'applied once');
});
