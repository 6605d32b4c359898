// In-memory benchmark of the WASM data plane (cleartext mGRE), one worker, no I/O:
//   encap+lookup (tunRx -> FIB -> peer -> GRE -> nbmaTx) and decap (nbmaRx -> GRE -> tunTx)
//   at 64 B and 1400 B inner packets, FIB with 1,000 routes, peer table with 10,000 peers.
// Ring path: the rings are pre-filled once (slot contents do not change); each round the "producer"
// publishes 1024 slots with one head store, the worker poll()s, and the "consumer" frees the output
// with one tail store — i.e. what the C pumps do, minus the syscalls. Also reported: the same with
// the slots filled from JS (Ring.fill, a copy per packet), and the bench* exports (no rings).
// Prints figures, asserts nothing.  Usage: node bench/wasm-dataplane.mjs [seconds-per-case]
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The layout/ring/command helpers are TypeScript: bundle them on the fly (esbuild is a devDependency).
const tmp = mkdtempSync(join(tmpdir(), 'dp-bench-'));
const helpers = join(tmp, 'helpers.mjs');
buildSync({
  stdin: {
    contents: `export * from './appliance/net/ipv4.ts'; export * from './appliance/dataplane/layout.ts'; export * from './appliance/dataplane/ring.ts'; export * from './appliance/dataplane/commands.ts';`,
    resolveDir: root, loader: 'ts',
  },
  bundle: true, format: 'esm', platform: 'node', outfile: helpers, logLevel: 'warning',
});
const { computeLayout, writeLayout, pagesFor, Ring, Commands, readCounters, ipToU32: ip, RING } = await import(pathToFileURL(helpers).href);
rmSync(tmp, { recursive: true, force: true });

const SECONDS = Number(process.argv[2] ?? 1);
const SOURCE = ip('198.51.100.1');
const N_PEERS = 10_000;
const N_ROUTES = 1_000;

const l = computeLayout({ tunSlots: 1024, nbmaSlots: 1024, ctlSlots: 256, peerCapacity: 16384, fibCapacity: 2048 });
const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
const buf = memory.buffer;
writeLayout(buf, l);
const module = new WebAssembly.Module(readFileSync(join(root, 'wasm/build/dataplane.wasm')));
const dp = new WebAssembly.Instance(module, { env: { memory, wake() {}, abort() { throw new Error('abort'); } } }).exports;
if (dp.setup(l.base) !== 0) throw new Error('setup failed');

const rings = Object.fromEntries(['tunRx', 'tunTx', 'nbmaRx', 'nbmaTx', 'ctlRx', 'ctlTx'].map((n) => [n, new Ring(buf, l[n])]));
const cmd = new Commands(rings.ctlTx);
const flush = () => { cmd.publish(); while (dp.poll(1024, 0) > 0); };
const send = (fn) => { if (!fn()) { flush(); if (!fn()) throw new Error('command did not fit'); } };

// Tunnel 10.0.0.1/16 with a key; peers 10.0.x.y -> NBMA 100.64.x.y; routes: 1 default, 19 /32,
// 80 /16, 900 /24, spread over the peers.
send(() => cmd.cfgTunnel({ source: SOURCE, tunnelIp: ip('10.0.0.1'), tunnelPrefixLen: 16, key: 42, ipMtu: 1400, tcpMss: 1360 }));
const peerTip = (i) => (ip('10.0.0.0') + 2 + i) >>> 0;
const peerNbma = (i) => (ip('100.64.0.0') + 2 + i) >>> 0;
for (let i = 0; i < N_PEERS; i++) send(() => cmd.peerSet(peerTip(i), peerNbma(i)));
const dests = [];
send(() => cmd.fibAdd(ip('10.0.0.0'), 16, 0));
send(() => cmd.fibAdd(0, 0, peerTip(0)));
for (let i = 0; i < 900; i++) { const p = (ip('172.16.0.0') + i * 256) >>> 0; send(() => cmd.fibAdd(p, 24, peerTip(i * 11))); dests.push(p + 7); }
for (let i = 0; i < 80; i++) { const p = (ip('20.0.0.0') + i * 65536) >>> 0; send(() => cmd.fibAdd(p, 16, peerTip(i * 101))); dests.push(p + 300); }
for (let i = 0; i < 19; i++) { const p = (ip('192.0.2.0') + i) >>> 0; send(() => cmd.fibAdd(p, 32, peerTip(i * 7))); dests.push(p); }
flush();
const c0 = readCounters(buf, l);
console.log(`setup: ${c0.cmdApplied} commands applied, ${c0.cmdBad} bad; FIB ${N_ROUTES} routes (+ on-link /16), ${N_PEERS} peers`);

// ---- packet builders ----
function csum(b, s, e) { let x = 0; for (let i = s; i < e; i += 2) x += (b[i] << 8) | b[i + 1]; while (x > 0xffff) x = (x & 0xffff) + (x >>> 16); return ~x & 0xffff; }
function udpPacket(len, src, dst) {
  const p = new Uint8Array(len); const v = new DataView(p.buffer);
  p[0] = 0x45; v.setUint16(2, len); v.setUint16(4, 1); p[8] = 64; p[9] = 17; v.setUint32(12, src); v.setUint32(16, dst);
  v.setUint16(10, csum(p, 0, 20)); v.setUint16(20, 4000); v.setUint16(22, 5000); v.setUint16(24, len - 20);
  return p;
}
function grePacket(innerLen, nbmaSrc, innerDst) {
  const inner = udpPacket(innerLen, ip('10.255.0.1'), innerDst);
  const p = new Uint8Array(28 + innerLen); const v = new DataView(p.buffer);
  p[0] = 0x45; v.setUint16(2, p.length); p[8] = 64; p[9] = 47; v.setUint32(12, nbmaSrc); v.setUint32(16, SOURCE);
  v.setUint16(10, csum(p, 0, 20)); v.setUint16(20, 0x2000); v.setUint16(22, 0x0800); v.setUint32(24, 42);
  p.set(inner, 28);
  return p;
}

const u32 = new Uint32Array(buf);
const BATCH = 1024;
function prefill(ring, mk, kindOf) {
  ring.resync();
  for (let i = 0; i < BATCH; i++) { const { kind, addr, data } = kindOf(i); if (!ring.fill(kind, addr, 0, data)) throw new Error(`prefill ${i} ${data?.length} free=${ring.free} max=${ring.slotDataMax}`); }
  ring.publish();
  // consume them without processing, so the slots hold the packets and the ring is empty again
  u32[(ring.offset + RING.tail) >>> 2] = u32[(ring.offset + RING.head) >>> 2];
}

function timeIt(fn) {
  // warm-up, then run for SECONDS
  for (let i = 0; i < 50; i++) fn();
  let n = 0; const t0 = process.hrtime.bigint(); let t1 = t0;
  const limit = BigInt(Math.round(SECONDS * 1e9));
  while ((t1 = process.hrtime.bigint()) - t0 < limit) { for (let i = 0; i < 20; i++) fn(); n += 20; }
  return { rounds: n, sec: Number(t1 - t0) / 1e9 };
}

const rows = [];
function report(name, size, pkts, sec, outerExtra) {
  const mpps = pkts / sec / 1e6;
  rows.push({ case: name, size: `${size} B`, Mpps: mpps.toFixed(2), 'Gbit/s inner': (mpps * size * 8 / 1e3).toFixed(2), 'Gbit/s outer': (mpps * (size + outerExtra) * 8 / 1e3).toFixed(2), 'ns/pkt': (1e3 / mpps).toFixed(1) });
}

for (const size of [64, 1400]) {
  // ---- encap + lookup, ring path ----
  prefill(rings.tunRx, null, (i) => ({ kind: 0, addr: 0, data: udpPacket(size, ip('10.255.0.1'), dests[i % dests.length]) }));
  const tunHead = (rings.tunRx.offset + RING.head) >>> 2;
  const before = readCounters(buf, l);
  let r = timeIt(() => {
    Atomics.store(u32, tunHead, u32[tunHead] + BATCH); // producer publishes 1024 slots
    dp.poll(BATCH, 0);
    rings.nbmaTx.skipAll(); // consumer frees them
  });
  const after = readCounters(buf, l);
  const out = Number(after.greTxPackets - before.greTxPackets);
  if (out < r.rounds * BATCH * 0.99) console.log(`warning: encap produced ${out} of ${(r.rounds + 50) * BATCH}`, after);
  report('encap+lookup (ring path)', size, r.rounds * BATCH, r.sec, 28);

  // ---- encap with the slots filled from JS each round ----
  rings.tunRx.resync();
  const pkts = Array.from({ length: 64 }, (_, i) => udpPacket(size, ip('10.255.0.1'), dests[(i * 37) % dests.length]));
  r = timeIt(() => {
    for (let i = 0; i < BATCH; i++) rings.tunRx.fill(0, 0, 0, pkts[i & 63], false);
    rings.tunRx.publish();
    dp.poll(BATCH, 0);
    rings.nbmaTx.skipAll();
  });
  report('encap, JS fills tunRx', size, r.rounds * BATCH, r.sec, 28);

  // ---- decap, ring path (GRE from many peers) ----
  prefill(rings.nbmaRx, null, (i) => { const k = (i * 97) % N_PEERS; return { kind: 47, addr: peerNbma(k), data: grePacket(size, peerNbma(k), ip('10.255.0.1')) }; });
  const nbHead = (rings.nbmaRx.offset + RING.head) >>> 2;
  const b2 = readCounters(buf, l);
  r = timeIt(() => {
    Atomics.store(u32, nbHead, u32[nbHead] + BATCH);
    dp.poll(BATCH, 0);
    rings.tunTx.skipAll();
  });
  const a2 = readCounters(buf, l);
  if (Number(a2.tunTxPackets - b2.tunTxPackets) < r.rounds * BATCH * 0.99) console.log('warning: decap output short', a2);
  report('decap (ring path)', size, r.rounds * BATCH, r.sec, 28);

  // ---- bench exports (no rings) ----
  const N = 100_000;
  r = timeIt(() => dp.benchOutbound(size, N / 20, dests[5]));
  report('encap+lookup (benchOutbound)', size, r.rounds * N / 20, r.sec, 28);
  r = timeIt(() => dp.benchInbound(size, N / 20, peerNbma(1234), ip('10.255.0.1')));
  report('decap (benchInbound)', size, r.rounds * N / 20, r.sec, 28);
}
console.table(rows);
const c = readCounters(buf, l);
const drops = Object.entries(c).filter(([k, v]) => k.startsWith('drop') && v > 0);
console.log('drop counters:', drops.length ? Object.fromEntries(drops) : 'none');
