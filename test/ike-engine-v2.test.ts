// ikeV2Engine (the IKEv2 manager as the supervisor's IKE service drives it), two engines back to back
// in-process from the IOS config text: READY is established, the first Child SA comes with IKE_AUTH,
// the child exchange is a CREATE_CHILD_SA rekey (new pair up, old pair deleted), an IKE SA rekey is
// passed on with its Child SAs, deleting the IKE SA ends its Child SAs too, the keyring decides
// hasKeyFor, and an unusable ikev2 profile is refused with its reason.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import type { CryptoConfig } from '../appliance/config/model.js';
import { ikeV2Engine, type IkeV2Engine } from '../appliance/supervisor/ike-engine-v2.js';
import type { IkeEngineEvents } from '../appliance/supervisor/ike-engine.js';
import type { IkeSaV2 } from '../appliance/ike/sa/ike-sa-v2.js';
import { waitFor } from './util/lab.js';
import { ikev2IosBlock } from './util/ikev2-ios.js';

const CONFIG = ikev2IosBlock;

function crypto(text: string): CryptoConfig {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config.crypto;
}

type Ev = { event: string; sa?: IkeSaV2; next?: IkeSaV2; spis?: number[]; spiIn?: number };

function side(c: CryptoConfig, local: string, deliver: (d: Uint8Array, to: string, port: number, from: string, fromPort: number) => void) {
  const events: Ev[] = [];
  const ev: IkeEngineEvents<IkeSaV2> = {
    established: (sa) => events.push({ event: 'established', sa }),
    failed: (sa) => events.push({ event: 'failed', sa }),
    child: (sa, k) => { events.push({ event: 'child', sa, spiIn: k.inbound.spi }); },
    childDeleted: (sa, spis) => events.push({ event: 'childDeleted', sa, spis }),
    deleted: (sa) => events.push({ event: 'deleted', sa }),
    alive: () => {},
    ikeRekeyed: (sa, next) => events.push({ event: 'ikeRekeyed', sa, next }),
  };
  const engine = ikeV2Engine(c, 'MyProfile', local, (d, addr, port, localPort) => deliver(d, addr, port, local, localPort), () => {}, ev);
  return { engine, events };
}

function pair(keyA = 'P4ssw0rd', keyB = 'P4ssw0rd') {
  const engines = new Map<string, IkeV2Engine>();
  const deliver = (d: Uint8Array, to: string, port: number, from: string, fromPort: number) =>
    setImmediate(() => engines.get(to)?.handleDatagram(port === 4500 ? new Uint8Array([0, 0, 0, 0, ...d]) : d, from, fromPort, port));
  const a = side(crypto(CONFIG(keyA)), '172.16.25.2', deliver), b = side(crypto(CONFIG(keyB)), '172.16.15.2', deliver);
  engines.set('172.16.25.2', a.engine); engines.set('172.16.15.2', b.engine);
  return { a, b, close: () => { a.engine.close(); b.engine.close(); } };
}

const count = (evs: Ev[], e: string) => evs.filter((x) => x.event === e).length;

t.test('established is READY, the first Child SA comes with IKE_AUTH, the child exchange is a rekey', async (t) => {
  const { a, b, close } = pair();
  t.teardown(close);
  t.equal(a.engine.version, 2);
  t.ok(a.engine.childWithAuth, 'first Child SA with the IKE SA');
  t.ok(a.engine.hasKeyFor('172.16.15.2'), 'keyring covers 172.16.0.0/16');
  t.notOk(a.engine.hasKeyFor('192.0.2.1'), 'no key outside it');
  const sa = a.engine.initiate('172.16.15.2');
  t.notOk(a.engine.isEstablished(sa), 'IN-NEG is not established');
  t.ok(await waitFor(() => count(a.events, 'child') === 1 && count(b.events, 'child') === 1, 10000), 'one Child SA each side, without a child exchange');
  t.ok(a.engine.isEstablished(sa) && sa.state === 'READY', 'READY = established');
  t.same(a.events.map((e) => e.event), ['established', 'child'], 'established, then its Child SA');
  const first = a.events[1].spiIn!;

  t.ok(a.engine.initiateChild(sa), 'child exchange started');
  t.ok(await waitFor(() => count(a.events, 'child') === 2 && count(b.events, 'childDeleted') === 1 && count(a.events, 'childDeleted') === 1, 10000),
    'a new pair, the old one deleted on both ends');
  t.same(a.engine.manager.childrenOf(sa).map((c) => c.spiIn), [a.events[2].spiIn], 'the SA carries only the new pair');
  t.not(a.events[2].spiIn, first);
});

t.test('an IKE SA whose Child SAs are all gone gets a new pair by CREATE_CHILD_SA (not a rekey)', async (t) => {
  const { a, b, close } = pair();
  t.teardown(close);
  const sa = a.engine.initiate('172.16.15.2');
  t.ok(await waitFor(() => count(a.events, 'child') === 1 && count(b.events, 'child') === 1, 10000), 'the pair from IKE_AUTH');
  const first = a.events.find((e) => e.event === 'child')!.spiIn!;
  t.ok(a.engine.deleteChildren(sa, [first]), 'the pair deleted');
  t.ok(await waitFor(() => count(b.events, 'childDeleted') === 1 && a.engine.manager.childrenOf(sa).length === 0, 10000), 'no pair left on either side');
  t.ok(a.engine.initiateChild(sa), 'child exchange started on an SA without a pair');
  t.ok(await waitFor(() => count(a.events, 'child') === 2 && count(b.events, 'child') === 2, 10000), 'a new pair on both sides');
  const fresh = a.events.filter((e) => e.event === 'child')[1].spiIn!;
  t.not(fresh, first);
  t.same(a.engine.manager.childrenOf(sa).map((c) => c.spiIn), [fresh], 'the SA carries the new pair');
  t.equal(b.engine.manager.childrenOf(b.engine.sas[0]).length, 1, 'so does the responder');
  t.equal(count(b.events, 'childDeleted'), 1, 'nothing else deleted (no REKEY_SA)');
  t.equal(a.engine.counters.rekeys ?? 0, 0, 'not counted as a rekey');
});

t.test('an IKE SA rekey is passed on; deleting the IKE SA ends its Child SAs', async (t) => {
  const { a, b, close } = pair();
  t.teardown(close);
  const sa = a.engine.initiate('172.16.15.2');
  t.ok(await waitFor(() => count(b.events, 'child') === 1 && count(a.events, 'child') === 1, 10000));
  t.ok(a.engine.manager.rekeyIke(sa), 'IKE SA rekey started');
  t.ok(await waitFor(() => count(a.events, 'ikeRekeyed') === 1 && count(b.events, 'ikeRekeyed') === 1 && a.engine.sas.length === 1, 10000), 'rekeyed on both ends, the old SA gone');
  const next = a.events.find((e) => e.event === 'ikeRekeyed')!.next!;
  t.not(next, sa);
  t.equal(count(a.events, 'childDeleted'), 0, 'the Child SA survived the IKE SA rekey');
  t.equal(count(a.events, 'deleted'), 0, 'no deleted for the replaced SA');
  const bSa = b.engine.sas[0];
  b.engine.clear(bSa);
  const bChild = b.events.find((e) => e.event === 'childDeleted' && e.sa === bSa);
  t.ok(bChild?.spis?.length === 1, 'clearing the IKE SA reports its Child SA deleted (it followed the rekey)');
  t.ok(await waitFor(() => a.events.some((e) => e.event === 'childDeleted' && e.sa === next) && count(a.events, 'deleted') === 1, 10000),
    'the peer: Child SA and IKE SA deleted');
});

t.test('wrong key: nothing established; DPD is a liveness check', async (t) => {
  const { a, b, close } = pair('P4ssw0rd', 'Wr0ngKey');
  t.teardown(close);
  a.engine.initiate('172.16.15.2');
  t.ok(await waitFor(() => count(a.events, 'failed') === 1, 10000), 'initiator: failed');
  t.equal(count(a.events, 'established') + count(b.events, 'established') + count(a.events, 'child') + count(b.events, 'child'), 0, 'no SA on either side');
  const ok = pair();
  t.teardown(ok.close);
  const sa = ok.a.engine.initiate('172.16.15.2');
  t.ok(await waitFor(() => count(ok.a.events, 'established') === 1, 10000));
  const before = ok.a.engine.counters.liveness;
  t.ok(ok.a.engine.dpdProbe(sa), 'probe sent');
  t.equal(ok.a.engine.counters.liveness, before + 1, 'as an INFORMATIONAL liveness check');
});

t.test('ikev2 profile config: refused with the reason, reconfiguration keeps a working policy', async (t) => {
  const bad = crypto(CONFIG('k').replace(' keyring local KR\n', ''));
  t.throws(() => ikeV2Engine(bad, 'MyProfile', '172.16.25.2', () => {}, () => {}, {} as IkeEngineEvents<IkeSaV2>), /keyring local \(none\) not defined/);
  const { a, close } = pair();
  t.teardown(close);
  t.match(a.engine.configure(bad), [/refused, previous policy kept: .*keyring/], 'a broken reconfiguration is refused');
  t.ok(a.engine.hasKeyFor('172.16.15.2'), 'the previous keyring is still used');
  const narrower = crypto(CONFIG('k').replace('address 172.16.0.0 255.255.0.0\n  pre', 'address 172.16.15.0 255.255.255.0\n  pre'));
  t.same(a.engine.configure(narrower), [], 'a good one applies');
  t.notOk(a.engine.hasKeyFor('172.16.35.2'), 'with its keyring');
});
