// The NHRP trust rules (issue 8, docs/security.md) against the engine in memory: each attack a
// hostile underlay host (or a registered peer overstepping) can make with well-formed NHRP, refused,
// counted under `refused`, logged with the sender's NBMA address; and the legitimate flow beside it
// still works. Every packet goes through the codec as on the wire.
import t from 'tap';
import { NhrpCache } from '../appliance/nhrp/cache.js';
import { encodeNhrp } from '../appliance/nhrp/codec.js';
import { LOG_BURST, LOG_WINDOW_MS } from '../appliance/nhrp/refusal.js';
import { FLAG_PURGE_N, FLAG_REG_UNIQUE, NhrpType } from '../appliance/nhrp/types.js';
import type { NhrpMessage } from '../appliance/nhrp/types.js';
import { Net, Node, clientOf, tunnel, udpPacket } from './util/nhrp-net.js';
import { cie } from './util/nhrp-samples.js';
import { FakeClock } from './util/fake-clock.js';

const HUB = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3' };
const C = { ip: '10.0.0.4', nbma: '198.51.100.4' };
const EVIL = '192.0.2.66';

function star() {
  const net = new Net();
  const lan = (p: string) => () => [{ prefix: p, len: 24 }];
  const hub = new Node(net, HUB, tunnel({ redirect: true }), {
    routeLookup: (d) => (d.startsWith('192.168.20.') ? { nextHop: B.ip } : d.startsWith('192.168.10.') ? { nextHop: A.ip } : undefined),
  });
  const a = new Node(net, A, clientOf([HUB], { shortcut: true }), { localPrefixes: lan('192.168.10.0') });
  const b = new Node(net, B, clientOf([HUB], { shortcut: true }), { localPrefixes: lan('192.168.20.0') });
  const c = new Node(net, C, clientOf([HUB]));
  [hub, a, b, c].forEach((n) => n.engine.start());
  net.settle(0);
  return { net, hub, a, b, c };
}

/** A well-formed message from `from` (srcNbma as claimed), received by node `to`. */
function inject(to: Node, from: string, m: Partial<NhrpMessage> & Pick<NhrpMessage, 'type' | 'srcProto' | 'dstProto'>): void {
  to.engine.receive(from, to.me.nbma, encodeNhrp({ hopCount: 64, srcNbma: from, flags: 0, requestId: 1, cies: [], extensions: [], ...m }));
}
const refused = (n: Node, k: string) => n.engine.counters().refused[k] ?? 0;
const bindings = (n: Node) => n.engine.cacheEntries().filter((e) => e.type === 'dynamic').map((e) => `${e.tunnelIp}/${e.prefixLen}=${e.nbma}`).sort();
const purge = (srcProto: string, prefix: string, len: number, flags = 0) =>
  ({ type: NhrpType.PurgeRequest, srcProto, dstProto: HUB.ip, flags, requestId: 5, cies: [cie({ proto: prefix, prefixLen: len })] });

t.test('purge at the hub: only the registrant, only its own entry', async (t) => {
  const { net, hub } = star();
  const all = bindings(hub);
  t.equal(all.length, 3, 'three registrations');
  inject(hub, EVIL, purge('10.0.0.99', '128.0.0.0', 1));
  inject(hub, EVIL, purge('10.0.0.99', '0.0.0.0', 1));
  t.same(bindings(hub), all, 'a host that never registered purges nothing (the issue: one /1 wiped them all)');
  t.equal(refused(hub, 'purge'), 2);
  t.ok(hub.logged(/purge from NBMA 192\.0\.2\.66 .*refused/).length, 'logged with the sender\'s NBMA address');
  t.equal(net.of(NhrpType.PurgeReply).length, 0, 'nothing answered to a refused purge');

  inject(hub, B.nbma, purge(B.ip, A.ip, 32));
  inject(hub, B.nbma, purge(B.ip, '10.0.0.0', 24));
  t.same(bindings(hub), all, 'a registered spoke cannot purge another\'s registration, nor the subnet');
  t.equal(refused(hub, 'purge'), 4);
  t.ok(hub.logged(/purge for 10\.0\.0\.2\/32 from NBMA 198\.51\.100\.3 .*refused/).length);

  inject(hub, A.nbma, purge(A.ip, A.ip, 32));
  t.same(bindings(hub), all.filter((b) => !b.startsWith(`${A.ip}/`)), 'its own registration: honoured');
  t.equal(net.of(NhrpType.PurgeReply, HUB.nbma, A.nbma).length, 1, 'and answered');
  t.equal(refused(hub, 'purge'), 4, 'not counted as refused');
});

t.test('purge at a spoke: its NHS or the peer an entry points to, never beyond one owned entry', async (t) => {
  const { net, hub, a, b } = star();
  hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.5'));
  a.engine.noEntry(C.ip, '10.0.0.4');
  t.same(bindings(a), [`${B.ip}/32=${B.nbma}`, `${C.ip}/32=${C.nbma}`, `192.168.20.0/24=${B.nbma}`], 'A resolved B (shortcut) and C');
  // C (registered, known) purges B's shortcut and A's whole tunnel subnet: neither is C's.
  inject(a, C.nbma, { ...purge(C.ip, '192.168.20.0', 24), dstProto: A.ip });
  inject(a, C.nbma, { ...purge(C.ip, '10.0.0.0', 24), dstProto: A.ip });
  t.equal(bindings(a).length, 3, 'nothing removed');
  t.equal(refused(a, 'purge'), 2);
  // The hub (our NHS) may purge what we learnt through it, but not the whole /8 at once.
  inject(a, HUB.nbma, { ...purge(HUB.ip, '10.0.0.0', 8), dstProto: A.ip });
  t.equal(bindings(a).length, 3, 'the NHS cannot purge beyond one entry either');
  t.equal(refused(a, 'purge'), 3);
  inject(a, HUB.nbma, { ...purge(HUB.ip, C.ip, 32, FLAG_PURGE_N), dstProto: A.ip });
  t.same(bindings(a), [`${B.ip}/32=${B.nbma}`, `192.168.20.0/24=${B.nbma}`], 'the NHS purged C\'s binding');
  // B, the owner, purges its own LAN (what `clear ip nhrp` at B sends).
  inject(a, B.nbma, { ...purge(B.ip, '192.168.20.0', 24), dstProto: A.ip });
  t.same(bindings(a), [`${B.ip}/32=${B.nbma}`], 'the owner purged its shortcut');
  t.same(a.routes.at(-1), '-192.168.20.0/24');
  t.equal(net.of(NhrpType.PurgeReply, A.nbma, B.nbma).length, 1, 'and got its Purge Reply');
  t.equal(refused(a, 'purge'), 3);
  // An unknown host: refused before anything is looked at.
  inject(b, EVIL, { ...purge(HUB.ip, A.ip, 32), dstProto: B.ip });
  t.equal(refused(b, 'purge'), 1);
});

t.test('Resolution Request straight to a spoke from an unknown host claiming another spoke: refused, nothing learnt', async (t) => {
  const { net, a } = star();
  const req = (srcProto: string, dstProto: string) => ({ type: NhrpType.ResolutionRequest, srcProto, dstProto, flags: 0xc802,
    requestId: 77, cies: [cie({ prefixLen: 0xff })] });
  inject(a, EVIL, req(B.ip, A.ip));
  inject(a, EVIL, req(B.ip, '192.168.10.5'));
  t.notOk(a.entry(B.ip), 'A does not map B to the attacker (the issue: Type dynamic, Flags implicit)');
  t.equal(net.of(NhrpType.ResolutionReply, A.nbma).length, 0, 'and does not answer it');
  t.equal(refused(a, 'resolution-request'), 2);
  t.ok(a.logged(/resolution request for 10\.0\.0\.2 claiming 10\.0\.0\.3 from NBMA 192\.0\.2\.66 refused/).length);
  // C is a known peer of A (resolved), but claims B's address: still refused.
  a.engine.noEntry(C.ip, C.ip);
  inject(a, C.nbma, req(B.ip, A.ip));
  t.notOk(a.entry(B.ip), 'a known peer cannot claim another\'s address');
  t.equal(refused(a, 'resolution-request'), 3);
  // C asking as itself, straight to A: fine (a peer we know, bound to where it came from).
  inject(a, C.nbma, req(C.ip, A.ip));
  t.equal(net.of(NhrpType.ResolutionReply, A.nbma, C.nbma).length, 1, 'answered');
});

t.test('the hub forwards only requests whose source is registered there at the sender\'s address', async (t) => {
  const { net, hub, b } = star();
  const req = (srcProto: string) => ({ type: NhrpType.ResolutionRequest, srcProto, dstProto: '192.168.20.5', flags: 0xc802,
    requestId: 78, cies: [cie({ prefixLen: 0xff })],
    extensions: [{ type: 4, compulsory: true, cies: [] }, { type: 5, compulsory: true, cies: [] }] });
  inject(hub, EVIL, req(A.ip));
  inject(hub, C.nbma, req(A.ip));
  t.equal(net.of(NhrpType.ResolutionRequest, HUB.nbma, B.nbma).length, 0, 'neither forwarded to the owner B');
  t.equal(refused(hub, 'resolution-request'), 2);
  t.match(b.entry(A.ip), undefined, 'B learnt nothing');
  inject(hub, A.nbma, req(A.ip));
  t.equal(net.of(NhrpType.ResolutionRequest, HUB.nbma, B.nbma).length, 1, 'A asking as itself is forwarded');
  t.match(b.entry(A.ip), { nbma: A.nbma, flags: { implicit: true } }, 'and B learns A from its NHS');
  // A request forwarded by somebody unknown (a forged transit record) is refused too.
  inject(b, EVIL, { ...req(C.ip), extensions: [{ type: 4, compulsory: true, cies: [cie({ proto: '10.0.0.50', nbma: EVIL })] }] });
  t.notOk(b.entry(C.ip), 'a forged forward transit record does not make it trusted');
  t.equal(refused(b, 'resolution-request'), 1);
});

t.test('a responder learns only addresses inside the tunnel subnet; a top-level hub learns only from registrations', async (t) => {
  const { net, hub, b } = star();
  const fromHub = (srcProto: string) => inject(b, HUB.nbma, { type: NhrpType.ResolutionRequest, srcProto, dstProto: '192.168.20.5',
    srcNbma: '198.51.100.77', flags: 0xc802, requestId: 79, cies: [cie({ prefixLen: 0xff })],
    extensions: [{ type: 4, compulsory: true, cies: [cie({ proto: HUB.ip, nbma: HUB.nbma })] }] });
  fromHub('172.31.0.5');
  t.equal(net.of(NhrpType.ResolutionReply, B.nbma).length, 1, 'answered');
  t.notOk(b.entry('172.31.0.5'), 'but 172.31.0.5 (outside 10.0.0.0/24) is not learnt');
  fromHub('10.0.0.77');
  t.match(b.entry('10.0.0.77'), { nbma: '198.51.100.77' }, 'inside the subnet, through the NHS: learnt');
  // The hub owns 10.0.0.1; C (registered) asks for it straight: answered, and the hub's binding of C
  // stays the registration (nothing implicit is created at a hub).
  inject(hub, C.nbma, { type: NhrpType.ResolutionRequest, srcProto: C.ip, dstProto: HUB.ip, flags: 0xc802, requestId: 80,
    cies: [cie({ prefixLen: 0xff })] });
  t.equal(net.of(NhrpType.ResolutionReply, HUB.nbma, C.nbma).length, 1);
  t.match(hub.entry(C.ip), { flags: { registered: true } });
  t.notOk(hub.entry(C.ip)?.flags.implicit);
});

/** A resolves B's address while the hub is unreachable: the request (and its id) is ours to answer. */
function pendingResolution() {
  const s = star();
  s.net.cut.add(HUB.nbma);
  s.a.engine.noEntry(B.ip, '192.168.20.5');
  s.net.cut.delete(HUB.nbma);
  const req = s.net.of(NhrpType.ResolutionRequest, A.nbma)[0].msg;
  const reply = (over: Partial<NhrpMessage> = {}): Partial<NhrpMessage> & Pick<NhrpMessage, 'type' | 'srcProto' | 'dstProto'> => ({
    type: NhrpType.ResolutionReply, srcNbma: A.nbma, srcProto: A.ip, dstProto: B.ip, flags: 0xe800, requestId: req.requestId,
    cies: [cie({ proto: B.ip, nbma: B.nbma, holdingTime: 300 })],
    extensions: [{ type: 3, compulsory: true, cies: [cie({ proto: B.ip, nbma: B.nbma })] }], ...over,
  });
  return { ...s, req, reply };
}

t.test('request ids are crypto-random, not sequential', async (t) => {
  const { a, net } = star();
  for (let i = 0; i < 16; i++) a.engine.noEntry(`10.0.0.${100 + i}`, 'x');
  const ids = net.of(NhrpType.ResolutionRequest, A.nbma).map((s) => s.msg.requestId);
  t.equal(ids.length, 16);
  t.equal(new Set(ids).size, 16, 'all different');
  t.ok(ids.slice(1).some((id, i) => Math.abs(id - ids[i]) > 1000), 'not a counter (sequential ids made replies guessable)');
  t.ok(ids.every((id) => id >= 1 && id <= 0xffffffff));
});

t.test('Resolution Replies must match the request: id, target, binding, sender', async (t) => {
  const { a, req, reply } = pendingResolution();
  inject(a, EVIL, reply({ requestId: (req.requestId % 0xffffffff) + 1, cies: [cie({ proto: B.ip, nbma: EVIL })] }));
  t.match(a.entry(B.ip), { type: 'incomplete' }, 'unsolicited (wrong id): dropped');
  inject(a, HUB.nbma, reply({ dstProto: C.ip, cies: [cie({ proto: C.ip, nbma: EVIL })] }));
  t.notOk(a.entry(C.ip), 'right id, other target: refused');
  inject(a, HUB.nbma, reply({ cies: [cie({ proto: C.ip, nbma: EVIL })] }));
  t.notOk(a.entry(C.ip), 'right id and target, but binding another address: refused');
  inject(a, EVIL, reply({ extensions: [] }));
  t.match(a.entry(B.ip), { type: 'incomplete' }, 'right everything, but from neither the NHS nor the router it binds');
  inject(a, EVIL, reply({ cies: [cie({ code: 12, proto: B.ip })] }));
  t.match(a.entry(B.ip), { type: 'incomplete' }, 'a NAK not from the NHS we asked does not make it negative');
  t.equal(refused(a, 'resolution-reply'), 5, 'five refused');
  t.ok(a.logged(/resolution reply \d+ for 10\.0\.0\.3 from NBMA 192\.0\.2\.66 refused/).length, 'logged with the sender');
  inject(a, HUB.nbma, reply({ extensions: [{ type: 3, compulsory: true, cies: [cie({ proto: HUB.ip, nbma: HUB.nbma })] }] }));
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: B.nbma }, 'the genuine reply from the NHS is still accepted afterwards');
});

t.test('a direct reply is accepted from the responder it binds (Phase 3 owner answering)', async (t) => {
  const { a, reply } = pendingResolution();
  inject(a, B.nbma, reply());
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: B.nbma });
  t.equal(refused(a, 'resolution-reply'), 0);
});

t.test('from an unknown NBMA: indications, purge and registration replies refused; registration accepted', async (t) => {
  const { net, hub, a } = star();
  inject(a, EVIL, { type: NhrpType.TrafficIndication, srcProto: HUB.ip, dstProto: A.ip, trafficCode: 0,
    payload: udpPacket('192.168.10.5', '192.168.20.5') });
  t.equal(net.of(NhrpType.ResolutionRequest, A.nbma).length, 0, 'no resolution triggered by a stranger\'s redirect');
  inject(a, EVIL, { type: NhrpType.ErrorIndication, srcProto: HUB.ip, dstProto: A.ip, errorCode: 6, errorOffset: 0,
    payload: encodeNhrp({ type: 1, hopCount: 64, srcNbma: A.nbma, srcProto: A.ip, dstProto: B.ip, flags: 0, requestId: 1,
      cies: [], extensions: [] }) });
  t.equal(refused(a, 'unknown-source'), 2, 'traffic and error indication');
  t.ok(a.logged(/traffic-indication from NBMA 192\.0\.2\.66 .*refused/).length);
  inject(a, EVIL, { type: NhrpType.RegistrationReply, srcProto: A.ip, dstProto: HUB.ip, requestId: 1, cies: [cie({ code: 0 })] });
  t.equal(refused(a, 'unknown-source'), 3, 'registration reply from a stranger');
  // A stranger's registration of a new address is what an NHS is for.
  inject(hub, EVIL, { type: NhrpType.RegistrationRequest, srcProto: '10.0.0.50', dstProto: HUB.ip, cies: [cie({ prefixLen: 0xff })] });
  t.match(hub.entry('10.0.0.50'), { nbma: EVIL, flags: { registered: true } });
  // ... but not of one already registered uniquely (code 14), counted.
  inject(hub, EVIL, { type: NhrpType.RegistrationRequest, srcProto: B.ip, dstProto: HUB.ip, flags: FLAG_REG_UNIQUE,
    cies: [cie({ prefixLen: 0xff })] });
  t.match(hub.entry(B.ip), { nbma: B.nbma });
  t.equal(refused(hub, 'registration-unique'), 1);
  t.match(net.of(NhrpType.RegistrationReply, HUB.nbma, EVIL).at(-1)?.msg.cies, [{ code: 14 }]);
});

t.test('an error indication from a distant NHS about our request in flight is accepted (hierarchy)', async (t) => {
  const { a, req } = pendingResolution();
  inject(a, EVIL, { type: NhrpType.ErrorIndication, srcProto: '10.0.0.100', dstProto: A.ip, errorCode: 6, errorOffset: 0,
    payload: encodeNhrp(req) });
  t.match(a.entry(B.ip), { type: 'negative' }, 'it echoes our random id: the request failed at once');
  t.equal(refused(a, 'unknown-source'), 0);
});

t.test('replies from the wrong NBMA with the right id: registration and purge replies refused', async (t) => {
  const { net, a, c } = star();
  a.engine.noEntry(C.ip, C.ip);
  c.engine.noEntry(A.ip, A.ip); // A and C know each other: the refusals below are not about strangers
  net.cut.add(HUB.nbma);
  net.settle(200_000); // A re-registers; the hub does not hear it
  const reg = net.of(NhrpType.RegistrationRequest, A.nbma).at(-1)!.msg;
  inject(a, C.nbma, { type: NhrpType.RegistrationReply, srcProto: A.ip, dstProto: HUB.ip, requestId: reg.requestId,
    cies: [cie({ code: 0 })] });
  t.equal(refused(a, 'registration-reply'), 1, 'C (known) cannot answer a registration sent to the hub');
  t.ok(a.logged(/registration reply \d+ from NBMA 198\.51\.100\.4 refused: that request went to 203\.0\.113\.1/).length);
  inject(c, A.nbma, { type: NhrpType.PurgeReply, srcProto: C.ip, dstProto: A.ip, requestId: 1234 });
  t.equal(refused(c, 'purge-reply'), 1);
});

t.test('refusal log lines are rate limited per reason; the counter counts them all', async (t) => {
  const { net, hub } = star();
  for (let i = 0; i < 100; i++) inject(hub, EVIL, purge('10.0.0.99', '128.0.0.0', 1));
  t.equal(refused(hub, 'purge'), 100);
  t.equal(hub.logged(/purge .*refused/).length, LOG_BURST, `only ${LOG_BURST} lines in one window`);
  net.settle(LOG_WINDOW_MS);
  inject(hub, EVIL, purge('10.0.0.99', '128.0.0.0', 1));
  t.ok(hub.logged(/purge .*refused.*\(95 similar lines not logged/).length, 'the next window says how many were not logged');
});

t.test('error indications from a known peer are logged rate limited, and all counted as received', async (t) => {
  const { net, a } = star();
  const ei = () => inject(a, HUB.nbma, { type: NhrpType.ErrorIndication, srcProto: HUB.ip, dstProto: A.ip, errorCode: 6, errorOffset: 0,
    payload: encodeNhrp({ type: 1, hopCount: 64, srcNbma: A.nbma, srcProto: A.ip, dstProto: B.ip, flags: 0, requestId: 1, cies: [], extensions: [] }) });
  const before = a.logged(/error indication/).length;
  for (let i = 0; i < 50; i++) ei();
  t.equal(a.logged(/error indication/).length - before, LOG_BURST, `only ${LOG_BURST} lines in one window for 50 indications`);
  t.equal(a.engine.counters().in['error-indication'], 50, 'every one counted as received');
  net.settle(LOG_WINDOW_MS);
  ei();
  t.ok(a.logged(/error indication .*\(45 similar lines not logged/).length, 'the next window says how many were not logged');
});

t.test('"known NBMA" follows the cache: set, rebind, incomplete, expiry, delete', async (t) => {
  const clock = new FakeClock();
  const cache = new NhrpCache(clock, () => {});
  cache.set({ tunnelIp: A.ip, prefixLen: 32, type: 'dynamic', nbma: A.nbma, flags: {} }, 10);
  cache.set({ tunnelIp: B.ip, prefixLen: 32, type: 'dynamic', nbma: A.nbma, flags: {} }); // two spokes behind one NAT
  t.ok(cache.knowsNbma(A.nbma));
  cache.set({ tunnelIp: B.ip, prefixLen: 32, type: 'dynamic', nbma: B.nbma, flags: {} });
  t.ok(cache.knowsNbma(A.nbma) && cache.knowsNbma(B.nbma), 'B moved: both still bound');
  clock.advance(10_000);
  t.notOk(cache.knowsNbma(A.nbma), 'A expired: its NBMA is unknown again');
  cache.set({ tunnelIp: B.ip, prefixLen: 32, type: 'incomplete', flags: {} });
  t.notOk(cache.knowsNbma(B.nbma), 'an incomplete entry binds nothing');
  cache.set({ tunnelIp: C.ip, prefixLen: 32, type: 'negative', nbma: C.nbma, flags: {} });
  t.notOk(cache.knowsNbma(C.nbma), 'nor a negative one');
  cache.set({ tunnelIp: C.ip, prefixLen: 32, type: 'static', nbma: C.nbma, flags: {} });
  t.ok(cache.knowsNbma(C.nbma));
  cache.delete(C.ip, 'test');
  t.notOk(cache.knowsNbma(C.nbma));
});
