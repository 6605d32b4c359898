// One SA, one flow, read by ONE worker (bench/scaling.mjs's last case; docs/dataplane.md "One SA on
// several cores"): worker 0 polls its own tunRx (every slot holds the same 1400-byte packet to one
// peer with one outbound SA; the thread re-publishes the slots before each poll(256) and frees nbmaTx
// after it, as the pumps would, without copying) and encrypts into its nbmaTx. With `workers` = 2,
// worker 1 runs the appliance's worker loop (poll, else sleep on its doorbell) on rings that stay
// empty: all it can do is the encryption jobs worker 0 posts to its crypto lane. With 1 the layout has
// one worker: the path of before. `dir` 'in': the same for decryption: worker 0's espRx slots all
// hold one ESP packet of the flow (an inbound SA without anti-replay, so the one packet may come
// again), copied back into every slot before each poll (decryption is in place; the copy, about 5% of
// the time, is in both configurations), and decrypted onto its tunTx. Returns packets/s, CPU seconds per gigabit of inner packets (the
// process's user+system time: all threads) and the jobs each worker did.
import { Worker } from 'node:worker_threads';

const BUDGET = 256; // appliance/entry/worker.ts
const TUN_SLOTS = 256;

// owner: re-publish tunRx, free nbmaTx (counting it), poll, until the time is up; helper: the worker
// loop until the owner is done. `wake` is Atomics.notify on the doorbell (no addon here).
const THREAD_JS = `
const { workerData: d, parentPort } = require('node:worker_threads');
const i32 = new Int32Array(d.memory.buffer), u32 = new Uint32Array(d.memory.buffer);
const env = { memory: d.memory, wake(db) { Atomics.notify(i32, db >>> 2); }, abort() { throw new Error('dataplane abort'); } };
const dp = new WebAssembly.Instance(d.module, { env }).exports;
if (dp.setup(d.base, d.index) !== 0) throw new Error('setup as worker ' + d.index);
const sync = new Int32Array(d.sync);
parentPort.postMessage('ready');
Atomics.wait(sync, 0, 0);
let packets = 0;
if (d.role === 'owner') {
  const rxHead = d.rx >>> 2, rxTail = (d.rx + d.tailOff) >>> 2, txHead = d.tx >>> 2, txTail = (d.tx + d.tailOff) >>> 2;
  const u8 = new Uint8Array(d.memory.buffer);
  for (const end = performance.now() + d.seconds * 1000; performance.now() < end;) {
    if (d.template) for (let i = 0; i < d.rxSlots; i++) u8.set(d.template, d.rx + d.headerSize + i * d.slotSize + d.dataAt);
    Atomics.store(u32, rxHead, Atomics.load(u32, rxTail) + d.rxSlots); // every slot holds the packet
    const h = Atomics.load(u32, txHead);
    packets += (h - Atomics.load(u32, txTail)) >>> 0;
    Atomics.store(u32, txTail, h);
    dp.poll(d.budget, 0);
  }
  Atomics.store(sync, 1, 1);
} else {
  while (Atomics.load(sync, 1) === 0) {
    if (dp.poll(d.budget, 0) > 0) continue;
    const s = dp.prepareSleep() >>> 0;
    if (s !== 0xffffffff) Atomics.wait(i32, d.doorbell >>> 2, s | 0, 5);
    dp.finishSleep();
  }
}
parentPort.postMessage({ packets });
`;

/**
 * One run. H: bench/lib/dataplane-helpers.mjs; module: dataplane.wasm compiled; suite: { enc, key,
 * icvLen? }; packet: the inner IPv4 packet (Uint8Array) to `dst`, routed to one peer at `peerNbma`.
 */
export async function laneRun(H, module, { workers, suite, seconds, packet, route, dir = 'out' }) {
  const { computeLayout, writeLayout, pagesFor, Ring, Commands, SaCommands, readCounters, counterArrays, RING, SLOT, CRYPTO_COUNTER_BASE, CRYPTO_COUNTER_NAMES } = H;
  const l = computeLayout({ tunSlots: TUN_SLOTS, nbmaSlots: 1024, ctlSlots: 256, peerCapacity: 1024, fibCapacity: 256, saCapacity: 64, tunSlotSize: 4096, workers });
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
  writeLayout(memory.buffer, l);
  // worker 0 applies the configuration here; its thread then runs as worker 0 (set up again on the memory)
  const dp = new WebAssembly.Instance(module, { env: { memory, wake() {}, abort() { throw new Error('abort'); } } }).exports;
  if (dp.setup(l.base, 0) !== 0) throw new Error('setup failed');
  const ctl = new Ring(memory.buffer, l.ctlTx);
  const cmd = new Commands(ctl, undefined, true);
  cmd.cfgTunnel(route.tunnel);
  cmd.peerSet(route.peerTun, route.peerNbma);
  cmd.fibAdd(route.prefix, route.prefixLen, route.peerTun);
  new SaCommands(ctl).saAdd({ index: 0, dir: 'out', spi: 0x1000, peer: route.peerNbma, ...suite });
  new SaCommands(ctl).saAdd({ index: 1, dir: 'in', spi: 0x1000, peer: route.peerNbma, noReplay: true, ...suite });
  dp.poll(256, 0);
  if (readCounters(memory.buffer, l).cmdBad) throw new Error('a command was refused');
  const u8 = new Uint8Array(memory.buffer), dv = new DataView(memory.buffer);
  const template = dir === 'in' ? fromPeer(dp, memory, l, H, packet) : undefined;
  const rx = dir === 'in' ? l.espRx : l.tunRx;
  const slotSize = dir === 'in' ? l.rings.espRx.slotSize : l.rings.tunRx.slotSize;
  const rxSlots = dir === 'in' ? l.rings.espRx.slotCount : TUN_SLOTS;
  for (let i = 0; i < rxSlots; i++) { // every rx slot: the packet (kind 0 from the TUN; kind 50 from the peer)
    const s = rx + RING.headerSize + i * slotSize;
    const p = template ?? packet;
    dv.setUint32(s + SLOT.len, p.length, true); dv.setUint32(s + SLOT.kind, template ? 50 : 0, true);
    dv.setUint32(s + SLOT.addr, template ? route.peerNbma : 0, true);
    u8.set(p, s + SLOT.data);
  }
  const sync = new Int32Array(new SharedArrayBuffer(8));
  const threads = Array.from({ length: workers }, (_, i) => new Worker(THREAD_JS, {
    eval: true,
    workerData: {
      module, memory, base: l.workerRings[i].block, index: i, role: i === 0 ? 'owner' : 'helper', sync: sync.buffer, seconds, budget: BUDGET,
      rx, tx: dir === 'in' ? l.tunTx : l.nbmaTx, tailOff: RING.tail, rxSlots, doorbell: l.workerRings[i].workerDoorbell,
      template, headerSize: RING.headerSize, slotSize, dataAt: SLOT.data,
    },
  }));
  const results = threads.map((t) => new Promise((resolve, reject) => {
    t.on('message', (m) => { if (m !== 'ready') resolve(m); });
    t.once('error', reject);
  }));
  const exited = threads.map((t) => new Promise((r) => t.once('exit', r)));
  await Promise.all(threads.map((t) => new Promise((r) => t.once('message', r))));
  const cpu0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  Atomics.store(sync, 0, 1); Atomics.notify(sync, 0);
  const r = await Promise.all(results);
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(exited);
  const packets = r[0].packets;
  const c = readCounters(memory.buffer, l);
  if (dir === 'in' && c.tunTxPackets < packets) throw new Error(`in: ${c.tunTxPackets} decapsulated of ${packets}`);
  if (c.dropRingFull || c.dropNoSa || c.dropNoRoute) throw new Error(`drops: ${JSON.stringify({ ringFull: c.dropRingFull, noSa: c.dropNoSa })}`);
  const jobs = counterArrays(memory.buffer, l, CRYPTO_COUNTER_BASE, CRYPTO_COUNTER_NAMES.length)
    .map((a) => Object.fromEntries(CRYPTO_COUNTER_NAMES.map((n, i) => [n, Number(a[i])])));
  const gbit = (packets * packet.length * 8) / 1e9;
  return { pps: packets / sec, cpuPerGbit: (cpu.user + cpu.system) / 1e6 / gbit, posted: jobs[0].cryptoJobsPosted, helped: jobs[1]?.cryptoJobsHelped ?? 0, waits: jobs[0].cryptoWaits };
}

/** A `len`-byte IPv4/UDP packet from `src` to `dst` (u32 addresses), header checksum set. */
export function udpPacket(src, dst, len) {
  const p = new Uint8Array(len);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x45); v.setUint16(2, len); v.setUint8(8, 64); v.setUint8(9, 17);
  v.setUint32(12, src); v.setUint32(16, dst);
  setHeaderChecksum(v);
  v.setUint16(20, 1000); v.setUint16(22, 2000); v.setUint16(24, len - 20);
  for (let i = 28; i < len; i++) p[i] = i & 255;
  return p;
}

/**
 * The packet as the peer sends it: worker 0 encrypts one like it (same length and destination) on
 * the outbound SA (bench export, into its bench nbmaTx slot), then the outer addresses are swapped (from the peer to us) and the checksum
 * set again; the inbound SA has the same SPI and key.
 */
function fromPeer(dp, memory, l, H, packet) {
  const BENCH_NBMA_TX_RING = 1, SCRATCH_BENCH_RINGS = 32768, SCRATCH_BENCH_RING_BYTES = 8192; // bench/scaling.mjs
  const out = l.scratch + SCRATCH_BENCH_RINGS + BENCH_NBMA_TX_RING * SCRATCH_BENCH_RING_BYTES + H.RING.headerSize + H.SLOT.data;
  if (dp.benchEspOutbound(packet.length, 1, new DataView(packet.buffer).getUint32(16)) !== 1) throw new Error('encrypt');
  const dv = new DataView(memory.buffer);
  const n = dv.getUint16(out + 2);
  const p = new Uint8Array(dv.buffer.slice(out, out + n));
  const v = new DataView(p.buffer);
  const src = v.getUint32(12);
  v.setUint32(12, v.getUint32(16)); v.setUint32(16, src);
  setHeaderChecksum(v);
  return p;
}

/** The IPv4 header checksum of the 20-byte header in `v`. */
function setHeaderChecksum(v) {
  v.setUint16(10, 0);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
}
