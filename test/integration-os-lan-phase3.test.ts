// Issue 12: a spoke whose LAN is configured by the OS (not in the startup-config) gets a Phase 3
// shortcut. Seed 003's addressing, hub `ip nhrp redirect`, spokes `ip nhrp shortcut`; the spokes'
// configs have no LAN interface at all: their LAN addresses go on with `ip addr` before the appliance
// starts. NHRP's "behind me" now comes from the kernel table, so R4 answers the resolution for its
// LAN (before: a loop error indication), the shortcut forms, traffic goes spoke to spoke directly, and
// `show ip route` shows the shortcut as IOS does (H route, or % on an overridden route).
import t from 'tap';
import { Lab, labConfig, waitFor, nsExec } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS]);

/** GRE data packets the hub received (NHRP excluded). */
const hubGre = (lab: Lab) => { const c = lab.ctlJson('R1', 'show dataplane counters'); return (c.greRxPackets - c.nhrpIn) as number; };

/** A spoke's lab config without its LAN interface: the OS owns the LAN. */
function withoutLan(name: string): string {
  const c = labConfig(name, { holdtime: 60, registrationTimeout: 5 });
  const out = c.replace(/interface FastEthernet0\/1\n ip address [^\n]+\n!\n/, '');
  if (out === c) throw new Error(`${name}: no FastEthernet0/1 block to remove`);
  return out;
}

t.test('spokes with OS-configured LANs: Phase 3 shortcut forms and traffic goes spoke to spoke', async (t) => {
  const lab = new Lab(`kr-osl${process.pid % 10000}`, 3);
  t.teardown(() => lab.down());
  lab.up();
  for (const n of [2, 3, 4]) nsExec(lab.ns(`R${n}`), ['ip', 'addr', 'add', `10.0.${n}.1/24`, 'dev', 'eth1']);
  lab.start('R1', lab.writeConfig('R1', labConfig('R1', { holdtime: 60, registrationTimeout: 5 })));
  for (const n of [2, 3, 4]) lab.start(`R${n}`, lab.writeConfig(`R${n}`, withoutLan(`R${n}`)));
  const hubPeers = () => { try { return lab.ctlJson('R1', 'show dmvpn').interfaces[0].peers.length; } catch { return 0; } };
  t.ok(await waitFor(() => hubPeers() === 3, 30000), `the hub learnt 3 spokes:\n${lab.routers.get('R1')!.log.slice(-20).join('\n')}`);
  t.notMatch(lab.ctl('R2', 'show running-config'), /10\.0\.2\.1/, 'R2\'s LAN is not in its config');

  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10', 3), 'first pings cross the hub');
  const short = await waitFor(() => { lab.ping(lab.ns('h2'), '10.0.4.10', 1); return lab.ctlJson('R2', 'show ip nhrp shortcut').find((e: any) => e.prefix === '10.0.4.0'); }, 15000);
  t.ok(short, 'R2 installed a shortcut for R4\'s OS-configured LAN');
  t.equal(short?.prefixLen, 24, 'for the /24 R4 answered as behind it (from its kernel table)');
  t.equal(short?.via, '192.168.0.4');
  const r4 = lab.ctlJson('R4', 'show ip nhrp traffic');
  t.notOk(r4.out['error-indication'], `R4 sent no error indication (loop) for its own LAN (${JSON.stringify(r4.out)})`);
  t.ok(r4.out['resolution-reply'] > 0, 'R4 answered the resolution');

  const before = hubGre(lab), r4Before = lab.ctlJson('R4', 'show dataplane counters').greRxPackets as number;
  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10', 10), 'pings over the shortcut');
  const viaHub = hubGre(lab) - before, atR4 = lab.ctlJson('R4', 'show dataplane counters').greRxPackets - r4Before;
  t.ok(viaHub < 3, `the hub saw almost none of the 20 packets (${viaHub})`);
  t.ok(atR4 >= 10, `R4 received the 10 echo requests in GRE, straight from R2 (${atR4} GRE packets)`);

  const route = lab.ctl('R2', 'show ip route');
  t.match(route, /H\s+10\.0\.4\.0\/24 \[250\/1\] via 192\.168\.0\.4, \d\d:\d\d:\d\d, Tunnel0/, `show ip route on R2 shows the NHRP route:\n${route}`);
  t.match(route, /S\s+10\.0\.0\.0\/8 \[1\/0\] via 192\.168\.0\.1/, 'beside the summary via the hub');
  t.match(route, /C\s+10\.0\.2\.0\/24 is directly connected, eth1/, 'and the OS-configured LAN, as connected');
});
