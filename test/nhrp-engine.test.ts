// Registration control plane end to end: a hub and spokes wired together in memory (bytes really go
// through encodeNhrp/decodeNhrp), driven by a fake clock.
import t, { type Test } from 'tap';
import { Net, Node, tunnel, HOLD } from './util/nhrp-net.js';
import type { TunnelConfig } from '../appliance/config/model.js';

const HUB = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3' };

const spokeCfg = (p: Partial<TunnelConfig['nhrp']> = {}): TunnelConfig =>
  tunnel({ nhs: [{ tunnelIp: HUB.ip }], maps: [{ tunnelIp: HUB.ip, nbma: HUB.nbma }], ...p });

function world() {
  const net = new Net();
  return { clock: net.clock, net };
}

t.test('spokes register; hub learns dynamic entries with NBMA and holding time', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg());
  const b = new Node(net, B, spokeCfg());
  [hub, a, b].forEach((n) => n.engine.start());
  clock.advance(0);

  const ea = hub.entry(A.ip);
  t.match(ea, { type: 'dynamic', nbma: A.nbma, holdtime: HOLD, flags: { unique: true, registered: true, nat: false } });
  t.equal(ea?.expires, ea!.created + HOLD * 1000, 'expires after the CIE holding time');
  t.match(hub.entry(B.ip), { type: 'dynamic', nbma: B.nbma });
  t.same(hub.peers, [
    { op: 'set', tunnelIp: A.ip, nbma: A.nbma, flags: { static: false, nat: false } },
    { op: 'set', tunnelIp: B.ip, nbma: B.nbma, flags: { static: false, nat: false } },
  ], 'data plane told about both spokes');
  t.match(a.engine.nhsStatus(), [{ tunnelIp: HUB.ip, nbma: HUB.nbma, up: true, flags: 'R', repliesReceived: 1 }]);
  t.match(a.entry(HUB.ip), { type: 'static', nbma: HUB.nbma, flags: { nhs: true } }, 'NHS map is a static entry');
  t.same(a.peers, [{ op: 'set', tunnelIp: HUB.ip, nbma: HUB.nbma, flags: { static: true, nat: false } }]);
  t.match(hub.engine.counters(), { in: { 'registration-request': 2 }, out: { 'registration-reply': 2 } });
  t.same(hub.engine.counters().drops, {}, 'the hub dropped nothing'); // (`drops: {}` in a t.match pattern matches any drops)
  t.match(a.engine.counters(), { in: { 'registration-reply': 1 }, out: { 'registration-request': 1 } });

  // what went on the wire: Unique + Cisco NAT flags, CIE holding time, FRR/IOS extension set
  const req = net.requests(A.nbma)[0].msg;
  t.equal(req.flags, 0x8002);
  t.match(req.cies, [{ code: 0, prefixLen: 0xff, holdingTime: HOLD, mtu: 1400 }]);
  t.same(req.extensions.map((e) => e.type), [4, 5, 3, 9]);
  const reply = net.sent.find((s) => s.from === HUB.nbma && s.to === A.nbma)!.msg;
  t.equal(reply.requestId, req.requestId, 'reply echoes the request id');
  t.match(reply.cies, [{ code: 0, holdingTime: HOLD }]);
  t.match(reply.extensions.find((e) => e.type === 3)?.cies, [{ nbma: HUB.nbma, proto: HUB.ip }], 'responder address filled');
  t.same(reply.extensions.map((e) => e.type), [4, 5, 3, 9], 'extensions echoed in order');

  // refresh every holdtime/3 = 200 s; the entry's expiry moves, the data plane hears nothing new
  clock.advance(200_000);
  t.equal(net.requests(A.nbma).length, 2, 're-registered after the registration timeout');
  t.equal(hub.entry(A.ip)?.expires, clock.t + HOLD * 1000, 'expiry refreshed');
  t.equal(hub.entry(A.ip)?.created, ea!.created, 'created time kept on refresh');
  t.equal(hub.peers.length, 2, 'no duplicate peer events on refresh');
});

t.test('expiry after holdtime when a spoke stops; hub restart relearns on the next timer', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg());
  const b = new Node(net, B, spokeCfg());
  [hub, a, b].forEach((n) => n.engine.start());
  clock.advance(0);
  a.engine.stop();
  t.equal(net.sent.filter((s) => s.from === A.nbma).length, 1, 'a stopping spoke sends nothing (FRR/IOS)');
  clock.advance(HOLD * 1000 - 1);
  t.ok(hub.entry(A.ip), 'still there 1 ms before the holding time');
  clock.advance(1);
  t.notOk(hub.entry(A.ip), 'A expired');
  t.ok(hub.entry(B.ip), 'B (still refreshing) stays');
  t.match(hub.peers.at(-1), { op: 'del', tunnelIp: A.ip });

  // hub restarts with an empty cache; spokes notice nothing until their next registration
  hub.engine.stop();
  const hub2 = new Node(net, HUB, tunnel());
  hub2.engine.start();
  t.equal(hub2.engine.cacheEntries().length, 0);
  clock.advance(200_000);
  t.match(hub2.entry(B.ip), { type: 'dynamic', nbma: B.nbma }, 'B re-registered with the restarted hub');
  t.notOk(hub2.entry(A.ip), 'stopped spoke A stays gone');
});

t.test('a conflicting unique registration is refused with code 14 and logged', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg());
  hub.engine.start(); a.engine.start();
  clock.advance(0);
  const impostor = new Node(net, { ip: A.ip, nbma: '198.51.100.99' }, spokeCfg());
  impostor.engine.start();
  clock.advance(0);
  t.match(hub.entry(A.ip), { nbma: A.nbma }, 'binding unchanged');
  const nak = net.sent.find((s) => s.to === '198.51.100.99' && s.msg.type === 4)!.msg;
  t.match(nak.cies, [{ code: 14 }], 'reply carries code 14');
  t.equal(hub.logged(/already registered/).length, 1);
  t.match(hub.logged(/already registered/)[0], new RegExp(`${A.nbma}.*|198\\.51\\.100\\.99`));
  t.ok(hub.logged(/198\.51\.100\.99.*198\.51\.100\.2/).length, 'log names both NBMA addresses');
  t.match(impostor.engine.nhsStatus(), [{ up: false, lastNak: { code: 14 } }]);
  t.ok(impostor.logged(/code 14 \(unique internetworking layer address already registered\)/).length);
  // A refreshing from the same NBMA is still fine
  clock.advance(200_000);
  t.match(a.engine.nhsStatus(), [{ up: true }]);
});

t.test('a non-unique registration from a new NBMA replaces the old binding', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg({ registrationNoUnique: true }));
  hub.engine.start(); a.engine.start();
  clock.advance(0);
  t.match(hub.entry(A.ip), { nbma: A.nbma, flags: { unique: false } });
  t.equal(net.requests(A.nbma)[0].msg.flags & 0x8000, 0, 'no Unique flag on the wire');
  t.match(net.requests(A.nbma)[0].msg.cies, [{ prefixLen: 32 }]);
  a.engine.stop();
  const moved = new Node(net, { ip: A.ip, nbma: '198.51.100.77' }, spokeCfg({ registrationNoUnique: true }));
  moved.engine.start();
  clock.advance(0);
  t.match(hub.entry(A.ip), { nbma: '198.51.100.77' });
  t.match(hub.peers.at(-1), { op: 'set', tunnelIp: A.ip, nbma: '198.51.100.77' });
});

t.test('authentication: mismatch and missing are dropped, counted and logged', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel({ authentication: 'dmvpn' }));
  const good = new Node(net, A, spokeCfg({ authentication: 'dmvpn' }));
  const wrong = new Node(net, B, spokeCfg({ authentication: 'other' }));
  const none = new Node(net, { ip: '10.0.0.4', nbma: '198.51.100.4' }, spokeCfg());
  [hub, good, wrong, none].forEach((n) => n.engine.start());
  clock.advance(0);
  t.ok(hub.entry(A.ip), 'matching password registers');
  t.notOk(hub.entry(B.ip), 'wrong password ignored');
  t.notOk(hub.entry('10.0.0.4'), 'no password ignored');
  t.equal(hub.engine.counters().drops['auth-mismatch'], 2);
  t.equal(hub.logged(/authentication mismatch/).length, 2);
  t.equal(net.sent.filter((s) => s.from === HUB.nbma && s.to !== A.nbma).length, 0, 'no reply to either (IOS drops silently)');
  const req = net.requests(A.nbma)[0].msg;
  t.match(req.extensions.find((e) => e.type === 7), { compulsory: true, auth: { spi: 1 } });
  t.match(good.engine.nhsStatus(), [{ up: true }], 'hub reply carries auth the spoke accepts');
});

t.test('NHS down/up and exponential backoff (1, 2, 4 ... 64 s, capped)', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg());
  hub.engine.start(); a.engine.start();
  clock.advance(0);
  t.match(a.engine.nhsStatus(), [{ up: true, flags: 'R' }]);

  net.cut.add(HUB.nbma);
  clock.advance(200_000); // next registration goes unanswered
  t.match(a.engine.nhsStatus(), [{ up: true, flags: 'RE' }], 'responding, expecting a reply');
  const t0 = clock.t;
  clock.advance(1000 + 2000 + 4000 - 1);
  t.match(a.engine.nhsStatus(), [{ up: true }], 'still up before the 3rd unanswered retransmit');
  clock.advance(1);
  t.match(a.engine.nhsStatus(), [{ up: false, flags: 'E' }], 'down after 3 unanswered requests');
  t.equal(a.logged(/down/).length, 1);
  clock.advance(600_000);
  const times = net.requests(A.nbma).map((s) => s.t).filter((x) => x >= t0);
  const gaps = times.slice(1).map((x, i) => (x - times[i]) / 1000);
  t.same(gaps.slice(0, 9), [1, 2, 4, 8, 16, 32, 64, 64, 64], 'retransmit intervals');
  t.ok(a.engine.nhsStatus()[0].requestsFailed >= 9);

  net.cut.clear();
  clock.advance(64_000);
  t.match(a.engine.nhsStatus(), [{ up: true, flags: 'R' }], 'up again after the next retransmit is answered');
  t.equal(a.logged(/ up$/).length, 2, 'up logged twice (initial + recovery)');
  t.ok(hub.entry(A.ip));
  const n = net.requests(A.nbma).length;
  const answeredAt = net.requests(A.nbma).at(-1)!.t;
  clock.advance(answeredAt + 199_999 - clock.t);
  t.equal(net.requests(A.nbma).length, n, 'back to the registration timeout, no early retransmit');
  clock.advance(1);
  t.equal(net.requests(A.nbma).length, n + 1);
});

t.test('registration timeout is configurable (ip nhrp registration timeout)', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg({ registrationTimeout: 30 }));
  hub.engine.start(); a.engine.start();
  clock.advance(90_000);
  t.equal(net.requests(A.nbma).length, 4, 'at 0, 30, 60, 90 s');
});

t.test('spoke behind NAT: hub maps the outside address and answers the NAT extension', async (t) => {
  const { clock, net } = world();
  net.nat.set(A.nbma, '100.64.0.7');
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg());
  hub.engine.start(); a.engine.start();
  clock.advance(0);
  t.match(hub.entry(A.ip), { nbma: '100.64.0.7', claimedNbma: A.nbma, flags: { nat: true } });
  t.match(hub.peers, [{ op: 'set', tunnelIp: A.ip, nbma: '100.64.0.7', flags: { nat: true } }]);
  const reply = net.sent.find((s) => s.from === HUB.nbma && s.msg.type === 4)!;
  t.equal(reply.to, '100.64.0.7', 'reply goes to the outside address');
  t.match(reply.msg.extensions.find((e) => e.type === 9)?.cies?.at(-1), { nbma: '100.64.0.7', proto: A.ip });
  t.match(a.engine.nhsStatus(), [{ up: true }]);
});

t.test('Phase 1 spoke: the NHS NBMA is the tunnel destination', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, tunnel({ nhs: [{ tunnelIp: HUB.ip }] }, { mode: 'gre-ip', destination: HUB.nbma }));
  hub.engine.start(); a.engine.start();
  clock.advance(0);
  t.match(a.engine.nhsStatus(), [{ nbma: HUB.nbma, up: true }]);
  t.ok(hub.entry(A.ip));
});

t.test('nhs X nbma Y and nhs dynamic', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, tunnel({ nhs: [{ tunnelIp: HUB.ip, nbma: HUB.nbma }] }));
  const b = new Node(net, B, tunnel({ nhs: [{ tunnelIp: 'dynamic', nbma: HUB.nbma }] }));
  [hub, a, b].forEach((n) => n.engine.start());
  clock.advance(0);
  t.match(a.entry(HUB.ip), { type: 'static', nbma: HUB.nbma, flags: { nhs: true } }, 'nhs nbma installs the mapping');
  t.match(b.engine.nhsStatus(), [{ tunnelIp: HUB.ip, up: true }], 'dynamic NHS learns its tunnel address');
  t.equal(net.requests(B.nbma)[0].msg.dstProto, B.ip, 'unknown NHS: own address as destination (RFC 2332 5.2.3)');
  clock.advance(200_000);
  t.equal(net.requests(B.nbma)[1].msg.dstProto, HUB.ip);
});

t.test('garbage, unknown replies and NHRP-disabled tunnels are counted drops, never throws', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  hub.engine.start();
  hub.engine.receive(A.nbma, HUB.nbma, new Uint8Array([1, 2, 3]));
  const bad = new Uint8Array(40); bad[10] = 0; bad[11] = 40;
  hub.engine.receive(A.nbma, HUB.nbma, bad);
  // a reply nobody asked for
  const a = new Node(net, A, spokeCfg());
  a.engine.start();
  clock.advance(0);
  const reply = net.sent.find((s) => s.msg.type === 4)!;
  const { encodeNhrp } = await import('../appliance/nhrp/codec.js');
  a.engine.receive(HUB.nbma, A.nbma, encodeNhrp({ ...reply.msg, requestId: 999999 }));
  t.match(hub.engine.counters().drops, { truncated: 1, 'bad-checksum': 1 });
  t.match(a.engine.counters().refused, { 'registration-reply': 1 }, 'a reply with an id we never sent is refused');
  const off = new Node(net, { ip: '10.0.0.9', nbma: '192.0.2.9' }, tunnel({ networkId: undefined }));
  off.engine.start();
  off.engine.receive(A.nbma, '192.0.2.9', encodeNhrp(reply.msg));
  t.match(off.engine.counters().drops, { 'network-id': 1 });
  hub.engine.stop();
  hub.engine.receive(A.nbma, HUB.nbma, encodeNhrp(reply.msg));
  t.match(hub.engine.counters().drops, { stopped: 1 });
  t.equal(hub.engine.cacheEntries().length, 0, 'stop clears the cache');
});

t.test('registrations outside the tunnel subnet are refused', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const x = new Node(net, { ip: '10.9.9.9', nbma: '198.51.100.50' }, spokeCfg());
  hub.engine.start(); x.engine.start();
  clock.advance(0);
  t.notOk(hub.entry('10.9.9.9'));
  t.match(x.engine.nhsStatus(), [{ up: false, lastNak: { code: 4 } }]);
});

t.test('a hub listing itself as NHS does not register with itself', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, spokeCfg());
  hub.engine.start();
  clock.advance(10_000);
  t.same(hub.engine.nhsStatus(), []);
  t.equal(net.sent.length, 0);
});

t.test('the NHS answers two retransmissions of one registration: the late reply is ours, dropped without a refusal', async (t) => {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  hub.engine.start();
  const a = new Node(net, A, spokeCfg());
  net.nodes.delete(A.nbma); // the hub's replies are lost on the way back while the spoke retransmits
  a.engine.start();
  clock.advance(0);
  clock.advance(10_000);
  net.nodes.set(A.nbma, a);
  const replies = net.of(4, HUB.nbma, A.nbma);
  t.ok(replies.length >= 2, `the hub answered ${replies.length} retransmissions (lost on the way)`);
  const { encodeNhrp } = await import('../appliance/nhrp/codec.js');
  // both answers arrive late, newest first (what a busy NHS and a 1 s retransmission produce)
  a.engine.receive(HUB.nbma, A.nbma, encodeNhrp(replies.at(-1)!.msg));
  t.equal(a.engine.nhsStatus()[0]?.up, true, 'the first reply to arrive answers the registration');
  a.engine.receive(HUB.nbma, A.nbma, encodeNhrp(replies.at(-2)!.msg));
  t.same(a.engine.counters().refused, {}, 'the other reply is not refused as forged');
  a.engine.receive(HUB.nbma, A.nbma, encodeNhrp(replies.at(-2)!.msg));
  t.match(a.engine.counters().refused, { 'registration-reply': 1 }, 'a replay of it is (its id is spent)');
  a.engine.receive(HUB.nbma, A.nbma, encodeNhrp({ ...replies.at(-1)!.msg, requestId: 4242 }));
  t.match(a.engine.counters().refused, { 'registration-reply': 2 }, 'an id never sent is refused as before');
  [a, hub].forEach((n) => n.engine.stop());
});

/** A spoke registered with the hub, then the hub cut off until the spoke declares it down (its next
 *  registration and 3 retransmissions unanswered); `whileUp` runs while it is still up. */
function spokeWithSilentHub(t: Test, whileUp: (a: Node, net: ReturnType<typeof world>['net']) => void = () => {}) {
  const { clock, net } = world();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg());
  hub.engine.start(); a.engine.start();
  clock.advance(0);
  whileUp(a, net);
  net.cut.add(HUB.nbma);
  clock.advance(200_000 + 1000 + 2000 + 4000);
  t.match(a.engine.nhsStatus(), [{ up: false }], 'down');
  return { clock, net, a };
}

t.test('retransmitToNhs: the silent NHS\'s path repaired, its registration goes now, not at the backoff', async (t) => {
  const { clock, net, a } = spokeWithSilentHub(t, (a, net) => {
    a.engine.retransmitToNhs(HUB.nbma);
    t.equal(net.requests(A.nbma).length, 1, 'answered and up: nothing sent early (the registration timer stands)');
  });
  const n = net.requests(A.nbma).length;
  a.engine.retransmitToNhs('198.51.100.99');
  t.equal(net.requests(A.nbma).length, n, 'another NBMA address: nothing');
  net.cut.clear();
  a.engine.retransmitToNhs(HUB.nbma);
  t.equal(net.requests(A.nbma).length, n + 1, 'sent at once (the next backoff was 8 s away)');
  clock.advance(0);
  t.match(a.engine.nhsStatus(), [{ up: true, flags: 'R' }], 'answered: up again');
  clock.advance(8000);
  t.equal(net.requests(A.nbma).length, n + 1, 'answered: the backoff retransmission does not go');
});

t.test('retransmitToNhs: the extra request lost, the backoff retransmission still goes at its time', async (t) => {
  const { clock, net, a } = spokeWithSilentHub(t);
  const downAt = clock.t;
  const n = net.requests(A.nbma).length;
  clock.advance(3000);
  a.engine.retransmitToNhs(HUB.nbma); // lost too: the hub is still cut off
  t.equal(net.requests(A.nbma).length, n + 1, 'the extra request');
  net.cut.clear();
  clock.advance(downAt + 8000 - 1 - clock.t);
  t.equal(net.requests(A.nbma).length, n + 1, 'nothing more before the backoff');
  clock.advance(1);
  t.equal(net.requests(A.nbma).length, n + 2, 'the retransmission 8 s after the last one, as before');
  t.match(a.engine.nhsStatus(), [{ up: true }], 'answered: up');
});
