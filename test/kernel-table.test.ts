// KernelTable on a fake netlink port fed with datagrams captured from this kernel
// (test/fixtures/netlink/datagrams.json): the dump sequence, notifications as events, a refused dump
// retried, hostile datagrams counted and dropped with the table intact, a subscriber that throws kept
// away from the others, and an overrun during a dump finishing with a fresh dump.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './util/lab.js';
import { KernelTable, type NetlinkPort, type TableEvent } from '../appliance/routing/kernel-table.js';
import { RTM, splitMessages } from '../appliance/net/netlink-codec.js';

const captured = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/netlink/datagrams.json'), 'utf8')) as Record<string, string[]>;

/** The captured datagrams of a step with every message's sequence number set to `seq`. */
function withSeq(step: string, seq: number): Buffer[] {
  return captured[step].map((hex) => {
    const b = Buffer.from(hex, 'hex');
    for (let off = 0; off + 16 <= b.length; off += (b.readUInt32LE(off) + 3) & ~3) b.writeUInt32LE(seq, off + 8);
    return b;
  });
}

class FakePort implements NetlinkPort {
  cb?: (ev: 'message' | 'overrun', d?: Buffer) => void;
  sent: Array<{ type: number; seq: number }> = [];
  /** answers dumps from the capture unless told otherwise */
  auto = true;
  refuseNext = 0;
  netlinkOpen(_g: number, cb: (ev: 'message' | 'overrun', d?: Buffer) => void) { this.cb = cb; return 1; }
  netlinkSend(_id: number, bytes: Uint8Array) {
    const h = splitMessages(bytes).messages[0].header;
    this.sent.push({ type: h.type, seq: h.seq });
    if (!this.auto) return;
    queueMicrotask(() => this.answer(h.type, h.seq));
  }
  answer(type: number, seq: number) {
    if (this.refuseNext > 0) {
      this.refuseNext--;
      const err = Buffer.alloc(36); // NLMSG_ERROR -EBUSY
      err.writeUInt32LE(36, 0); err.writeUInt16LE(2, 4); err.writeUInt32LE(seq, 8); err.writeInt32LE(-16, 16);
      this.cb!('message', err);
      return;
    }
    const step = type === RTM.GETLINK ? 'dump-links' : type === RTM.GETADDR ? 'dump-addrs' : 'dump-routes';
    for (const d of withSeq(step, seq)) this.cb!('message', d);
  }
  netlinkClose() { /* nothing */ }
  netlinkStats() { return { received: 0, foreign: 0, truncated: 0, overruns: 0, errors: 0 }; }
}

t.test('dump sequence, then notifications as events', async (t) => {
  const port = new FakePort();
  const table = new KernelTable(port);
  const events: TableEvent[] = [];
  table.subscribe((e) => events.push(e));
  await table.start();
  t.same(port.sent.map((s) => s.type), [RTM.GETLINK, RTM.GETADDR, RTM.GETROUTE], 'links, addresses, routes: one dump at a time');
  t.same(table.links().map((l) => l.name).sort(), ['lo', 'v0', 'v1']);
  t.same(table.addresses().map((a) => `${a.address}/${a.prefixLen} ${a.ifname}`), ['127.0.0.1/8 lo', '10.1.0.1/24 v0']);
  t.same(table.routes().map((r) => `${r.prefix}/${r.len} ${r.dev}`), ['10.1.0.0/24 v0'], 'main table only (the local table is left out)');
  t.equal(events.at(-1)?.kind, 'synced');
  events.length = 0;
  for (const d of withSeq('add-route-via', 0)) port.cb!('message', d);
  t.match(events, [{ kind: 'route', op: 'add', route: { prefix: '10.9.0.0', len: 16, gateway: '10.1.0.2', dev: 'v0', protocol: 188, metric: 20 } }]);
  t.ok(table.since(table.routes().find((r) => r.prefix === '10.9.0.0')!)! > 0, 'the table stamps when it saw the route');
  for (const d of withSeq('del-route-via', 0)) port.cb!('message', d);
  t.match(events.at(-1), { kind: 'route', op: 'del', route: { prefix: '10.9.0.0' } });
  for (const d of withSeq('add-route-ecmp', 0)) port.cb!('message', d);
  t.match(table.routesFor('10.8.0.0', 16)[0], { nexthops: [{ gateway: '10.1.0.2', dev: 'v0' }, { gateway: '10.1.0.3', dev: 'v0' }] });
  events.length = 0;
  for (const d of withSeq('link-down', 0)) port.cb!('message', d);
  t.ok(events.some((e) => e.kind === 'link' && e.op === 'change' && e.link.name === 'v0' && !e.link.up), 'v0 went down');
  t.same(table.routes(), [], 'its routes (connected, ECMP) left with it, without RTM_DELROUTE from the kernel');
  t.ok(events.some((e) => e.kind === 'route' && e.op === 'del' && e.route.prefix === '10.8.0.0'), 'and subscribers heard of it');
  table.stop();
});

t.test('a refused dump (EBUSY) is retried', async (t) => {
  const port = new FakePort();
  port.refuseNext = 1;
  const table = new KernelTable(port);
  await table.start();
  t.equal(port.sent.filter((s) => s.type === RTM.GETLINK).length, 2, 'the link dump was sent again');
  t.equal(table.routes().length, 1);
  table.stop();
});

t.test('hostile datagrams are counted and dropped; the table stays whole', async (t) => {
  const port = new FakePort();
  const logs: string[] = [];
  const table = new KernelTable(port, (_l, m) => logs.push(m));
  await table.start();
  const good = withSeq('add-route-via', 0)[0];
  const lying = Buffer.from(good); lying.writeUInt32LE(0xffff, 0); // nlmsg_len past the datagram
  const badAttr = Buffer.from(good); badAttr.writeUInt16LE(0x7fff, 28); // attribute past the message
  const dst40 = Buffer.from(good); dst40[17] = 40; // prefix length 40
  for (const b of [lying, badAttr, dst40, Buffer.alloc(5), Buffer.alloc(0)]) t.doesNotThrow(() => port.cb!('message', b));
  t.equal(table.counters.malformed, 4, 'four problems counted (an empty datagram is just empty)');
  t.ok(logs.some((l) => /rtm_dst_len 40/.test(l)), 'and logged with what was wrong');
  t.same(table.routes().map((r) => r.prefix), ['10.1.0.0'], 'nothing half-applied');
  port.cb!('message', good);
  t.equal(table.routes().length, 2, 'a good message after them still applies');
  table.stop();
});

t.test('a subscriber that throws does not stop the others; an overrun during a dump dumps again', async (t) => {
  const port = new FakePort();
  const table = new KernelTable(port, () => undefined);
  let seen = 0;
  table.subscribe(() => { throw new Error('subscriber bug'); });
  table.subscribe(() => { seen++; });
  port.auto = false;
  const started = table.start();
  port.answer(RTM.GETLINK, port.sent[0].seq);
  port.cb!('overrun'); // while the dump runs
  port.auto = true; // from here the fake answers each dump request itself
  port.answer(RTM.GETADDR, port.sent[1].seq);
  await started;
  t.equal(port.sent.length, 6, 'the whole dump ran twice');
  t.equal(table.counters.overruns, 1);
  t.ok(seen > 0 && table.counters.listenerErrors > 0, `the second subscriber got the events (${seen}); the first one's errors were counted (${table.counters.listenerErrors})`);
  table.stop();
});

t.test('a renamed link: its addresses carry the new name when subscribers hear of the change', async (t) => {
  const port = new FakePort();
  const table = new KernelTable(port);
  await table.start();
  let seen: string[] | undefined;
  table.subscribe((e) => { if (e.kind === 'link' && e.op === 'change') seen = table.addresses().map((a) => `${a.address} ${a.ifname}`); });
  // the dump's v0 message (IFLA_IFNAME "v0") as a notification of it being renamed v9
  const renamed = withSeq('dump-links', 0).map((d) => Buffer.from(d.toString('hex').replace('07000300763000', '07000300763900'), 'hex'));
  for (const d of renamed) port.cb!('message', d);
  t.equal(table.link('v9')?.name, 'v9', 'the table has the new name');
  t.same(seen, ['127.0.0.1 lo', '10.1.0.1 v9'], 'and the change event found the address under it');
  table.stop();
});
