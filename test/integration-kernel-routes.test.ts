// Routes someone else puts into the kernel (the OS here; FRR's zebra later) steer the running overlay:
// seed 003 without Phase 3 (no redirect/shortcut), spokes route 10/8 via the hub. Adding
// `ip route 10.0.3.0/24 via 192.168.0.3 dev Tunnel0` on R2 (and the reverse on R3) with iproute2 —
// nothing in the appliance's config — makes the WASM FIB send h2 -> h3 straight to R3 (NHRP resolves
// the next hop); deleting the routes sends the traffic back through the hub. Asserted on the hub's
// and R3's GRE counters and on `show ip route`.
import t from 'tap';
import { Lab, labConfig, waitFor, nsExec } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS]);

const gre = (lab: Lab, r: string) => { const c = lab.ctlJson(r, 'show dataplane counters'); return (c.greRxPackets - c.nhrpIn) as number; };

t.test('kernel routes via a tunnel next hop, added and deleted by the OS, move the traffic', async (t) => {
  const lab = new Lab(`kr-kr${process.pid % 10000}`, 2);
  t.teardown(() => lab.down());
  lab.up();
  for (const r of ['R1', 'R2', 'R3']) lab.start(r, lab.writeConfig(r, labConfig(r, { holdtime: 60, registrationTimeout: 5, phase1: true })));
  const hubPeers = () => { try { return lab.ctlJson('R1', 'show dmvpn').interfaces[0].peers.length; } catch { return 0; } };
  t.ok(await waitFor(() => hubPeers() === 2, 30000), 'the hub learnt both spokes');

  let hub = gre(lab, 'R1');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 5), 'h2 -> h3 through the hub first');
  t.ok(gre(lab, 'R1') - hub >= 10, `the hub carried the 5 requests and 5 replies (${gre(lab, 'R1') - hub} GRE packets)`);

  nsExec(lab.ns('R2'), ['ip', 'route', 'add', '10.0.3.0/24', 'via', '192.168.0.3', 'dev', 'Tunnel0']);
  nsExec(lab.ns('R3'), ['ip', 'route', 'add', '10.0.2.0/24', 'via', '192.168.0.2', 'dev', 'Tunnel0']);
  const direct = await waitFor(() => {
    lab.ping(lab.ns('h2'), '10.0.3.10', 1);
    return lab.ctlJson('R2', 'show dmvpn').interfaces[0].peers.some((p: any) => p.tunnel === '192.168.0.3');
  }, 15000);
  t.ok(direct, 'R2 resolved the kernel route\'s next hop 192.168.0.3 with NHRP');
  hub = gre(lab, 'R1');
  const atR3 = gre(lab, 'R3');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 10), 'pings over the kernel route');
  t.ok(gre(lab, 'R1') - hub < 3, `the hub saw almost none of the 20 packets (${gre(lab, 'R1') - hub})`);
  t.ok(gre(lab, 'R3') - atR3 >= 10, `R3 got the 10 requests straight from R2 (${gre(lab, 'R3') - atR3})`);
  t.match(lab.ctl('R2', 'show ip route'), /S\s+10\.0\.3\.0\/24 \[1\/0\] via 192\.168\.0\.3\n/, 'show ip route on R2 lists the OS route as static');

  nsExec(lab.ns('R2'), ['ip', 'route', 'del', '10.0.3.0/24']);
  nsExec(lab.ns('R3'), ['ip', 'route', 'del', '10.0.2.0/24']);
  t.ok(await waitFor(() => !/10\.0\.3\.0\/24/.test(lab.ctl('R2', 'show ip route')), 10000), 'the route left show ip route');
  hub = gre(lab, 'R1');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 5), 'pings still pass');
  t.ok(gre(lab, 'R1') - hub >= 10, `deleted: the traffic is back through the hub (${gre(lab, 'R1') - hub} GRE packets)`);
});
