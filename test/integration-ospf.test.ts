// OSPF over the DMVPN in seed 003's addressing, on FRR driven by the appliance: the hub is the DR
// (`ip ospf network broadcast`, priority 255), the spokes priority 0, MD5 authentication on the
// tunnel; hellos cross the mGRE as
// replicated multicast; each spoke learns the other's LAN with the other spoke as next hop.
import t from 'tap';
import fs from 'node:fs';
import { Lab, waitFor, sleep, nsExec } from './util/lab.js';
import { dmvpnctlSession } from './util/live-config.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { frrIds } from '../appliance/routing/frr/daemons.js';
import { baseConfig, withTunnelLines, withStanza, routeTo, routingLabDown, startRouting, ctlJsonOrUndefined, echoRequestsFrom, dmvpnPeers, frrLog, HELLO, DEAD } from './util/routing-lab.js';

requireTools(t, [...LAB_NEEDS, 'vtysh', 'tshark']);

/** R2's LAN runs OSPF with the independent FRR router behind it; the other LANs are passive. */
function ospfConfig(name: string, md5Key = 'Dmvpn0spf'): string {
  const n = Number(name.slice(1));
  const hub = n === 1;
  let c = withTunnelLines(baseConfig(name, 2), ['ip ospf network broadcast', `ip ospf priority ${hub ? 255 : 0}`,
    `ip ospf hello-interval ${HELLO}`, `ip ospf dead-interval ${DEAD}`, 'ip ospf authentication message-digest', `ip ospf message-digest-key 1 md5 ${md5Key}`]);
  if (n === 2) c = c.replace(/(interface FastEthernet0\/1\n ip address [^\n]+\n)/, `$1 ip ospf hello-interval ${HELLO}\n ip ospf dead-interval ${DEAD}\n`);
  c = withStanza(c, `router ospf 1
 router-id ${n}.${n}.${n}.${n}
 log-adjacency-changes${n === 2 ? '' : '\n passive-interface FastEthernet0/1'}
 network 192.168.0.0 0.0.0.255 area 0
 network 10.0.${n}.0 0.0.0.255 area 0`);
  return c;
}

/** The independent router behind R2 (in h2): FRR's own zebra and ospfd with a config written here,
 *  not by the appliance, announcing 10.2.99.0/24 (a dummy interface) into area 0 over R2's LAN. */
function startInteropRouter(lab: Lab): void {
  const ns = lab.ns('h2'), dir = `${lab.dir}/interop.frr`;
  fs.mkdirSync(dir, { recursive: true });
  const frr = frrIds();
  fs.chownSync(dir, frr.uid, frr.gid);
  // a bridge without ports stands in for a LAN where the kernel has no dummy driver
  if (nsExec(ns, ['ip', 'link', 'add', 'lan99', 'type', 'dummy'], { allowFail: true }).status !== 0) nsExec(ns, ['ip', 'link', 'add', 'lan99', 'type', 'bridge']);
  nsExec(ns, ['ip', 'addr', 'add', '10.2.99.1/24', 'dev', 'lan99']);
  nsExec(ns, ['ip', 'link', 'set', 'lan99', 'up']);
  fs.writeFileSync(`${dir}/ospfd.conf`, ['hostname interop', 'interface eth0', ` ip ospf hello-interval ${HELLO}`, ` ip ospf dead-interval ${DEAD}`, 'exit',
    'router ospf', ' ospf router-id 10.0.2.10', ' network 10.0.2.0/24 area 0.0.0.0', ' network 10.2.99.0/24 area 0.0.0.0', 'exit', ''].join('\n'), { mode: 0o644 });
  fs.writeFileSync(`${dir}/zebra.conf`, 'hostname interop\n', { mode: 0o644 });
  for (const d of ['zebra', 'ospfd']) {
    nsExec(ns, [`/usr/lib/frr/${d}`, '-d', '-u', 'frr', '-g', 'frr', '-f', `${dir}/${d}.conf`, '-i', `${dir}/${d}.pid`, '-z', `${dir}/zserv.api`,
      '--vty_socket', dir, '-P', '0', '--log', `file:${dir}/${d}.log`]);
  }
}

t.test('OSPF hub and two spokes: adjacencies, routes via the other spoke, direct traffic, interop with an FRR router, daemon restart, live change', async (t) => {
  const lab = new Lab(`lf-o${process.pid % 10000}`, 2);
  t.teardown(() => routingLabDown(lab));
  lab.up();
  for (const r of ['R1', 'R2', 'R3']) startRouting(lab, r, ospfConfig(r));
  startInteropRouter(lab);
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
  t.match(lab.ctl('R2', 'show ip route'), /\nO\s+10\.0\.3\.0(\/24)? \[110\/\d+\] via 192\.168\.0\.3\b[^\n]*Tunnel0/, 'show ip route: an O route via R3');

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

  // interop: the FRR router behind R2 and the appliances exchange routes both ways
  t.match(await waitFor(() => lab.ctl('R2', 'show ip ospf neighbor').match(/10\.0\.2\.10\s+1\s+FULL\/\S+\s+00:00:0\d\s+10\.0\.2\.10\s+FastEthernet0\/1/)?.[0], 30000, 1000) ?? '',
    /FastEthernet0\/1/, 'R2 is FULL with the FRR router on its LAN (shown under the IOS interface name)');
  t.match(await waitFor(() => routeTo(lab.ns('R3'), '10.2.99.0/24'), 30000, 500), { gateway: '192.168.0.2', dev: 'Tunnel0', protocol: 'ospf' },
    'R3 learnt the FRR router\'s network via R2');
  t.match(await waitFor(() => routeTo(lab.ns('h2'), '10.0.3.0/24'), 30000, 500), { gateway: '10.0.2.1', protocol: 'ospf' },
    'and the FRR router learnt R3\'s LAN via R2');
  t.ok(lab.ping(lab.ns('h3'), '10.2.99.1', 3), 'host behind R3 pings the FRR router\'s network');

  // a daemon that dies is started again and counted; the adjacency comes back
  const ospfd = (lab.ctlJson('R3', 'show routing daemons') as Array<{ daemon: string; pid: number; restarts: number }>).find((d) => d.daemon === 'ospfd')!;
  t.equal(ospfd.restarts, 0);
  process.kill(ospfd.pid, 'SIGKILL');
  const back = await waitFor(() => (ctlJsonOrUndefined<Array<{ daemon: string; running: boolean; restarts: number; lastExit?: string }>>(lab, 'R3', 'show routing daemons') ?? [])
    .find((d) => d.daemon === 'ospfd' && d.running && d.restarts === 1), 20000, 500);
  t.match(back, { restarts: 1, lastExit: 'killed by SIGKILL' }, 'ospfd restarted once, the reason kept');
  t.match(lab.ctl('R3', 'show routing daemons'), /ospfd\s+\d+\s+running\s+1\s+killed by SIGKILL/);
  t.ok(await waitFor(() => /3\.3\.3\.3\s+0\s+FULL/.test(lab.ctl('R1', 'show ip ospf neighbor')), 30000, 1000), 'the hub is FULL with R3 again');
  t.ok(lab.routers.get('R3')!.log.some((l) => /%ROUTING-3-EVENT: ospfd killed by SIGKILL; restart 1/.test(l)), 'the death is logged');

  // a live change reaches FRR: R3 announces a loopback added in configuration mode
  const s = dmvpnctlSession(lab, 'R3', ['configure terminal', 'interface Loopback0', 'ip address 10.3.3.3 255.255.255.255', 'router ospf 1', 'network 10.3.3.3 0.0.0.0 area 0', 'end']);
  t.notMatch(s.out, /%/, `configuration accepted: ${s.out}`);
  t.match(await waitFor(() => routeTo(lab.ns('R2'), '10.3.3.3'), 30000, 500), { gateway: '192.168.0.3', protocol: 'ospf' }, 'R2 learnt the new network via R3');
  t.match(lab.ctl('R3', 'show running-config'), /router ospf 1\n[^!]* network 10\.3\.3\.3 0\.0\.0\.0 area 0\n/);

  // a routing line naming an interface that does not exist is refused whole, as at load
  const bad = dmvpnctlSession(lab, 'R3', ['configure terminal', 'router ospf 1', 'passive-interface FastEthernet9/9', 'end']);
  t.match(bad.out, /% .*interface FastEthernet9\/9: no such interface/, 'passive-interface of a missing interface refused');
  t.notMatch(lab.ctl('R3', 'show running-config'), /FastEthernet9\/9/, 'and not in the running config');

  // `no router ospf`: R3 runs no FRR daemon any more, and its routes leave R2 after the dead interval
  const frrDir = `${lab.dir}/R3.frr`;
  t.ok(fs.existsSync(`${frrDir}/ospfd.pid`), 'R3 has its FRR state directory');
  const off = dmvpnctlSession(lab, 'R3', ['configure terminal', 'no router ospf 1', 'end']);
  t.notMatch(off.out, /%/, 'no router ospf accepted');
  t.match(lab.ctl('R3', 'show routing daemons'), /No routing protocol is configured/);
  t.notOk(fs.existsSync(frrDir), 'its FRR state directory is gone');
  t.ok(await waitFor(() => !routeTo(lab.ns('R2'), '10.3.3.3'), 30000, 500), 'R2 dropped the route to R3\'s loopback');
});

t.test('OSPF MD5: a spoke with the wrong key forms no adjacency and injects no route', async (t) => {
  const lab = new Lab(`lf-m${process.pid % 10000}`, 2);
  t.teardown(() => routingLabDown(lab));
  lab.up();
  startRouting(lab, 'R1', ospfConfig('R1'));
  startRouting(lab, 'R2', ospfConfig('R2'));
  startRouting(lab, 'R3', ospfConfig('R3', 'WrongKey'));
  const r2 = await waitFor(() => /2\.2\.2\.2\s+0\s+FULL/.test(lab.ctl('R1', 'show ip ospf neighbor')), 60000, 1000);
  t.ok(r2, 'the hub is FULL with R2 (same key)');
  t.ok(await waitFor(() => routeTo(lab.ns('R1'), '10.0.2.0/24'), 20000, 500), 'and has R2\'s LAN');
  // R3's hellos reach the hub (the tunnel is up) but fail authentication: five dead intervals later, nothing
  t.ok(await waitFor(() => dmvpnPeers(lab, 'R1').includes('192.168.0.3'), 20000, 500), 'R3 is registered: its packets reach the hub');
  await sleep(DEAD * 5 * 1000);
  t.notMatch(lab.ctl('R1', 'show ip ospf neighbor'), /3\.3\.3\.3/, 'no neighbor 3.3.3.3 on the hub');
  t.equal(routeTo(lab.ns('R1'), '10.0.3.0/24'), undefined, 'and no route to R3\'s LAN');
  t.match(frrLog(lab, 'R1', 'ospfd', 400), /ospf_check_md5 checksum mismatch, Router-ID: 3\.3\.3\.3/, 'the hub\'s ospfd rejected R3\'s packets for their MD5 digest');
});
