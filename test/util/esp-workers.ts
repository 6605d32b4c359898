// Several data-plane workers on one shared memory for the ESP-across-workers tests: worker 0 (this
// thread) applies the configuration and SAs; workers 1..n each run in a worker_thread with their own
// index (setup(base, i): own scratch, own counter array) and drive the real ESP path through the bench
// exports. What a thread does is a job (below); it starts on a barrier so that the threads really race.
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { computeLayout, writeLayout, pagesFor, RING, SLOT } from '../../appliance/dataplane/layout.js';
import { SCRATCH } from '../../appliance/dataplane/abi.js';
import { Ring } from '../../appliance/dataplane/ring.js';
import { Commands, readCounters } from '../../appliance/dataplane/commands.js';
import { compileDataplane, instantiateDataplane } from '../../appliance/dataplane/wasm.js';
import { SaCommands, readSas, readEspCounters, type SaSpec } from '../../appliance/dataplane/sa.js';
import { ipToU32 as ip } from '../../appliance/net/ipv4.js';

export const SOURCE = ip('198.51.100.1');
export const PEER_NBMA = ip('203.0.113.2');
export const PEER_TUN = ip('10.0.0.2');
export const DST = ip('172.16.2.5');
/** The thread side: instantiate + setup as worker i (shared with bench/scaling.mjs). */
const THREAD = fileURLToPath(new URL('../../bench/lib/dataplane-thread.cjs', import.meta.url));
/** Bytes reserved per stored packet in the packet area behind the layout. */
export const PACKET_STRIDE = 2048;
const PAGE = 65536;
/** The bench rings in a worker's scratch: nbmaTx's (ESP out) and ctlRx's (SA events) one-slot rings. */
const BENCH_NBMA_TX = 1;
const BENCH_CTL_RX = 2;
const OUTER_IPV4 = 20;
const ESP_SEQ_AT = 4;

/** A memory laid out for `threads + 1` workers with worker 0 here, and `packets` slots of room behind it. */
export function multiWorker(threads: number, packets = 0) {
  const l = computeLayout({
    tunSlots: 64, nbmaSlots: 64, ctlSlots: 64, peerCapacity: 256, fibCapacity: 64, saCapacity: 64, tunSlotSize: 4096,
    workers: threads + 1,
  });
  const packetArea = pagesFor(l) * PAGE;
  const pages = pagesFor(l) + Math.ceil((packets * PACKET_STRIDE) / PAGE);
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pages), maximum: 4096, shared: true });
  const buf = memory.buffer;
  writeLayout(buf, l);
  const module = compileDataplane();
  const dp = instantiateDataplane(memory, () => {}, module, l.base, 0);
  const ctl = new Ring(buf, l.ctlTx);
  const cmd = new Commands(ctl, undefined, true);
  const sa = new SaCommands(ctl);
  cmd.cfgTunnel({ source: SOURCE, tunnelIp: ip('10.0.0.1'), tunnelPrefixLen: 24 });
  cmd.peerSet(PEER_TUN, PEER_NBMA);
  cmd.fibAdd(ip('172.16.2.0'), 24, PEER_TUN);
  dp.poll(256, 0);
  /** Data of worker i's bench ring r slot, and the ring's tail (= slots the last bench call committed there). */
  const benchRing = (i: number, r: number) => l.scratch + i * l.scratchSize + SCRATCH.benchRings + r * SCRATCH.benchRingBytes;
  const env = {
    l, memory, buf, module, dp, cmd, sa, packetArea, threads,
    apply(...specs: SaSpec[]) {
      for (const s of specs) if (!sa.saAdd(s)) throw new Error('ctlTx full');
      dp.poll(256, 0);
      if (readCounters(buf, l).cmdBad) throw new Error('SA_ADD refused');
    },
    counters: () => ({ ...readCounters(buf, l), ...readEspCounters(buf, l) }),
    saRow: (index: number) => {
      const r = readSas(buf, l).find((s) => s.index === index);
      if (!r) throw new Error(`no SA ${index}`);
      return r;
    },
    /** Worker 0 encrypts `count` packets of `len` inner bytes into the packet area; returns their lengths. */
    storePackets(count: number, len: number): number[] {
      const u8 = new Uint8Array(buf);
      const dv = new DataView(buf);
      const lens: number[] = [];
      const out = benchRing(0, BENCH_NBMA_TX) + RING.headerSize + SLOT.data;
      for (let i = 0; i < count; i++) {
        if (dp.benchEspOutbound(len, 1, DST) !== 1) throw new Error(`encrypt ${i}`);
        const n = dv.getUint16(out + 2); // the outer IPv4 total length
        if (n > PACKET_STRIDE) throw new Error(`packet of ${n} bytes`);
        u8.copyWithin(packetArea + i * PACKET_STRIDE, out, out + n);
        lens.push(n);
      }
      return lens;
    },
    /** Runs `job` on threads 1..n at once; resolves to what each posted. */
    run(job: Job): Promise<Result[]> {
      const sync = new SharedArrayBuffer(8);
      return Promise.all(Array.from({ length: threads }, (_, k) => new Promise<Result>((resolve, reject) => {
        const index = k + 1;
        const w = new Worker(WORKER_JS, {
          eval: true,
          workerData: {
            thread: THREAD, module, memory, base: l.base, index, parties: threads, sync, job: { ...job, order: job.orders?.[k] },
            packetArea, stride: PACKET_STRIDE,
            nbmaSlot: benchRing(index, BENCH_NBMA_TX) + RING.headerSize + SLOT.data + OUTER_IPV4 + ESP_SEQ_AT,
            nbmaTail: benchRing(index, BENCH_NBMA_TX) + RING.tail, ctlTail: benchRing(index, BENCH_CTL_RX) + RING.tail,
          },
        });
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (code) => { if (code !== 0) reject(new Error(`worker ${index} exited ${code}`)); });
      })));
    },
  };
  return env;
}

/**
 * send: `count` calls of benchEspOutbound(len, 1, DST), each ESP sequence number read back from the
 * worker's bench slot; sendBulk: benchEspOutbound(len, chunk, DST) until `count`; receive: each stored
 * packet of `order` (indices into the packet area, lengths `lens`) through benchEspReceive, with a
 * barrier before each packet when `lockstep` (all threads decrypt the same packet at the same time).
 */
export interface Job {
  kind: 'send' | 'sendBulk' | 'receive';
  len?: number; count?: number; dst?: number;
  packets?: number; lens?: number[]; src?: number; lockstep?: boolean;
  /** receive: the order of each thread (orders[k] for thread k + 1). */
  orders?: number[][];
}
export interface Result {
  /** send: sequence numbers of the packets sent; receive: 1 for each packet it accepted, by index. */
  seqs?: number[]; accepted?: number[];
  sent: number; events: number; refused: number;
}

// Plain JS (worker_threads eval): instantiate the module on the shared memory as worker `index`, wait
// at the barrier, run the job.
const WORKER_JS = `
const { workerData: d, parentPort } = require('node:worker_threads');
const dp = require(d.thread).dataplaneInThread();
const sync = new Int32Array(d.sync);
const dv = new DataView(d.memory.buffer);
let round = 0;
// spins (the threads should meet within nanoseconds), then sleeps in 1 ms steps if a thread is
// descheduled (no notify: a wake-up syscall on every arrival would set the threads apart)
const barrier = () => {
  round++;
  Atomics.add(sync, 0, 1);
  for (let v, spins = 0; (v = Atomics.load(sync, 0)) < round * d.parties;) if (++spins > 10000) Atomics.wait(sync, 0, v, 1);
};
const j = d.job;
const res = { sent: 0, events: 0, refused: 0 };
barrier();
if (j.kind === 'send') {
  res.seqs = [];
  for (let i = 0; i < j.count; i++) {
    const r = dp.benchEspOutbound(j.len, 1, j.dst);
    if (r < 0) throw new Error('bench ' + r);
    const sent = dv.getUint32(d.nbmaTail, true);
    res.events += dv.getUint32(d.ctlTail, true);
    if (sent === 1) { res.sent++; res.seqs.push(dv.getUint32(d.nbmaSlot)); } else res.refused++;
  }
} else if (j.kind === 'sendBulk') {
  const CHUNK = 1000;
  for (let i = 0; i < j.count; i += CHUNK) {
    const r = dp.benchEspOutbound(j.len, Math.min(CHUNK, j.count - i), j.dst);
    if (r < 0) throw new Error('bench ' + r);
    res.sent += r;
  }
} else {
  res.accepted = new Array(j.packets).fill(0);
  for (const i of j.order) {
    if (j.lockstep) barrier();
    const r = dp.benchEspReceive(d.packetArea + i * d.stride, j.lens[i], j.src, 50);
    if (r < 0) throw new Error('bench ' + r);
    res.accepted[i] = r;
  }
}
parentPort.postMessage(res);
`;
