// In-memory ESP benchmark of the WASM data plane, one worker, no rings/I/O (bench exports):
//   encap+encrypt: benchEspOutbound = outbound() (FIB, peer, GRE, ESP) with an outbound SA
//   decrypt+decap: benchEspInbound  = inbound() -> espInput() (SPI, replay, decrypt/verify) -> GRE decap on a
//                  fresh copy of one encrypted packet per iteration (inbound SA with NO_REPLAY)
// per suite at 64/512/1400-byte inner packets; Mpps and Gbit/s of inner bytes.
// `persist`: the outbound SA is SEQ_LIMIT (manual AEAD keys with `set sequence-persistence`): between
// batches the bench does what the supervisor does on SEQ_LOW (write + fsync + rename the reservation,
// then SA_LIMIT), with the default block of 65536; the SA must never hit its limit (dropSeqLimit 0).
// Usage: node bench/esp.mjs [seconds-per-case] [udp] [persist]
import { readFileSync, mkdtempSync, rmSync, openSync, writeSync, fsyncSync, closeSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataplaneHelpers } from './lib/dataplane-helpers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const H = await dataplaneHelpers(root);
const { computeLayout, writeLayout, pagesFor, Ring, Commands, SaCommands, readCounters, readEspCounters, readSas, ipToU32: ip, ESP_ENC: E, ESP_INTEG: I } = H;

const SECONDS = Number(process.argv[2] ?? 1);
const UDP = process.argv.slice(3).includes('udp');
const PERSIST = process.argv.slice(3).includes('persist');
const BLOCK = 65536n;
const seqDir = PERSIST ? mkdtempSync(join(tmpdir(), 'esp-bench-seq-')) : '';
const SOURCE = ip('198.51.100.1'), PEER_NBMA = ip('203.0.113.2'), PEER_TUN = ip('10.0.0.2'), DST = ip('172.16.2.5');

const SUITES = [
  ['AES-GCM-128/16', E.AES_GCM_128, 0, 16, 20, 0],
  ['AES-GCM-256/16', E.AES_GCM_256, 0, 16, 36, 0],
  ['ChaCha20-Poly1305', E.CHACHA20_POLY1305, 0, 0, 36, 0],
  ['AES-CBC-128+SHA1-96', E.AES_CBC_128, I.HMAC_SHA1_96, 0, 16, 20],
  ['AES-CBC-256+SHA256-128', E.AES_CBC_256, I.HMAC_SHA256_128, 0, 32, 32],
  ['NULL+SHA1-96', E.NULL, I.HMAC_SHA1_96, 0, 0, 20],
];

function instance() {
  const l = computeLayout({ tunSlots: 64, nbmaSlots: 256, ctlSlots: 64, peerCapacity: 1024, fibCapacity: 256, saCapacity: 64, tunSlotSize: 4096 });
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
  writeLayout(memory.buffer, l);
  const module = new WebAssembly.Module(readFileSync(join(root, 'wasm/build/dataplane.wasm')));
  const dp = new WebAssembly.Instance(module, { env: { memory, wake() {}, abort() { throw new Error('abort'); } } }).exports;
  if (dp.setup(l.base) !== 0) throw new Error('setup failed');
  const ctl = new Ring(memory.buffer, l.ctlTx);
  const cmd = new Commands(ctl, undefined, true);
  cmd.cfgTunnel({ source: SOURCE, tunnelIp: ip('10.0.0.1'), tunnelPrefixLen: 24 });
  cmd.peerSet(PEER_TUN, PEER_NBMA);
  cmd.fibAdd(ip('172.16.2.0'), 24, PEER_TUN);
  dp.poll(256, 0);
  return { l, memory, dp, sa: new SaCommands(ctl) };
}

/** The supervisor's side of a persisted reservation: fsync'd file first, then SA_LIMIT (seq-guard.ts). */
function reserveIfLow(x) {
  const o = readSas(x.memory.buffer, x.l).find((r) => r.dir === 'out');
  if (!o || o.seq < o.seqLimit - BLOCK / 2n) return;
  const limit = o.seqLimit + BLOCK;
  const f = join(seqDir, 'bench.seq');
  const fd = openSync(`${f}.tmp`, 'w');
  writeSync(fd, JSON.stringify({ out: { reserved: String(limit) } })); fsyncSync(fd); closeSync(fd);
  renameSync(`${f}.tmp`, f);
  const d = openSync(seqDir, 'r'); fsyncSync(d); closeSync(d);
  x.sa.saLimit(0, limit, limit - BLOCK / 2n);
  x.dp.poll(256, 0);
}

function run(fn, len, between) {
  const batch = 2000;
  let n = 0;
  fn(batch); // warm up
  between?.();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(SECONDS * 1e9));
  let t;
  do {
    const r = fn(batch);
    // a swallowed SA_EVENT counts as one commit in bench mode: batch + 1 when SEQ_LOW fired
    if (r !== batch && !(between && r === batch + 1)) throw new Error(`bench returned ${r}`);
    n += batch; between?.(); t = process.hrtime.bigint();
  } while (t < end);
  const s = Number(t - t0) / 1e9;
  return { mpps: n / s / 1e6, gbps: (n * len * 8) / s / 1e9 };
}

console.log(`ESP ${UDP ? 'in UDP' : 'raw'}${PERSIST ? ', outbound SA with persisted sequence reservations (block 65536, fsync)' : ''}, one worker, ${SECONDS}s per case; Gbit/s of inner packet bytes`);
console.log('suite'.padEnd(24), 'size', 'encap+encrypt Mpps / Gbps', '  decrypt+decap Mpps / Gbps');
for (const [name, enc, integ, icvLen, klen, alen] of SUITES) {
  const x = instance();
  const key = new Uint8Array(klen).map((_, i) => i * 7 + 1), akey = new Uint8Array(alen).map((_, i) => i * 5 + 3);
  const base = { spi: 0x1001, peer: PEER_NBMA, enc, integ, icvLen, key, authKey: akey, udp: UDP ? {} : undefined };
  x.sa.saAdd({ index: 0, dir: 'out', seqLimited: PERSIST, ...base });
  if (PERSIST) { x.sa.saLimit(0, BLOCK, BLOCK / 2n); }
  x.sa.saAdd({ index: 1, dir: 'in', noReplay: true, ...base });
  x.dp.poll(256, 0);
  if (readCounters(x.memory.buffer, x.l).cmdBad) throw new Error('SA_ADD refused');
  for (const len of [64, 512, 1400]) {
    const o = run((c) => x.dp.benchEspOutbound(len, c, DST), len, PERSIST ? () => reserveIfLow(x) : undefined);
    const i = run((c) => x.dp.benchEspInbound(len, c, PEER_NBMA, DST, UDP ? 17 : 50), len);
    console.log(name.padEnd(24), String(len).padStart(4), `${o.mpps.toFixed(3).padStart(8)} / ${o.gbps.toFixed(2).padStart(6)}`, `     ${i.mpps.toFixed(3).padStart(8)} / ${i.gbps.toFixed(2).padStart(6)}`);
  }
  const c = readEspCounters(x.memory.buffer, x.l);
  if (c.dropEspAuth || c.dropEspReplay || c.dropSeqLimit) throw new Error(`unexpected drops ${JSON.stringify(c)}`);
}
if (seqDir) rmSync(seqDir, { recursive: true, force: true });
