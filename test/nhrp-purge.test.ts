// Purge (clear ip nhrp) in memory: the owner purges the prefixes it gave out at every requester,
// requesters drop the shortcut and reply, unanswered purges are retransmitted, N suppresses replies.
import t from 'tap';
import { PURGE_RETRIES } from '../appliance/nhrp/purge.js';
import { Net, Node, clientOf, tunnel, udpPacket } from './util/nhrp-net.js';
import { encodeNhrp } from '../appliance/nhrp/codec.js';

const HUB = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3' };

function withShortcuts() {
  const net = new Net();
  const rib: Record<string, string> = { '192.168.10': A.ip, '192.168.20': B.ip };
  const hub = new Node(net, HUB, tunnel({ redirect: true }), {
    routeLookup: (d) => { const n = rib[d.split('.').slice(0, 3).join('.')]; return n ? { nextHop: n } : undefined; },
  });
  const a = new Node(net, A, clientOf([HUB], { shortcut: true }), { localPrefixes: () => [{ prefix: '192.168.10.0', len: 24 }] });
  const b = new Node(net, B, clientOf([HUB], { shortcut: true }), { localPrefixes: () => [{ prefix: '192.168.20.0', len: 24 }] });
  [hub, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.5'));
  hub.engine.trafficIndication(B.nbma, B.ip, udpPacket('192.168.20.5', '192.168.10.5'));
  return { net, hub, a, b };
}

t.test('clear ip nhrp at the owner purges its prefix at the requester; both sides lose the shortcut', async (t) => {
  const { net, a, b } = withShortcuts();
  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`]);
  t.same(b.routes, [`+192.168.10.0/24 via ${A.ip}`]);
  b.engine.clearCache();
  const pr = net.of(5, B.nbma, A.nbma);
  t.equal(pr.length, 1, 'one Purge Request, to the requester B answered');
  t.match(pr[0].msg, { flags: 0, srcProto: B.ip, dstProto: A.ip, cies: [{ prefixLen: 24, proto: '192.168.20.0', nbma: B.nbma }] });
  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`, '-192.168.20.0/24'], 'requester removed the shortcut');
  t.notOk(a.entry('192.168.20.0', 24));
  const rep = net.of(6, A.nbma, B.nbma);
  t.equal(rep.length, 1, 'Purge Reply');
  t.equal(rep[0].msg.requestId, pr[0].msg.requestId);
  t.same(b.routes, [`+192.168.10.0/24 via ${A.ip}`, '-192.168.10.0/24'], 'B dropped its own shortcut');
  t.notOk(b.entry(A.ip), 'dynamic entries cleared');
  t.match(b.entry(HUB.ip), { type: 'static' }, 'static NHS entry stays');
  t.match(b.peers.at(-1), { op: 'del', tunnelIp: A.ip });
  t.notOk(b.entry('192.168.20.0', 24), 'local entry gone after the purge');
  net.settle(30_000);
  t.equal(net.of(5).length, 1, 'answered: never retransmitted');
});

t.test('the Purge Reply to a purge of ours is taken although clear ip nhrp already dropped its sender', async (t) => {
  const { net, a, b } = withShortcuts();
  net.cut.add(A.nbma); // the first purge is lost: A answers only the retransmission, when B no longer knows A
  b.engine.clearCache();
  t.notOk(b.entry(A.ip), 'B has no entry for A any more');
  net.cut.delete(A.nbma);
  net.settle(1_500);
  const purges = net.of(5, B.nbma, A.nbma).length, replies = net.of(6, A.nbma, B.nbma);
  t.equal(purges, 2, 'B retransmitted its purge once');
  t.equal(replies.length, 1, 'A answered the retransmission');
  t.equal(b.engine.counters().refused['unknown-source'] ?? 0, 0, 'the reply was not refused as coming from an unknown sender');
  net.settle(60_000);
  t.equal(net.of(5, B.nbma, A.nbma).length, purges, 'answered: not retransmitted again (each retransmission could bring an SA with A back)');
  t.notOk(b.logged(/unanswered/).length, 'not given up as unanswered');
  // the same reply again (a replay), or from another NBMA: no purge of B's waits for it any more, refused
  const reply = { ...replies[0].msg, srcNbma: A.nbma };
  const before = b.engine.counters().refused['unknown-source'] ?? 0;
  b.engine.receive(A.nbma, B.nbma, encodeNhrp(reply));
  b.engine.receive('198.51.100.66', B.nbma, encodeNhrp({ ...reply, srcNbma: '198.51.100.66' }));
  t.equal((b.engine.counters().refused['unknown-source'] ?? 0) - before, 2, 'a replayed reply and one from elsewhere are refused');
});

t.test('a Purge Reply from an unknown NBMA is taken only for a purge in flight to it, by its request id', async (t) => {
  const { net, a, b } = withShortcuts();
  net.cut.add(A.nbma); // B's purge to A stays in flight (retransmitted), unanswered
  b.engine.clearCache();
  const pr = net.of(5, B.nbma, A.nbma)[0].msg;
  const reply = (id: number, from: string) => encodeNhrp({ ...pr, type: 6, srcNbma: from, requestId: id });
  const unknown = () => b.engine.counters().refused['unknown-source'] ?? 0;
  b.engine.receive(A.nbma, B.nbma, reply((pr.requestId + 1) >>> 0, A.nbma));
  t.equal(unknown(), 1, 'another request id from A: refused');
  b.engine.receive('198.51.100.66', B.nbma, reply(pr.requestId, '198.51.100.66'));
  t.equal(unknown(), 2, 'the right id from another NBMA: refused');
  b.engine.receive(A.nbma, B.nbma, reply(pr.requestId, A.nbma));
  t.equal(unknown(), 2, 'the right id from A: taken');
  const sent = net.of(5, B.nbma, A.nbma).length;
  net.settle(60_000);
  t.equal(net.of(5, B.nbma, A.nbma).length, sent, 'and the purge is no longer retransmitted');
  void a;
});

t.test('unanswered purge is retransmitted with backoff, then given up and logged', async (t) => {
  const { net, a, b } = withShortcuts();
  net.cut.add(A.nbma);
  b.engine.clearCache();
  net.settle(60_000);
  t.equal(net.of(5, B.nbma).length, PURGE_RETRIES + 1);
  t.ok(b.logged(/purge of 192\.168\.20\.0\/24 at 10\.0\.0\.2 unanswered/).length);
  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`], 'A never heard it');
});

t.test('a purge still being retransmitted is dropped once the owner answers the same requester anew', async (t) => {
  const { net, hub, a, b } = withShortcuts();
  net.cut.add(A.nbma); // A is away while B clears: B's purge goes unanswered and is retransmitted
  b.engine.clearCache();
  a.engine.clearCache();
  net.settle(1_500);
  t.equal(net.of(5, B.nbma, A.nbma).length, 2, 'B retransmits its purge');
  net.cut.delete(A.nbma);
  // traffic again (another host pair: the hub rate-limits indications per pair): A resolves B's
  // prefix and B answers it, a fresh binding for the same requester
  hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.6', '192.168.20.6'));
  net.settle(0);
  t.equal(a.routes.at(-1), `+192.168.20.0/24 via ${B.ip}`, 'A has a new shortcut to B');
  const sent = net.of(5, B.nbma, A.nbma).length;
  net.settle(60_000);
  t.equal(net.of(5, B.nbma, A.nbma).length, sent, 'the stale purge is not sent again');
  t.equal(a.routes.at(-1), `+192.168.20.0/24 via ${B.ip}`, 'so it cannot take the new shortcut away');
  t.ok(b.logged(/purge of 192\.168\.20\.0\/24 at 10\.0\.0\.2 dropped: answered again/).length, 'logged');
});

t.test('Purge Request with N: entries removed, no reply; a purge of a tunnel address drops its shortcuts', async (t) => {
  const { net, a, b } = withShortcuts();
  b.engine.sendMessage(A.nbma, {
    type: 5, hopCount: 64, srcNbma: B.nbma, srcProto: B.ip, dstProto: A.ip, flags: 0x8000, requestId: 999,
    cies: [{ code: 0, prefixLen: 32, mtu: 1400, holdingTime: 0, preference: 0, proto: B.ip }], extensions: [],
  });
  t.equal(net.of(6).length, 0, 'N flag: no reply');
  t.notOk(a.entry(B.ip), 'binding for B removed');
  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`, '-192.168.20.0/24'], 'shortcut via B went with it');
  t.ok(a.logged(/purge from 10\.0\.0\.3 .*10\.0\.0\.3\/32: 1 entries removed/).length);
});
