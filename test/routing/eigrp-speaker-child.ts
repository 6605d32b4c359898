// Child of test/eigrp-frr.test.ts, run inside our side's namespace (Node cannot setns()): one EIGRP
// speaker as the supervisor runs it, on the raw-socket transport with its learned routes written through
// the kernel table's netlink writer. Speaker options come as JSON in argv[2]; its state goes to stdout
// as a JSON line whenever it changes. Ends (with a goodbye) when stdin closes.
import { loadNative } from '../../appliance/io/native.js';
import { KernelTable } from '../../appliance/routing/kernel-table.js';
import { EigrpSpeaker } from '../../appliance/routing/eigrp/speaker.js';
import type { SpeakerOptions } from '../../appliance/routing/eigrp/speaker.js';
import { RawSocketTransport } from '../../appliance/routing/eigrp/raw-socket.js';
import { KernelRouteSink } from '../../appliance/routing/eigrp/kernel-routes.js';

const o = JSON.parse(process.argv[2]) as SpeakerOptions;
const table = new KernelTable(loadNative());
await table.start();
const transport = new RawSocketTransport(o.interfaces.map((i) => i.name));
await transport.ready;
const sink = new KernelRouteSink(table, new Map(), () => {});
const sp = new EigrpSpeaker(o, transport, sink, Date.now());

let last = '';
const timer = setInterval(() => {
  sp.tick(Date.now());
  const state = JSON.stringify({
    neighbors: sp.neighbors.list().map((n) => `${n.address} ${n.state}`), received: Object.fromEntries(sp.counters.received),
    dropped: Object.fromEntries(sp.counters.dropped), droppedTotal: sp.counters.droppedTotal(), lastDrop: sp.counters.lastDrop?.error,
    retransmits: sp.rtp.stats.retransmits, routes: sink.stats, routeError: sink.lastError, lastChange: sp.lastChange?.why,
  });
  if (state !== last) process.stdout.write(`${last = state}\n`);
}, 100);

process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(timer);
  sp.shutdown();
  setTimeout(() => { transport.close(); table.stop(); process.exit(0); }, 200);
});
