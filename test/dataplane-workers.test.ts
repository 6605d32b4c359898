// Worker 0's table writes under the other workers (docs/dataplane.md "Every core forwards"), in one
// thread with two data-plane instances on one memory, so every interleaving below is exact:
//   - worker 1 forwards on the rings of its own layout block (its tunRx -> its nbmaTx), with the
//     routes and peers worker 0 applied;
//   - an SA is not wiped (nor its index reused) while worker 1 may still use it: SA_DEL unlinks it and
//     waits in ctlTx until worker 1 begins a new poll batch or sleeps; SA_ADD over it waits the same way;
//   - a worker 1 lookup that meets an open table write (the seqlock odd: worker 0 died inside a
//     command) misses instead of reading a half-moved table; worker 0 closes it when it restarts.
import t from 'tap';
import { computeLayout, writeLayout, pagesFor, RING, SLOT, NBMA_KIND, TUNNEL_STATE } from '../appliance/dataplane/layout.js';
import { SA_ENTRY } from '../appliance/dataplane/abi.js';
import { Ring } from '../appliance/dataplane/ring.js';
import { Commands, readCounters } from '../appliance/dataplane/commands.js';
import { compileDataplane, instantiateDataplane } from '../appliance/dataplane/wasm.js';
import { SaCommands, ESP_ENC } from '../appliance/dataplane/sa.js';
import { ipToU32 as ip } from '../appliance/net/ipv4.js';
import { ipv4, udp } from './util/packets.js';

const PEER_NBMA = ip('203.0.113.2');
const DST = ip('172.16.2.5');

function twoWorkers() {
  const l = computeLayout({ tunSlots: 16, nbmaSlots: 16, ctlSlots: 64, peerCapacity: 256, fibCapacity: 64, saCapacity: 16, tunSlotSize: 4096, workers: 2 });
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
  const buf = memory.buffer;
  writeLayout(buf, l);
  const module = compileDataplane();
  const w0 = instantiateDataplane(memory, () => {}, module, l.base, 0);
  const w1 = instantiateDataplane(memory, () => {}, module, l.workerRings[1].block, 1);
  const ctl = new Ring(buf, l.ctlTx);
  const cmd = new Commands(ctl, undefined, true);
  const sa = new SaCommands(ctl);
  cmd.cfgTunnel({ source: ip('198.51.100.1'), tunnelIp: ip('10.0.0.1'), tunnelPrefixLen: 24 });
  cmd.peerSet(ip('10.0.0.2'), PEER_NBMA);
  cmd.fibAdd(ip('172.16.2.0'), 24, ip('10.0.0.2'));
  w0.poll(256, 0);
  const u32 = new Uint32Array(buf);
  const entry = (i: number) => l.saTable + i * SA_ENTRY.size;
  /** Bytes of SA i's cipher context that are not zero (0 once wiped). */
  const keyBytes = (i: number) => new Uint8Array(buf, entry(i) + SA_ENTRY.ctx, 64).reduce((a, b) => a + (b ? 1 : 0), 0);
  const packet = () => ipv4({ src: ip('10.9.0.1'), dst: DST, proto: 17, payload: udp(1000, 2000, 100) });
  /** Offers one packet to worker 1's tunRx and polls worker 1; returns what its nbmaTx got. */
  const forwardOn1 = () => {
    const rx = new Ring(buf, l.workerRings[1].tunRx), tx = new Ring(buf, l.workerRings[1].nbmaTx);
    rx.pushSlot(0, 0, 0, packet());
    w1.poll(256, 0);
    const got: Array<{ kind: number; addr: number }> = [];
    tx.drain((kind, addr) => { got.push({ kind, addr }); });
    return got;
  };
  return { l, buf, u32, w0, w1, cmd, sa, ctl, entry, keyBytes, forwardOn1, counters: () => readCounters(buf, l) };
}

const chacha = (index: number, spi: number) => ({ index, dir: 'out' as const, spi, peer: PEER_NBMA, enc: ESP_ENC.CHACHA20_POLY1305, key: new Uint8Array(36).map((_, i) => i + 1) });

t.test('worker 1 forwards on its own rings with the tables worker 0 wrote', async (t) => {
  const x = twoWorkers();
  t.same(x.forwardOn1(), [{ kind: NBMA_KIND.GRE, addr: PEER_NBMA }], 'worker 1: its tunRx -> GRE on its nbmaTx to the peer');
  t.equal(new Ring(x.buf, x.l.nbmaTx).pending, 0, 'nothing on worker 0\'s nbmaTx');
  x.cmd.fibDel(ip('172.16.2.0'), 24);
  x.w0.poll(256, 0);
  t.same(x.forwardOn1(), [], 'a route worker 0 removed is gone for worker 1');
  t.equal(x.counters().dropNoRoute, 1, 'counted as no route');
});

t.test('an SA is wiped and its index reused only after worker 1 let go of it', async (t) => {
  const x = twoWorkers();
  x.sa.saAdd(chacha(3, 0x3003));
  x.w0.poll(256, 0);
  t.ok(x.keyBytes(3) > 0, 'SA 3 has its keys');
  t.same(x.forwardOn1().map((s) => s.kind), [NBMA_KIND.ESP], 'worker 1 encrypts with it');
  // worker 1 is inside a batch (its last poll published the epoch; it has not slept since)
  const applied = x.counters().cmdApplied;
  x.sa.saDel(3);
  x.w0.poll(256, 0);
  t.equal(x.u32[(x.entry(3) + SA_ENTRY.state) >>> 2], 0, 'unlinked at once: state free');
  t.ok(x.keyBytes(3) > 0, 'but its keys stay while worker 1 may be using them');
  t.equal(x.counters().cmdApplied, applied, 'the SA_DEL waits in ctlTx');
  t.same(x.forwardOn1().map((s) => s.kind), [NBMA_KIND.GRE], 'a new lookup on worker 1 no longer finds it (cleartext: unprotected tunnel)');
  x.w0.poll(256, 0);
  t.equal(x.keyBytes(3), 0, 'worker 1 began a new batch: the keys are wiped');
  t.equal(x.counters().cmdApplied, applied + 1, 'and the SA_DEL is applied');

  // SA_ADD over a used index waits the same way; a sleeping worker 1 holds nothing
  x.sa.saAdd(chacha(3, 0x3004));
  x.w0.poll(256, 0);
  x.forwardOn1(); // worker 1 in a batch again
  x.sa.saAdd(chacha(3, 0x3005));
  x.w0.poll(256, 0);
  t.equal(x.u32[(x.entry(3) + SA_ENTRY.spi) >>> 2], 0x3004, 'the replacing SA_ADD waits: the old SA is still in its entry');
  t.not((x.w1.prepareSleep() >>> 0), 0xffffffff, 'worker 1 goes to sleep');
  x.w0.poll(256, 0);
  t.equal(x.u32[(x.entry(3) + SA_ENTRY.spi) >>> 2], 0x3005, 'worker 1 asleep: the new SA took the entry');
  t.equal(x.u32[(x.entry(3) + SA_ENTRY.state) >>> 2], 1, 'active');
  t.equal(x.counters().cmdBad, 0, 'no command refused');
});

t.test('a table write left open makes worker 1 miss, never read a half-moved table', async (t) => {
  const x = twoWorkers();
  const gen = (x.l.tunnelState + TUNNEL_STATE.tableGen) >>> 2;
  t.same(x.forwardOn1().map((s) => s.kind), [NBMA_KIND.GRE], 'worker 1 forwards (and has loaded the tunnel configuration)');
  const g = Atomics.load(x.u32, gen);
  t.equal(g % 2, 0, 'no write open between commands');
  Atomics.store(x.u32, gen, g + 1); // as a worker 0 that died inside a command leaves it
  t.same(x.forwardOn1(), [], 'worker 1: the route lookup misses');
  t.equal(x.counters().dropNoRoute, 1, 'counted as no route');
  const rx = new Ring(x.buf, x.l.tunRx), tx = new Ring(x.buf, x.l.nbmaTx);
  rx.pushSlot(0, 0, 0, ipv4({ src: ip('10.9.0.1'), dst: DST, proto: 17, payload: udp(1000, 2000, 100) }));
  x.w0.poll(256, 0);
  t.equal(tx.pending, 1, 'worker 0, the writer, is not held by its own seqlock');
  Atomics.store(x.u32, gen, g + 2);
  t.same(x.forwardOn1().map((s) => s.kind), [NBMA_KIND.GRE], 'closed again: worker 1 forwards');
});

t.test('notices are limited for the appliance, not per worker: one NO_ENTRY per next hop and interval, whichever worker saw the packet', async (t) => {
  const x = twoWorkers();
  x.cmd.fibAdd(ip('172.16.9.0'), 24, ip('10.0.0.9')); // a next hop without a peer entry
  x.w0.poll(256, 1000);
  const NO_ENTRY = 2;
  const rings = [{ tunRx: x.l.tunRx, ctlRx: x.l.ctlRx, w: x.w0 }, { tunRx: x.l.workerRings[1].tunRx, ctlRx: x.l.workerRings[1].ctlRx, w: x.w1 }];
  /** one packet to that next hop offered to worker i at `now` ms; the NO_ENTRY notices it posted */
  const offer = (i: number, now: number) => {
    new Ring(x.buf, rings[i].tunRx).pushSlot(0, 0, 0, ipv4({ src: ip('10.9.0.1'), dst: ip('172.16.9.1'), proto: 17, payload: udp(1000, 2000, 100) }));
    rings[i].w.poll(256, now);
    const got: number[] = [];
    new Ring(x.buf, rings[i].ctlRx).drain((kind, addr) => { if (kind === NO_ENTRY) got.push(addr); });
    return got;
  };
  t.same(offer(0, 1000), [ip('10.0.0.9')], 'worker 0: NO_ENTRY for the next hop');
  t.same(offer(1, 1050), [], 'worker 1, 50 ms later: held back by the notice worker 0 sent');
  t.same(offer(1, 1110), [ip('10.0.0.9')], 'worker 1 after the 100 ms interval: sent');
  t.same(offer(0, 1160), [], 'worker 0 within the interval of worker 1\'s notice: held back');
  t.equal(x.counters().dropNoEntry, 4, 'every packet dropped and counted (the counters of both workers)');
});
