// Per-ring back-pressure counters as `show dataplane counters` names them (appliance/dataplane/
// ring-counters.ts), and the TUN queue's drops parsed from /proc/net/dev (supervisor/tun-queue.ts).
import t from 'tap';
import { computeLayout, writeLayout, pagesFor, RING } from '../appliance/dataplane/layout.js';
import { readRingCounters } from '../appliance/dataplane/ring-counters.js';
import { parseTxDrops } from '../appliance/supervisor/tun-queue.js';

t.test('each ring header counter comes out under its ring\'s name', async (t) => {
  const l = computeLayout({ tunSlots: 8, nbmaSlots: 8, ctlSlots: 8 });
  const memory = new WebAssembly.Memory({ initial: pagesFor(l), maximum: pagesFor(l), shared: true });
  writeLayout(memory.buffer, l);
  const u32 = new Uint32Array(memory.buffer);
  t.same(Object.values(readRingCounters(memory.buffer, l)).filter((v) => v !== 0), [], 'writeLayout zeroes them');
  u32[(l.nbmaTx + RING.fullWaits) >>> 2] = 7;
  u32[(l.tunTx + RING.fullDrops) >>> 2] = 3;
  u32[(l.nbmaRx + RING.kernelDrops) >>> 2] = 11;
  const c = readRingCounters(memory.buffer, l);
  t.equal(c.nbmaTxFullWaits, 7);
  t.equal(c.tunTxFullDrops, 3);
  t.equal(c.nbmaRxKernelDrops, 11);
  t.equal(c.tunRxFullWaits, 0);
  t.equal(Object.keys(c).length, 11 * 3, 'three counters for each of the eleven rings, ESP\'s and the control lane\'s included');
});

t.test('TUN queue drops: the transmit drop column of that interface in /proc/net/dev', async (t) => {
  const dev = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0',
    'Tunnel0: 5000 50 1 2 0 0 0 0 9000 90 3 153833 0 0 0 0',
    '  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16',
  ].join('\n');
  t.equal(parseTxDrops(dev, 'Tunnel0'), 153833, 'a name long enough to touch the colon');
  t.equal(parseTxDrops(dev, 'eth0'), 12);
  t.equal(parseTxDrops(dev, 'Tunnel1'), 0, 'absent interface: 0');
  t.equal(parseTxDrops('garbage', 'Tunnel0'), 0);
});
