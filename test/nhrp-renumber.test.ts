// A spoke whose NBMA address changes (DHCP, PPPoE), in memory: the restarted spoke registers at once
// with the new address; the hub takes it at once when the spoke registers without the unique flag
// (`ip nhrp registration no-unique`), refuses it with code 14 (counted) until the old unique entry
// expires otherwise, and never lets a third address take over a unique entry; the ownership hook
// (IKE identities) lets the owner move; peers that got the old binding from the hub, or resolved
// through it to the spoke, are purged by the hub when it accepts the new address (nhrp/holders.ts).
import t from 'tap';
import { NhrpCache } from '../appliance/nhrp/cache.js';
import { encodeNhrp } from '../appliance/nhrp/codec.js';
import { handleRegistrationRequest, type NhsServerContext } from '../appliance/nhrp/registration-server.js';
import { CieCode, FLAG_REG_UNIQUE, NhrpType } from '../appliance/nhrp/types.js';
import type { NhrpMessage } from '../appliance/nhrp/types.js';
import { NhsClient } from '../appliance/nhrp/registration-client.js';
import { BindingHolders, MAX_HOLDERS_PER_CLIENT } from '../appliance/nhrp/holders.js';
import { peersToReresolve, reresolveOnceRegistered } from '../appliance/supervisor/tunnel-source.js';
import { HOLD, Net, Node, clientOf, tunnel, udpPacket, type Addr } from './util/nhrp-net.js';
import { cie } from './util/nhrp-samples.js';
import { FakeClock } from './util/fake-clock.js';

const HUB = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3' };
const A_NEW = '198.51.100.102';
const EVIL = '192.0.2.66';

const refused = (n: Node, k: string) => n.engine.counters().refused[k] ?? 0;

const LAN_A = { prefix: '192.168.10.0', len: 24 };
const LAN_B = { prefix: '192.168.20.0', len: 24 };

function star(noUnique: boolean) {
  const net = new Net();
  const rib: Record<string, string> = { '192.168.10': A.ip, '192.168.20': B.ip };
  const hub = new Node(net, HUB, tunnel({ redirect: true }), {
    routeLookup: (d) => (rib[d.split('.').slice(0, 3).join('.')] ? { nextHop: rib[d.split('.').slice(0, 3).join('.')] } : undefined),
  });
  const a = new Node(net, A, clientOf([HUB], { registrationNoUnique: noUnique, shortcut: true }), { localPrefixes: () => [LAN_A] });
  const b = new Node(net, B, clientOf([HUB], { shortcut: true }), { localPrefixes: () => [LAN_B] });
  [hub, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  return { net, hub, a, b };
}

/** The spoke's address changed: its old engine stops (nothing reaches the old address any more) and
 *  a new one starts on the new address, as the supervisor restarts the tunnel. */
function renumber(net: Net, old: Node, nbma: string, noUnique: boolean): Node {
  old.engine.stop();
  net.nodes.delete(old.me.nbma);
  const moved: Addr = { ip: old.me.ip, nbma };
  const n = new Node(net, moved, clientOf([HUB], { registrationNoUnique: noUnique, shortcut: true }), { localPrefixes: () => [LAN_A] });
  n.engine.start();
  net.settle(0);
  return n;
}

t.test('no-unique, Phase 2: the hub takes the new NBMA address at once and purges the peer that got the old one', async (t) => {
  const { net, hub, a, b } = star(true);
  t.match(hub.entry(A.ip), { nbma: A.nbma, flags: { registered: true, unique: false } });
  b.engine.noEntry(A.ip, A.ip); // B resolves A's tunnel address: the hub answers from its cache
  a.engine.noEntry(B.ip, B.ip); // and A resolves B
  net.settle(0);
  t.match(b.entry(A.ip), { type: 'dynamic', nbma: A.nbma });
  const peers = peersToReresolve(a.engine);
  t.same(peers, [B.ip], 'A knew B (not the NHS)');

  const requestsBefore = net.requests(A_NEW).length;
  const a2 = renumber(net, a, A_NEW, true);
  t.equal(net.requests(A_NEW).length - requestsBefore, 1, 'registered at once from the new address');
  t.match(hub.entry(A.ip), { nbma: A_NEW, flags: { registered: true } }, 'hub: the new NBMA address');
  t.ok(hub.logged(/10\.0\.0\.2 moved from NBMA 198\.51\.100\.2 to 198\.51\.100\.102 \(non-unique registration replaced\)/).length);
  t.equal(a2.engine.nhsStatus()[0].up, true);
  t.equal(net.of(NhrpType.PurgeRequest, HUB.nbma, B.nbma).length, 1, 'the hub purged A at B');
  t.equal(net.of(NhrpType.PurgeReply, B.nbma, HUB.nbma).length, 1, 'B answered');
  t.equal(b.entry(A.ip), undefined, 'B dropped the old binding');
  b.engine.noEntry(A.ip, A.ip);
  net.settle(0);
  t.match(b.entry(A.ip), { type: 'dynamic', nbma: A_NEW }, 'B resolves the new address');
  t.equal(a2.entry(B.ip), undefined, 'the restarted A knows nobody yet');
  let n = 0;
  reresolveOnceRegistered(a2.engine, peers, () => { t.fail('registered already: no need to wait'); return () => {}; }, (k) => { n = k; });
  t.equal(n, 1);
  t.match(a2.entry(B.ip), { type: 'dynamic', nbma: B.nbma }, 'once registered, A resolved B again');
  t.equal(refused(hub, 'registration-unique'), 0);
  t.equal(refused(b, 'purge'), 0);
});

t.test('no-unique, Phase 3: the peer with a shortcut through the spoke drops it when the spoke moves', async (t) => {
  const { net, hub, a, b } = star(true);
  hub.engine.trafficIndication(B.nbma, B.ip, udpPacket('192.168.20.5', '192.168.10.5')); // B -> A's LAN via the hub
  t.same(b.routes, [`+192.168.10.0/24 via ${A.ip}`], 'shortcut at B, answered by A itself');
  t.match(b.entry(A.ip), { nbma: A.nbma });
  renumber(net, a, A_NEW, true);
  t.match(hub.entry(A.ip), { nbma: A_NEW });
  t.equal(b.entry(A.ip), undefined, 'B dropped the old binding');
  t.same(b.routes, [`+192.168.10.0/24 via ${A.ip}`, '-192.168.10.0/24'], 'and the shortcut through it');
  net.settle(3000); // past the redirect rate limit
  hub.engine.trafficIndication(B.nbma, B.ip, udpPacket('192.168.20.5', '192.168.10.5'));
  t.match(b.entry(A.ip), { nbma: A_NEW }, 'the next redirect builds the shortcut to the new address');
  t.equal(b.routes.at(-1), `+192.168.10.0/24 via ${A.ip}`);
});

t.test('unique (default): refused with code 14, counted, until the old entry expires', async (t) => {
  const { net, hub, a } = star(false);
  t.match(hub.entry(A.ip), { nbma: A.nbma, flags: { unique: true } });
  const a2 = renumber(net, a, A_NEW, false);
  t.match(hub.entry(A.ip), { nbma: A.nbma }, 'the old binding holds');
  t.equal(refused(hub, 'registration-unique'), 1, 'counted');
  t.match(net.of(NhrpType.RegistrationReply, HUB.nbma, A_NEW).at(-1)?.msg.cies, [{ code: CieCode.UniqueAddressRegistered }]);
  t.match(a2.engine.nhsStatus()[0], { up: false, lastNak: { code: 14 } });
  net.settle((HOLD - 60) * 1000);
  t.match(hub.entry(A.ip), { nbma: A.nbma }, 'still refused before the old entry expires');
  t.ok(refused(hub, 'registration-unique') > 1, 'every retry refused');
  net.settle(200 * 1000); // past the expiry plus the longest backoff (64 s)
  t.match(hub.entry(A.ip), { nbma: A_NEW, flags: { registered: true } }, 'accepted once the old entry expired');
  t.equal(a2.engine.nhsStatus()[0].up, true);
});

t.test('a third address cannot take over a unique entry, with or without the unique flag', async (t) => {
  const { hub } = star(false);
  for (const flags of [FLAG_REG_UNIQUE, 0]) {
    const req: NhrpMessage = { type: NhrpType.RegistrationRequest, hopCount: 1, srcNbma: EVIL, srcProto: A.ip, dstProto: HUB.ip,
      flags, requestId: 7, cies: [cie({ prefixLen: flags ? 0xff : 32, holdingTime: 600 })], extensions: [] };
    hub.engine.receive(EVIL, HUB.nbma, encodeNhrp(req));
    t.match(hub.entry(A.ip), { nbma: A.nbma }, `flags ${flags}: binding kept`);
  }
  t.equal(refused(hub, 'registration-unique'), 2);
});

t.test('ownership hook: the owner of a unique entry moves at once; anyone else is refused', async (t) => {
  const clock = new FakeClock();
  const cache = new NhrpCache(clock, () => {});
  const logs: string[] = [];
  const refusals: string[] = [];
  const ctx = (owner: boolean): NhsServerContext => ({
    cache, selfTunnelIp: HUB.ip, tunnelPrefixLen: 24, selfNbma: HUB.nbma, holdtime: 600, mtu: 1400,
    log: (_l, m) => logs.push(m), refuse: (r) => refusals.push(r),
    ownership: { check: () => undefined, bind: () => {}, isOwner: (ip) => owner && ip === A.ip },
  });
  const reg = (src: string): NhrpMessage => ({ type: NhrpType.RegistrationRequest, hopCount: 1, srcNbma: src, srcProto: A.ip,
    dstProto: HUB.ip, flags: FLAG_REG_UNIQUE, requestId: 1, cies: [cie({ prefixLen: 0xff, holdingTime: 600 })], extensions: [] });
  t.equal(handleRegistrationRequest(ctx(false), A.nbma, reg(A.nbma)).cies[0].code, CieCode.Success);
  t.equal(handleRegistrationRequest(ctx(false), A_NEW, reg(A_NEW)).cies[0].code, CieCode.UniqueAddressRegistered, 'hook says no: code 14');
  t.same(refusals, ['registration-unique']);
  t.equal(handleRegistrationRequest(ctx(false), EVIL, reg(EVIL)).cies[0].code, CieCode.UniqueAddressRegistered, 'not the owner');
  t.equal(handleRegistrationRequest(ctx(true), A_NEW, reg(A_NEW)).cies[0].code, CieCode.Success, 'the owner moved');
  t.match(cache.get(A.ip), { nbma: A_NEW, flags: { unique: true, registered: true } });
  t.ok(logs.some((l) => /moved from NBMA 198\.51\.100\.2 to 198\.51\.100\.102 \(unique registration of the same owner replaced\)/.test(l)));
});

t.test('re-resolution waits for the first NHS change that leaves one up, then stops listening', async (t) => {
  let up = false;
  const resolved: string[] = [];
  const engine = { cacheEntries: () => [], nhsStatus: () => [{ up }] as never, noEntry: (ip: string) => resolved.push(ip) };
  const listeners = new Set<() => void>();
  const changed = () => { for (const fn of [...listeners]) fn(); };
  let done = 0;
  reresolveOnceRegistered(engine, [A.ip, B.ip], (fn) => { listeners.add(fn); return () => listeners.delete(fn); }, (n) => { done = n; });
  t.same(resolved, [], 'no NHS up: nothing yet');
  changed();
  t.same(resolved, [], 'a change that leaves all NHSes down: still nothing');
  up = true;
  changed();
  t.same(resolved, [A.ip, B.ip], 'an NHS up: every peer resolved');
  t.equal(done, 2);
  t.equal(listeners.size, 0, 'no longer listening');
  reresolveOnceRegistered(engine, [], () => { t.fail('nothing to resolve: no subscription'); return () => {}; }, () => t.fail('not done'));
});

t.test('NhsClient reports up and down changes once each', async (t) => {
  const clock = new FakeClock();
  const changes: boolean[] = [];
  const sent: NhrpMessage[] = [];
  const c = new NhsClient({ clock, nhsTunnelIp: HUB.ip, nhsNbma: HUB.nbma, selfTunnelIp: A.ip, selfNbma: A.nbma, holdtime: 60,
    registrationTimeout: 20, unique: true, mtu: 1400, allocRequestId: () => sent.length + 1, send: (_d, m) => sent.push(m),
    log: () => {}, upChanged: (up) => changes.push(up), unanswered: () => silent.push(clock.now()) });
  const silent: number[] = [];
  const answer = (code = 0) => c.onReply({ ...sent.at(-1)!, type: NhrpType.RegistrationReply, cies: [cie({ code })] });
  c.start();
  answer();
  answer(); // a duplicate reply (not outstanding any more): no change
  clock.advance(20_000);
  answer(); // refreshed: still up, no change
  clock.advance(20_000);
  clock.advance(60_000); // three unanswered: down
  t.equal(c.status().up, false);
  clock.advance(10_000);
  answer(CieCode.UniqueAddressRegistered); // refused: stays down
  clock.advance(2 * 64_000); // the retry after the longest backoff
  answer();
  t.same(changes, [true, false, true]);
  t.equal(silent.length, 1, 'unanswered() once: for the three unanswered requests, not for the refusal (it came back) nor the later ones');
  c.stop();
  t.same(changes, [true, false, true], 'stop() is not a change (the engine is going away)');
});

t.test('binding holders: returned once for a changed NBMA address, bounded per client', async (t) => {
  const h = new BindingHolders();
  h.handedOut(A.ip, A.nbma, B.ip, B.nbma);
  h.handedOut(A.ip, A.nbma, A.ip, A.nbma); // a client never holds its own binding
  t.same(h.registered(A.ip, A.nbma), [], 'same address: nothing to purge');
  t.same(h.registered(A.ip, A_NEW), [{ ip: B.ip, nbma: B.nbma }]);
  t.same(h.registered(A.ip, '198.51.100.200'), [], 'forgotten once returned');
  for (let i = 0; i < MAX_HOLDERS_PER_CLIENT + 10; i++) h.handedOut(A.ip, A_NEW, `10.0.${i >> 8}.${i & 255}`, EVIL);
  const left = h.registered(A.ip, A.nbma);
  t.equal(left.length, MAX_HOLDERS_PER_CLIENT, 'bounded');
  t.equal(left[0].ip, '10.0.0.10', 'the oldest forgotten first');
});

// Revocation on the enrollment hub (docs/enrollment.md "Revoking a device"): the overlay withdraws the
// registration of a spoke whose IKE identity was refused, and the peers it was handed to are purged.
t.test('withdrawRegistration: the registration goes at once, whoever got the binding is purged, static entries stay', async (t) => {
  const { net, hub, b } = star(false);
  b.engine.noEntry(A.ip, A.ip); // B got A's binding from the hub
  net.settle(0);
  t.match(b.entry(A.ip), { type: 'dynamic', nbma: A.nbma });
  t.ok(hub.engine.withdrawRegistration(A.ip, 'IKE peer refused'), 'the hub withdraws A');
  t.equal(hub.entry(A.ip), undefined, 'A gone from the hub\'s cache');
  net.settle(0);
  t.equal(net.of(NhrpType.PurgeRequest, HUB.nbma, B.nbma).length, 1, 'the hub purged A at B');
  t.equal(b.entry(A.ip), undefined, 'B dropped A\'s binding');
  t.notOk(hub.engine.withdrawRegistration(A.ip, 'again'), 'nothing left to withdraw');
  t.notOk(b.engine.withdrawRegistration(HUB.ip, 'static'), 'a static entry (configuration) is not withdrawn');
  t.match(b.entry(HUB.ip), { type: 'static' }, 'and stays');
});
