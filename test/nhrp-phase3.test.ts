// Phase 3 end to end in memory: the hub redirects (Cisco Traffic Indication, rate limited), the
// spoke resolves the packet's destination, the hub forwards to the spoke owning the prefix, which
// answers with its covering LAN prefix; shortcut routes come up on both sides and age out unless used.
import t from 'tap';
import { REDIRECT_TIMEOUT_S } from '../appliance/nhrp/redirect.js';
import { HOLD, Net, Node, clientOf, tunnel, udpPacket } from './util/nhrp-net.js';

const HUB = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3' };
const LAN_A = { prefix: '192.168.10.0', len: 24 };
const LAN_B = { prefix: '192.168.20.0', len: 24 };

function phase3(spoke: { shortcut?: boolean } = {}) {
  const net = new Net();
  const rib: Record<string, string> = { '192.168.10': A.ip, '192.168.20': B.ip };
  const hub = new Node(net, HUB, tunnel({ redirect: true }), {
    routeLookup: (d) => (rib[d.split('.').slice(0, 3).join('.')] ? { nextHop: rib[d.split('.').slice(0, 3).join('.')] } : undefined),
  });
  const a = new Node(net, A, clientOf([HUB], { shortcut: spoke.shortcut ?? true }), { localPrefixes: () => [LAN_A] });
  const b = new Node(net, B, clientOf([HUB], { shortcut: spoke.shortcut ?? true }), { localPrefixes: () => [LAN_B] });
  [hub, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  return { net, hub, a, b };
}

t.test('hub sends a Traffic Indication, at most one per source/destination every 2 s', async (t) => {
  const { net, hub, a } = phase3({ shortcut: false });
  const pkt = udpPacket('192.168.10.5', '192.168.20.5');
  t.equal(hub.engine.trafficIndication(A.nbma, A.ip, pkt), 'sent');
  const ti = net.of(8, HUB.nbma, A.nbma);
  t.equal(ti.length, 1);
  t.match(ti[0].msg, { hopCount: 1, srcNbma: HUB.nbma, srcProto: HUB.ip, dstProto: '192.168.10.5', trafficCode: 0 },
    'addressed to the packet source, hop count 1 (FRR)');
  t.same([...ti[0].msg.payload!], [...pkt], 'carries the packet');
  t.equal(hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.6', '192.168.20.5')), 'rate-limited',
    'same spoke, same destination');
  t.equal(hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.9')), 'sent', 'other destination');
  net.settle(REDIRECT_TIMEOUT_S * 1000 - 1);
  t.equal(hub.engine.trafficIndication(A.nbma, A.ip, pkt), 'rate-limited', 'just before the timeout');
  net.settle(1);
  t.equal(hub.engine.trafficIndication(A.nbma, A.ip, pkt), 'sent', 'after the timeout');
  t.equal(hub.engine.trafficIndication(A.nbma, A.ip, new Uint8Array(10)), 'not-ipv4');
  t.equal(net.of(8).length, 3);
  t.equal(a.engine.counters().drops['shortcut-disabled'], 3, 'spoke without shortcut ignores them');
  t.equal(net.of(1, A.nbma).length, 0, 'and resolves nothing');
  const off = phase3();
  t.equal(off.a.engine.trafficIndication(HUB.nbma, HUB.ip, pkt), 'disabled', 'no redirect configured: nothing sent');
});

t.test('redirect -> resolution of the destination -> owner answers with its LAN prefix -> shortcuts both ways', async (t) => {
  const { net, hub, a, b } = phase3();
  hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.5'));
  const req = net.of(1, A.nbma, HUB.nbma)[0]?.msg;
  t.equal(req?.dstProto, '192.168.20.5', 'spoke resolves the packet destination');
  const fwd = net.of(1, HUB.nbma, B.nbma)[0]?.msg;
  t.equal(fwd?.requestId, req.requestId, 'hub forwarded it to the spoke owning the prefix');
  const rep = net.of(2, B.nbma, A.nbma)[0]?.msg;
  t.match(rep?.cies, [{ code: 0, prefixLen: 24, nbma: B.nbma, proto: B.ip, holdingTime: HOLD }], 'covering prefix /24');
  t.equal(rep.dstProto, '192.168.20.5');
  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`], 'shortcut route installed at A');
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: B.nbma, prefixLen: 32 }, 'and the binding for its next hop');
  t.match(a.entry('192.168.20.0', 24), { type: 'dynamic', via: B.ip, nbma: B.nbma, flags: { router: true, rib: true, nho: true } },
    'shown like IOS show ip nhrp shortcut');
  t.match(b.entry(A.ip), { type: 'dynamic', nbma: A.nbma, flags: { implicit: true } }, 'owner learnt the requester');
  t.match(b.entry('192.168.20.0', 24), { type: 'local', flags: { local: true } }, 'owner keeps a local entry');

  // the return traffic is redirected too: B gets the shortcut to A's LAN
  hub.engine.trafficIndication(B.nbma, B.ip, udpPacket('192.168.20.5', '192.168.10.5'));
  t.same(b.routes, [`+192.168.10.0/24 via ${A.ip}`], 'shortcut route installed at B');
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: B.nbma }, 'A keeps its binding for B');

  // a second redirect for a destination already covered does not re-resolve
  net.settle(REDIRECT_TIMEOUT_S * 1000);
  hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.77'));
  t.equal(net.of(1, A.nbma).length, 1, 'covered by the shortcut: no new request');
});

t.test('shortcuts age out with the holding time unless used; used ones are refreshed', async (t) => {
  const { net, hub, a } = phase3();
  hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.5'));
  t.equal(a.routes.length, 1);
  net.settle(HOLD * 1000 - 1);
  t.equal(a.routes.length, 1, 'still there just before the holding time');
  t.equal(net.of(1, A.nbma).length, 1, 'unused: no refresh');
  net.settle(1);
  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`, '-192.168.20.0/24'], 'removed at the holding time');
  t.notOk(a.entry('192.168.20.0', 24));
  t.ok(a.logged(/shortcut 192\.168\.20\.0\/24 .* removed \((expired|next hop)/).length);

  // again, this time with traffic
  net.settle(REDIRECT_TIMEOUT_S * 1000);
  hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.5'));
  t.equal(a.routes.length, 3);
  net.settle(100_000);
  a.engine.markUsed(B.ip);
  net.settle(300_000); // 2/3 of 600 s
  t.equal(net.of(1, A.nbma).length, 3, 'used shortcut re-resolved at 2/3 of the holding time');
  net.settle(201_000); // past the expiry the first reply gave
  t.equal(a.routes.length, 3, 'refreshed: not removed at the old expiry');
  t.match(a.entry('192.168.20.0', 24), { via: B.ip });
  net.settle(HOLD * 1000);
  t.equal(a.routes.at(-1), '-192.168.20.0/24', 'once unused it ages out');
});

t.test('a spoke never answers for a prefix it does not own', async (t) => {
  const { net, hub, a, b } = phase3();
  hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.99.5'));
  t.equal(net.of(7, HUB.nbma, A.nbma)[0]?.msg.errorCode, 6, 'no route at the hub: unreachable');
  t.same(a.routes, []);
  t.equal(net.of(2).length, 0);
  t.same(b.routes, []);
});
