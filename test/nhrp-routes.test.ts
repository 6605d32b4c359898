// NHRP's decisions from the kernel table (routing/nhrp-routes.ts) on a fake table: where a Resolution
// Request goes (longest prefix through the tunnel with a gateway, lowest metric among equals; on-link
// and non-tunnel routes never), and that both answers are derived once per table change, not per
// request (a hostile peer can send requests as fast as it likes). The real-kernel side is in
// test/kernel-table-ns.test.ts.
import t from 'tap';
import { networksBehind, overlayNextHop } from '../appliance/routing/nhrp-routes.js';
import type { KernelTable, Route } from '../appliance/routing/kernel-table.js';

const route = (dst: string, o: Partial<Route>): Route => {
  const [prefix, len] = dst.split('/');
  return { prefix, len: Number(len), tos: 0, metric: 0, protocol: 3, scope: 0, type: 1, flags: 0, nexthops: [], ...o };
};

function fakeTable(routes: Route[]) {
  const table = {
    generation: 1, reads: 0,
    routes: () => { table.reads++; return routes; },
    addresses: () => [],
    link: () => undefined,
  };
  return table;
}
const asTable = (f: ReturnType<typeof fakeTable>) => f as unknown as KernelTable;

t.test('a resolution goes to the longest tunnel route with a gateway, lowest metric among equals', async (t) => {
  const f = fakeTable([
    route('0.0.0.0/0', { dev: 'Tunnel0', gateway: '192.168.0.1', metric: 1 }),
    route('10.0.0.0/8', { dev: 'Tunnel0', gateway: '192.168.0.2', metric: 20 }),
    route('10.0.0.0/8', { dev: 'Tunnel0', gateway: '192.168.0.3', metric: 5 }),
    route('10.0.3.0/24', { dev: 'eth1', gateway: '10.9.0.1' }), // longer, but not through the tunnel
    route('10.0.4.0/24', { dev: 'Tunnel0' }), // on-link through the tunnel: NHRP resolves the destination itself
    route('10.0.5.0/24', { nexthops: [{ dev: 'eth1', gateway: '10.9.0.1' }, { dev: 'Tunnel0', gateway: '192.168.0.5' }] }),
    route('10.0.6.0/24', { dev: 'Tunnel0', gateway: '192.168.0.6', type: 6 }), // blackhole
  ]);
  const k = asTable(f);
  const nh = (dst: string) => overlayNextHop(k, 'Tunnel0', dst)?.nextHop;
  t.equal(nh('10.0.3.7'), '192.168.0.3', '10/8: the lower metric of the two; the longer route out of eth1 does not count');
  t.equal(nh('10.0.4.7'), '192.168.0.3', 'an on-link tunnel route has no gateway to forward to');
  t.equal(nh('10.0.5.7'), '192.168.0.5', 'ECMP: the next hop through the tunnel');
  t.equal(nh('10.0.6.7'), '192.168.0.3', 'a blackhole is not a route to forward on');
  t.equal(nh('172.16.0.1'), '192.168.0.1', 'the default route through the tunnel');
  t.equal(overlayNextHop(k, 'Tunnel1', '10.0.3.7'), undefined, 'another tunnel: none');
});

t.test('derived once per table change, not per request', async (t) => {
  const routes = [route('10.0.0.0/8', { dev: 'Tunnel0', gateway: '192.168.0.2' }), route('10.1.0.0/16', { dev: 'eth1' })];
  const f = fakeTable(routes);
  const k = asTable(f);
  for (let i = 0; i < 1000; i++) { overlayNextHop(k, 'Tunnel0', `10.0.${i & 255}.1`); networksBehind(k, 'Tunnel0'); }
  t.equal(f.reads, 2, '1000 requests of each kind: the table was read once for each');
  t.same(networksBehind(k, 'Tunnel0'), [{ prefix: '10.1.0.0', len: 16 }]);
  routes.push(route('10.0.3.0/24', { dev: 'Tunnel0', gateway: '192.168.0.3' }));
  f.generation++;
  t.equal(overlayNextHop(k, 'Tunnel0', '10.0.3.1')?.nextHop, '192.168.0.3', 'a change (new generation) is seen at once');
  t.equal(overlayNextHop(k, 'Tunnel0', '10.0.4.1')?.nextHop, '192.168.0.2');
});
