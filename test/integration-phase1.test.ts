// Phase 1 DMVPN end to end: four real appliance processes in the seed-003 topology (namespaces),
// cleartext mGRE, NHRP registration, host-to-host traffic through the hub, restart and expiry.
import t from 'tap';
import fs from 'node:fs';
import { Lab, labConfig, waitFor, sleep, nsExec, uniquePrefix } from './util/lab.js';
import { tsharkFields, tsharkExperts } from './util/tshark.js';
import { cie, hostile, sendNhrp } from './util/nhrp-hostile.js';
import { NhrpType } from '../appliance/nhrp/types.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'tshark', 'python3']);

const HOLD = 12; // seconds: short so expiry is observable in a test
const REG = 3; // registration timeout (IOS: holdtime/3 by default)
const lab = new Lab(uniquePrefix('p1'), 3);
t.teardown(() => lab.down());

const peersOf = (router: string) => {
  try { return lab.ctlJson(router, 'show dmvpn').interfaces[0].peers as Array<{ nbma: string; tunnel: string; state: string; attrs: string }>; }
  catch { return []; }
};

t.before(async () => {
  lab.up();
  for (const r of ['R1', 'R2', 'R3', 'R4']) lab.start(r, lab.writeConfig(r, labConfig(r, { holdtime: HOLD, registrationTimeout: REG, phase1: true })));
  const ok = await waitFor(() => peersOf('R1').length === 3, 20000);
  if (!ok) throw new Error(`hub did not learn 3 spokes; hub log:\n${lab.routers.get('R1')!.log.join('\n')}\nR2 log:\n${lab.routers.get('R2')!.log.join('\n')}`);
});

t.test('spokes register and the hub learns them with no per-spoke NHRP config', async (t) => {
  const peers = peersOf('R1');
  t.same(peers.map((p) => [p.nbma, p.tunnel]).sort(), [
    ['172.16.25.2', '192.168.0.2'], ['172.16.35.2', '192.168.0.3'], ['172.16.45.2', '192.168.0.4']]);
  for (const p of peers) { t.equal(p.state, 'UP'); t.match(p.attrs, /D/); }
  const text = lab.ctl('R1', 'show dmvpn');
  t.match(text, /Tunnel0, Type:Hub, NHRP Peers:3,/);
  t.match(text, /172\.16\.25\.2\s+192\.168\.0\.2\s+UP\s+\d\d:\d\d:\d\d\s+D/);
  const spoke = lab.ctl('R2', 'show dmvpn');
  t.match(spoke, /Tunnel0, Type:Spoke, NHRP Peers:1,/);
  t.match(spoke, /172\.16\.15\.2\s+192\.168\.0\.1\s+UP\s+\d\d:\d\d:\d\d\s+S/);
  t.match(lab.ctl('R1', 'show ip nhrp'), /192\.168\.0\.3\/32 via 192\.168\.0\.3[\s\S]*Type: dynamic[\s\S]*NBMA address: 172\.16\.35\.2/);
});

t.test('the operator view: IOS abbreviations, running-config, NHS status, errors', async (t) => {
  const noTimes = (s: string) => s.replace(/\d\d:\d\d:\d\d/g, 'hh:mm:ss');
  t.equal(noTimes(lab.ctl('R1', 'sh dmv')), noTimes(lab.ctl('R1', 'show dmvpn')), 'sh dmv is show dmvpn');
  const run = lab.ctl('R2', 'show running-config');
  t.match(run, /hostname R2/);
  t.match(run, /interface Tunnel0\n ip address 192\.168\.0\.2 255\.255\.255\.0/);
  t.match(run, / ip nhrp nhs 192\.168\.0\.1/);
  const nhs = lab.ctlJson('R2', 'show ip nhrp nhs');
  t.equal(nhs[0].nbma, '172.16.15.2');
  t.equal(nhs[0].up, true, 'the NHS is up');
  t.match(lab.ctl('R2', 'show ip nhrp nhs'), /192\.168\.0\.1\s+RE?\s/);
  t.match(lab.ctl('R2', 'show dmvpm'), /% Invalid input detected at '\^' marker/);
  t.match(lab.ctl('R2', 'sh ip'), /% (Incomplete|Ambiguous) command/);
});

t.test('hosts behind spokes reach each other through the hub; hub-side host too', async (t) => {
  const before = lab.ctlJson('R1', 'show dataplane counters');
  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10'), 'h2 -> h4 through R2, R1, R4');
  t.ok(lab.ping(lab.ns('h3'), '10.0.2.10'), 'h3 -> h2');
  t.ok(lab.ping(lab.ns('h1'), '10.0.3.10'), 'h1 (behind the hub) -> h3');
  const after = lab.ctlJson('R1', 'show dataplane counters');
  t.ok(after.greRxPackets - before.greRxPackets >= 6, 'the hub decapsulated the spoke-to-spoke pings');
  t.ok(after.greTxPackets - before.greTxPackets >= 6, 'and encapsulated them again');
});

t.test('multicast on the hub tunnel is replicated to every registered spoke (map multicast dynamic)', async (t) => {
  const counts = () => ['R2', 'R3', 'R4'].map((r) => lab.ctlJson(r, 'show dataplane counters').tunTxPackets as number);
  const before = counts();
  const hubBefore = lab.ctlJson('R1', 'show dataplane counters').mcastTx ?? 0;
  // a multicast to a link-local group (port chosen so no dissector claims it) sent out of the hub's tunnel interface
  nsExec(lab.ns('r1'), ['python3', '-c', `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('192.168.0.1'))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
for i in range(3): s.sendto(b'hello', ('224.0.0.9', 40000))
`]);
  await sleep(300);
  const hubAfter = lab.ctlJson('R1', 'show dataplane counters').mcastTx;
  t.equal(hubAfter - hubBefore, 9, 'three datagrams, one copy per spoke');
  counts().forEach((c, i) => t.equal(c - before[i], 3, `R${i + 2} delivered the three datagrams to its kernel`));
});

t.test('what goes on the wire is GRE and NHRP that Wireshark decodes cleanly', async (t) => {
  const pcap = lab.routers.get('R2')!.pcap;
  t.ok(fs.existsSync(pcap), 'dmvpnd --pcap wrote a capture');
  const f = ['ip.src', 'ip.dst', 'gre.proto', 'nhrp.hdr.op.type', 'nhrp.hdr.chksum.status', 'nhrp.src.nbma.addr', 'nhrp.src.prot.addr'];
  const nhrp = tsharkFields(pcap, 'nhrp', f);
  const reg = nhrp.find((p) => p['nhrp.hdr.op.type'] === '3');
  t.ok(reg, 'a Registration Request was captured');
  t.equal(reg?.['ip.src'], '172.16.25.2');
  t.equal(reg?.['ip.dst'], '172.16.15.2');
  t.equal(reg?.['gre.proto'], '0x2001');
  t.equal(reg?.['nhrp.src.prot.addr'], '192.168.0.2');
  t.equal(reg?.['nhrp.hdr.chksum.status'], '1', 'NHRP checksum verified good by tshark');
  t.ok(nhrp.find((p) => p['nhrp.hdr.op.type'] === '4'), "the hub's Registration Reply was captured");
  t.notMatch(tsharkExperts(pcap), /Malformed|Bad checksum|\[incorrect/i, 'no malformed packets or bad checksums');
  t.ok(tsharkFields(pcap, 'gre && icmp', ['ip.src']).length > 0, 'pings were carried in GRE');
});

t.test('bad input is counted and dropped; the appliance keeps running and keeps its state', async (t) => {
  const before = lab.ctlJson('R1', 'show dataplane counters');
  // from the Internet namespace, spoofing R2's NBMA address: truncated GRE, GRE version 1,
  // an unknown protocol type, a garbage NHRP packet, and a GRE key the tunnel does not expect.
  nsExec(lab.ns('inet'), ['python3', '-c', `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
dst = ('172.16.15.2', 0)
for p in [b'\\x00', b'\\x00\\x01\\x08', b'\\x00\\x01\\x08\\x00' + b'E'*20, b'\\x00\\x00\\x86\\xdd' + b'x'*40,
          b'\\x00\\x00\\x20\\x01' + b'\\xff'*30, b'\\x20\\x00\\x08\\x00\\x00\\x00\\x00\\x07' + b'E'*20]:
    s.sendto(p, dst)
`]);
  // ... and a hostile peer speaking well-formed NHRP from the Internet namespace's own address (no
  // router knows it): the purge of 128.0.0.0/1 at the hub, and a Resolution Request telling R2 that
  // R3's tunnel address is at the attacker (integration-hostile.test.ts has the whole set).
  const inet = '172.16.15.1';
  sendNhrp(lab.ns('inet'), '172.16.15.2', [hostile({ type: NhrpType.PurgeRequest, srcNbma: inet, srcProto: '192.168.0.99',
    dstProto: '192.168.0.1', cies: [cie({ proto: '128.0.0.0', prefixLen: 1 })] })]);
  sendNhrp(lab.ns('inet'), '172.16.25.2', [hostile({ type: NhrpType.ResolutionRequest, srcNbma: '172.16.25.1',
    srcProto: '192.168.0.3', dstProto: '192.168.0.2', flags: 0xc802, cies: [cie({ prefixLen: 0xff })] })]);
  await sleep(500);
  t.ok((lab.ctlJson('R1', 'show ip nhrp traffic').refused?.purge ?? 0) > 0, 'the hostile purge was refused and counted');
  t.ok((lab.ctlJson('R2', 'show ip nhrp traffic').refused?.['resolution-request'] ?? 0) > 0, 'so was the poisoning request');
  t.notOk(lab.ctlJson<any[]>('R2', 'show ip nhrp').some((e) => e.prefix === '192.168.0.3' && e.nbma === '172.16.25.1'),
    'R2 does not map R3 to the attacker');
  const after = lab.ctlJson('R1', 'show dataplane counters');
  t.ok(after.dropGreTruncated > before.dropGreTruncated, 'truncated GRE counted');
  t.ok(after.dropGreVersion > before.dropGreVersion, 'GRE version 1 counted');
  t.ok(after.dropGreProto > before.dropGreProto, 'unknown GRE protocol counted');
  t.ok(after.dropGreKey > before.dropGreKey, 'unexpected key counted');
  const nhrp = lab.ctlJson('R1', 'show ip nhrp traffic');
  t.ok(Object.entries(nhrp.drops ?? {}).some(([, v]) => (v as number) > 0), 'garbage NHRP counted as a drop');
  t.equal(peersOf('R1').length, 3, 'hub still has its three spokes');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 2), 'traffic still flows');
});

t.test('a registration hijack (another NBMA claiming a registered unique address) is refused', async (t) => {
  await lab.stop('R3');
  // R3's box now claims R2's tunnel address
  const rogue = labConfig('R3', { holdtime: HOLD, registrationTimeout: REG, phase1: true }).replace(/192\.168\.0\.3 /, '192.168.0.2 ');
  lab.start('R3', lab.writeConfig('R3-rogue', rogue));
  const refused = await waitFor(() => lab.routers.get('R3')!.log.some((l) => /code 14/.test(l)), 10000);
  t.ok(refused, 'the rogue was told: unique address already registered (code 14)');
  t.ok(lab.routers.get('R1')!.log.some((l) => /192\.168\.0\.2/.test(l) && /172\.16\.35\.2/.test(l) && /172\.16\.25\.2/.test(l)),
    'the hub logged the attempt naming both NBMA addresses');
  t.equal(peersOf('R1').find((p) => p.tunnel === '192.168.0.2')?.nbma, '172.16.25.2', 'R2 keeps its entry');
  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 2), 'R2 traffic unaffected');
  await lab.stop('R3');
  lab.start('R3', lab.writeConfig('R3', labConfig('R3', { holdtime: HOLD, registrationTimeout: REG, phase1: true })));
  t.ok(await waitFor(() => peersOf('R1').some((p) => p.tunnel === '192.168.0.3'), 10000), 'the real R3 registers again');
});

t.test('hub restart: spokes re-register and spoke-to-spoke traffic recovers', async (t) => {
  await lab.stop('R1');
  lab.start('R1', lab.routers.get('R1')!.config);
  const back = await waitFor(() => peersOf('R1').length === 3, 20000);
  t.ok(back, 'the restarted hub relearned all three spokes from their registrations');
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.4.10', 1), 10000), 'h2 -> h4 works again');
});

t.test('a spoke that dies expires from the hub after its holding time', async (t) => {
  await lab.stop('R4', 'SIGKILL');
  const t0 = Date.now();
  const gone = await waitFor(() => !peersOf('R1').some((p) => p.tunnel === '192.168.0.4'), (HOLD + 8) * 1000, 500);
  t.ok(gone, 'R4 left the hub cache');
  t.ok(Date.now() - t0 >= (HOLD - REG - 2) * 1000, 'not before its holding time ran out');
  t.equal(peersOf('R1').length, 2, 'the others stay');
});
