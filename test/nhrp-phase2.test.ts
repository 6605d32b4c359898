// Phase 2 resolution end to end in memory: a spoke resolves another spoke's tunnel address through
// the hub (incomplete -> dynamic), retransmits, goes negative after failure and retries after the
// negative entry ages out; a hub that only knows the owner by a static map forwards the request
// and the owner answers itself, learning the requester.
import t from 'tap';
import { NEGATIVE_HOLD_S, RES_RETRIES } from '../appliance/nhrp/resolution.js';
import { HOLD, Net, Node, clientOf, tunnel } from './util/nhrp-net.js';

const HUB = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3' };

function star() {
  const net = new Net();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, clientOf([HUB]));
  const b = new Node(net, B, clientOf([HUB]));
  [hub, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  return { net, hub, a, b };
}

t.test('spoke resolves a spoke via the hub: incomplete, retransmit, dynamic from the authoritative reply', async (t) => {
  const { net, a } = star();
  net.cut.add(HUB.nbma);
  a.engine.noEntry(B.ip, '192.168.20.5');
  t.match(a.entry(B.ip), { type: 'incomplete', nbma: undefined }, 'incomplete while asking');
  t.notOk(a.peers.some((p) => p.tunnelIp === B.ip), 'nothing mirrored to the data plane yet');
  a.engine.noEntry(B.ip, '192.168.20.6');
  t.equal(net.of(1, A.nbma).length, 1, 'a second miss does not send a second request');
  net.cut.delete(HUB.nbma);
  net.settle(1000);
  const reqs = net.of(1, A.nbma, HUB.nbma);
  t.equal(reqs.length, 2, 'retransmitted after 1 s, to the NHS');
  t.not(reqs[0].msg.requestId, reqs[1].msg.requestId, 'a retransmission has its own request id');

  const req = reqs[1].msg;
  t.equal(req.dstProto, B.ip, 'Phase 2 resolves the next hop, not the packet destination');
  t.equal(req.flags, 0x8000 | 0x4000 | 0x0800 | 0x0002, 'Q|A|S + Cisco NAT flags (FRR)');
  t.equal(req.hopCount, 64);
  t.match(req.cies, [{ code: 0, prefixLen: 0xff, holdingTime: HOLD, mtu: 1400 }]);
  t.same(req.extensions.map((e) => [e.type, e.compulsory]), [[4, true], [5, true], [3, true], [9, false]]);

  const rep = net.of(2, HUB.nbma, A.nbma)[0].msg;
  t.equal(rep.requestId, req.requestId);
  t.equal(rep.flags, 0x8000 | 0x4000 | 0x2000 | 0x0800, 'Q,S copied; A,D set');
  t.match(rep.cies, [{ code: 0, prefixLen: 32, nbma: B.nbma, proto: B.ip, holdingTime: HOLD - 1 }],
    'hub answers from the registration, never for longer than it lasts');
  t.match(rep.extensions.find((e) => e.type === 3)?.cies, [{ nbma: HUB.nbma, proto: HUB.ip }], 'responder = hub');

  const e = a.entry(B.ip)!;
  t.match(e, { type: 'dynamic', nbma: B.nbma, holdtime: HOLD - 1, flags: { router: true, nhop: true } });
  t.equal(e.expires, net.clock.t + (HOLD - 1) * 1000, 'expires after the CIE holding time');
  t.match(a.peers.at(-1), { op: 'set', tunnelIp: B.ip, nbma: B.nbma });
  net.settle((HOLD - 1) * 1000);
  t.notOk(a.entry(B.ip), 'unused entry expires');
  t.match(a.peers.at(-1), { op: 'del', tunnelIp: B.ip });
});

t.test('no answer: negative entry after the retries, suppressed, then resolved after it ages out', async (t) => {
  const { net, a } = star();
  net.cut.add(HUB.nbma);
  a.engine.noEntry(B.ip, '192.168.20.5');
  const window = (2 ** (RES_RETRIES + 1) - 1) * 1000; // 1+2+4+8 s
  net.settle(window - 1);
  t.match(a.entry(B.ip), { type: 'incomplete' }, 'still trying just before the last timeout');
  net.settle(1);
  t.equal(net.of(1, A.nbma).length, RES_RETRIES + 1, 'first request + retransmissions');
  t.match(a.entry(B.ip), { type: 'negative', holdtime: NEGATIVE_HOLD_S });
  t.ok(a.logged(/resolution of 10\.0\.0\.3 failed/).length);
  net.cut.delete(HUB.nbma);
  a.engine.noEntry(B.ip, '192.168.20.5');
  t.equal(net.of(1, A.nbma).length, RES_RETRIES + 1, 'negative entry suppresses new requests');
  net.settle(NEGATIVE_HOLD_S * 1000);
  t.notOk(a.entry(B.ip), 'negative entry aged out');
  a.engine.noEntry(B.ip, '192.168.20.5');
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: B.nbma }, 'resolved on the next miss');
});

t.test('a used binding is re-resolved before it expires; an unused one is not', async (t) => {
  const { net, a } = star();
  a.engine.noEntry(B.ip, '192.168.20.5');
  const hold = a.entry(B.ip)!.holdtime!;
  a.engine.markUsed(B.ip);
  t.equal(a.entry(B.ip)?.flags.used, true, 'shown as used');
  net.settle(Math.ceil((hold * 2000) / 3));
  t.equal(net.of(1, A.nbma).length, 2, 'refresh request at 2/3 of the holding time');
  const e = a.entry(B.ip)!;
  t.ok(e.expires! > net.clock.t + (hold / 3 + 10) * 1000, 'expiry pushed out by the refresh');
  net.settle(hold * 1000);
  t.equal(net.of(1, A.nbma).length, 2, 'not used since: no further refresh');
  net.settle(hold * 1000);
  t.notOk(a.entry(B.ip), 'and it expires');
});

t.test('hub knowing the owner only by a map forwards; the owner answers directly and learns the requester', async (t) => {
  const net = new Net();
  const hub = new Node(net, HUB, tunnel({ maps: [{ tunnelIp: B.ip, nbma: B.nbma }] }));
  const a = new Node(net, A, clientOf([HUB]));
  // B registers, but the hub's static map for it wins, so the hub holds no registration to answer
  // from: only the owner can answer (and B accepts the request: it came through its NHS).
  const b = new Node(net, B, clientOf([HUB]));
  [hub, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  a.engine.noEntry(B.ip, '192.168.20.5');
  const fwd = net.of(1, HUB.nbma, B.nbma)[0]?.msg;
  t.ok(fwd, 'hub forwarded the request to the owner');
  t.equal(fwd.hopCount, 63, 'hop count decremented');
  t.match(fwd.extensions.find((e) => e.type === 4)?.cies, [{ nbma: HUB.nbma, proto: HUB.ip }], 'hub on the forward transit record');
  t.equal(fwd.srcNbma, A.nbma, 'requester fields untouched');
  const rep = net.of(2, B.nbma)[0];
  t.equal(rep.to, A.nbma, 'owner replies straight to the requester');
  t.match(rep.msg.cies, [{ prefixLen: 32, nbma: B.nbma, proto: B.ip, holdingTime: HOLD }]);
  t.match(rep.msg.extensions.find((e) => e.type === 4)?.cies, [{ proto: HUB.ip }], 'forward transit copied into the reply');
  t.match(rep.msg.extensions.find((e) => e.type === 3)?.cies, [{ proto: B.ip, nbma: B.nbma }], 'responder = owner');
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: B.nbma, holdtime: HOLD });
  t.match(b.entry(A.ip), { type: 'dynamic', nbma: A.nbma, flags: { implicit: true, router: true } },
    'owner learnt the requester: the tunnel is usable both ways');
  t.match(b.peers.filter((p) => p.tunnelIp === A.ip), [{ op: 'set', tunnelIp: A.ip, nbma: A.nbma }]);
  t.equal(net.of(2, HUB.nbma).length, 0, 'hub did not answer itself');
});

t.test('unknown address: hub answers with an Error Indication and the request fails at once', async (t) => {
  const { net, a, hub } = star();
  a.engine.noEntry('10.0.0.77', '10.0.0.77');
  const err = net.of(7, HUB.nbma, A.nbma)[0]?.msg;
  t.equal(err?.errorCode, 6, 'protocol address unreachable');
  t.match(a.entry('10.0.0.77'), { type: 'negative' }, 'negative without waiting for the retries');
  t.equal(net.of(1, A.nbma).length, 1, 'no retransmission');
  t.ok(a.logged(/protocol address unreachable/).length);
  t.ok(hub.logged(/no route/).length);
});
