// Seed 003 "Adding Crypto": R1 (hub), R2 and R3 (spokes) with the seed's crypto block verbatim, in
// namespaces. IKEv1 (main mode + quick mode, the seed's IOS defaults: DES/SHA-1/group 1, esp-aes
// esp-sha-hmac in tunnel mode) brings the DMVPN up encrypted: spokes register through ESP, hosts
// ping across the hub and over an on-demand spoke-to-spoke SA (Phase 3 shortcut), nothing but ESP
// and ISAKMP is on the wire, and tshark's isakmp dissector finds every ISAKMP packet clean.
// Attackers from the Internet namespace: a wrong pre-shared key establishes nothing, a forged
// (unauthenticated) delete changes nothing.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, waitFor, sleep } from './util/lab.js';
import { sendRawIpv4 } from './util/esp-lab.js';
import { tshark, tsharkFields } from './util/tshark.js';
import { problems } from './util/tshark-json.js';
import { bundlePeer, IkePeer } from './util/ike-peer.js';
import { ipv4 } from './util/packets.js';
import { ipToU32 as ip } from '../appliance/net/ipv4.js';
import { startSeed003 } from './util/seed003-crypto.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { withSeedCrypto } from './util/seed003-crypto.js';

requireTools(t, [...LAB_NEEDS, 'tshark', 'dumpcap', 'python3']);

interface IsakmpRow { dst: string; src: string; state: string; connId: number; slot: number; status: string; cookies: { i: string; r: string } }

t.test('seed 003 with its crypto block: DMVPN up over IKEv1-negotiated ESP', async (t) => {
  const { lab, pcaps, logs, spokesUp, stopCaptures } = await startSeed003(t, 'ika', withSeedCrypto, 'not arp');
  const up = await spokesUp();
  t.ok(up, 'both spokes registered with the hub through ESP (show dmvpn: 2 peers UP)');
  if (!up) { t.comment(logs()); return; }

  // show crypto isakmp sa on the hub: one QM_IDLE ACTIVE SA per spoke, the spokes initiated (src)
  const hubSas = lab.ctlJson<IsakmpRow[]>('R1', 'show crypto isakmp sa').filter((r) => r.state === 'QM_IDLE');
  t.same(hubSas.map((r) => [r.dst, r.src, r.status, r.slot]).sort(),
    [['172.16.15.2', '172.16.25.2', 'ACTIVE', 0], ['172.16.15.2', '172.16.35.2', 'ACTIVE', 0]], 'hub: QM_IDLE ACTIVE with each spoke');
  t.ok(hubSas.every((r) => r.connId >= 1001), 'conn-ids from 1001');
  const text = lab.ctl('R1', 'show crypto isakmp sa');
  t.match(text, /^IPv4 Crypto ISAKMP SA\ndst {13}src {13}state {10}conn-id slot status\n/, 'IOS header');
  t.match(text, /172\.16\.15\.2 {5}172\.16\.25\.2 {5}QM_IDLE {8} {3}\d{4} {4}0 ACTIVE\n/, 'IOS row layout');
  t.match(lab.ctl('R2', 'show crypto session'), /Session status: UP-ACTIVE\nPeer: 172\.16\.15\.2 port 500/, 'show crypto session');
  t.match(lab.ctl('R2', 'show crypto ipsec sa'), /in use settings =\{Tunnel, \}\n {8}conn id: \d+, sa name: conn-id \d+ \(isakmp\)/, 'tunnel mode (the IOS default), SAs from ISAKMP');

  t.equal(lab.ctl('R3', 'debug crypto isakmp'), 'Crypto ISAKMP debugging is on\n', 'debug crypto isakmp on R3');

  // hub-spoke and spoke-to-spoke (first through the hub, then the Phase 3 shortcut over its own SA)
  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 5), 'h2 -> h1 (spoke to hub) over ESP');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 5), 'h2 -> h3 (spoke to spoke) over ESP');
  const direct = await waitFor(() => lab.ctlJson<IsakmpRow[]>('R2', 'show crypto isakmp sa')
    .some((r) => r.state === 'QM_IDLE' && [r.src, r.dst].includes('172.16.35.2')), 30000);
  t.ok(direct, 'R2 <-> R3 ISAKMP SA negotiated on demand (NHRP resolution / shortcut)');
  const shortcut = await waitFor(() => lab.ctlJson('R2', 'show crypto ipsec sa').some((s: { peer: string; dir: string }) => s.peer === '172.16.35.2' && s.dir === 'out'), 20000);
  t.ok(shortcut, 'R2 has an outbound ESP SA straight to R3');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 5), 'h2 -> h3 again');
  const r3in = await waitFor(() => lab.ctlJson('R3', 'show crypto ipsec sa').find((s: { peer: string; dir: string; packets: number }) => s.peer === '172.16.25.2' && s.dir === 'in' && s.packets > 0), 10000);
  t.ok(r3in, 'R3 received packets on its SA from R2 (the direct path carries traffic)');
  if (!direct || !shortcut || !r3in) t.comment(logs());
  const r3log = lab.ctl('R3', 'show logging'); // the appliance's own log buffer (our pipe reader may lag)
  t.match(r3log, /%ISAKMP-7-EVENT: ISAKMP \(\d+\): SA with 172\.16\.25\.2 is QM_IDLE/, 'R3 debug lines for the new SA with R2');
  t.notMatch(r3log, /P4ssw0rd|skeyid|encKey/i, 'no key material in the log');
  t.notMatch(lab.ctl('R2', 'show logging'), /registration reply \d+ .* refused/, 'R2: no stale registration reached the hub (the waiting one was superseded)');

  // the shortcut goes (clear ip nhrp on R2 drops its dynamic entries): its SAs with R3 go with it
  t.equal(lab.ctl('R2', 'clear ip nhrp'), '');
  const idle = await waitFor(() => !lab.ctlJson<Array<{ peer: string }>>('R2', 'show crypto ipsec sa').some((s) => s.peer === '172.16.35.2')
    && !lab.ctlJson<IsakmpRow[]>('R2', 'show crypto isakmp sa').some((r) => [r.src, r.dst].includes('172.16.35.2')), 30000);
  t.ok(idle, 'R2: no SA with R3 once no NHRP peer is at its address');
  if (!idle) t.comment(`${lab.ctl('R2', 'show crypto ipsec sa')}\n${lab.ctl('R2', 'show crypto isakmp sa')}\n${lab.ctl('R2', 'show ip nhrp')}\n${logs()}`);
  t.ok(lab.ctlJson('R2', 'show crypto ipsec sa').some((s: { peer: string }) => s.peer === '172.16.15.2'), 'R2: the SAs with the hub (static NHS) stay');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 3), 'h2 -> h3 still passes (through the hub, then a new shortcut)');

  // attackers from the Internet namespace
  await wrongKey(t, lab);
  await forgedDelete(t, lab);

  // clear crypto sa on a spoke: delete notifies to its peers, its SAs gone on both ends, then traffic
  // negotiates them again (the hub's registration path through the first-packet queue)
  const r2sa = (r: string) => lab.ctlJson<Array<{ peer: string; spi: number }>>(r, 'show crypto ipsec sa');
  const before = r2sa('R2').filter((s) => s.peer === '172.16.15.2').map((s) => s.spi);
  const hubBefore = r2sa('R1').filter((s) => s.peer === '172.16.25.2').map((s) => s.spi);
  t.equal(lab.ctl('R2', 'clear crypto sa'), '', 'clear crypto sa');
  // (R2's next registration negotiates new SAs at once: what must go are the hub's old ones)
  const gone = await waitFor(() => !r2sa('R1').some((s) => hubBefore.includes(s.spi)), 10000);
  t.ok(gone, 'the hub removed its SAs with R2 on the delete notify');
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 2), 30000, 1000), 'h2 -> h1 over newly negotiated SAs');
  const after = r2sa('R2').filter((s) => s.peer === '172.16.15.2').map((s) => s.spi);
  t.ok(after.length === 2 && after.every((x) => !before.includes(x)), 'a new pair with the hub');

  await stopCaptures();
  // the wire: ESP and ISAKMP only, no cleartext GRE; every ISAKMP packet clean in tshark
  for (const [i, file] of pcaps.entries()) {
    const gre = tsharkFields(file, 'gre', ['frame.number']);
    t.equal(gre.length, 0, `r${i + 1} link: no cleartext GRE`);
    const esp = tsharkFields(file, 'esp', ['esp.spi']);
    t.ok(esp.length >= 5, `r${i + 1} link: ESP (${esp.length} packets)`);
    const json = JSON.parse(tshark(['-r', file, '-Y', 'isakmp', '-T', 'json', '--no-duplicate-keys'])) as unknown[];
    t.ok(json.length >= 6, `r${i + 1} link: ISAKMP packets (${json.length})`);
    t.same(problems(json), [], `r${i + 1} link: no malformed ISAKMP packet, no expert info`);
  }
  const all = pcaps.map((f) => tsharkFields(f, 'isakmp', ['isakmp.exchangetype', 'udp.srcport']));
  t.ok(all.flat().some((r) => r['isakmp.exchangetype'] === '32'), 'quick mode on the wire');
  t.equal(tsharkFields(pcaps[0], 'ip.proto == 47', ['frame.number']).length, 0, 'hub link: no IP protocol 47 at all');
});

/** A host that has a key for 172.16.0.0/16 but the wrong one: main mode fails at message 5, nothing is established. */
async function wrongKey(t: Test, lab: Lab): Promise<void> {
  const dir = fs.mkdtempSync(path.join(lab.dir, 'attacker-'));
  const peer = new IkePeer(lab.ns('inet'), dir, bundlePeer(dir));
  await peer.start('172.16.15.1', {
    lines: [], isakmpPolicies: [{ priority: 10, authentication: 'pre-share' }],
    isakmpKeys: [{ key: 'Wr0ngKey', address: '172.16.0.0', mask: '255.255.0.0' }],
    transformSets: [{ name: 'T', transforms: ['esp-aes', 'esp-sha-hmac'] }], ipsecProfiles: [{ name: 'P', transformSets: ['T'] }],
  }, '172.16.15.2', true);
  const refused = await waitFor(() => lab.routers.get('R1')!.log.some((l) => /172\.16\.15\.1.*(hash mismatch|wrong pre-shared key)/.test(l)), 20000);
  t.ok(refused, 'hub refused the wrong key (logged)');
  t.notOk(peer.find('established'), 'attacker: no ISAKMP SA');
  t.notOk(lab.ctlJson<IsakmpRow[]>('R1', 'show crypto isakmp sa').some((r) => r.src === '172.16.15.1' && r.state === 'QM_IDLE'), 'hub: no QM_IDLE SA with the attacker');
  t.notOk(lab.routers.get('R1')!.log.some((l) => /Wr0ngKey|P4ssw0rd/.test(l)), 'no key in the log');
  await peer.stop();
}

/** A delete of the hub's SA with R2, spoofed from R2's address with the right cookies but no HASH: ignored. */
async function forgedDelete(t: Test, lab: Lab): Promise<void> {
  const sa = lab.ctlJson<IsakmpRow[]>('R1', 'show crypto isakmp sa').find((r) => r.src === '172.16.25.2' && r.state === 'QM_IDLE')!;
  const cookies = Buffer.from(sa.cookies.i + sa.cookies.r, 'hex');
  const del = Buffer.concat([Buffer.from([0, 0, 0, 28, 0, 0, 0, 1, 1, 16, 0, 1]), cookies]); // Delete: DOI 1, ISAKMP, SPI size 16, 1 SPI
  const hdr = Buffer.alloc(28);
  cookies.copy(hdr, 0); hdr[16] = 12; hdr[17] = 0x10; hdr[18] = 5; hdr.writeUInt32BE(0x1234567, 20); hdr.writeUInt32BE(28 + del.length, 24);
  const isakmp = Buffer.concat([hdr, del]);
  const encrypted = Buffer.concat([hdr, Buffer.alloc(32, 0xa5)]); // "encrypted" informational of garbage
  encrypted[19] = 1; encrypted.writeUInt32BE(60, 24); encrypted[16] = 8;
  const udp = (payload: Buffer) => {
    const u = Buffer.alloc(8); u.writeUInt16BE(500, 0); u.writeUInt16BE(500, 2); u.writeUInt16BE(8 + payload.length, 4);
    return ipv4({ src: ip('172.16.25.2'), dst: ip('172.16.15.2'), proto: 17, payload: Uint8Array.from(Buffer.concat([u, payload])) });
  };
  sendRawIpv4(lab.ns('inet'), [udp(isakmp), udp(encrypted)]);
  const seen = await waitFor(() => lab.routers.get('R1')!.log.some((l) => /unauthenticated informational|undecodable|HASH/.test(l)), 10000);
  t.ok(seen, 'hub logged the unauthenticated message');
  await sleep(500);
  const still = lab.ctlJson<IsakmpRow[]>('R1', 'show crypto isakmp sa').find((r) => r.connId === sa.connId);
  t.equal(still?.state, 'QM_IDLE', 'the SA with R2 is still QM_IDLE');
  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'h2 -> h1 still passes');
}
