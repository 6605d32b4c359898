// The EIGRP route sink's kernel metrics, against a kernel table double that records every request and
// answers when told: internal routes at the internal distance, D EX at the external one (or `distance
// eigrp`'s pair), a prefix that changes kind written at its new metric before its old one is deleted,
// a quick flip back that cannot delete what a later write put in, a failed write that leaves the old
// route known (so a withdraw still finds it), a withdraw at the metric the route was written at.
// The real kernel: test/kernel-table-ns.test.ts.
import t from 'tap';
import { KernelRouteSink, RTPROT_EIGRP } from '../appliance/routing/eigrp/kernel-routes.js';
import type { KernelTable } from '../appliance/routing/kernel-table.js';

interface Req { op: 'replace' | 'delete'; prefix: string; len: number; metric?: number; protocol?: number; gateway?: string; dev?: string }

/** A kernel table double: requests queue until `answer` settles the oldest (ok, or with an error). */
function fakeKernel() {
  const sent: Req[] = [];
  const waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const take = (op: Req['op']) => (r: Omit<Req, 'op'>) => new Promise<void>((resolve, reject) => { sent.push({ op, ...r }); waiting.push({ resolve, reject }); });
  const kernel = { replaceRoute: take('replace'), deleteRoute: take('delete') } as unknown as KernelTable;
  const tick = () => new Promise((r) => setImmediate(r));
  /** answers the oldest open request (`error`: refuses it), then lets the sink react */
  const answer = async (error?: string) => { await tick(); const w = waiting.shift(); if (!w) throw new Error('nothing to answer'); if (error) w.reject(new Error(error)); else w.resolve(); await tick(); };
  const drain = async () => { for (let i = 0; i < 50; i++) { await tick(); if (waiting.length) await answer(); } };
  const ops = () => sent.map((r) => `${r.op} ${r.prefix}/${r.len} @${r.metric}`);
  return { kernel, sent, answer, drain, ops };
}

const hop = [{ via: '192.168.0.8', dev: 'Tunnel0' }];
/** lets queued requests reach the double (the sink sends from a promise chain) */
const sent = () => new Promise((r) => setImmediate(r));
const quiet = () => {};

t.test('internal at 90, external at 170, each a route of proto 192', async (t) => {
  const k = fakeKernel();
  const sink = new KernelRouteSink(k.kernel, new Map(), quiet);
  sink.replace('10.1.0.0', 16, hop, 28160);
  sink.replace('10.2.0.0', 16, hop, 28160, true);
  await k.drain();
  t.same(k.ops(), ['replace 10.1.0.0/16 @90', 'replace 10.2.0.0/16 @170']);
  t.ok(k.sent.every((r) => r.protocol === RTPROT_EIGRP && r.gateway === '192.168.0.8' && r.dev === 'Tunnel0'), 'proto 192, the hop as gateway and device');
  t.same(sink.stats, { replaced: 2, removed: 0, failed: 0 });
});

t.test('a prefix turning external: written at 170 first, then deleted at 90; a withdraw deletes at 170', async (t) => {
  const k = fakeKernel();
  const sink = new KernelRouteSink(k.kernel, new Map(), quiet);
  sink.replace('10.1.0.0', 16, hop, 1);
  await k.drain();
  sink.replace('10.1.0.0', 16, hop, 1, true);
  await k.answer();
  t.same(k.ops(), ['replace 10.1.0.0/16 @90', 'replace 10.1.0.0/16 @170', 'delete 10.1.0.0/16 @90'], 'the delete of the old metric only after the new route was ACKed');
  await k.drain();
  sink.replace('10.1.0.0', 16, hop, 1, true); // the same kind again (e.g. a new next hop): no delete
  sink.remove('10.1.0.0', 16);
  await k.drain();
  t.same(k.ops().slice(3), ['replace 10.1.0.0/16 @170', 'delete 10.1.0.0/16 @170']);
  t.same(sink.stats, { replaced: 3, removed: 2, failed: 0 });
});

t.test('a quick flip (external, then internal again, before the kernel answered): nothing of the last write is deleted', async (t) => {
  const k = fakeKernel();
  const sink = new KernelRouteSink(k.kernel, new Map(), quiet);
  sink.replace('10.1.0.0', 16, hop, 1);
  await k.drain();
  sink.replace('10.1.0.0', 16, hop, 1, true);
  sink.replace('10.1.0.0', 16, hop, 1, false);
  await sent();
  t.same(k.ops().slice(1), ['replace 10.1.0.0/16 @170'], 'one request at a time per prefix');
  await k.drain();
  t.same(k.ops().slice(1), ['replace 10.1.0.0/16 @170', 'delete 10.1.0.0/16 @90', 'replace 10.1.0.0/16 @90', 'delete 10.1.0.0/16 @170'],
    'the kernel ends with the route at 90 only');
  // another prefix is not held up by this one's queue
  sink.replace('10.1.0.0', 16, hop, 1, true);
  sink.replace('10.3.0.0', 16, hop, 1);
  await sent();
  t.same(k.ops().slice(5), ['replace 10.1.0.0/16 @170', 'replace 10.3.0.0/16 @90']);
  await k.drain();
  await sink.settled();
  t.same(sink.stats.failed, 0);
});

t.test('a refused write keeps the route where it was: no delete, and a withdraw deletes at the old metric', async (t) => {
  const logs: string[] = [];
  const k = fakeKernel();
  const sink = new KernelRouteSink(k.kernel, new Map(), (_l, m) => logs.push(m));
  sink.replace('10.1.0.0', 16, hop, 1);
  await k.drain();
  sink.replace('10.1.0.0', 16, hop, 1, true);
  await k.answer('route replace 10.1.0.0/16 via 192.168.0.8: Nexthop has invalid gateway');
  t.same(k.ops(), ['replace 10.1.0.0/16 @90', 'replace 10.1.0.0/16 @170'], 'no delete after the refused write');
  t.same(sink.stats, { replaced: 1, removed: 0, failed: 1 });
  t.match(sink.lastError, /invalid gateway/);
  t.match(logs, [/EIGRP route not written: .*invalid gateway/]);
  sink.remove('10.1.0.0', 16);
  await k.drain();
  t.same(k.ops().at(-1), 'delete 10.1.0.0/16 @90', 'the withdraw deletes the route that is there, at 90');
});

t.test('distance eigrp 95 175: the process\'s distances are the metrics; OS names by the map', async (t) => {
  const k = fakeKernel();
  const sink = new KernelRouteSink(k.kernel, new Map([['Tunnel0', 'tun0']]), quiet, { internal: 95, external: 175 });
  sink.replace('10.1.0.0', 16, hop, 1, true);
  sink.replace('10.2.0.0', 16, hop, 1);
  await k.drain();
  t.same(k.ops(), ['replace 10.1.0.0/16 @175', 'replace 10.2.0.0/16 @95']);
  t.equal(k.sent[0].dev, 'tun0', 'the IOS interface name mapped to the OS one');
  sink.remove('10.2.0.0', 16);
  sink.remove('10.9.0.0', 16); // never written: the delete goes out at the internal distance and its refusal is counted
  await k.drain();
  t.same(k.ops().slice(2), ['delete 10.2.0.0/16 @95', 'delete 10.9.0.0/16 @95']);
});
