// Identity-bound NHRP (issue 10) against the engine in memory: the hub's NhrpIdentityBinding binds a
// registered tunnel address to the IKE identity its registration came through; another identity may
// neither register nor purge it (refused, counted, logged), the same identity moves to a new NBMA
// address at once, and the binding ends with the registration. Every packet goes through the codec.
import t from 'tap';
import { encodeNhrp } from '../appliance/nhrp/codec.js';
import { CieCode, FLAG_REG_UNIQUE, NhrpType } from '../appliance/nhrp/types.js';
import type { NhrpMessage } from '../appliance/nhrp/types.js';
import { NhrpIdentityBinding } from '../appliance/supervisor/nhrp-identity.js';
import { Net, Node, tunnel } from './util/nhrp-net.js';
import { cie } from './util/nhrp-samples.js';

const HUB = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2', id: '172.16.25.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3', id: '172.16.35.2' };
const NAT = '198.51.100.99'; // A and B behind one NAT

function hub() {
  const net = new Net();
  let identity: string | undefined;
  const binding = new NhrpIdentityBinding({ identity: () => identity });
  const node = new Node(net, HUB, tunnel(), { ownership: { check: (ip) => binding.check(ip), bind: (ip) => binding.bind(ip), isOwner: (ip) => binding.isOwner(ip) } });
  node.engine.start();
  // as the overlay does: the identity of the SA the packet came through, while it is handled
  const from = (nbma: string, id: string | undefined, m: Partial<NhrpMessage> & Pick<NhrpMessage, 'type' | 'srcProto' | 'dstProto'>) => {
    identity = id;
    try { node.engine.receive(nbma, HUB.nbma, encodeNhrp({ hopCount: 64, srcNbma: nbma, flags: 0, requestId: 1, cies: [], extensions: [], ...m })); }
    finally { identity = undefined; }
  };
  const register = (nbma: string, id: string | undefined, ip: string, flags = 0) =>
    from(nbma, id, { type: NhrpType.RegistrationRequest, srcProto: ip, dstProto: HUB.ip, flags, requestId: Math.floor(Math.random() * 1e6), cies: [cie({ prefixLen: 0xff })] });
  const purge = (nbma: string, id: string | undefined, srcIp: string, ip: string) =>
    from(nbma, id, { type: NhrpType.PurgeRequest, srcProto: srcIp, dstProto: HUB.ip, requestId: 7, cies: [cie({ proto: ip, prefixLen: 32 })] });
  const refused = (k: string) => node.engine.counters().refused[k] ?? 0;
  const lastCode = (to: string) => net.of(NhrpType.RegistrationReply, HUB.nbma, to).at(-1)?.msg.cies[0]?.code;
  return { net, node, binding, register, purge, refused, lastCode };
}

t.test('a registration for an address bound to another identity is refused, counted and logged', async (t) => {
  const h = hub();
  h.register(A.nbma, A.id, A.ip);
  t.match(h.node.entry(A.ip), { nbma: A.nbma, flags: { registered: true } });
  t.equal(h.binding.ownerOf(A.ip), A.id, 'bound to the identity that registered it');
  // B (non-unique, so the unique rule does not stop it) claims A's tunnel address over its own SA
  h.register(B.nbma, B.id, A.ip);
  t.match(h.node.entry(A.ip), { nbma: A.nbma }, 'still A\'s: no hijack');
  t.equal(h.refused('registration-identity'), 1, 'counted');
  t.equal(h.lastCode(B.nbma), CieCode.AdministrativelyProhibited, 'B is told no');
  t.ok(h.node.logged(/registration of 10\.0\.0\.2 from NBMA 198\.51\.100\.3 refused: 10\.0\.0\.2 is bound to IKE identity 172\.16\.25\.2, .*authenticated as 172\.16\.35\.2/).length, 'logged with both identities');
  // a packet that came through no IKE SA cannot claim a bound address either
  h.register(B.nbma, undefined, A.ip);
  t.equal(h.refused('registration-identity'), 2);
  t.match(h.node.entry(A.ip), { nbma: A.nbma });
  // B's own address is B's
  h.register(B.nbma, B.id, B.ip);
  t.match(h.node.entry(B.ip), { nbma: B.nbma });
  t.equal(h.binding.ownerOf(B.ip), B.id);
});

t.test('the same identity re-registering from a new NBMA address is accepted at once', async (t) => {
  const h = hub();
  h.register(A.nbma, A.id, A.ip);
  h.register('198.51.100.77', A.id, A.ip);
  t.match(h.node.entry(A.ip), { nbma: '198.51.100.77', flags: { registered: true } }, 'moved');
  t.equal(h.lastCode('198.51.100.77'), CieCode.Success);
  t.equal(h.refused('registration-identity'), 0);
});

t.test('a unique registration: its own identity moves it at once, nobody else can', async (t) => {
  const h = hub();
  h.register(A.nbma, A.id, A.ip, FLAG_REG_UNIQUE);
  // the same IKE identity from a new address (DHCP renumbered the spoke): replaced at once
  h.register('198.51.100.77', A.id, A.ip, FLAG_REG_UNIQUE);
  t.match(h.node.entry(A.ip), { nbma: '198.51.100.77', flags: { registered: true, unique: true } }, 'moved by its owner');
  t.equal(h.lastCode('198.51.100.77'), CieCode.Success);
  t.ok(h.node.logged(/unique registration of the same owner replaced/).length, 'logged as the owner\'s move');
  // through no IKE SA (no identity) from a third address: refused by the binding before the unique rule
  h.register('198.51.100.78', undefined, A.ip, FLAG_REG_UNIQUE);
  t.match(h.node.entry(A.ip), { nbma: '198.51.100.77' }, 'still where its owner put it');
  t.equal(h.lastCode('198.51.100.78'), CieCode.AdministrativelyProhibited, 'refused: bound to another identity');
  t.equal(h.refused('registration-identity'), 1, 'counted');
});

t.test('behind one NAT: a spoke cannot purge the other\'s registration; its own purge is honoured; then the address is free', async (t) => {
  const h = hub();
  h.register(NAT, A.id, A.ip);
  h.register(NAT, B.id, B.ip);
  t.match(h.node.entry(A.ip), { nbma: NAT });
  t.match(h.node.entry(B.ip), { nbma: NAT });
  // same NBMA address, so only the identity tells them apart
  h.purge(NAT, B.id, B.ip, A.ip);
  t.match(h.node.entry(A.ip), { nbma: NAT }, 'A kept');
  t.equal(h.refused('purge-identity'), 1, 'counted');
  t.ok(h.node.logged(/purge of 10\.0\.0\.2 from NBMA 198\.51\.100\.99 refused: .*bound to IKE identity 172\.16\.25\.2/).length, 'logged');
  h.purge(NAT, A.id, A.ip, A.ip);
  t.notOk(h.node.entry(A.ip), 'A purged its own');
  t.equal(h.refused('purge-identity'), 1);
  // the overlay releases the binding when the entry goes (peerChanged del); so does this test
  h.binding.release(A.ip);
  h.register(NAT, B.id, A.ip);
  t.match(h.node.entry(A.ip), { nbma: NAT, flags: { registered: true } }, 'a free address may be registered by anyone with an SA');
  t.equal(h.binding.ownerOf(A.ip), B.id);
});

t.test('without IKE (no identities) nothing is bound and registrations behave as before', async (t) => {
  const h = hub();
  h.register(A.nbma, undefined, A.ip);
  t.equal(h.binding.size, 0);
  h.register(B.nbma, undefined, A.ip);
  t.match(h.node.entry(A.ip), { nbma: B.nbma }, 'non-unique replacement as in plain DMVPN');
  t.equal(h.refused('registration-identity'), 0);
});
