// show ip route formatter and the rows behind it: the kernel table (as routing/kernel-table.ts holds
// it) in IOS 15 terms — codes from the kernel protocol, connected networks with their L addresses
// (also when `ip route ... <interface>` replaced the kernel's connected route), the IOS 15 layout
// (legend, gateway of last resort, classful grouping), and Phase 3 shortcuts as H routes or as the
// `%` next-hop override of the route they override.
import t from 'tap';
import { formatIpRoute } from '../appliance/show/ip-route.js';
import { frrRibMetrics, routeRows, type RouteSource } from '../appliance/supervisor/exec-routes.js';
import type { Address, Route } from '../appliance/routing/kernel-table.js';

const NOW = 1_700_000_000_000;
const IOS: Record<string, string> = { 'fa0-0': 'FastEthernet0/0', 'fa0-1': 'FastEthernet0/1', 'se4-0': 'Serial4/0' };

/** A kernel route as the table holds it; protocol by iproute2 name. */
function route(dst: string, o: { via?: string; dev: string; proto: 'kernel' | 'boot' | 'static' | 'ospf' | 'bgp' | 'eigrp' | 'nhrp' | 'ra'; metric?: number; blackhole?: boolean }): Route {
  const [prefix, len] = dst.split('/');
  const protocol = { kernel: 2, boot: 3, static: 4, ra: 9, bgp: 186, ospf: 188, nhrp: 191, eigrp: 192 }[o.proto];
  return { prefix, len: Number(len), tos: 0, metric: o.metric ?? 0, protocol, scope: o.via ? 0 : 253, type: o.blackhole ? 6 : 1, flags: 0,
    gateway: o.via, dev: o.dev, oif: 1, nexthops: [] };
}
const addr = (cidr: string, ifname: string): Address => { const [address, len] = cidr.split('/'); return { index: 1, ifname, address, prefixLen: Number(len) }; };

function source(routes: Route[], addresses: Address[], extra: Partial<RouteSource> = {}): RouteSource {
  return { routes, addresses, iosName: (d) => IOS[d] ?? d, shortcuts: [], tunnelName: 'Tunnel0', since: () => NOW - 75_000, now: NOW, ...extra };
}

const HUB_ADDRS = [addr('172.16.15.2/30', 'fa0-0'), addr('10.0.1.1/24', 'fa0-1'), addr('192.168.0.1/24', 'Tunnel0')];

t.test('seed 003 hub: the whole table in the IOS 15 layout', async (t) => {
  const routes = [
    route('0.0.0.0/0', { via: '172.16.15.1', dev: 'fa0-0', proto: 'boot', metric: 1 }),
    route('10.0.1.0/24', { dev: 'fa0-1', proto: 'kernel' }),
    route('10.0.2.0/24', { via: '192.168.0.2', dev: 'Tunnel0', proto: 'boot' }),
    route('10.0.3.0/24', { via: '192.168.0.3', dev: 'Tunnel0', proto: 'boot' }),
    route('172.16.15.0/30', { dev: 'fa0-0', proto: 'kernel' }),
    route('192.168.0.0/24', { dev: 'Tunnel0', proto: 'kernel' }),
  ];
  const out = formatIpRoute(routeRows(source(routes, HUB_ADDRS)), { legend: true });
  t.match(out, /^Codes: L - local, C - connected, S - static/);
  t.equal(out.slice(out.indexOf('Gateway')), `Gateway of last resort is 172.16.15.1 to network 0.0.0.0

S*    0.0.0.0/0 [1/0] via 172.16.15.1
      10.0.0.0/8 is variably subnetted, 4 subnets, 2 masks
C        10.0.1.0/24 is directly connected, FastEthernet0/1
L        10.0.1.1/32 is directly connected, FastEthernet0/1
S        10.0.2.0/24 [1/0] via 192.168.0.2
S        10.0.3.0/24 [1/0] via 192.168.0.3
      172.16.0.0/16 is variably subnetted, 2 subnets, 2 masks
C        172.16.15.0/30 is directly connected, FastEthernet0/0
L        172.16.15.2/32 is directly connected, FastEthernet0/0
      192.168.0.0/24 is variably subnetted, 2 subnets, 2 masks
C        192.168.0.0/24 is directly connected, Tunnel0
L        192.168.0.1/32 is directly connected, Tunnel0
`);
  t.same(JSON.parse(formatIpRoute(routeRows(source(routes, HUB_ADDRS)), { legend: true }, true)).length, 9, 'json: every row');
});

t.test('codes from the kernel protocol: OSPF, BGP, EIGRP with IOS distances and age; unknown protocols left out', async (t) => {
  const routes = [
    route('10.0.2.0/24', { via: '192.168.0.2', dev: 'Tunnel0', proto: 'ospf', metric: 20 }),
    route('10.0.3.0/24', { via: '192.168.0.3', dev: 'Tunnel0', proto: 'bgp', metric: 20 }),
    route('10.0.4.0/24', { via: '192.168.0.4', dev: 'Tunnel0', proto: 'eigrp', metric: 20 }),
    route('10.0.5.0/24', { via: '10.0.1.2', dev: 'fa0-1', proto: 'ra' }),
    route('10.0.6.0/24', { dev: 'lo', proto: 'static', blackhole: true }),
  ];
  const out = formatIpRoute(routeRows(source(routes, [])), { legend: false });
  t.match(out, /\nO {8}10\.0\.2\.0\/24 \[110\/0\] via 192\.168\.0\.2, 00:01:15, Tunnel0\n/);
  t.match(out, /\nB {8}10\.0\.3\.0\/24 \[20\/0\] via 192\.168\.0\.3, 00:01:15, Tunnel0\n/);
  t.match(out, /\nD {8}10\.0\.4\.0\/24 \[90\/0\] via 192\.168\.0\.4, 00:01:15, Tunnel0\n/);
  t.match(out, /\nS {8}10\.0\.6\.0\/24 is directly connected, Null0\n/, 'a blackhole static: Null0');
  t.notMatch(out, /10\.0\.5\.0/, 'a protocol IOS has no code for is not shown');
});

t.test('one route per prefix: connected beats a static to the same network; the lowest kernel metric wins', async (t) => {
  const routes = [
    route('10.0.1.0/24', { via: '172.16.15.1', dev: 'fa0-0', proto: 'boot', metric: 1 }),
    route('10.0.1.0/24', { dev: 'fa0-1', proto: 'kernel' }),
    route('10.0.2.0/24', { via: '192.168.0.2', dev: 'Tunnel0', proto: 'ospf', metric: 20 }),
    route('10.0.2.0/24', { via: '172.16.15.1', dev: 'fa0-0', proto: 'boot', metric: 5 }),
  ];
  const rows = routeRows(source(routes, HUB_ADDRS));
  t.same(rows.filter((r) => r.prefix === '10.0.1.0').map((r) => r.code), ['C'], 'the static to a connected network is not shown (distance 0 wins)');
  t.same(rows.filter((r) => r.prefix === '10.0.2.0').map((r) => `${r.code} ${r.via}`), ['S 172.16.15.1'], 'metric 5 beats metric 20, as in the kernel');
});

t.test('static routes to an interface; the connected route replaced by one still shows as connected', async (t) => {
  // `ip route 1.0.0.0 255.0.0.0 Serial4/0` replaced the kernel's connected route: still connected to IOS
  const routes = [route('1.0.0.0/8', { dev: 'se4-0', proto: 'boot' }), route('10.0.0.0/8', { dev: 'se4-0', proto: 'boot' })];
  const rows = routeRows(source(routes, [addr('1.1.1.2/8', 'se4-0')]));
  t.same(formatIpRoute(rows.filter((r) => r.code === 'S'), { legend: false }),
    'Gateway of last resort is not set\n\nS     10.0.0.0/8 is directly connected, Serial4/0\n');
  t.same(rows.filter((r) => r.code === 'C').map((r) => `${r.prefix}/${r.len}`), ['1.0.0.0/8']);
  t.match(formatIpRoute([{ code: 'S', prefix: '10.1.0.0', len: 16, via: '1.1.1.1' }, { code: 'S', prefix: '10.2.0.0', len: 16, via: '1.1.1.1' }], { legend: false }),
    /\n {6}10\.0\.0\.0\/16 is subnetted, 2 subnets\nS {8}10\.1\.0\.0\/16 \[1\/0\] via 1\.1\.1\.1\nS {8}10\.2\.0\.0\/16/);
});

t.test('Phase 3 shortcuts: H route for a prefix under a summary, % on a route they override', async (t) => {
  const routes = [
    route('10.0.0.0/8', { via: '192.168.0.1', dev: 'Tunnel0', proto: 'boot' }),
    route('10.0.3.0/24', { via: '192.168.0.1', dev: 'Tunnel0', proto: 'ospf' }),
    route('192.168.0.0/24', { dev: 'Tunnel0', proto: 'kernel' }),
  ];
  const shortcuts = [{ prefix: '10.0.4.0', len: 24, via: '192.168.0.4', created: NOW - 12_000 }, { prefix: '10.0.3.0', len: 24, via: '192.168.0.3', created: NOW - 5_000 }];
  const rows = routeRows(source(routes, [addr('192.168.0.2/24', 'Tunnel0')], { shortcuts }));
  const out = formatIpRoute(rows, { legend: true });
  t.match(out, /\nS {8}10\.0\.0\.0\/8 \[1\/0\] via 192\.168\.0\.1\n/, 'the summary via the hub stays');
  t.match(out, /\nO   % {4}10\.0\.3\.0\/24 \[110\/0\] via 192\.168\.0\.1, 00:01:15, Tunnel0\n/, 'the OSPF route the shortcut overrides: %');
  t.match(out, /\nH {8}10\.0\.4\.0\/24 \[250\/1\] via 192\.168\.0\.4, 00:00:12, Tunnel0\n/, 'a shortcut under the summary: an H route');
  t.equal(rows.filter((r) => r.code === 'H').length, 1, 'no H row for the overridden prefix');
  t.match(out, /H - NHRP/, 'the legend explains H');
  t.match(out, /% - next hop override/, 'and %');
});

t.test('routes a routing daemon installed show its own distance and metric (FRR gives the kernel neither)', async (t) => {
  // FRR 8.4 `show ip route json` (trimmed): an iBGP route (200/0) and an OSPF route (110/20)
  const frr = {
    '10.0.3.0/24': [{ prefix: '10.0.3.0/24', protocol: 'bgp', selected: true, destSelected: true, distance: 200, metric: 0, installed: true, table: 254 }],
    '10.0.4.0/24': [
      { prefix: '10.0.4.0/24', protocol: 'ospf', distance: 110, metric: 30, table: 254 },
      { prefix: '10.0.4.0/24', protocol: 'ospf', selected: true, distance: 110, metric: 20, installed: true, table: 254 },
    ],
    '10.0.5.0/24': [{ prefix: '10.0.5.0/24', protocol: 'bgp', distance: 200, metric: 0 }], // not selected: not ours to show
    junk: 'not a list',
  };
  const daemonRib = frrRibMetrics(frr);
  t.same([...daemonRib.keys()], ['10.0.3.0/24', '10.0.4.0/24'], 'only selected, installed routes');
  const routes = [
    route('10.0.3.0/24', { via: '192.168.0.3', dev: 'Tunnel0', proto: 'bgp', metric: 20 }),
    route('10.0.4.0/24', { via: '192.168.0.4', dev: 'Tunnel0', proto: 'ospf', metric: 20 }),
    route('10.0.5.0/24', { via: '192.168.0.5', dev: 'Tunnel0', proto: 'bgp', metric: 20 }),
  ];
  const out = formatIpRoute(routeRows(source(routes, HUB_ADDRS, { daemonRib })), { legend: false });
  t.match(out, /B\s+10\.0\.3\.0\/24 \[200\/0\] via 192\.168\.0\.3/, 'iBGP at IOS distance 200');
  t.match(out, /O\s+10\.0\.4\.0\/24 \[110\/20\] via 192\.168\.0\.4/, 'OSPF with its cost');
  t.match(out, /B\s+10\.0\.5\.0\/24 \[20\/0\] via 192\.168\.0\.5/, 'no daemon figure: the protocol default');
  t.same(frrRibMetrics(undefined).size, 0, 'no FRR answer: nothing');
});
