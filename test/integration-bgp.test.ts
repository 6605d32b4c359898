// iBGP over the DMVPN in seed 003's addressing, on FRR driven by the appliance: the hub accepts the
// spokes as dynamic neighbors (`bgp listen range`) and reflects their LANs (route reflector), so each
// spoke learns the other's LAN with the other spoke as next hop (Phase 2); with
// `aggregate-address ... summary-only` the hub sends only the summary (Phase 3).
import t from 'tap';
import type { Test } from 'tap';
import { Lab, waitFor, sleep } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { tsharkFields } from './util/tshark.js';
import { baseConfig, withStanza, routeTo, kernelRoutes, routingLabDown, startRouting, ctlJsonOrUndefined, frrLog, echoRequestsFrom, dmvpnPeers } from './util/routing-lab.js';

requireTools(t, [...LAB_NEEDS, 'vtysh', 'tshark']);

function bgpConfig(name: string, phase: 2 | 3): string {
  const n = Number(name.slice(1));
  const c = baseConfig(name, phase);
  if (n === 1) {
    return withStanza(c, `router bgp 65000
 bgp router-id 1.1.1.1
 bgp log-neighbor-changes
 neighbor SPOKES peer-group
 neighbor SPOKES remote-as 65000
 neighbor SPOKES timers 1 3
 neighbor SPOKES route-reflector-client
 bgp listen range 192.168.0.0/24 peer-group SPOKES
 network 10.0.1.0 mask 255.255.255.0${phase === 3 ? '\n aggregate-address 10.0.0.0 255.0.0.0 summary-only' : ''}`);
  }
  return withStanza(c, `router bgp 65000
 bgp router-id ${n}.${n}.${n}.${n}
 neighbor 192.168.0.1 remote-as 65000
 neighbor 192.168.0.1 timers 1 3
 network 10.0.${n}.0 mask 255.255.255.0`);
}

async function bringUp(t: Test, phase: 2 | 3): Promise<Lab> {
  const lab = new Lab(`lf-b${phase}${process.pid % 1000}`, 2);
  t.teardown(() => routingLabDown(lab));
  lab.up();
  for (const r of ['R1', 'R2', 'R3']) startRouting(lab, r, bgpConfig(r, phase));
  const up = await waitFor(() => {
    const s = ctlJsonOrUndefined<{ peers: Array<{ statePfx: string; dynamic: boolean }> }>(lab, 'R1', 'show ip bgp summary');
    return s?.peers?.filter((p) => /^\d+$/.test(p.statePfx)).length === 2 ? s : undefined;
  }, 90000, 1000);
  if (!up) for (const r of ['R1', 'R2', 'R3']) console.error(`${r}:\n${lab.ctl(r, 'show ip bgp summary')}\n${lab.ctl(r, 'show dmvpn')}\n${lab.routers.get(r)!.log.slice(-20).join('\n')}\n${frrLog(lab, r, 'bgpd')}`);
  t.ok(up, 'both spokes Established with the hub');
  t.ok(up?.peers.every((p) => p.dynamic), 'as dynamic neighbors (listen range)');
  const daemons = (lab.ctlJson('R1', 'show routing daemons') as Array<{ daemon: string; running: boolean }>).map((d) => `${d.daemon}:${d.running}`);
  t.same(daemons.sort(), ['bgpd:true', 'zebra:true'], 'the hub runs zebra and bgpd only');
  // both spoke LANs have reached the hub (the sessions come up before the first UPDATEs)
  t.ok(await waitFor(() => routeTo(lab.ns('R1'), '10.0.2.0/24') && routeTo(lab.ns('R1'), '10.0.3.0/24'), 20000, 500), 'the hub has both spoke LANs');
  return lab;
}

t.test('Phase 2: dynamic neighbors on the hub, route reflection, next hop the other spoke', async (t) => {
  const lab = await bringUp(t, 2);
  const sum = lab.ctl('R1', 'show ip bgp summary');
  t.match(sum, /BGP router identifier 1\.1\.1\.1, local AS number 65000\n/);
  t.match(sum, /Neighbor\s+V\s+AS MsgRcvd MsgSent\s+TblVer\s+InQ OutQ Up\/Down\s+State\/PfxRcd\n\*192\.168\.0\.2\s+4\s+65000\s+\d+\s+\d+\s+\d+\s+0\s+0 \d\d:\d\d:\d\d\s+1\n/);
  t.match(sum, /\* Dynamically created based on a listen range command\nDynamically created neighbors: 2, Subnet ranges: 1\n/);
  t.match(lab.ctl('R2', 'show ip bgp summary'), /\n192\.168\.0\.1\s+4\s+65000 .* 00:\d\d:\d\d\s+2\n/, 'the spoke has the hub as a plain neighbor, 2 prefixes (hub LAN, R3 LAN)');
  const r2 = await waitFor(() => routeTo(lab.ns('R2'), '10.0.3.0/24'), 20000, 500);
  t.match(r2, { gateway: '192.168.0.3', dev: 'Tunnel0', protocol: 'bgp' }, 'R2 reaches R3\'s LAN via R3: the reflector keeps the next hop');
  t.match(await waitFor(() => routeTo(lab.ns('R3'), '10.0.2.0/24'), 20000, 500), { gateway: '192.168.0.2', dev: 'Tunnel0', protocol: 'bgp' }, 'and R3 R2\'s LAN via R2');
  t.match(routeTo(lab.ns('R2'), '10.0.1.0/24'), { gateway: '192.168.0.1', protocol: 'bgp' }, 'and the hub LAN via the hub');
  t.match(lab.ctl('R2', 'show ip route'), /\nB\s+10\.0\.3\.0(\/24)? \[200\/0\] via 192\.168\.0\.3\b/, 'show ip route: an iBGP route (distance 200, from FRR) via R3');
  await goesDirect(t, lab, () => dmvpnPeers(lab, 'R2').includes('192.168.0.3'), 'R2 resolved R3 (dynamic NHRP entry)');
});

/** Host behind R2 pings host behind R3; once `ready` holds, the echo requests reach R3 straight from R2. */
async function goesDirect(t: Test, lab: Lab, ready: () => unknown, what: string): Promise<void> {
  // under load (other labs and qemu on 2 cores) the first 3 echoes can all time out while BGP's
  // routes settle into the FIBs; print where things stood then, and give it up to 20 s
  let attempts = 0;
  const answered = await waitFor(() => {
    const ok = lab.ping(lab.ns('h2'), '10.0.3.10', 3);
    if (!ok && ++attempts === 1) console.error(`first ping lost: R2\n${lab.ctl('R2', 'show ip route')}${lab.ctl('R2', 'show dataplane counters')}R1\n${lab.ctl('R1', 'show ip route')}${lab.ctl('R1', 'show dataplane counters')}`);
    return ok;
  }, 20000, 500);
  t.ok(answered, `host behind R2 pings host behind R3 (${attempts} attempts of 3 echoes without a reply before)`);
  t.ok(await waitFor(ready, 15000, 500), what);
  const before = echoRequestsFrom(lab, 'R3', '172.16.25.2', '10.0.3.10');
  const pinged = lab.ping(lab.ns('h2'), '10.0.3.10', 10);
  t.ok(pinged, '10 more pings');
  await sleep(500);
  const direct = echoRequestsFrom(lab, 'R3', '172.16.25.2', '10.0.3.10') - before;
  t.ok(direct >= 10, `R3 received them straight from R2's NBMA address (${direct} echo requests, outer source 172.16.25.2)`);
  if (!pinged) { // where did the replies go: R3's NBMA side, its routes and NHRP view
    const replies = tsharkFields(lab.routers.get('R3')!.pcap, 'icmp.type == 0', ['frame.time_relative', 'ip.src', 'ip.dst']).slice(-5);
    console.error(`echo replies leaving R3: ${JSON.stringify(replies)}\n${lab.ctl('R3', 'show ip route')}${lab.ctl('R3', 'show ip nhrp')}${lab.ctl('R3', 'show dataplane counters')}`);
  }
}

t.test('Phase 3: the hub sends only the summary', async (t) => {
  const lab = await bringUp(t, 3);
  const agg = await waitFor(() => routeTo(lab.ns('R2'), '10.0.0.0/8'), 20000, 500);
  t.match(agg, { gateway: '192.168.0.1', dev: 'Tunnel0', protocol: 'bgp' }, 'R2 has 10/8 via the hub');
  t.equal(routeTo(lab.ns('R2'), '10.0.3.0/24'), undefined, 'and not R3\'s LAN (summary-only)');
  t.same(kernelRoutes(lab.ns('R2')).filter((r) => r.protocol === 'bgp').map((r) => r.dst), ['10.0.0.0/8'], 'the summary is its only BGP route');
  t.match(routeTo(lab.ns('R1'), '10.0.3.0/24'), { gateway: '192.168.0.3', protocol: 'bgp' }, 'the hub keeps the specifics');
  // Phase 3: the first packets follow 10/8 to the hub, the hub redirects, R2 installs a shortcut
  await goesDirect(t, lab, () => ctlJsonOrUndefined<Array<{ prefix: string }>>(lab, 'R2', 'show ip nhrp shortcut')?.some((e) => e.prefix === '10.0.3.0'),
    'R2 installed an NHRP shortcut to R3\'s LAN');
});
