// CREATE_CHILD_SA between two of our managers: Child SA rekey (with and without PFS) make-before-break
// (the new pair is handed over before the old one is deleted), IKE SA rekey (the Child SAs move to the
// new SA, the old one is deleted without a `deleted` event, the new one works), and simultaneous
// rekeys of the same Child SA and of the IKE SA resolved by the lowest nonce (RFC 7296 2.8.1): one
// survivor on both sides, the same one.
import t from 'tap';
import { ike2Pair, v2Policy } from './util/ike2.js';
import type { ChildSaKeys } from '../appliance/ike/sa/child-sa.js';

const children = (events: Array<{ event: string; [k: string]: unknown }>) => events.filter((e) => e.event === 'child').map((e) => e.keys as ChildSaKeys);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

for (const pfs of [undefined, 'group19', 'group14']) {
  t.test(`Child SA rekey${pfs ? ` with PFS ${pfs}` : ''}: new pair first, then the old one deleted on both sides`, async (t) => {
    const pol = v2Policy({ pfs });
    const p = ike2Pair(pol, pol);
    t.teardown(() => p.close());
    const sa = p.a.m.initiate('172.16.2.1');
    await p.settle();
    const [old] = children(p.a.events);
    const order: string[] = [];
    p.b.events.length = 0;
    t.ok(p.a.m.rekeyChild(sa, old.inbound.spi), 'rekey started');
    await p.settle();
    const [, fresh] = children(p.a.events);
    const [peerFresh] = children(p.b.events);
    t.ok(fresh && peerFresh, 'a new pair on both sides');
    t.equal(fresh.outbound.spi, peerFresh.inbound.spi);
    t.equal(hex(fresh.outbound.encKey), hex(peerFresh.inbound.encKey), 'new keys mirrored');
    t.not(hex(fresh.outbound.encKey), hex(old.outbound.encKey), 'new keys differ from the old');
    t.equal(fresh.pfsGroup, pfs ? Number(pfs.slice(5)) : undefined, pfs ? 'PFS group recorded' : 'no PFS');
    for (const e of p.b.events) order.push(e.event);
    t.same(order, ['child', 'childDeleted'], 'peer: new pair handed over before the old is deleted');
    t.same(p.a.m.childrenOf(sa), [{ spiIn: fresh.inbound.spi, spiOut: fresh.outbound.spi }], 'one pair left: the new one');
    t.same(p.b.m.childrenOf(p.b.m.sas[0]), [{ spiIn: peerFresh.inbound.spi, spiOut: peerFresh.outbound.spi }]);
    t.equal(p.a.m.counters.rekeys + p.b.m.counters.rekeys, 2);
    t.same([p.a.m.counters.rejected, p.b.m.counters.rejected], [0, 0]);
  });
}

t.test('PFS mismatch: the rekey is refused, the old pair stays', async (t) => {
  const p = ike2Pair(v2Policy({ pfs: 'group14' }), v2Policy());
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  const [old] = children(p.a.events);
  p.a.m.rekeyChild(sa, old.inbound.spi);
  await p.settle();
  t.equal(children(p.a.events).length, 1, 'no new pair');
  t.equal(p.a.m.childrenOf(sa).length, 1, 'old pair kept');
});

t.test('IKE SA rekey: Child SAs move to the new SA, the old one goes quietly, the new one works', async (t) => {
  const p = ike2Pair(v2Policy(), v2Policy());
  t.teardown(() => p.close());
  const rekeyed: string[] = [];
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  const [child] = children(p.a.events);
  t.ok(p.a.m.rekeyIke(sa));
  await p.settle();
  t.equal(p.a.m.sas.length, 1, 'one IKE SA on A');
  t.equal(p.b.m.sas.length, 1, 'one IKE SA on B');
  const na = p.a.m.sas[0], nb = p.b.m.sas[0];
  t.not(hex(na.ispi), hex(sa.ispi), 'new SPIs');
  t.equal(hex(na.ispi), hex(nb.ispi)); t.equal(hex(na.rspi), hex(nb.rspi));
  t.equal(hex(na.keys!.skD), hex(nb.keys!.skD), 'same SK_d on both sides');
  t.not(hex(na.keys!.skD), hex(sa.keys!.skD), 'new SK_d');
  t.ok(na.initiator && !nb.initiator, 'the rekey initiator is the new SA initiator');
  t.same(p.a.m.childrenOf(na), [{ spiIn: child.inbound.spi, spiOut: child.outbound.spi }], 'the Child SA moved to the new IKE SA');
  t.notOk([...p.a.events, ...p.b.events].some((e) => e.event === 'deleted' || e.event === 'childDeleted'), 'no deleted event: nothing went down');
  rekeyed.push(...p.a.logs.filter((l) => /rekeyed/.test(l)));
  t.equal(rekeyed.length, 1);
  // the new SA carries the next exchanges (message IDs from 0)
  t.ok(p.b.m.checkLiveness(nb));
  await p.settle();
  t.same([p.a.m.counters.informational, p.b.m.counters.informational], [1, 1], 'B answered the delete of the old SA, A the liveness check on the new one');
  t.ok(p.a.m.rekeyChild(na, child.inbound.spi), 'a Child SA rekey on the new IKE SA');
  await p.settle();
  t.equal(children(p.a.events).length, 2, 'new pair made under the new IKE SA keys');
  t.same([p.a.m.counters.rejected, p.b.m.counters.rejected, p.a.m.counters.unknownSa, p.b.m.counters.unknownSa], [0, 0, 0, 0], 'nothing dropped');
});

t.test('simultaneous Child SA rekey: the lowest nonce loses, both sides keep the same single pair', async (t) => {
  for (let round = 0; round < 6; round++) {
    const p = ike2Pair(v2Policy(), v2Policy());
    const sa = p.a.m.initiate('172.16.2.1');
    await p.settle();
    const [ca] = children(p.a.events), [cb] = children(p.b.events);
    p.a.m.rekeyChild(sa, ca.inbound.spi);
    p.b.m.rekeyChild(p.b.m.sas[0], cb.inbound.spi);
    await p.settle();
    const la = p.a.m.childrenOf(sa), lb = p.b.m.childrenOf(p.b.m.sas[0]);
    t.equal(la.length, 1, `round ${round}: one pair on A`);
    t.same(lb, la.map((c) => ({ spiIn: c.spiOut, spiOut: c.spiIn })), `round ${round}: B holds the mirror of A's pair`);
    t.not(la[0]?.spiIn, ca.inbound.spi, 'and it is a new one');
    t.same([p.a.m.counters.rejected, p.b.m.counters.rejected], [0, 0]);
    p.close();
  }
});

t.test('simultaneous IKE SA rekey: one new IKE SA survives, the same on both sides, with the Child SA', async (t) => {
  for (let round = 0; round < 6; round++) {
    const p = ike2Pair(v2Policy(), v2Policy());
    const sa = p.a.m.initiate('172.16.2.1');
    await p.settle();
    const [ca] = children(p.a.events);
    p.a.m.rekeyIke(sa);
    p.b.m.rekeyIke(p.b.m.sas[0]);
    await p.settle();
    t.equal(p.a.m.sas.length, 1, `round ${round}: one IKE SA on A`);
    t.equal(p.b.m.sas.length, 1, `round ${round}: one IKE SA on B`);
    const na = p.a.m.sas[0], nb = p.b.m.sas[0];
    t.equal(hex(na?.ispi ?? new Uint8Array()) + hex(na?.rspi ?? new Uint8Array()), hex(nb?.ispi ?? new Uint8Array()) + hex(nb?.rspi ?? new Uint8Array()), 'the same SA');
    t.not(hex(na.ispi), hex(sa.ispi), 'a new one');
    t.same(p.a.m.childrenOf(na), [{ spiIn: ca.inbound.spi, spiOut: ca.outbound.spi }], 'the Child SA is with it');
    t.notOk([...p.a.events, ...p.b.events].some((e) => e.event === 'deleted' || e.event === 'childDeleted'), 'nothing reported down');
    p.close();
  }
});

t.test('lifetimes: the Child SA and the IKE SA rekey by themselves before they expire', async (t) => {
  const pol = v2Policy({ childLifetime: 1, lifetime: 2 });
  const p = ike2Pair(pol, pol);
  t.teardown(() => p.close());
  p.a.m.initiate('172.16.2.1');
  const ikeRekeyed = () => [...p.a.logs, ...p.b.logs].some((l) => /IKE SA with .* rekeyed/.test(l));
  for (let i = 0; i < 100 && !ikeRekeyed(); i++) { await new Promise((r) => setTimeout(r, 50)); await p.settle(); }
  await p.settle();
  t.ok(children(p.a.events).length >= 2, 'Child SA rekeyed');
  t.ok(ikeRekeyed(), 'IKE SA rekeyed');
  t.equal(p.a.m.sas.length, 1);
  // with a 1 s lifetime the pair rekeys all the time: a new pair is up a moment before the old one's
  // Delete is exchanged, so the count is sampled until a moment between two rekeys (a loaded CI run
  // sampled the overlap once); a pair never deleted would keep it at 2 or more throughout
  let pairs = 0;
  for (let i = 0; i < 40 && (pairs = p.a.m.sas.length === 1 ? p.a.m.childrenOf(p.a.m.sas[0]).length : 0) !== 1; i++) { await new Promise((r) => setTimeout(r, 25)); await p.settle(); }
  t.equal(pairs, 1, 'one pair at a time in the end');
  if (!t.passing()) t.comment(JSON.stringify([p.a.m.sas.map((s) => p.a.m.childrenOf(s)), p.b.m.sas.map((s) => p.b.m.childrenOf(s))]), p.a.logs.join('\n'), p.b.logs.join('\n'));
});
