// `router ospf`, `router bgp` and `ip ospf ...`: parsed into the model, rendered back (round trip),
// bad lines refused with a message naming the problem; other protocols keep the catch-all.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import { loadConfig as load, HUB_ROUTING } from './util/routing-configs.js';
import { renderConfig } from '../appliance/config/render.js';
import type { TunnelConfig } from '../appliance/config/model.js';

const refuse = (text: string) => {
  const r = parseStartupConfig(text);
  return r.ok ? undefined : r.errors[0];
};

// the shared hub with some settings given again in their other forms: a later line replaces the earlier
const HUB_OSPF = `${HUB_ROUTING}interface Tunnel0
 ip ospf dead-interval 8
router ospf 1
 log-adjacency-changes
 default-information originate always
 area 1 stub no-summary
`;

t.test('router ospf and ip ospf on the tunnel', async (t) => {
  const c = load(HUB_OSPF);
  t.strictSame(c.ospf, {
    processId: 1, routerId: '1.1.1.1', logAdjacencyChanges: 'on', passiveDefault: true, passive: [], active: ['Tunnel0'],
    networks: [{ address: '192.168.0.0', wildcard: '0.0.0.255', area: '0' }, { address: '10.0.1.0', wildcard: '0.0.0.255', area: '0' }],
    redistribute: [{ source: 'static', subnets: true }], defaultOriginate: { always: true }, stubAreas: [{ area: '1', noSummary: true }],
  });
  const tun = c.interfaces.find((i) => i.name === 'Tunnel0') as TunnelConfig;
  t.strictSame(tun.ospf, { network: 'broadcast', priority: 255, helloInterval: 2, deadInterval: 8 });
  t.same(c.inactive, [], 'nothing accepted-but-inactive');
  const text = renderConfig(c);
  t.match(text, /interface Tunnel0\n[^!]* ip ospf network broadcast\n ip ospf hello-interval 2\n ip ospf dead-interval 8\n ip ospf priority 255\n/);
  t.match(text, /router ospf 1\n router-id 1\.1\.1\.1\n log-adjacency-changes\n area 1 stub no-summary\n redistribute static subnets\n passive-interface default\n no passive-interface Tunnel0\n network 192\.168\.0\.0 0\.0\.0\.255 area 0\n/);
  t.strictSame(load(text), { ...c, inactive: [] }, 'running-config loads back to the same model');
});

const HUB_BGP = `hostname R1
router bgp 65000
 bgp router-id 1.1.1.1
 bgp log-neighbor-changes
 neighbor SPOKES peer-group
 neighbor SPOKES remote-as 65000
 neighbor SPOKES timers 5 15
 bgp listen range 192.168.0.0/24 peer-group SPOKES
 neighbor 10.9.9.9 remote-as 65001
 neighbor 10.9.9.9 update-source FastEthernet0/1
 timers bgp 10 30
 no auto-summary
 address-family ipv4
  neighbor SPOKES route-reflector-client
  neighbor SPOKES activate
  network 10.0.1.0 mask 255.255.255.0
  aggregate-address 10.0.0.0 255.0.0.0 summary-only
  redistribute connected
 exit-address-family
`;

t.test('router bgp: peer-group, listen range, route reflection, aggregate (flat and address-family forms)', async (t) => {
  const c = load(HUB_BGP);
  t.strictSame(c.bgp, {
    asn: 65000, routerId: '1.1.1.1', logNeighborChanges: true, timers: { keepalive: 10, hold: 30 },
    peerGroups: [{ name: 'SPOKES', remoteAs: 65000, timers: { keepalive: 5, hold: 15 }, routeReflectorClient: true }],
    neighbors: [{ address: '10.9.9.9', remoteAs: 65001, updateSource: 'FastEthernet0/1' }],
    listenRanges: [{ prefix: '192.168.0.0', len: 24, peerGroup: 'SPOKES' }],
    networks: [{ prefix: '10.0.1.0', mask: '255.255.255.0' }], redistribute: [{ source: 'connected' }],
    aggregates: [{ prefix: '10.0.0.0', mask: '255.0.0.0', summaryOnly: true }],
  });
  const text = renderConfig(c);
  t.match(text, /router bgp 65000\n bgp router-id 1\.1\.1\.1\n bgp log-neighbor-changes\n timers bgp 10 30\n/);
  t.match(text, / neighbor SPOKES route-reflector-client\n bgp listen range 192\.168\.0\.0\/24 peer-group SPOKES\n/);
  t.match(text, / neighbor SPOKES peer-group\n neighbor SPOKES remote-as 65000\n neighbor SPOKES timers 5 15\n neighbor SPOKES route-reflector-client\n/);
  t.match(text, / aggregate-address 10\.0\.0\.0 255\.0\.0\.0 summary-only\n/);
  t.strictSame(load(text), { ...c, inactive: [] }, 'the flat form loads back to the same model');
});

t.test('spoke neighbor by peer-group membership, classful network, no-forms', async (t) => {
  const c = load('router bgp 65000\n neighbor HUB peer-group\n neighbor HUB remote-as 65000\n neighbor 192.168.0.1 peer-group HUB\n network 10.0.0.0\n');
  t.strictSame(c.bgp!.neighbors, [{ address: '192.168.0.1', peerGroup: 'HUB' }]);
  t.strictSame(c.bgp!.networks, [{ prefix: '10.0.0.0', mask: '255.0.0.0' }], 'IOS classful mask without `mask`');
  const d = load('router bgp 65000\n neighbor 192.168.0.1 remote-as 65000\n no neighbor 192.168.0.1 remote-as 65000\nrouter ospf 1\n network 10.0.0.0 0.255.255.255 area 0\nno router ospf 1\n');
  t.strictSame(d.bgp!.neighbors, [], '`no neighbor X remote-as` removes the neighbor');
  t.equal(d.ospf, undefined, '`no router ospf` removes the process');
});

t.test('bad routing lines are refused with a message', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['router ospf 1\n network 10.0.0.0 0.255.0.255 area 0\n', /wildcard 0\.255\.0\.255 is not contiguous/],
    ['router ospf 1\n network 10.0.0.0 0.0.0.255 area 0\n network 10.0.0.0 0.0.0.255 area 1\n', /already defined in area 0/],
    ['router ospf 1\n area 0 stub\n', /Backbone can not be configured as stub area/],
    ['router ospf 1\nrouter ospf 2\n', /only one OSPF process is supported/],
    ['router bgp 65000\nrouter bgp 65001\n', /BGP is already running; AS is 65000/],
    ['router bgp 65000\n neighbor 10.0.0.1 route-reflector-client\n', /Specify remote-as or peer-group commands first/],
    ['router bgp 65000\n bgp listen range 192.168.0.0/24 peer-group NOPE\n', /peer-group NOPE does not exist/],
    ['router bgp 65000\n neighbor G peer-group\n bgp listen range 192.168.0.1/24 peer-group G\n', /Inconsistent address and mask/],
    ['router bgp 65000\n neighbor G peer-group\n bgp listen range 192.168.0.0 peer-group G\n', /expected a prefix A\.B\.C\.D\/nn/],
    ['router bgp 65000\n aggregate-address 10.0.0.1 255.0.0.0\n', /Inconsistent address and mask/],
    ['router bgp 65000\n auto-summary\n', /auto-summary is not supported/],
    ['router ospf 1\n distribute-list 1 in\n', /Invalid input/],
    ['interface Tunnel0\n ip ospf network nbma\n', /Invalid input/],
    ['interface Tunnel0\n ip ospf priority 256\n', /Invalid input/],
  ];
  for (const [text, msg] of cases) {
    const e = refuse(text);
    t.ok(e, `refused: ${text.trim().split('\n').pop()}`);
    t.match(e?.message ?? '', msg);
  }
});

t.test('OSPF authentication: interface and area, round trip, key lengths', async (t) => {
  const text = 'interface Tunnel0\n ip ospf authentication message-digest\n ip ospf message-digest-key 2 md5 K2\n ip ospf message-digest-key 1 md5 K1\n' +
    'interface FastEthernet0/1\n ip ospf authentication\n ip ospf authentication-key pass8chr\nrouter ospf 1\n area 0 authentication message-digest\n';
  const c = load(text);
  const tun = c.interfaces.find((i) => i.name === 'Tunnel0') as TunnelConfig;
  t.strictSame(tun.ospf, { authentication: 'message-digest', md5Keys: [{ id: 1, key: 'K1' }, { id: 2, key: 'K2' }] });
  t.strictSame(c.interfaces.find((i) => i.name === 'FastEthernet0/1')!.ospf, { authentication: 'text', authKey: 'pass8chr' });
  t.strictSame(c.ospf!.areaAuth, [{ area: '0', messageDigest: true }]);
  t.strictSame(load(renderConfig(c)), { ...c, inactive: [] }, 'round trip');
  const d = load(`${text}interface Tunnel0\n no ip ospf message-digest-key 1 md5 K1\nrouter ospf 1\n no area 0 authentication message-digest\n`);
  t.strictSame((d.interfaces.find((i) => i.name === 'Tunnel0') as TunnelConfig).ospf!.md5Keys, [{ id: 2, key: 'K2' }]);
  t.equal(d.ospf!.areaAuth, undefined);
  t.match(refuse('interface Tunnel0\n ip ospf authentication-key 123456789\n')?.message, /at most 8 characters/);
  t.match(refuse('interface Tunnel0\n ip ospf message-digest-key 1 md5 12345678901234567\n')?.message, /at most 16 characters/);
});

t.test('router eigrp is its own (active) process beside OSPF; unknown ip ospf sub-commands stay accepted-inactive', async (t) => {
  const c = load('router eigrp 1\n network 10.0.0.0\ninterface Tunnel0\n ip ospf flood-reduction\n');
  t.equal(c.ospf, undefined);
  t.equal(c.eigrp?.processes[0].asn, 1);
  t.notOk(c.inactive.some((i) => i.text === 'router eigrp 1'));
  t.ok(c.inactive.some((i) => i.text === 'ip ospf flood-reduction'));
});
