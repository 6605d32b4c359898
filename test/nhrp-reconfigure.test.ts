// NhrpEngine.reconfigure (configuration mode changing NHRP attributes of a running tunnel): learnt
// entries stay, static maps follow the config, a new NHS is registered with at once, a removed one no
// longer is, and the new holdtime and authentication are what the next packets carry.
import t from 'tap';
import { Net, Node, tunnel } from './util/nhrp-net.js';
import type { TunnelConfig } from '../appliance/config/model.js';

const HUB = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const HUB2 = { ip: '10.0.0.9', nbma: '203.0.113.9' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };

const spokeCfg = (p: Partial<TunnelConfig['nhrp']> = {}): TunnelConfig =>
  tunnel({ nhs: [{ tunnelIp: HUB.ip }], maps: [{ tunnelIp: HUB.ip, nbma: HUB.nbma }], ...p });

t.test('hub: registrations survive a holdtime change; replies carry the new holdtime', async (t) => {
  const net = new Net();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg());
  [hub, a].forEach((n) => n.engine.start());
  net.clock.advance(0);
  const learnt = hub.entry(A.ip);
  t.match(learnt, { type: 'dynamic', nbma: A.nbma });
  hub.engine.reconfigure(tunnel({ holdtime: 45 }));
  t.same(hub.entry(A.ip), learnt, 'the registration is kept as it was (created, expiry, flags)');
  a.engine.reconfigure(spokeCfg({ holdtime: 45 }));
  net.clock.advance(0);
  const req = net.requests(A.nbma).at(-1)!.msg;
  t.match(req.cies, [{ holdingTime: 45 }], 'the spoke registers again at once, with the new holdtime');
  const reply = net.sent.filter((s) => s.from === HUB.nbma && s.to === A.nbma).at(-1)!.msg;
  t.match(reply.cies, [{ holdingTime: 45 }]);
  t.match(a.engine.nhsStatus(), [{ tunnelIp: HUB.ip, up: true }]);
});

t.test('spoke: NHS and maps follow the config; removed static entries leave the cache and the data plane', async (t) => {
  const net = new Net();
  const hub = new Node(net, HUB, tunnel());
  const hub2 = new Node(net, HUB2, tunnel());
  const a = new Node(net, A, spokeCfg());
  [hub, hub2, a].forEach((n) => n.engine.start());
  net.clock.advance(0);
  a.engine.reconfigure(tunnel({ nhs: [{ tunnelIp: HUB2.ip }], maps: [{ tunnelIp: HUB2.ip, nbma: HUB2.nbma }] }));
  net.clock.advance(0);
  t.same(a.engine.nhsStatus().map((n) => n.tunnelIp), [HUB2.ip], 'only the new NHS');
  t.match(hub2.entry(A.ip), { type: 'dynamic', nbma: A.nbma }, 'registered with the new NHS');
  t.equal(a.entry(HUB.ip), undefined, 'the old map is gone from the cache');
  t.match(a.peers.at(-2), { op: 'del', tunnelIp: HUB.ip }, 'and from the data plane');
  const before = net.requests(A.nbma).filter((r) => r.to === HUB.nbma).length;
  net.clock.advance(3_600_000);
  t.equal(net.requests(A.nbma).filter((r) => r.to === HUB.nbma).length, before, 'no registration goes to the removed NHS');
});

t.test('authentication added on both ends: packets carry the new string, a peer without it is dropped', async (t) => {
  const net = new Net();
  const hub = new Node(net, HUB, tunnel());
  const a = new Node(net, A, spokeCfg());
  [hub, a].forEach((n) => n.engine.start());
  net.clock.advance(0);
  hub.engine.reconfigure(tunnel({ authentication: 'k1' }));
  a.engine.reconfigure(spokeCfg({ authentication: 'k1' }));
  net.clock.advance(0);
  const req = net.requests(A.nbma).at(-1)!.msg;
  t.same(Buffer.from(req.extensions.find((e) => e.type === 7)!.auth!.secret).toString(), 'k1');
  t.match(a.engine.nhsStatus(), [{ up: true }]);
  const drops = () => hub.engine.counters().drops;
  a.engine.reconfigure(spokeCfg());
  net.clock.advance(0);
  t.ok(Object.values(drops()).reduce((x, y) => x + y, 0) > 0, 'the hub drops the unauthenticated registration');
});
