// Ordered parallel encryption on real rings (docs/dataplane.md "One SA on several cores"): a memory
// laid out for `workers` workers, worker 0 here (applies the tunnel, one peer, a route and one
// ChaCha20-Poly1305 outbound SA), workers >= 1 started as worker_threads on their own layout blocks in
// one of two roles:
//   owner   polls its own rings once per `go` (its tunRx filled by the test), so its batch is the one
//           whose encryption is shared;
//   helper  the worker thread loop of the appliance (poll, then sleep on its doorbell until rung).
// `wake` is Atomics.notify on the doorbell's seq word: the doorbell protocol, without the addon.
import { Worker } from 'node:worker_threads';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { computeLayout, writeLayout, pagesFor, DOORBELL, SCRATCH, counterArrays } from '../../appliance/dataplane/layout.js';
import { CRYPTO_LANE, CRYPTO_JOB, JOB_STATE, CRYPTO_COUNTER_BASE, CRYPTO_COUNTER_NAMES } from '../../appliance/dataplane/abi.js';
import { Ring } from '../../appliance/dataplane/ring.js';
import { Commands, readCounters } from '../../appliance/dataplane/commands.js';
import { compileDataplane, instantiateDataplane } from '../../appliance/dataplane/wasm.js';
import { SaCommands, ESP_ENC } from '../../appliance/dataplane/sa.js';
import { ipToU32 as ip } from '../../appliance/net/ipv4.js';
import { ipv4, udp } from './packets.js';

export const PEER_NBMA = ip('203.0.113.2');
const DST = ip('172.16.2.5');
export const SPI = 0x1001;
/** The inbound SA's SPI (same key; a test may use one key both ways). */
export const SPI_IN = 0x2002;
export const SOURCE = ip('198.51.100.1');
/** ChaCha20-Poly1305: 32-byte key || 4-byte salt. */
export const KEY = new Uint8Array(36).map((_, i) => (i * 11 + 5) & 255);
const OUTER_IPV4 = 20, ESP_HDR = 8, IV = 8, ICV = 16, GRE_HDR = 4, INNER_UDP_DATA = 28;
/** UDP data bytes: 1400-byte inner packets. */
const DATA_LEN = 1400 - 28;

/** The test's packet i: UDP to DST whose data starts with i (u32) and is otherwise a known pattern. */
export function packet(i: number, dataLen = DATA_LEN): Uint8Array {
  const p = ipv4({ src: ip('10.9.0.1'), dst: DST, proto: 17, payload: udp(1000, 2000, dataLen) });
  new DataView(p.buffer).setUint32(INNER_UDP_DATA, i);
  return p;
}

export interface Sent { seq: number; index: number; ok: boolean; zeroed: boolean; plaintextSeen: boolean }

/**
 * Decrypts one nbmaTx slot (outer IPv4 + ESP) with node:crypto: the sequence number, the packet index
 * it carries, whether it authenticated, whether its payload and ICV are all zero (scrubbed), and
 * whether any 64-byte run of the packet's cleartext pattern appears in it (sent unencrypted).
 */
export function openSlot(data: Uint8Array): Sent {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const esp = OUTER_IPV4;
  const seq = dv.getUint32(esp + 4);
  const spi = dv.getUint32(esp);
  const ct = data.subarray(esp + ESP_HDR + IV, data.length - ICV);
  const tag = data.subarray(data.length - ICV);
  const zeroed = data.subarray(esp + ESP_HDR).every((b) => b === 0);
  const pattern = packet(0).subarray(INNER_UDP_DATA + 8, INNER_UDP_DATA + 72);
  const plaintextSeen = Buffer.from(data).includes(Buffer.from(pattern));
  let index = -1, ok = false;
  if (spi === SPI) {
    try {
      const nonce = Buffer.concat([Buffer.from(KEY.subarray(32)), Buffer.from(data.subarray(esp + ESP_HDR, esp + ESP_HDR + IV))]);
      const d = createDecipheriv('chacha20-poly1305', Buffer.from(KEY.subarray(0, 32)), nonce, { authTagLength: ICV });
      d.setAAD(Buffer.from(data.subarray(esp, esp + ESP_HDR)), { plaintextLength: ct.length });
      d.setAuthTag(Buffer.from(tag));
      const pt = Buffer.concat([d.update(ct), d.final()]);
      ok = pt[pt.length - 1] === 47; // next header: GRE
      index = pt.readUInt32BE(GRE_HDR + INNER_UDP_DATA);
    } catch { ok = false; }
  }
  return { seq, index, ok, zeroed, plaintextSeen };
}

export function laneWorld(workers: number) {
  const l = computeLayout({
    tunSlots: 256, nbmaSlots: 512, ctlSlots: 64, peerCapacity: 256, fibCapacity: 64, saCapacity: 16, tunSlotSize: 4096, workers,
  });
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
  const buf = memory.buffer;
  writeLayout(buf, l);
  const i32 = new Int32Array(buf);
  const wake = (db: number) => { Atomics.notify(i32, db >>> 2); };
  const module = compileDataplane();
  const w0 = instantiateDataplane(memory, wake, module, l.base, 0);
  const ctl = new Ring(buf, l.ctlTx);
  const cmd = new Commands(ctl, undefined, true);
  cmd.cfgTunnel({ source: SOURCE, tunnelIp: ip('10.0.0.1'), tunnelPrefixLen: 24 });
  cmd.peerSet(ip('10.0.0.2'), PEER_NBMA);
  cmd.fibAdd(ip('172.16.2.0'), 24, ip('10.0.0.2'));
  new SaCommands(ctl).saAdd({ index: 0, dir: 'out', spi: SPI, peer: PEER_NBMA, enc: ESP_ENC.CHACHA20_POLY1305, key: KEY });
  new SaCommands(ctl).saAdd({ index: 1, dir: 'in', spi: SPI_IN, peer: PEER_NBMA, enc: ESP_ENC.CHACHA20_POLY1305, key: KEY });
  w0.poll(256, 0);
  if (readCounters(buf, l).cmdBad) throw new Error('a command was refused');
  const ring = (w: number, name: 'tunRx' | 'nbmaTx' | 'espRx' | 'tunTx') => new Ring(buf, l.workerRings[w][name], wake);
  const lane = (w: number) => l.scratch + w * l.scratchSize + SCRATCH.cryptoLane;
  const job = (w: number, j: number) => lane(w) + CRYPTO_LANE.jobs + j * CRYPTO_JOB.size;
  const u32At = (off: number) => Atomics.load(new Uint32Array(buf), off >>> 2);
  return {
    l, memory, buf, module, w0, wake, ring, lane, job, u32At,
    /** Worker w's crypto counters (its own counter array). */
    crypto(w: number): Record<(typeof CRYPTO_COUNTER_NAMES)[number], number> {
      const a = counterArrays(buf, l, CRYPTO_COUNTER_BASE, CRYPTO_COUNTER_NAMES.length)[w];
      return Object.fromEntries(CRYPTO_COUNTER_NAMES.map((n, i) => [n, Number(a[i])])) as Record<(typeof CRYPTO_COUNTER_NAMES)[number], number>;
    },
    /** Marks worker w's doorbell as sleeping (a worker that is idle, as far as an owner can tell). */
    pretendAsleep(w: number) { Atomics.store(new Uint32Array(buf), (l.workerRings[w].workerDoorbell + DOORBELL.sleeping) >>> 2, 1); },
    /** A data-plane instance of worker w here (setup() runs: a restart of w if w ran before). */
    instance: (w: number) => instantiateDataplane(memory, wake, module, l.workerRings[w].block, w),
    start(w: number, role: 'owner' | 'helper' | 'setup') { return startThread(memory, module, l.workerRings[w].block, w, role, l.workerRings[w].workerDoorbell); },
    /**
     * A thread that plays worker `w` dying in the middle of a job of `owner`'s lane: it spins until a
     * job there is POSTED, claims it (CLAIMED | w) as laneHelp would, and exits without finishing it.
     * Resolves with the job's sequence number (0: none within 60 s).
     */
    claimAndDie(w: number, owner: number): Promise<number> {
      const worker = new Worker(CLAIMER_JS, { eval: true, workerData: { memory, lane: lane(owner), jobs: CRYPTO_LANE.jobs, size: CRYPTO_JOB.size, stateAt: CRYPTO_JOB.state, seqAt: CRYPTO_JOB.seq, posted: JOB_STATE.POSTED, claimed: (JOB_STATE.CLAIMED | w) >>> 0 } });
      return new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
    },
  };
}

export interface LaneThread {
  worker: Worker;
  /** owner: run one poll(); resolves with what it returned. */
  poll(budget: number): Promise<number>;
  /** setup role: resolves when setup() returned. */
  setupDone: Promise<void>;
  stop(): Promise<void>;
}

function startThread(memory: WebAssembly.Memory, module: WebAssembly.Module, base: number, index: number, role: string, doorbell: number): LaneThread {
  const worker = new Worker(THREAD_JS, { eval: true, workerData: { memory, module, base, index, role, doorbell } });
  const waiting: Array<(v: number) => void> = [];
  let setupResolve: () => void = () => {};
  const setupDone = new Promise<void>((r) => { setupResolve = r; });
  worker.on('message', (m: { polled?: number; setup?: boolean }) => {
    if (m.setup) setupResolve();
    if (m.polled !== undefined) waiting.shift()?.(m.polled);
  });
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  failed.catch(() => {});
  return {
    worker, setupDone,
    poll: (budget) => Promise.race([new Promise<number>((r) => { waiting.push(r); worker.postMessage({ poll: budget }); }), failed]),
    stop: async () => { worker.postMessage({ stop: true }); await new Promise((r) => worker.once('exit', r)); },
  };
}

// The thread: instantiate + setup as worker `index`; owner: one poll per message; helper: the
// appliance's loop (poll while there is work, then prepareSleep / wait on the doorbell / finishSleep),
// with a stop flag checked between rounds; setup: only setup() (a restart of `index`).
const THREAD_JS = `
const { workerData: d, parentPort } = require('node:worker_threads');
const i32 = new Int32Array(d.memory.buffer);
const env = { memory: d.memory, wake(db) { Atomics.notify(i32, db >>> 2); }, abort() { throw new Error('dataplane abort'); } };
const dp = new WebAssembly.Instance(d.module, { env }).exports;
const rc = dp.setup(d.base, d.index);
if (rc !== 0) throw new Error('setup ' + rc);
parentPort.postMessage({ setup: true });
if (d.role === 'owner') {
  parentPort.on('message', (m) => { if (m.stop) process.exit(0); parentPort.postMessage({ polled: dp.poll(m.poll, 0) }); });
} else if (d.role === 'helper') {
  let stop = false;
  parentPort.on('message', (m) => { if (m.stop) stop = true; });
  const round = () => { // about 10 ms of the loop, then the event loop (a stop message) gets a turn
    for (const end = performance.now() + 10; !stop && performance.now() < end;) {
      if (dp.poll(64, 0) > 0) continue;
      const s = dp.prepareSleep() >>> 0;
      if (s !== 0xffffffff) Atomics.wait(i32, d.doorbell >>> 2, s | 0, 5);
      dp.finishSleep();
    }
    if (stop) process.exit(0);
    setImmediate(round); // lets the stop message in
  };
  round();
} else {
  parentPort.on('message', (m) => { if (m.stop) process.exit(0); });
}
`;

/**
 * What the peer sends on SA SPI_IN (node:crypto): raw ESP (outer IPv4 from PEER_NBMA to SOURCE) with
 * number `seq`, carrying GRE around `inner`; `forge` flips a tag bit.
 */
export function espFromPeer(seq: number, inner: Uint8Array, forge = false): Uint8Array {
  const gre = new Uint8Array(4 + inner.length);
  new DataView(gre.buffer).setUint16(2, 0x0800);
  gre.set(inner, 4);
  const padLen = (4 - ((gre.length + 2) % 4)) % 4;
  const pt = new Uint8Array(gre.length + padLen + 2);
  pt.set(gre);
  for (let i = 0; i < padLen; i++) pt[gre.length + i] = i + 1;
  pt[pt.length - 2] = padLen; pt[pt.length - 1] = 47;
  const hdr = new Uint8Array(ESP_HDR + IV);
  const hv = new DataView(hdr.buffer);
  hv.setUint32(0, SPI_IN); hv.setUint32(4, seq); hv.setUint32(12, seq); // IV = the 64-bit number
  const c = createCipheriv('chacha20-poly1305', Buffer.from(KEY.subarray(0, 32)), Buffer.concat([Buffer.from(KEY.subarray(32)), Buffer.from(hdr.subarray(ESP_HDR))]), { authTagLength: ICV });
  c.setAAD(Buffer.from(hdr.subarray(0, ESP_HDR)), { plaintextLength: pt.length });
  const ct = Buffer.concat([c.update(pt), c.final()]);
  const tag = c.getAuthTag();
  if (forge) tag[0] ^= 1;
  return ipv4({ src: PEER_NBMA, dst: SOURCE, proto: 50, payload: Buffer.concat([Buffer.from(hdr), ct, tag]) });
}

// The claim-and-die thread (see claimAndDie): no data-plane instance, only the lane's atomics.
const CLAIMER_JS = `
const { workerData: d, parentPort } = require('node:worker_threads');
const u32 = new Uint32Array(d.memory.buffer);
for (const end = Date.now() + 60000; Date.now() < end;) {
  const n = Atomics.load(u32, (d.lane + 0) >>> 2);
  for (let j = 0; j < n; j++) {
    const job = d.lane + d.jobs + j * d.size;
    if (Atomics.compareExchange(u32, (job + d.stateAt) >>> 2, d.posted, d.claimed) === d.posted) {
      parentPort.postMessage(Number(new BigUint64Array(d.memory.buffer, job + d.seqAt, 1)[0]));
      process.exit(0);
    }
  }
}
parentPort.postMessage(0);
`;
