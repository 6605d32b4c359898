// OSPF over the DMVPN in seed 003's addressing, on FRR driven by the appliance: the hub is the DR
// (`ip ospf network broadcast`, priority 255), the spokes priority 0; hellos cross the mGRE as
// replicated multicast; each spoke learns the other's LAN with the other spoke as next hop.
import t from 'tap';
import { Lab, waitFor, sleep } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { baseConfig, withTunnelLines, withStanza, routeTo, routingLabDown, startRouting, ctlJsonOrUndefined, echoRequestsFrom, dmvpnPeers, HELLO, DEAD } from './util/routing-lab.js';

requireTools(t, [...LAB_NEEDS, 'vtysh', 'tshark']);

function ospfConfig(name: string): string {
  const n = Number(name.slice(1));
  const hub = n === 1;
  let c = withTunnelLines(baseConfig(name, 2), ['ip ospf network broadcast', `ip ospf priority ${hub ? 255 : 0}`,
    `ip ospf hello-interval ${HELLO}`, `ip ospf dead-interval ${DEAD}`]);
  c = withStanza(c, `router ospf 1
 router-id ${n}.${n}.${n}.${n}
 log-adjacency-changes
 passive-interface FastEthernet0/1
 network 192.168.0.0 0.0.0.255 area 0
 network 10.0.${n}.0 0.0.0.255 area 0`);
  return c;
}

t.test('OSPF hub and two spokes: adjacencies, routes via the other spoke, show ip ospf neighbor', async (t) => {
  const lab = new Lab(`lf-o${process.pid % 10000}`, 2);
  t.teardown(() => routingLabDown(lab));
  lab.up();
  for (const r of ['R1', 'R2', 'R3']) startRouting(lab, r, ospfConfig(r));
  const full = await waitFor(() => {
    const j = ctlJsonOrUndefined<Array<{ state: string }>>(lab, 'R1', 'show ip ospf neighbor');
    return Array.isArray(j) && j.filter((x) => /^FULL/.test(x.state)).length === 2 ? j : undefined;
  }, 60000, 1000);
  if (!full) {
    for (const r of ['R1', 'R2']) console.error(`${r}:\n${lab.ctl(r, 'show ip ospf neighbor')}\n${lab.routers.get(r)!.log.slice(-30).join('\n')}`);
  }
  t.ok(full, 'the hub is FULL with both spokes');
  t.match(lab.ctl('R1', 'show ip ospf neighbor'), /Neighbor ID\s+Pri\s+State\s+Dead Time\s+Address\s+Interface\n2\.2\.2\.2\s+0\s+FULL\/DROTHER\s+00:00:0\d\s+192\.168\.0\.2\s+Tunnel0/);
  t.match(lab.ctl('R2', 'show ip ospf neighbor'), /1\.1\.1\.1\s+255\s+FULL\/DR\s+00:00:0\d\s+192\.168\.0\.1\s+Tunnel0/);

  const r2to3 = await waitFor(() => routeTo(lab.ns('R2'), '10.0.3.0/24'), 30000, 500);
  t.match(r2to3, { gateway: '192.168.0.3', dev: 'Tunnel0', protocol: 'ospf' }, 'R2 reaches R3\'s LAN via R3 (not the hub)');
  t.match(routeTo(lab.ns('R3'), '10.0.2.0/24'), { gateway: '192.168.0.2', dev: 'Tunnel0', protocol: 'ospf' }, 'and R3 R2\'s LAN via R2');
  t.match(routeTo(lab.ns('R1'), '10.0.2.0/24'), { gateway: '192.168.0.2', protocol: 'ospf' }, 'the hub learns the spoke LANs');

  // Phase 2: the first packets follow the route's next hop through the hub while R2 resolves R3,
  // then R2 sends straight to R3's NBMA address
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 3), 'host behind R2 pings host behind R3');
  const resolved = await waitFor(() => dmvpnPeers(lab, 'R2').includes('192.168.0.3'), 15000, 500);
  t.ok(resolved, 'R2 resolved R3 (dynamic NHRP entry)');
  const before = echoRequestsFrom(lab, 'R3', '172.16.25.2', '10.0.3.10');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 10), '10 more pings');
  await sleep(500);
  const direct = echoRequestsFrom(lab, 'R3', '172.16.25.2', '10.0.3.10') - before;
  t.ok(direct >= 10, `R3 received them straight from R2's NBMA address (${direct} echo requests, outer source 172.16.25.2)`);
});
