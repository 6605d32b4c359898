// The Phase 2/3 message shapes we emit, captured from engines talking in memory and checked with the
// real Wireshark dissector: Traffic Indication with a real inner packet, Resolution Request/Reply
// carrying forward transit records, Purge Request/Reply, Error Indication. A corrupted copy of the
// Traffic Indication is the negative control.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { greIpv4, writePcap } from './util/nhrp-pcap.js';
import { all, problems, type Json } from './util/tshark-json.js';
import { Net, Node, clientOf, tunnel, udpPacket } from './util/nhrp-net.js';
import type { Sent } from './util/nhrp-net.js';
import { needs } from './util/needs.js';


const C = { ip: '10.0.0.100', nbma: '203.0.113.100' };
const R1 = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const R2 = { ip: '10.0.0.101', nbma: '203.0.113.101' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3' };

/** Run a hierarchical Phase 3 exchange, a purge and a failed resolution; return what went on the wire. */
function capture(): Sent[] {
  const net = new Net();
  const c = new Node(net, C, tunnel({ authentication: 'dmvpn' }), {
    routeLookup: (d) => (d.startsWith('192.168.20.') || d === B.ip ? { nextHop: R2.ip } : undefined),
  });
  const r1 = new Node(net, R1, clientOf([C], { redirect: true, authentication: 'dmvpn' }));
  const r2 = new Node(net, R2, clientOf([C], { authentication: 'dmvpn' }), {
    routeLookup: (d) => (d.startsWith('192.168.20.') ? { nextHop: B.ip } : undefined),
  });
  const a = new Node(net, A, clientOf([R1], { shortcut: true, authentication: 'dmvpn' }));
  const b = new Node(net, B, clientOf([R2], { shortcut: true, authentication: 'dmvpn' }), {
    localPrefixes: () => [{ prefix: '192.168.20.0', len: 24 }],
  });
  [c, r1, r2, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  net.sent.length = 0;
  r1.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.5', 100));
  b.engine.clearCache();
  a.engine.noEntry('10.0.0.77', '10.0.0.77'); // C has no route: Error Indication
  return net.sent;
}

t.test('Wireshark dissects the Phase 2/3 messages as we meant them', needs(t, 'tshark'), async (t) => {
  const sent = capture();
  const pick = (type: number, to?: string) => sent.find((s) => s.msg.type === type && (!to || s.to === to))!;
  const cases: Array<[string, Sent]> = [
    ['traffic indication', pick(8)],
    ['resolution request at the owner (3 transit NHSes)', pick(1, B.nbma)],
    ['resolution reply', pick(2)],
    ['purge request', pick(5)],
    ['purge reply', pick(6)],
    ['error indication', pick(7)],
  ];
  cases.forEach(([name, s]) => t.ok(s, `captured a ${name}`));
  const dir = mkdtempSync(join(tmpdir(), 'nhrp-phase-tshark-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = cases[0][1].bytes.slice();
  bad[25] ^= 0x40; // inside the mandatory part: checksum no longer verifies
  const packets = [...cases.map(([, s]) => greIpv4(s.from, s.to, s.bytes)), greIpv4(R1.nbma, A.nbma, bad)];
  const pcap = join(dir, 'phase.pcap');
  writePcap(pcap, packets);
  const r = spawnSync('tshark', ['-r', pcap, '-V', '-T', 'json', '--no-duplicate-keys', '-o', 'nhrp.auth_ext_has_addr:FALSE'],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  t.equal(r.status, 0, r.stderr?.slice(0, 300));
  const frames = (JSON.parse(r.stdout) as Array<{ _source: { layers: Json } }>).map((f) => f._source.layers);
  t.equal(frames.length, packets.length);

  cases.forEach(([name, s], i) => t.test(name, async (t) => {
    const l = frames[i];
    const nhrp = l.nhrp as Json;
    t.same(problems(l), [], 'no expert info / malformed markers');
    t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.chksum.status'), ['1'], 'checksum good');
    t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.op.type').map(Number), [s.msg.type]);
    t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.hopcnt').map(Number), [s.msg.hopCount]);
    const mand = nhrp['NHRP Mandatory Part'];
    t.same(all(mand, 'nhrp.src.nbma.addr'), [s.msg.srcNbma]);
    t.same(all(mand, 'nhrp.src.prot.addr'), [s.msg.srcProto]);
    t.same(all(mand, 'nhrp.dst.prot.addr'), [s.msg.dstProto]);
    const outer = Object.fromEntries(Object.entries(nhrp).filter(([k]) => k !== 'Packet Causing Indication'));
    const extTypes = all(outer, 'nhrp.ext.type').map(Number);
    t.same(extTypes, s.msg.extensions.length ? [...s.msg.extensions.map((e) => e.type), 0] : [], 'extensions in order, End last');
  }));

  t.test('traffic indication: the packet causing it is dissected as IPv4/UDP', async (t) => {
    const inner = (frames[0].nhrp as Json)['Packet Causing Indication'];
    t.same(all(inner, 'ip.src'), ['192.168.10.5']);
    t.same(all(inner, 'ip.dst'), ['192.168.20.5']);
    t.same(all(inner, 'udp.dstport'), ['5001']);
  });
  t.test('resolution request/reply: flags, CIEs and forward transit records', async (t) => {
    const req = frames[1].nhrp as Json;
    t.same(all(req, 'nhrp.flag.q'), ['1']);
    t.same(all(req, 'nhrp.flag.nat'), ['1'], 'Cisco NAT capable');
    t.same(all(req, 'nhrp.prefix'), ['255', '0', '0', '0'], 'request CIE 0xff, then the three transit CIEs');
    t.same(all(req, 'nhrp.client.prot.addr'), [R1.ip, C.ip, R2.ip], 'forward transit R1, C, R2 (the request CIE has none)');
    t.same(all(req, 'nhrp.hdr.hopcnt'), ['61'], 'three hops taken');
    const rep = frames[2].nhrp as Json;
    t.same(all(rep['NHRP Mandatory Part'], 'nhrp.flag.a'), ['1'], 'authoritative');
    t.same(all(rep['NHRP Mandatory Part'], 'nhrp.prefix'), ['24'], 'covering prefix');
    t.same(all(rep['NHRP Mandatory Part'], 'nhrp.client.nbma.addr'), [B.nbma]);
    t.same(all(rep, 'nhrp.client.prot.addr'), [B.ip, R1.ip, C.ip, R2.ip, B.ip], 'CIE, forward transit, responder');
  });
  t.test('purge: prefix and N flag clear', async (t) => {
    t.same(all(frames[3].nhrp, 'nhrp.prefix'), ['24']);
    t.same(all(frames[3].nhrp, 'nhrp.client.prot.addr'), ['192.168.20.0']);
    t.same(all(frames[3].nhrp, 'nhrp.flag.n'), ['0']);
    t.same(all(frames[4].nhrp, 'nhrp.reqid'), all(frames[3].nhrp, 'nhrp.reqid'), 'reply echoes the request id');
  });
  t.test('error indication: code and the packet in error', async (t) => {
    t.same(all(frames[5].nhrp, 'nhrp.err.code'), ['6'], 'protocol address unreachable');
    t.same(all(frames[5].nhrp, 'nhrp.hdr.extoff'), ['0', all(frames[5].nhrp, 'nhrp.hdr.extoff')[1]], 'no extensions of its own');
    t.same(all((frames[5].nhrp as Json)['Packet Causing Indication'], 'nhrp.dst.prot.addr'), ['10.0.0.77']);
  });
  t.test('negative control: the corrupted traffic indication is flagged', async (t) => {
    t.same(all(frames[6].nhrp, 'nhrp.hdr.chksum.status'), ['0']);
    t.not(problems(frames[6]).length, 0);
  });
});
