// show ip route formatter and the rows behind it: IOS 15 layout (legend, gateway of last resort,
// classful grouping with "is subnetted" / "is variably subnetted"), connected networks shadowing
// static routes to themselves, and routes the kernel does not hold left out.
import t from 'tap';
import { formatIpRoute } from '../appliance/show/ip-route.js';
import { routeRows } from '../appliance/supervisor/exec-routes.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import type { ExecContext } from '../appliance/supervisor/exec-context.js';

const R1 = `hostname R1
interface FastEthernet0/0
 ip address 172.16.15.2 255.255.255.252
interface FastEthernet0/1
 ip address 10.0.1.1 255.255.255.0
interface Tunnel0
 ip address 192.168.0.1 255.255.255.0
 tunnel source 172.16.15.2
 tunnel mode gre multipoint
ip route 0.0.0.0 0.0.0.0 172.16.15.1
ip route 10.0.2.0 255.255.255.0 192.168.0.2
ip route 10.0.3.0 255.255.255.0 192.168.0.3
ip route 10.0.4.0 255.255.255.0 192.168.0.4
`;

function ctxOf(text: string): ExecContext {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const os: Record<string, string> = { 'FastEthernet0/0': 'fa0-0', 'FastEthernet0/1': 'fa0-1' };
  return { config: () => r.config, osNameOf: (n: string) => os[n] } as unknown as ExecContext;
}

t.test('seed 003 hub: the whole table in the IOS 15 layout', async (t) => {
  const kernel = [
    { dst: 'default', gateway: '172.16.15.1', dev: 'fa0-0', protocol: 'boot' },
    { dst: '10.0.1.0/24', dev: 'fa0-1', protocol: 'kernel', scope: 'link' },
    { dst: '10.0.2.0/24', gateway: '192.168.0.2', dev: 'Tunnel0', protocol: 'boot' },
    { dst: '10.0.3.0/24', gateway: '192.168.0.3', dev: 'Tunnel0', protocol: 'boot' },
    // 10.0.4.0/24: next hop not reachable yet, not installed: not shown
    { dst: '172.16.15.0/30', dev: 'fa0-0', protocol: 'kernel', scope: 'link' },
    { dst: '192.168.0.0/24', dev: 'Tunnel0', protocol: 'kernel', scope: 'link' },
    { dst: '10.9.0.0/16', dev: 'other0', protocol: 'kernel', scope: 'link' }, // not ours
  ];
  const out = formatIpRoute(routeRows(ctxOf(R1), kernel), { legend: true });
  t.match(out, /^Codes: L - local, C - connected, S - static/);
  const table = out.slice(out.indexOf('Gateway'));
  t.equal(table, `Gateway of last resort is 172.16.15.1 to network 0.0.0.0

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
  t.same(JSON.parse(formatIpRoute(routeRows(ctxOf(R1), kernel), { legend: true }, true)).length, 9, 'json: every row');
});

t.test('static routes: to an interface, shadowed by a connected network, no default', async (t) => {
  const cfg = `hostname R2
interface Serial4/0
 ip address 1.1.1.2 255.0.0.0
ip route 1.0.0.0 255.0.0.0 Serial4/0
ip route 10.0.0.0 255.0.0.0 Serial4/0
`;
  const ctx = ctxOf(cfg);
  (ctx as unknown as { osNameOf: (n: string) => string }).osNameOf = () => 'se4-0';
  // the static route to 1/8 replaced the kernel's connected route: still connected to IOS
  const kernel = [{ dst: '1.0.0.0/8', dev: 'se4-0', protocol: 'boot', scope: 'link' }, { dst: '10.0.0.0/8', dev: 'se4-0', protocol: 'boot', scope: 'link' }];
  const rows = routeRows(ctx, kernel);
  t.same(formatIpRoute(rows.filter((r) => r.code === 'S'), { legend: false }),
    'Gateway of last resort is not set\n\nS     10.0.0.0/8 is directly connected, Serial4/0\n');
  t.same(rows.filter((r) => r.code === 'C').map((r) => `${r.prefix}/${r.len}`), ['1.0.0.0/8']);
  // all subnets of one mask: "is subnetted"
  t.match(formatIpRoute([{ code: 'S', prefix: '10.1.0.0', len: 16, via: '1.1.1.1' }, { code: 'S', prefix: '10.2.0.0', len: 16, via: '1.1.1.1' }], { legend: false }),
    /\n {6}10\.0\.0\.0\/16 is subnetted, 2 subnets\nS {8}10\.1\.0\.0\/16 \[1\/0\] via 1\.1\.1\.1\nS {8}10\.2\.0\.0\/16/);
});
