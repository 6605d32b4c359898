// EIGRP in the DMVPN Phase 3 design, run by our own speaker: the hub advertises only
// `ip summary-address eigrp 100 10.0.0.0 255.0.0.0` on Tunnel0 (split horizon left on, as IOS), the
// spokes are `eigrp stub connected`, the hub has `ip nhrp redirect` and the spokes `ip nhrp shortcut`.
// Each spoke learns 10/8 via the hub and never the other spoke's LAN; spoke-to-spoke traffic first
// crosses the hub, the hub's NHRP redirect makes the spoke resolve the other spoke, and the shortcut
// then carries the traffic directly (the hub stops seeing the echo requests). `debug eigrp packets` on a
// spoke logs its EIGRP packets; `redistribute static` added live at the hub sends a static as D EX.
import t from 'tap';
import { Lab, waitFor, sleep } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { dmvpnctlSession } from './util/live-config.js';
import { eigrpConfig, eigrpNeighbors } from './util/eigrp-lab.js';
import { routeTo, kernelRoutes, routingLabDown, startRouting, echoRequestsFrom, dmvpnPeers, ctlJsonOrUndefined } from './util/routing-lab.js';

requireTools(t, [...LAB_NEEDS, 'python3', 'tshark']);

const config = (name: string): string => name === 'R1'
  ? eigrpConfig(name, 3, ['ip summary-address eigrp 100 10.0.0.0 255.0.0.0'])
  : eigrpConfig(name, 3, [], ['eigrp stub connected']);

t.test('EIGRP Phase 3: summary from the hub, stub spokes, shortcut by NHRP redirect', async (t) => {
  const lab = new Lab(`hep-e3${process.pid % 1000}`, 2);
  t.teardown(() => routingLabDown(lab));
  lab.up();
  for (const r of ['R1', 'R2', 'R3']) startRouting(lab, r, config(r));
  const both = await waitFor(() => { try { return eigrpNeighbors(lab, 'R1').length === 2; } catch { return false; } }, 60000, 1000);
  if (!both) for (const r of ['R1', 'R2']) console.error(`${r}:\n${lab.ctl(r, 'show ip eigrp neighbors')}\n${lab.routers.get(r)!.log.slice(-30).join('\n')}`);
  t.ok(both, 'the hub has both stub spokes as neighbors');
  t.match(lab.ctl('R1', 'show running-config'), /interface Tunnel0\n(?: [^\n]*\n)* ip summary-address eigrp 100 10\.0\.0\.0 255\.0\.0\.0\n/, 'the hub keeps its summary in the running config');
  t.match(lab.ctl('R2', 'show running-config'), /\n eigrp stub connected\n/, 'a spoke is a stub');

  // the hub learns the spoke LANs; each spoke learns only the summary, via the hub
  t.ok(await waitFor(() => routeTo(lab.ns('R1'), '10.0.2.0/24') && routeTo(lab.ns('R1'), '10.0.3.0/24'), 30000, 500), 'the hub has both spoke LANs');
  t.match(routeTo(lab.ns('R1'), '10.0.3.0/24'), { gateway: '192.168.0.3', dev: 'Tunnel0', protocol: 'eigrp' }, 'R3\'s LAN via R3 at the hub');
  for (const [spoke, other] of [['R2', '10.0.3.0/24'], ['R3', '10.0.2.0/24']]) {
    const sum = await waitFor(() => routeTo(lab.ns(spoke), '10.0.0.0/8'), 30000, 500);
    t.match(sum, { gateway: '192.168.0.1', dev: 'Tunnel0', protocol: 'eigrp' }, `${spoke} has the summary 10/8 via the hub in its kernel table`);
    await sleep(2000); // a specific route, were it sent, comes in the same update as the summary
    t.same(kernelRoutes(lab.ns(spoke)).filter((r) => r.protocol === 'eigrp').map((r) => r.dst), ['10.0.0.0/8'], `the summary is ${spoke}'s only EIGRP route (no ${other}, no hub LAN)`);
    const rib = lab.ctl(spoke, 'show ip route');
    t.match(rib, /\nD\s+10\.0\.0\.0\/8 \[90\/\d{5,}\] via 192\.168\.0\.1\b[^\n]*Tunnel0/, `${spoke}'s show ip route: D 10/8 via the hub`);
    t.notMatch(rib, new RegExp(`\\nD\\s+${other.replace(/\./g, '\\.').replace('/24', '')}`), `and no D route to ${other}`);
  }
  t.match(lab.ctl('R2', 'show ip eigrp topology'), /P 10\.0\.0\.0\/8, 1 successors, FD is \d+\n\s+via 192\.168\.0\.1 /, 'R2\'s topology: the summary, the hub its successor');
  // stubs advertise only their connected networks: the hub never learns the summary back from a spoke
  t.notMatch(lab.ctl('R1', 'show ip eigrp topology'), /P 10\.0\.0\.0\/8/, 'the hub did not learn 10/8 from a stub spoke');
  t.equal(routeTo(lab.ns('R1'), '10.0.0.0/8'), undefined, 'and has no kernel route for it');

  // Phase 3: the first packets follow 10/8 through the hub; the hub redirects, R2 resolves R3
  const viaHub = () => echoRequestsFrom(lab, 'R1', '172.16.25.2', '10.0.3.10');
  const direct = () => echoRequestsFrom(lab, 'R3', '172.16.25.2', '10.0.3.10');
  t.equal(viaHub(), 0, 'no echo request crossed the hub yet');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 3), 'host behind R2 pings host behind R3 (via the summary)');
  const first = viaHub();
  t.ok(first >= 1, `the first echo requests crossed the hub (${first} at the hub from R2's NBMA address)`);
  const shortcut = await waitFor(() => ctlJsonOrUndefined<Array<{ prefix: string; prefixLen: number; via: string }>>(lab, 'R2', 'show ip nhrp shortcut')?.find((e) => e.prefix === '10.0.3.0'), 15000, 500);
  t.match(shortcut, { prefixLen: 24, via: '192.168.0.3' }, 'R2 installed an NHRP shortcut to R3\'s LAN via R3');
  t.ok(dmvpnPeers(lab, 'R2').includes('192.168.0.3'), 'show dmvpn on R2 lists R3 (dynamic entry)');
  t.match(lab.ctl('R2', 'show ip nhrp'), /10\.0\.3\.0\/24 via 192\.168\.0\.3/, 'show ip nhrp on R2 has the shortcut entry');
  const redirects = ctlJsonOrUndefined<{ out: Record<string, number> }>(lab, 'R1', 'show ip nhrp traffic')?.out;
  t.ok((redirects?.['traffic-indication'] ?? 0) > 0, `the hub sent NHRP redirects (traffic indications: ${redirects?.['traffic-indication']})`);

  const hubBefore = viaHub(), r3Before = direct();
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 10), '10 more pings');
  await sleep(500);
  const hubAfter = viaHub() - hubBefore, straight = direct() - r3Before;
  t.ok(straight >= 10, `R3 received them straight from R2's NBMA address (${straight} echo requests)`);
  t.ok(hubAfter === 0, `none crossed the hub any more (${hubAfter}; ${first} before the shortcut)`);
  t.match(routeTo(lab.ns('R2'), '10.0.0.0/8'), { gateway: '192.168.0.1', protocol: 'eigrp' }, 'the summary via the hub stays beside the shortcut');

  // debug eigrp packets on R2: its hellos to the hub and the hub's to it appear in its log, in IOS's words
  const dbg = (l: string) => /EIGRP: (Sending|Received) HELLO on Tunnel0/.test(l);
  t.notOk(lab.routers.get('R2')!.log.some(dbg), 'no packet lines before debug eigrp packets');
  t.match(lab.ctl('R2', 'debug eigrp packets'), /EIGRP Packets debugging is on/);
  t.ok(await waitFor(() => lab.routers.get('R2')!.log.some((l) => /EIGRP: Received HELLO on Tunnel0 nbr 192\.168\.0\.1: AS 100, Flags 0x0, Seq 0\/0/.test(l)), 10000, 250), 'R2 logs the hub\'s hellos');
  // its own hello leaves at its next hello interval (5 s), which may come after the hub's
  t.ok(await waitFor(() => lab.routers.get('R2')!.log.some((l) => /EIGRP: Sending HELLO on Tunnel0: AS 100/.test(l)), 15000, 250), 'and its own');
  lab.ctl('R2', 'undebug all');
  await sleep(500);
  const n = lab.routers.get('R2')!.log.filter(dbg).length;
  await sleep(3000);
  t.equal(lab.routers.get('R2')!.log.filter(dbg).length, n, 'undebug all stops them');

  // redistribute static on the hub, live: a new static reaches the spokes as D EX (it is outside the
  // summary), and the hub's speaker is not restarted for it (adjacencies kept)
  const hubLog = lab.routers.get('R1')!.log;
  const stopsBefore = hubLog.filter((l) => /EIGRP AS 100 stopped/.test(l)).length;
  const live = dmvpnctlSession(lab, 'R1', ['configure terminal', 'router eigrp 100', 'redistribute static metric 10000 100 255 1 1400', 'exit', 'ip route 172.30.0.0 255.255.0.0 10.0.1.254', 'end']);
  t.notMatch(live.out, /%/, `configuration accepted: ${live.out}`);
  t.match(await waitFor(() => routeTo(lab.ns('R2'), '172.30.0.0/16'), 20000, 500), { gateway: '192.168.0.1', protocol: 'eigrp' }, 'R2 learnt the hub\'s redistributed static via the hub');
  t.match(lab.ctl('R2', 'show ip route'), /\nD EX\s+172\.30\.0\.0\/16 \[170\/\d+\] via 192\.168\.0\.1/, 'show ip route on R2: D EX at distance 170');
  t.equal(hubLog.filter((l) => /EIGRP AS 100 stopped/.test(l)).length, stopsBefore, 'the hub\'s EIGRP process was not restarted for it');
  t.same(eigrpNeighbors(lab, 'R1').sort(), ['192.168.0.2', '192.168.0.3'], 'and keeps both spokes');
  console.error(`EIGRP Phase 3 figures: echo requests through the hub ${first} before the shortcut, ${hubAfter} of the next 10 after; ${straight} straight to R3`);
});
