// Phases 2 and 3 end to end in the seed-003 topology: the first packets between two spokes cross
// the hub, NHRP builds a direct spoke-to-spoke tunnel, and later traffic bypasses the hub.
import t from 'tap';
import { Lab, labConfig, waitFor, uniquePrefix } from './util/lab.js';
import { tsharkFields } from './util/tshark.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'tshark']);

type Peer = { nbma: string; tunnel: string; state: string; attrs: string; entries: number };
const peersOf = (lab: Lab, r: string): Peer[] => {
  try { return lab.ctlJson(lab.routers.has(r) ? r : r, 'show dmvpn').interfaces[0].peers; } catch { return []; }
};
/** GRE data packets the hub received (NHRP excluded: spokes keep re-registering meanwhile). */
const hubGre = (lab: Lab) => { const c = lab.ctlJson('R1', 'show dataplane counters'); return (c.greRxPackets - c.nhrpIn) as number; };

/** Seed-003 lab configs turned into Phase 2 (routes to the other spokes' tunnel addresses) or Phase 3. */
function phaseConfig(name: string, phase: 2 | 3): string {
  // the lab configs are Phase 3 (hub redirect, spoke shortcut); Phase 2 drops those and routes
  // each spoke LAN to that spoke's tunnel address instead of summarising via the hub
  let c = labConfig(name, { holdtime: 60, registrationTimeout: 5, phase1: phase === 2 });
  if (phase === 2 && name !== 'R1') {
    const n = Number(name.slice(1));
    const routes = [2, 3, 4].filter((m) => m !== n).map((m) => `ip route 10.0.${m}.0 255.255.255.0 192.168.0.${m}`).join('\n');
    c = c.replace('ip route 10.0.0.0 255.0.0.0 192.168.0.1', `ip route 10.0.1.0 255.255.255.0 192.168.0.1\n${routes}`);
  }
  return c;
}

async function bringUp(t: { teardown(fn: () => void): void }, phase: 2 | 3): Promise<Lab> {
  const lab = new Lab(uniquePrefix(`p${phase}`), 3);
  t.teardown(() => lab.down());
  lab.up();
  for (const r of ['R1', 'R2', 'R3', 'R4']) lab.start(r, lab.writeConfig(r, phaseConfig(r, phase)));
  const ok = await waitFor(() => peersOf(lab, 'R1').length === 3, 20000);
  if (!ok) throw new Error(`hub did not learn 3 spokes:\n${lab.routers.get('R1')!.log.join('\n')}`);
  return lab;
}

t.test('Phase 2: a spoke resolves another spoke through the hub, then goes direct', async (t) => {
  const lab = await bringUp(t, 2);
  t.same(peersOf(lab, 'R2').map((p) => p.tunnel), ['192.168.0.1'], 'R2 starts with only the hub');
  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10', 3), 'first pings get through (via the hub while resolving)');
  const direct = await waitFor(() => peersOf(lab, 'R2').find((p) => p.tunnel === '192.168.0.4'), 8000);
  t.ok(direct, 'R2 has an entry for R4');
  t.equal(direct?.nbma, '172.16.45.2');
  t.match(direct?.attrs ?? '', /^D/);
  t.match(lab.ctl('R2', 'show dmvpn'), /172\.16\.45\.2\s+192\.168\.0\.4\s+UP\s+\d\d:\d\d:\d\d\s+D/);
  const before = hubGre(lab);
  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10', 5), 'pings over the direct tunnel');
  t.ok(hubGre(lab) - before < 3, `the hub saw almost none of them (${hubGre(lab) - before})`);
  const pcap = lab.routers.get('R2')!.pcap;
  const types = tsharkFields(pcap, 'nhrp', ['nhrp.hdr.op.type', 'ip.src', 'ip.dst', 'nhrp.hdr.chksum.status']);
  t.ok(types.some((p) => p['nhrp.hdr.op.type'] === '1' && p['ip.dst'] === '172.16.15.2'), 'Resolution Request to the hub');
  t.ok(types.some((p) => p['nhrp.hdr.op.type'] === '2'), 'Resolution Reply received');
  t.ok(types.every((p) => p['nhrp.hdr.chksum.status'] === '1'), 'every NHRP checksum good');
});

t.test('Phase 3: hub redirect, spoke shortcut, both directions, traffic bypasses the hub', async (t) => {
  const lab = await bringUp(t, 3);
  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10', 3), 'first pings cross the hub');
  const short = await waitFor(() => lab.ctlJson('R2', 'show ip nhrp shortcut').find((e: any) => e.prefix === '10.0.4.0'), 8000);
  t.ok(short, 'R2 installed a shortcut for R4\'s LAN');
  t.equal(short?.prefixLen, 24, 'with the covering prefix R4 answered');
  t.equal(short?.via, '192.168.0.4');
  const reverse = await waitFor(() => {
    lab.ping(lab.ns('h4'), '10.0.2.10', 1);
    return peersOf(lab, 'R4').find((p) => p.tunnel === '192.168.0.2');
  }, 8000);
  t.ok(reverse, 'R4 knows R2 too: the tunnel is not one-sided');
  t.match(lab.ctl('R2', 'show dmvpn'), /172\.16\.45\.2\s+192\.168\.0\.4\s+UP\s+\d\d:\d\d:\d\d\s+DT1/);
  const c = lab.ctlJson('R1', 'show dataplane counters');
  t.ok(c.redirectNotice > 0, 'the hub noticed the hairpin');
  const before = hubGre(lab);
  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10', 5), 'pings over the shortcut');
  t.ok(hubGre(lab) - before < 3, `the hub saw almost none of them (${hubGre(lab) - before})`);
  const pcap = lab.routers.get('R2')!.pcap;
  const ti = tsharkFields(pcap, 'nhrp.hdr.op.type == 8', ['ip.src', 'nhrp.hdr.chksum.status']);
  t.ok(ti.length > 0 && ti[0]['ip.src'] === '172.16.15.2', 'R2 received a Traffic Indication from the hub');
  t.equal(ti[0]?.['nhrp.hdr.chksum.status'], '1');
  lab.ctl('R2', 'clear ip nhrp');
  t.notOk(lab.ctlJson('R2', 'show ip nhrp shortcut').length, 'clear ip nhrp removes the shortcut');
  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10', 2), 'traffic still flows (via the hub again)');
});
