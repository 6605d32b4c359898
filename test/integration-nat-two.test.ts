// Two spokes (R3, R4) behind one nftables masquerade NAT, protected by manual SAs in ESP-in-UDP 4500
// (NAT-T): the hub's two manual-sas share the NAT's public address as peer. Each spoke's NAT mapping
// gets its own public port; the hub learns it from authenticated inbound ESP (port floating), ties
// each tunnel IP to the SA pair its registration came through, and sends to the right spoke.
import t from 'tap';
import { Lab, labConfig, waitFor, uniquePrefix } from './util/lab.js';
import { putBehindNat, natSpokeConfig } from './util/nat.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'nft']);

const lab = new Lab(uniquePrefix('nat2'), 3);
t.teardown(() => lab.down());
const peersOf = (r: string) => { try { return lab.ctlJson(r, 'show dmvpn').interfaces[0].peers as any[]; } catch { return []; } };
const PUBLIC = '172.16.99.2';
const key = (b: number) => Buffer.from(Array.from({ length: 36 }, (_, i) => (i * 7 + b) & 0xff)).toString('hex');

const TS = `crypto ipsec transform-set TS esp-gcm 256
 mode transport
crypto ipsec profile DMVPN
 set transform-set TS
`;
// manual AEAD keys need persisted sequence numbers (docs/security.md); one directory per router
const manualSa = (router: string, name: string, peer: string, inSpi: number, outSpi: number, inKey: string, outKey: string) =>
  `crypto ipsec manual-sa ${name}
 set peer ${peer}
 set transform-set TS
 set session-key inbound esp ${inSpi} cipher ${inKey}
 set session-key outbound esp ${outSpi} cipher ${outKey}
 set udp-encapsulation
 set sequence-persistence ${lab.dir}/seq-${router}
!
`;
const protect = (cfg: string, sas: string) => TS + sas +
  cfg.replace(' tunnel mode gre multipoint', ' tunnel mode gre multipoint\n tunnel protection ipsec profile DMVPN');

t.before(async () => {
  lab.up();
  putBehindNat(lab, [3, 4], { publicIp: PUBLIC, inetLink: 'r99' });
  const base = (r: string) => labConfig(r, { holdtime: 60, registrationTimeout: 5, phase1: true });
  const hub = protect(base('R1'),
    manualSa('R1', 'R3', PUBLIC, 0x3001, 0x3002, key(1), key(2)) + manualSa('R1', 'R4', PUBLIC, 0x4001, 0x4002, key(3), key(4)));
  const spoke = (n: number, inSpi: number, outSpi: number, inKey: string, outKey: string) =>
    protect(natSpokeConfig(base(`R${n}`), n),
    manualSa(`R${n}`, 'HUB', '172.16.15.2', inSpi, outSpi, inKey, outKey));
  lab.start('R1', lab.writeConfig('R1', hub));
  lab.start('R3', lab.writeConfig('R3', spoke(3, 0x3002, 0x3001, key(2), key(1))));
  lab.start('R4', lab.writeConfig('R4', spoke(4, 0x4002, 0x4001, key(4), key(3))));
  if (!(await waitFor(() => peersOf('R1').length === 2, 25000))) {
    throw new Error(`no registration:\n${lab.ctl('R1', 'show dmvpn')}\n${lab.ctl('R1', 'show ip nhrp')}\n${lab.routers.get('R1')!.log.join('\n')}\n${lab.routers.get('R3')!.log.join('\n')}\n${lab.routers.get('R4')!.log.join('\n')}`);
  }
});

t.test('both spokes register with the same public NBMA, flagged N', async (t) => {
  for (const tunnel of ['192.168.0.3', '192.168.0.4']) {
    const p = peersOf('R1').find((x) => x.tunnel === tunnel);
    t.equal(p?.nbma, PUBLIC, `${tunnel}: the NAT's public address`);
    t.match(p?.attrs, /N/, `${tunnel}: NATed`);
  }
  const claimed = (lab.ctlJson('R1', 'show ip nhrp') as any[]).filter((x) => x.prefix.startsWith('192.168.0.')).map((x) => x.claimedNbma).sort();
  t.same(claimed, ['10.35.0.2', '10.45.0.2'], 'each spoke\'s own claimed address is kept');
  const outs = (lab.ctlJson('R1', 'show crypto ipsec sa') as any[]).filter((s) => s.dir === 'out');
  const ports = outs.map((s) => s.ports & 0xffff);
  t.equal(new Set(ports).size, 2, `the hub sends to two different NAT ports (${ports.join(', ')})`);
});

t.test('h3 and h4 reach h1 through the hub', async (t) => {
  t.ok(lab.ping(lab.ns('h3'), '10.0.1.10', 3), 'h3 -> h1');
  t.ok(lab.ping(lab.ns('h4'), '10.0.1.10', 3), 'h4 -> h1');
  t.ok(lab.ping(lab.ns('h1'), '10.0.3.10', 3), 'h1 -> h3');
  t.ok(lab.ping(lab.ns('h1'), '10.0.4.10', 3), 'h1 -> h4');
  const sas = lab.ctlJson('R1', 'show crypto ipsec sa') as any[];
  // the hub's two manual-sas, in and out: without this count an empty list would pass the loop below
  t.same(sas.map((s) => `${s.name} ${s.dir}`).sort(), ['R3 in', 'R3 out', 'R4 in', 'R4 out'], 'the hub lists its four SAs');
  for (const s of sas) t.ok(s.packets >= 3, `hub SA ${s.name} ${s.dir} carried traffic (${s.packets})`);
  t.equal(sas.reduce((a, s) => a + s.drops.auth, 0), 0, 'no authentication failures');
});

t.test('R3 <-> R4 through the hub', async (t) => {
  t.ok(lab.ping(lab.ns('h3'), '10.0.4.10', 3), 'h3 -> h4');
  t.ok(lab.ping(lab.ns('h4'), '10.0.3.10', 3), 'h4 -> h3');
});
