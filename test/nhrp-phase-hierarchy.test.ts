// Hierarchical DMVPN in memory (regional hub -> central hub -> regional hub), loop detection via
// the forward transit record, hop count exhaustion, and unknown compulsory extensions, each
// answered with the right Error Indication.
import t from 'tap';
import { encodeNhrp } from '../appliance/nhrp/codec.js';
import type { NhrpMessage } from '../appliance/nhrp/types.js';
import { Net, Node, clientOf, tunnel, udpPacket } from './util/nhrp-net.js';

const C = { ip: '10.0.0.100', nbma: '203.0.113.100' };
const R1 = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const R2 = { ip: '10.0.0.101', nbma: '203.0.113.101' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3' };

function hierarchy() {
  const net = new Net();
  // Central hub routes each region's addresses to its regional hub (learnt by the routing protocol).
  const central = (d: string) => (d === B.ip || d.startsWith('192.168.20.') ? { nextHop: R2.ip }
    : d === A.ip || d.startsWith('192.168.10.') ? { nextHop: R1.ip } : undefined);
  const c = new Node(net, C, tunnel(), { routeLookup: central });
  const r1 = new Node(net, R1, clientOf([C], { redirect: true })); // default route: its NHS, the central hub
  const r2 = new Node(net, R2, clientOf([C], { redirect: true }), {
    routeLookup: (d) => (d.startsWith('192.168.20.') ? { nextHop: B.ip } : undefined),
  });
  const a = new Node(net, A, clientOf([R1], { shortcut: true }), { localPrefixes: () => [{ prefix: '192.168.10.0', len: 24 }] });
  const b = new Node(net, B, clientOf([R2], { shortcut: true }), { localPrefixes: () => [{ prefix: '192.168.20.0', len: 24 }] });
  [c, r1, r2, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  return { net, c, r1, r2, a, b };
}

t.test('Phase 2 across two regions: A -> R1 -> C -> R2, R2 answers from its registration', async (t) => {
  const { net, a, r2 } = hierarchy();
  t.match(r2.entry(B.ip), { flags: { registered: true } });
  a.engine.noEntry(B.ip, '192.168.20.5');
  const hops = net.of(1).map((s) => `${s.from}>${s.to}`);
  t.same(hops, [`${A.nbma}>${R1.nbma}`, `${R1.nbma}>${C.nbma}`, `${C.nbma}>${R2.nbma}`], 'request path');
  const atR2 = net.of(1, C.nbma, R2.nbma)[0].msg;
  t.equal(atR2.hopCount, 62);
  t.same(atR2.extensions.find((e) => e.type === 4)?.cies?.map((x) => x.proto), [R1.ip, C.ip], 'forward transit R1, C');
  const rep = net.of(2, R2.nbma, A.nbma)[0]?.msg;
  t.ok(rep, 'R2 answered the requester directly');
  t.same(rep.extensions.find((e) => e.type === 4)?.cies?.map((x) => x.proto), [R1.ip, C.ip], 'transit record echoed');
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: B.nbma });
});

t.test('Phase 3 across two regions: R1 redirects, B answers with its LAN, A gets the shortcut', async (t) => {
  const { net, r1, a, b } = hierarchy();
  t.equal(r1.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.5')), 'sent');
  t.same(net.of(1).map((s) => s.to), [R1.nbma, C.nbma, R2.nbma, B.nbma], 'request reached the owner spoke');
  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`]);
  t.match(a.entry(B.ip), { nbma: B.nbma });
  t.match(b.entry(A.ip), { nbma: A.nbma, flags: { implicit: true } });
  const atB = net.of(1, R2.nbma, B.nbma)[0].msg;
  t.same(atB.extensions.find((e) => e.type === 4)?.cies?.map((x) => x.proto), [R1.ip, C.ip, R2.ip]);
});

/** Two hubs whose routes for 10.0.0.77 point at each other. */
function loop() {
  const net = new Net();
  const H1 = R1; const H2 = C;
  const h1 = new Node(net, H1, tunnel({ maps: [{ tunnelIp: H2.ip, nbma: H2.nbma }] }), { routeLookup: () => ({ nextHop: H2.ip }) });
  const h2 = new Node(net, H2, tunnel({ maps: [{ tunnelIp: H1.ip, nbma: H1.nbma }] }), { routeLookup: () => ({ nextHop: H1.ip }) });
  const a = new Node(net, A, clientOf([H1]));
  [h1, h2, a].forEach((n) => n.engine.start());
  net.settle(0);
  return { net, h1, h2, a };
}

t.test('routing loop between hubs: Error Indication "loop detected" and the request fails at once', async (t) => {
  const { net, a, h2 } = loop();
  a.engine.noEntry('10.0.0.77', '10.0.0.77');
  const err = net.of(7).find((s) => s.to === A.nbma)?.msg;
  t.equal(err?.errorCode, 3, 'loop detected');
  t.equal(err?.dstProto, A.ip, 'addressed to the requester');
  t.match(a.entry('10.0.0.77'), { type: 'negative' });
  t.equal(net.of(1, A.nbma).length, 1, 'no retransmission after the error');
  t.ok(a.logged(/loop detected/).length, 'requester logs it');
  t.ok(h2.logged(/10\.0\.0\.77/).length);
});

function request(over: Partial<NhrpMessage>): NhrpMessage {
  return {
    type: 1, hopCount: 64, srcNbma: A.nbma, srcProto: A.ip, dstProto: '10.0.0.77', flags: 0xc802, requestId: 4242,
    cies: [{ code: 0, prefixLen: 0xff, mtu: 1400, holdingTime: 600, preference: 0 }],
    extensions: [{ type: 4, compulsory: true, cies: [] }, { type: 5, compulsory: true, cies: [] }], ...over,
  };
}

t.test('an NHS finding itself on the forward transit record reports a loop', async (t) => {
  const { net, a } = loop();
  a.engine.sendMessage(R1.nbma, request({
    extensions: [{ type: 4, compulsory: true, cies: [{ code: 0, prefixLen: 0, mtu: 1400, holdingTime: 600, preference: 0, nbma: R1.nbma, proto: R1.ip }] }],
  }));
  const err = net.of(7, R1.nbma)[0]?.msg;
  t.equal(err?.errorCode, 3);
  t.equal(net.of(1, R1.nbma).length, 0, 'not forwarded');
  t.equal(net.of(7, R1.nbma)[0].to, A.nbma);
});

t.test('hop count exhausted: Error Indication "hop count exceeded" with the packet in error', async (t) => {
  const { net, a } = loop();
  const msg = request({ hopCount: 1 });
  a.engine.sendMessage(R1.nbma, msg);
  const err = net.of(7, R1.nbma)[0]?.msg;
  t.equal(err?.errorCode, 15);
  t.same([...err!.payload!], [...encodeNhrp(msg)], 'payload is the packet in error');
  t.equal(net.of(1, R1.nbma).length, 0, 'not forwarded');
  t.ok(a.logged(/hop count exceeded/).length, 'requester logs the error');
});

t.test('unknown compulsory extension: Error Indication code 1 pointing at it; unknown optional ones are fine', async (t) => {
  const net = new Net();
  const hub = new Node(net, R1, tunnel());
  // A knows the hub by a map (not registered): an Error Indication from an unknown NBMA is refused.
  const a = new Node(net, A, tunnel({ maps: [{ tunnelIp: R1.ip, nbma: R1.nbma }] }));
  hub.engine.start(); a.engine.start();
  const reg = (compulsory: boolean): NhrpMessage => ({
    type: 3, hopCount: 1, srcNbma: A.nbma, srcProto: A.ip, dstProto: R1.ip, flags: 0x8002, requestId: 77,
    cies: [{ code: 0, prefixLen: 0xff, mtu: 1400, holdingTime: 600, preference: 0 }],
    extensions: [{ type: 3, compulsory: true, cies: [] }, { type: 0x1234, compulsory, raw: new Uint8Array([1, 2, 3, 4]) }],
  });
  const bytes = encodeNhrp(reg(true));
  a.engine.sendMessage(R1.nbma, reg(true));
  const err = net.of(7, R1.nbma, A.nbma)[0]?.msg;
  t.equal(err?.errorCode, 1, 'unrecognized extension');
  const extoff = (bytes[14] << 8) | bytes[15];
  t.equal(err?.errorOffset, extoff + 4, 'offset of the offending extension (after the 4-byte responder ext)');
  t.same([...err!.payload!], [...bytes]);
  t.notOk(hub.entry(A.ip), 'packet not processed');
  t.equal(net.of(4).length, 0, 'no registration reply');
  t.equal(hub.engine.counters().drops['unknown-compulsory-extension'], 1);
  t.ok(a.logged(/unrecognized extension/).length, 'receiver logs the error indication');
  t.equal(net.of(7, A.nbma).length, 0, 'an error indication is never answered with one');

  a.engine.sendMessage(R1.nbma, reg(false));
  t.match(hub.entry(A.ip), { type: 'dynamic', nbma: A.nbma }, 'non-compulsory unknown extension is ignored');
  t.equal(net.of(4).length, 1);
});
