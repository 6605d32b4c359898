// Per-core scaling of the WASM data plane in memory (issue 14): 1 worker vs N workers on one shared
// memory, each a worker_thread with its own worker index (setup(base, i): own scratch and counters),
// running the real path through the bench exports (no rings, no I/O):
//   GRE encap           benchOutbound: FIB, peer, GRE into the worker's bench nbmaTx slot (cleartext)
//   <suite> ESP out     benchEspOutbound: the same, then ESP encrypt (atomic sequence number per SA)
//   <suite> ESP in      benchEspReceive on distinct stored packets: decrypt, verify, replay window
//                       (locked update), GRE decap; in passes of PASS packets per SA, after each the
//                       inbound SAs are added again (window reset) so the same packets are fresh again
// N workers run on ONE SA / peer ("shared": the SA's sequence number, replay lock and counters are
// contended) and on N SAs / peers, one each ("own": the contention cost is the difference).
// Printed per case: Mpps, Gbit/s of 1400-byte inner packets, N/1, and CPU seconds per gigabit (the
// process's user+system time over the run, process.cpuUsage(), all threads); medians of RUNS runs.
// The 1-worker runs use the same N+1-worker layout (shared counters are atomic adds as with N).
// Last, one SA and one flow read by ONE worker (bench/lib/one-sa-lane.mjs): real rings and poll(),
// 1 worker against 2 where the second can only help with the first's encryption (its crypto lane).
// Prints figures, asserts nothing.  Usage: node bench/scaling.mjs [seconds-per-run] [N] [runs] [lane]
// ("lane": only the one-SA case).
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { dataplaneHelpers } from './lib/dataplane-helpers.mjs';
import { laneRun, udpPacket } from './lib/one-sa-lane.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const H = await dataplaneHelpers(root);
const { computeLayout, writeLayout, pagesFor, Ring, Commands, SaCommands, readCounters, readEspCounters, ipToU32: ip, ESP_ENC: E, RING, SLOT } = H;

const SECONDS = Number(process.argv[2] ?? 1);
const N = Number(process.argv[3] ?? availableParallelism());
const RUNS = Number(process.argv[4] ?? 3);
const LANE_ONLY = process.argv[5] === 'lane';
const LEN = 1400;
const CHUNK = 256;
const PASS = 4096; // stored packets per inbound SA and pass: at most the largest replay window
const WINDOW = 4096;
const STRIDE = 2048;
const PAGE = 65536;
const BENCH_NBMA_TX_RING = 1;
const SCRATCH_BENCH_RINGS = 32768, SCRATCH_BENCH_RING_BYTES = 8192; // SCRATCH.benchRings / benchRingBytes
const SOURCE = ip('198.51.100.1');
const peerNbma = (k) => (ip('203.0.113.2') + k) >>> 0;
const peerTun = (k) => (ip('10.0.0.2') + k) >>> 0;
const dstOf = (k) => (ip('172.16.10.5') + k * 256) >>> 0;
const THREAD = join(root, 'bench/lib/dataplane-thread.cjs');
const module = new WebAssembly.Module(readFileSync(join(root, 'wasm/build/dataplane.wasm')));

const SUITES = {
  'ChaCha20-Poly1305': { enc: E.CHACHA20_POLY1305, key: new Uint8Array(36).map((_, i) => i * 7 + 1) },
  'AES-GCM-128': { enc: E.AES_GCM_128, icvLen: 16, key: new Uint8Array(20).map((_, i) => i * 5 + 3) },
};

/** A memory for N + 1 workers (0 = this thread, applies commands), `peers` peers, SAs of `suite` (or none). */
function world(peers, suite, inbound) {
  const l = computeLayout({ tunSlots: 64, nbmaSlots: 256, ctlSlots: 256, peerCapacity: 1024, fibCapacity: 256, saCapacity: 64, tunSlotSize: 4096, workers: N + 1 });
  const area = pagesFor(l) * PAGE;
  const pages = pagesFor(l) + (inbound ? Math.ceil((peers * PASS * STRIDE) / PAGE) : 0);
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pages), maximum: 4096, shared: true });
  writeLayout(memory.buffer, l);
  const dp = new WebAssembly.Instance(module, { env: { memory, wake() {}, abort() { throw new Error('abort'); } } }).exports;
  if (dp.setup(l.base, 0) !== 0) throw new Error('setup failed');
  const ctl = new Ring(memory.buffer, l.ctlTx);
  const cmd = new Commands(ctl, undefined, true);
  const sa = new SaCommands(ctl);
  cmd.cfgTunnel({ source: SOURCE, tunnelIp: ip('10.0.0.1'), tunnelPrefixLen: 16 });
  for (let k = 0; k < peers; k++) { cmd.peerSet(peerTun(k), peerNbma(k)); cmd.fibAdd((dstOf(k) & ~0xff) >>> 0, 24, peerTun(k)); }
  dp.poll(256, 0);
  const spec = (k, dir) => ({ index: dir === 'out' ? k : 32 + k, dir, spi: 0x1000 + k, peer: peerNbma(k), replayWindow: WINDOW, ...suite });
  const addInbound = () => { for (let k = 0; k < peers; k++) sa.saAdd(spec(k, 'in')); dp.poll(256, 0); };
  if (suite) for (let k = 0; k < peers; k++) sa.saAdd(spec(k, 'out'));
  if (inbound) addInbound(); else dp.poll(256, 0);
  if (readCounters(memory.buffer, l).cmdBad) throw new Error('a command was refused');
  const lens = [];
  if (inbound) { // worker 0 encrypts PASS packets per SA into the area behind the layout
    const u8 = new Uint8Array(memory.buffer), dv = new DataView(memory.buffer);
    const out = l.scratch + SCRATCH_BENCH_RINGS + BENCH_NBMA_TX_RING * SCRATCH_BENCH_RING_BYTES + RING.headerSize + SLOT.data;
    for (let k = 0; k < peers; k++) for (let i = 0; i < PASS; i++) {
      if (dp.benchEspOutbound(LEN, 1, dstOf(k)) !== 1) throw new Error('encrypt');
      const n = dv.getUint16(out + 2);
      u8.copyWithin(area + (k * PASS + i) * STRIDE, out, out + n);
      lens.push(n);
    }
  }
  return { l, memory, dp, area, lens, addInbound };
}

// Worker thread: waits for pass p (sync[0]; -1 = stop), runs it, counts itself done (sync[1]).
const WORKER_JS = `
const { workerData: d, parentPort } = require('node:worker_threads');
const dp = require(d.thread).dataplaneInThread();
const sync = new Int32Array(d.sync);
let pass = 0, packets = 0, bad = 0;
parentPort.postMessage('ready');
for (;;) {
  Atomics.wait(sync, 0, pass);
  const p = Atomics.load(sync, 0);
  if (p < 0) break;
  pass = p;
  if (d.kind === 'in') {
    for (const i of d.share) {
      if (dp.benchEspReceive(d.area + i * d.stride, d.lens[i], d.src[i], 50) !== 1) bad++;
      packets++;
    }
  } else {
    const f = d.kind === 'gre' ? dp.benchOutbound : dp.benchEspOutbound;
    const end = performance.now() + d.seconds * 1000;
    do { const r = f(d.len, d.chunk, d.dst); if (r !== d.chunk) bad++; packets += d.chunk; } while (performance.now() < end);
  }
  Atomics.add(sync, 1, 1); Atomics.notify(sync, 1);
}
parentPort.postMessage({ packets, bad });
`;

/** One run: `workers` threads; `own` = each on its own SA/peer. Returns { pps, cpuPerGbit }. */
async function runOnce(kind, suite, workers, own) {
  const peers = own ? workers : 1;
  const w = world(peers, suite, kind === 'in');
  const sync = new Int32Array(new SharedArrayBuffer(8));
  // inbound: worker j takes the packets of its own SA (own) or every workers-th packet of the one SA
  const shareOf = (j) => own ? Array.from({ length: PASS }, (_, i) => j * PASS + i) : Array.from({ length: Math.ceil((PASS - j) / workers) }, (_, i) => j + i * workers);
  const src = w.lens.map((_, i) => peerNbma(Math.floor(i / PASS)));
  const threads = Array.from({ length: workers }, (_, j) => new Worker(WORKER_JS, {
    eval: true,
    workerData: {
      thread: THREAD, module, memory: w.memory, base: w.l.base, index: j + 1, sync: sync.buffer, kind, seconds: SECONDS, len: LEN, chunk: CHUNK,
      dst: dstOf(own ? j : 0), area: w.area, stride: STRIDE, lens: w.lens, src, share: kind === 'in' ? shareOf(j) : [],
    },
  }));
  const results = threads.map((t) => new Promise((resolve, reject) => {
    t.on('message', (m) => { if (m !== 'ready') resolve(m); });
    t.once('error', reject);
  }));
  const exited = threads.map((t) => new Promise((res) => t.once('exit', res))); // listened to before it can happen
  await Promise.all(threads.map((t) => new Promise((r) => t.once('message', r)))); // ready
  const waitDone = (target) => { for (let v; (v = Atomics.load(sync, 1)) < target;) Atomics.wait(sync, 1, v, 1000); };
  const cpu0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  let pass = 0;
  do {
    if (pass > 0) w.addInbound(); // the same packets are fresh again
    pass++;
    Atomics.store(sync, 0, pass); Atomics.notify(sync, 0);
    waitDone(pass * workers);
  } while (kind === 'in' && Number(process.hrtime.bigint() - t0) / 1e9 < SECONDS);
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  Atomics.store(sync, 0, -1); Atomics.notify(sync, 0);
  const r = await Promise.all(results);
  await Promise.all(exited);
  const packets = r.reduce((a, x) => a + x.packets, 0);
  const bad = r.reduce((a, x) => a + x.bad, 0);
  const c = { ...readCounters(w.memory.buffer, w.l), ...readEspCounters(w.memory.buffer, w.l) };
  if (bad || c.dropEspReplay || c.dropEspAuth || c.dropSeqLimit) throw new Error(`${kind}: ${bad} short calls, drops ${JSON.stringify({ replay: c.dropEspReplay, auth: c.dropEspAuth })}`);
  const gbit = (packets * LEN * 8) / 1e9;
  return { pps: packets / sec, cpuPerGbit: (cpu.user + cpu.system) / 1e6 / gbit };
}

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[s.length >> 1]; };
async function measure(kind, suite, workers, own) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runOnce(kind, suite, workers, own));
  return { pps: median(runs.map((x) => x.pps)), cpuPerGbit: median(runs.map((x) => x.cpuPerGbit)) };
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`${availableParallelism()} cores; 1 vs ${N} workers; ${LEN}-byte inner packets; ${SECONDS}s per run, median of ${RUNS}; load average before: ${load()}`);
const cases = [['GRE encap (cleartext)', 'gre', undefined],
  ...Object.entries(SUITES).flatMap(([name, s]) => [[`${name} ESP out`, 'out', s], [`${name} ESP in`, 'in', s]])];
const rows = [];
for (const [name, kind, suite] of LANE_ONLY ? [] : cases) {
  const one = await measure(kind, suite, 1, false);
  const shared = await measure(kind, suite, N, false);
  const own = await measure(kind, suite, N, true);
  const row = (workers, on, m) => ({
    case: name, workers, on, Mpps: (m.pps / 1e6).toFixed(3), 'Gbit/s': ((m.pps * LEN * 8) / 1e9).toFixed(2),
    'N/1': (m.pps / one.pps).toFixed(2), 'CPU s/Gbit': m.cpuPerGbit.toFixed(3),
  });
  const what = kind === 'gre' ? 'peer' : 'SA';
  rows.push(row(1, `1 ${what}`, one), row(N, `1 ${what}`, shared), row(N, `${N} ${what}s`, own));
  console.log(`${name}: ${N} workers on one ${what} reach ${(shared.pps / own.pps).toFixed(2)} of their rate on ${N} ${what}s (contention)`);
}
if (rows.length) console.table(rows);

// One SA, one flow from one worker's ring: 1 worker vs 2 (the second helping with its crypto), each way.
const route = { tunnel: { source: SOURCE, tunnelIp: ip('10.0.0.1'), tunnelPrefixLen: 16 }, peerTun: peerTun(0), peerNbma: peerNbma(0), prefix: (dstOf(0) & ~0xff) >>> 0, prefixLen: 24 };
const packet = udpPacket(ip('10.9.0.1'), dstOf(0), LEN);
async function lane(workers, suite, dir) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await laneRun(H, module, { workers, suite, seconds: SECONDS, packet, route, dir }));
  const med = (k) => median(runs.map((x) => x[k]));
  return { pps: med('pps'), cpuPerGbit: med('cpuPerGbit'), posted: med('posted'), helped: med('helped'), waits: med('waits') };
}
const laneRows = [];
for (const [name, suite] of Object.entries(SUITES)) {
  for (const dir of ['out', 'in']) {
    const one = await lane(1, suite, dir);
    const two = await lane(2, suite, dir);
    for (const [workers, m] of [[1, one], [2, two]]) {
      laneRows.push({
        case: `${name} ESP ${dir}, 1 SA, 1 flow`, workers, 'Gbit/s': ((m.pps * LEN * 8) / 1e9).toFixed(2), '2/1': (m.pps / one.pps).toFixed(2),
        'CPU s/Gbit': m.cpuPerGbit.toFixed(3), 'jobs posted': m.posted, 'done by worker 1': m.helped, 'owner waits': m.waits,
      });
    }
  }
}
console.table(laneRows);
console.log(`load average after: ${load()}`);
