// `show dataplane counters` on a running spoke: the per-ring back-pressure counters and per-pump
// packet counts (appliance/dataplane/ring-counters.ts, supervisor/dataplane-host.ts) move with real
// traffic, and `tunQueueDrops` (supervisor/tun-queue.ts, from /proc/net/dev) is the kernel's own
// transmit-drop count of the tunnel as `ip -s link` reports it. The TUN's queue is cut to 4 packets
// so a UDP burst from the LAN host overflows it in front of the tun-rx pump.
import t from 'tap';
import { Lab, labConfig, waitFor, nsExec, uniquePrefix } from './util/lab.js';
import { RING_NAMES } from '../appliance/dataplane/layout.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'python3']);

const TUNNEL = 'Tunnel0';

/** The kernel's transmit drops of the spoke's tunnel (ip -s -j link). */
const kernelTxDropped = (ns: string): number =>
  JSON.parse(nsExec(ns, ['ip', '-j', '-s', 'link', 'show', 'dev', TUNNEL]).stdout)[0].stats64.tx.dropped;

t.test('show dataplane counters: ring and pump counters move with traffic; tunQueueDrops is the kernel\'s count', async (t) => {
  const lab = new Lab(uniquePrefix('rdp'), 1);
  t.teardown(() => lab.down());
  lab.up();
  lab.start('R1', lab.writeConfig('R1', labConfig('R1', { holdtime: 60, registrationTimeout: 5 })));
  lab.start('R2', lab.writeConfig('R2', labConfig('R2', { holdtime: 60, registrationTimeout: 5 })));
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 1), 30000), 'R2 registered; h2 -> h1 flows');

  const c = lab.ctlJson('R2', 'show dataplane counters');
  const missing = RING_NAMES.flatMap((r) => ['FullWaits', 'FullDrops', 'KernelDrops'].map((k) => r + k)).filter((k) => typeof c[k] !== 'number');
  t.same(missing, [], 'every ring\'s FullWaits, FullDrops and KernelDrops shown');
  for (const ring of ['tunRx', 'tunTx', 'nbmaRx', 'nbmaTx']) {
    t.ok(c[`${ring}PumpPackets`] > 0, `${ring} pump moved packets (${c[`${ring}PumpPackets`]})`);
    t.ok(c[`${ring}PumpBatches`] > 0 && c[`${ring}PumpBatches`] <= c[`${ring}PumpPackets`], `${ring} pump batches (${c[`${ring}PumpBatches`]})`);
  }
  t.notOk('udpRxPumpPackets' in c, 'no ESP pumps on an unprotected tunnel');

  // a burst far faster than one pump drains a 4-packet TUN queue
  nsExec(lab.ns('r2'), ['ip', 'link', 'set', 'dev', TUNNEL, 'txqueuelen', '4']);
  nsExec(lab.ns('h2'), ['python3', '-c', `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20000):
    s.sendto(b'x' * 1000, ('10.0.1.10', 9))
`]);
  // the burst is over once the kernel's count stops moving; ours must then be the same number
  let last = -1;
  const steady = await waitFor(() => { const k = kernelTxDropped(lab.ns('r2')); const same = k === last; last = k; return same; }, 10000, 500);
  t.ok(steady, 'the drop count settled');
  t.ok(last > 0, `the TUN queue overflowed: the kernel dropped ${last}`);
  const d = lab.ctlJson('R2', 'show dataplane counters');
  t.equal(d.tunQueueDrops, last, 'tunQueueDrops = the kernel\'s tunnel tx dropped (ip -s link)');
  t.ok(d.tunRxPumpPackets > c.tunRxPumpPackets, 'the tun-rx pump took what fit');
  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'and the tunnel still carries traffic');
});
