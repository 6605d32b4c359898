// RTP and the neighbor table as state machines: the init handshake brings a neighbor up only when both
// INIT updates were acknowledged; reliable packets are retransmitted until acked and the neighbor is
// given up after 16 tries; duplicates are re-acked, not reprocessed; a multicast to an interface where
// one neighbor is still busy goes out once with a Sequence TLV hello naming it and the CR flag, the busy
// neighbor ignores it and gets it by unicast; hold timers expire neighbors.
import t from 'tap';
import { Rtp, MAX_RETRIES } from '../appliance/routing/eigrp/rtp.js';
import type { Transmit } from '../appliance/routing/eigrp/rtp.js';
import { NeighborTable } from '../appliance/routing/eigrp/neighbor.js';
import { Flag, Opcode } from '../appliance/routing/eigrp/types.js';

const show = (x: Transmit[]) => x.map((p) => `${typeof p.to === 'string' ? p.to : 'mcast'} op${p.opcode} f${p.flags} s${p.seq} a${p.ack}${p.tlvs.some((t) => t.type === 'sequence') ? ' seqTLV' : ''}`);

/** Two RTP instances wired back to back (a lossless link unless `drop` says otherwise). */
function pair() {
  let now = 0;
  const a = new Rtp(() => now), b = new Rtp(() => now);
  const deliver = (from: Rtp, fromAddr: string, to: Rtp, drop = (_: Transmit) => false) => {
    for (const p of from.take()) if (!drop(p)) to.receive(fromAddr, p);
  };
  return { a, b, deliver, tick: (ms: number) => { now += ms; a.tick(now); b.tick(now); }, now: () => now };
}

t.test('init handshake: up only after both INITs are acknowledged', async (t) => {
  const { a, b, deliver, tick } = pair();
  a.add('10.0.0.2', 'e0');
  b.add('10.0.0.1', 'e0');
  const first = a.take();
  t.same(show(first), ['10.0.0.2 op1 f1 s1 a0'], 'a unicast Update with INIT, sequence 1');
  for (const p of first) b.receive('10.0.0.1', p);
  t.same(b.takeEvents(), [], 'b got a\'s INIT but its own is not acked yet');
  deliver(b, '10.0.0.2', a); // b's INIT
  tick(10); // acks flushed
  deliver(a, '10.0.0.1', b);
  deliver(b, '10.0.0.2', a);
  t.same(a.takeEvents(), [{ kind: 'up', neighbor: '10.0.0.2' }]);
  t.same(b.takeEvents(), [{ kind: 'up', neighbor: '10.0.0.1' }]);
  t.equal(a.pendingCount('10.0.0.2'), 0);
});

t.test('retransmission until acked, then give up after 16 tries', async (t) => {
  const { a, tick } = pair();
  a.add('10.0.0.2', 'e0');
  a.take();
  tick(999);
  t.same(a.take(), [], 'not before the retransmission timeout');
  tick(1);
  t.same(show(a.take()), ['10.0.0.2 op1 f1 s1 a0'], 'same packet, same sequence number');
  for (let i = 0; i < 40 && !a.takeEvents().length; i++) tick(5000);
  t.equal(a.stats.retransmits, MAX_RETRIES);
  t.equal(a.pendingCount('10.0.0.2'), 0, 'neighbor dropped');
});

t.test('duplicates are re-acked, not processed; acks piggyback on reliable packets', async (t) => {
  const { a, tick } = pair();
  a.add('10.0.0.2', 'e0');
  a.take();
  t.ok(a.receive('10.0.0.2', { opcode: Opcode.Update, flags: Flag.Init, seq: 5, ack: 1 }), 'INIT accepted (and ours acked)');
  t.notOk(a.receive('10.0.0.2', { opcode: Opcode.Update, flags: Flag.Init, seq: 5, ack: 0 }), 'duplicate not reprocessed');
  t.equal(a.stats.duplicates, 1);
  a.send('10.0.0.2', Opcode.Update, Flag.EOT, []);
  t.same(show(a.take()), ['10.0.0.2 op1 f8 s2 a5'], 'the update carries the ack');
  tick(1);
  t.same(a.take(), [], 'no separate ack needed');
  t.ok(a.receive('10.0.0.2', { opcode: Opcode.Update, flags: 0, seq: 6, ack: 0 }));
  tick(1);
  t.same(show(a.take()), ['10.0.0.2 op5 f0 s0 a6'], 'a bare ack is a hello with the ack field');
});

t.test('multicast with a busy neighbor: sequence TLV, CR flag, unicast catch-up', async (t) => {
  let now = 0;
  const hub = new Rtp(() => now);
  for (const s of ['10.0.0.11', '10.0.0.12']) {
    hub.add(s, 'Tunnel0');
    hub.receive(s, { opcode: Opcode.Update, flags: Flag.Init, seq: 1, ack: 0 });
  }
  const inits = hub.take();
  for (const p of inits) hub.receive(p.to as string, { opcode: Opcode.Hello, flags: 0, seq: 0, ack: p.seq });
  t.equal(hub.takeEvents().length, 2, 'both spokes up');
  hub.send('10.0.0.12', Opcode.Update, 0, []); // spoke 2 has something outstanding
  hub.take();
  hub.multicast('Tunnel0', '224.0.0.10', Opcode.Update, 0, []);
  const m = hub.take();
  t.same(show(m), ['mcast op5 f0 s0 a0 seqTLV', 'mcast op1 f2 s4 a0'], 'a hello naming the busy spoke, then the multicast with CR');
  const seqTlv = m[0].tlvs.find((x) => x.type === 'sequence');
  t.same(seqTlv && seqTlv.type === 'sequence' && seqTlv.addresses, ['10.0.0.12']);
  t.same(m[0].tlvs.find((x) => x.type === 'next-multicast-seq'), { type: 'next-multicast-seq', seq: 4 });
  // the receiving side: spoke 1 is not named -> accepts the CR packet; spoke 2 is named -> ignores it
  const s1 = new Rtp(() => now), s2 = new Rtp(() => now);
  for (const [r, self] of [[s1, '10.0.0.11'], [s2, '10.0.0.12']] as const) {
    r.add('10.0.0.1', 'Tunnel0'); r.take();
    r.receive('10.0.0.1', { opcode: Opcode.Update, flags: Flag.Init, seq: 1, ack: 0 }); // the hub's INIT: in step with it
    r.sequenceHello('10.0.0.1', self, ['10.0.0.12']);
  }
  t.ok(s1.receive('10.0.0.1', m[1]), 'spoke 1 takes the multicast');
  t.notOk(s2.receive('10.0.0.1', m[1]), 'spoke 2 ignores it');
  t.equal(s2.stats.crIgnored, 1);
  // spoke 1 acks; spoke 2 acks its outstanding unicast, then gets the multicast's content by unicast
  hub.receive('10.0.0.11', { opcode: Opcode.Hello, flags: 0, seq: 0, ack: 4 });
  hub.receive('10.0.0.12', { opcode: Opcode.Hello, flags: 0, seq: 0, ack: 3 });
  t.same(show(hub.take()), ['10.0.0.12 op1 f0 s4 a1'], 'spoke 2 gets sequence 4 unicast, without CR');
  t.equal(hub.pendingCount('10.0.0.11'), 0);
});

t.test('sequenced packets before the neighbor\'s INIT: not taken nor acked; a unicast one restarts the adjacency', async (t) => {
  // the neighbor's side is up from our previous incarnation (our hold timer ran out, its did not, and its
  // INIT was acked by the adjacency we dropped): it never sends another INIT, so waiting would leave us
  // pending for good while it counts us up
  const r = new Rtp(() => 0);
  r.add('10.0.0.1', 'Tunnel0'); r.take();
  t.notOk(r.receive('10.0.0.1', { opcode: Opcode.Update, flags: 0, seq: 40, ack: 0 }, false), 'a multicast update before the INIT is not taken');
  t.same(r.takeEvents(), [], 'nor a reason to restart (the hub multicasts to the whole segment)');
  t.notOk(r.receive('10.0.0.1', { opcode: Opcode.Update, flags: 0, seq: 41, ack: 0 }, true), 'a unicast update before the INIT is not taken');
  t.same(r.takeEvents(), [{ kind: 'restart', neighbor: '10.0.0.1' }], 'the adjacency restarts');
  r.flushAcks();
  t.same(r.take(), [], 'neither is acked');
  t.equal(r.stats.beforeInit, 2);
  t.ok(r.receive('10.0.0.1', { opcode: Opcode.Update, flags: Flag.Init, seq: 42, ack: 0 }, true), 'the INIT itself is taken');
});

t.test('neighbor table: hold time expiry and re-adjacency', async (t) => {
  const nt = new NeighborTable();
  const { isNew } = nt.heard('10.0.0.2', 'e0', 15, 0);
  t.ok(isNew);
  t.notOk(nt.heard('10.0.0.2', 'e0', 15, 10_000).isNew, 'a hello refreshes');
  t.equal(nt.holdLeft(nt.get('10.0.0.2')!, 12_000), 13);
  t.same(nt.expire(25_000), [], 'still within hold time');
  t.same(nt.expire(25_001).map((n) => n.address), ['10.0.0.2'], 'hold time ran out');
  t.equal(nt.size, 0);
  t.ok(nt.heard('10.0.0.2', 'e0', 15, 30_000).isNew, 'comes back as a new (pending) neighbor');
  t.equal(nt.get('10.0.0.2')!.state, 'pending');
});

t.test('round-trip time: first tries are timed and smoothed, a retransmitted packet is not (Karn)', async (t) => {
  const { a, tick } = pair();
  t.same(a.timing('10.0.0.2'), { srtt: 0, rto: 1000 }, 'unknown neighbor: nothing measured');
  a.add('10.0.0.2', 'e0');
  a.take();
  tick(120);
  a.receive('10.0.0.2', { opcode: Opcode.Hello, flags: 0, seq: 0, ack: 1 });
  t.same(a.timing('10.0.0.2'), { srtt: 120, rto: 1000 }, 'the INIT acked after 120 ms');
  a.send('10.0.0.2', Opcode.Update, 0, []);
  a.take();
  tick(40);
  a.receive('10.0.0.2', { opcode: Opcode.Hello, flags: 0, seq: 0, ack: 2 });
  t.equal(a.timing('10.0.0.2').srtt, Math.round((7 * 120 + 40) / 8), 'smoothed: 7/8 old + 1/8 new');
  a.send('10.0.0.2', Opcode.Update, 0, []);
  tick(1000);
  t.equal(a.timing('10.0.0.2').rto, 2000, 'retransmitted: the timeout doubled');
  tick(3000);
  a.receive('10.0.0.2', { opcode: Opcode.Hello, flags: 0, seq: 0, ack: 3 });
  t.same(a.timing('10.0.0.2'), { srtt: 110, rto: 1000 }, 'the retransmitted packet\'s ack is not a sample; the timeout is back at its minimum');
});
