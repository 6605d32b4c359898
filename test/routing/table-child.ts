// Child of test/kernel-table-ns.test.ts, run inside its namespace (Node cannot setns()): a KernelTable
// on the real kernel, an OverlayFib writing the real WASM data plane's FIB for the TUN "Tunnel0", and
// NHRP's views. Commands come as JSON lines on stdin; table events and answers go as JSON lines to stdout.
import { createInterface } from 'node:readline';
import { loadNative } from '../../appliance/io/native.js';
import { KernelTable } from '../../appliance/routing/kernel-table.js';
import { OverlayFib } from '../../appliance/routing/overlay-fib.js';
import { networksBehind, overlayNextHop } from '../../appliance/routing/nhrp-routes.js';
import { computeLayout, writeLayout, pagesFor } from '../../appliance/dataplane/layout.js';
import { Ring } from '../../appliance/dataplane/ring.js';
import { Commands, readFib } from '../../appliance/dataplane/commands.js';
import { instantiateDataplane } from '../../appliance/dataplane/wasm.js';
import { u32ToIp } from '../../appliance/net/ipv4.js';
import { KernelRouteSink } from '../../appliance/routing/eigrp/kernel-routes.js';
import type { EigrpDistances } from '../../appliance/routing/eigrp/kernel-routes.js';

const say = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

const l = computeLayout({ tunSlots: 16, nbmaSlots: 16, ctlSlots: 256, peerCapacity: 64, fibCapacity: 64 });
const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
writeLayout(memory.buffer, l);
const dp = instantiateDataplane(memory, () => undefined);
const cmd = new Commands(new Ring(memory.buffer, l.ctlTx), undefined, true);
const fibRows = () => {
  dp.poll(256, Date.now());
  return readFib(memory.buffer, l).map((r) => `${u32ToIp(r.prefix)}/${r.prefixLen} ${r.nextHop ? u32ToIp(r.nextHop) : 'on-link'}`).sort();
};

const table = new KernelTable(loadNative(), (level, msg) => say({ log: `${level} ${msg}` }));
// the overrun test's thousands of /32s under 10.100/14 are counted, not printed
table.subscribe((ev) => ev.kind === 'route' && ev.route.len === 32 && ev.route.prefix.startsWith('10.10') ? undefined : say({ ev: ev.kind === 'route' ? { kind: 'route', op: ev.op, prefix: `${ev.route.prefix}/${ev.route.len}`, gateway: ev.route.gateway, dev: ev.route.dev }
  : ev.kind === 'addr' ? { kind: 'addr', op: ev.op, addr: `${ev.addr.address}/${ev.addr.prefixLen}`, ifname: ev.addr.ifname }
    : ev.kind === 'link' ? { kind: 'link', op: ev.op, name: ev.link.name, up: ev.link.up } : { kind: ev.kind } }));
await table.start();
const fib = new OverlayFib(table, 'Tunnel0', cmd);
fib.start();
say({ ready: true, routes: table.routes().length });

let busyUntil = 0;
// one sink per distance pair for the child's life, as a speaker keeps one: it remembers the metric it wrote each prefix at
const sinks = new Map<string, KernelRouteSink>();
const sinkFor = (d?: EigrpDistances) => {
  const key = JSON.stringify(d ?? null);
  if (!sinks.has(key)) sinks.set(key, new KernelRouteSink(table, new Map([['Tunnel0', 'Tunnel0']]), (level, msg) => say({ log: `${level} ${msg}` }), d));
  return sinks.get(key)!;
};
for await (const line of createInterface({ input: process.stdin })) {
  const c = JSON.parse(line) as { op: string; [k: string]: any };
  try {
    if (c.op === 'state') {
      say({ id: c.id, fib: fibRows(), behind: networksBehind(table, 'Tunnel0', c.nbma).map((n) => `${n.prefix}/${n.len}`).sort(),
        nextHop: c.dst ? overlayNextHop(table, 'Tunnel0', c.dst)?.nextHop ?? null : null, routes: table.routes().length,
        counters: table.counters, socket: table.socketStats() });
    } else if (c.op === 'shortcut-add') { fib.installShortcut(c.prefix, c.len, c.nextHop); say({ id: c.id, fib: fibRows() }); }
    else if (c.op === 'shortcut-del') { fib.removeShortcut(c.prefix, c.len); say({ id: c.id, fib: fibRows() }); }
    else if (c.op === 'replace' || c.op === 'delete') {
      const req = { prefix: c.prefix, len: c.len, gateway: c.gateway, dev: c.dev, nexthops: c.nexthops, protocol: c.protocol ?? 4 };
      await (c.op === 'replace' ? table.replaceRoute(req) : table.deleteRoute(req)).then(() => say({ id: c.id, ok: true }), (e: Error) => say({ id: c.id, error: e.message }));
    } else if (c.op === 'eigrp-replace' || c.op === 'eigrp-remove') {
      // what an EIGRP speaker writes, through the supervisor's sink (`external`: a D EX route; `distances`:
      // `distance eigrp`); answered once the kernel ACKed all of it, with what this op added to the counts
      const sink = sinkFor(c.distances), before = { ...sink.stats };
      if (c.op === 'eigrp-replace') sink.replace(c.prefix, c.len, c.hops, 0, c.external); else sink.remove(c.prefix, c.len);
      await sink.settled();
      const st = sink.stats;
      say({ id: c.id, stats: { replaced: st.replaced - before.replaced, removed: st.removed - before.removed, failed: st.failed - before.failed }, error: sink.lastError });
    } else if (c.op === 'block') {
      // the event loop stops reading the socket for a while: notifications pile up in the kernel
      busyUntil = Date.now() + c.ms;
      while (Date.now() < busyUntil) { /* busy: the socket is not read */ }
      say({ id: c.id, ok: true });
    } else if (c.op === 'exit') { table.stop(); fib.stop(); say({ id: c.id, ok: true }); process.exit(0); }
  } catch (e) { say({ id: c.id, error: (e as Error).message }); }
}
