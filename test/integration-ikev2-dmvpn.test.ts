// Seed 003's R1 (hub), R2 and R3 (spokes) with IKEv2 instead of IKEv1, as IOS does it: the ipsec
// profile of `tunnel protection` says `set ikev2-profile`, so the IKE service runs IKEv2 (IKE_SA_INIT,
// IKE_AUTH with the first Child SA). The DMVPN comes up encrypted in namespaces: spokes register
// through ESP, hosts ping across the hub and over an on-demand spoke-to-spoke IKEv2 SA, the wire
// carries only ESP and IKEv2 (tshark finds every packet clean), `show crypto ikev2 sa` says READY,
// and a host with the wrong pre-shared key establishes nothing.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, waitFor } from './util/lab.js';

import { tshark, tsharkFields } from './util/tshark.js';
import { problems } from './util/tshark-json.js';
import { bundlePeer, IkePeer } from './util/ike-peer.js';
import { startSeed003 } from './util/seed003-crypto.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { ikev2IosBlock } from './util/ikev2-ios.js';
import type { IkeV2Settings } from '../appliance/ike/config-v2.js';

requireTools(t, [...LAB_NEEDS, 'tshark', 'dumpcap']);

/** The seed's crypto block in its IKEv2 form (IOS: an ikev2 profile named by the ipsec profile). */
const IKEV2_CRYPTO = `${ikev2IosBlock()}!
interface Tunnel0
 tunnel protection ipsec profile MyProfile
`;

const withCrypto = (cfg: string) => cfg.replace(/\nend\n?$/, `\n${IKEV2_CRYPTO}end\n`);

/** Rows of `show crypto ikev2 sa`: tunnel-id, local, remote, status. */
function ikev2Rows(text: string): Array<{ id: number; local: string; remote: string; status: string }> {
  return [...text.matchAll(/^(\d+) +(\S+)\/\d+ +(\S+)\/\d+ +none\/none +(\S+)/gm)].map((m) => ({ id: Number(m[1]), local: m[2], remote: m[3], status: m[4] }));
}

t.test('seed 003 with IKEv2 (set ikev2-profile): DMVPN up over IKEv2-negotiated ESP', async (t) => {
  const { lab, pcaps, logs, spokesUp, stopCaptures } = await startSeed003(t, 'ikf', withCrypto, 'not arp');
  const up = await spokesUp();
  t.ok(up, 'both spokes registered with the hub through ESP (show dmvpn: 2 peers UP)');
  if (!up) { t.comment(logs()); return; }
  // the hub's own log buffer or our copy of its output (the pipe reader can lag on a loaded machine)
  const ikeStart = /tunnel protection on Tunnel0: IKEv2 on 172\.16\.15\.2/;
  const hubLog = lab.routers.get('R1')!.log;
  const started = await waitFor(() => hubLog.some((l) => ikeStart.test(l)) || ikeStart.test(lab.ctl('R1', 'show logging')), 15000);
  t.ok(started, 'hub: the IKE service runs IKEv2');
  if (!started) t.comment(`R1's first log lines:\n${hubLog.slice(0, 40).join('\n')}`);

  // show crypto ikev2 sa on the hub: one READY SA per spoke
  const hub = lab.ctl('R1', 'show crypto ikev2 sa');
  t.match(hub, /^ IPv4 Crypto IKEv2 {2}SA \n\nTunnel-id Local {17}Remote {16}fvrf\/ivrf {12}Status \n/, 'IOS header');
  const hubRows = ikev2Rows(hub).filter((r) => r.status === 'READY');
  t.same(hubRows.map((r) => r.remote).sort(), ['172.16.25.2', '172.16.35.2'], 'hub: READY with each spoke');
  t.match(hub, /Encr: AES-CBC, keysize: 256, PRF: SHA256, Hash: SHA256, DH Grp:14, Auth sign: PSK, Auth verify: PSK/, 'the configured proposal was negotiated');
  t.match(lab.ctl('R2', 'show crypto ikev2 sa detail'), /Status Description: Negotiation done\n.*\n.*\n {6}Remote id: 172\.16\.15\.2/, 'R2 detail: negotiation done with the hub');
  t.match(lab.ctl('R2', 'show crypto ipsec sa'), /sa name: conn-id \d+ \(isakmp\)/, 'spoke SAs come from IKE');

  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 5), 'h2 -> h1 (spoke to hub) over ESP');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 5), 'h2 -> h3 (spoke to spoke) over ESP');
  const direct = await waitFor(() => ikev2Rows(lab.ctl('R2', 'show crypto ikev2 sa')).some((r) => r.remote === '172.16.35.2' && r.status === 'READY'), 30000);
  t.ok(direct, 'R2 <-> R3 IKEv2 SA negotiated on demand (NHRP resolution / shortcut)');
  const shortcut = await waitFor(() => lab.ctlJson('R2', 'show crypto ipsec sa').some((s: { peer: string; dir: string }) => s.peer === '172.16.35.2' && s.dir === 'out'), 20000);
  t.ok(shortcut, 'R2 has an outbound ESP SA straight to R3');
  t.ok(lab.ping(lab.ns('h3'), '10.0.2.10', 5), 'h3 -> h2');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 5), 'h2 -> h3 again');
  const r3in = await waitFor(() => lab.ctlJson('R3', 'show crypto ipsec sa').find((s: { peer: string; dir: string; packets: number }) => s.peer === '172.16.25.2' && s.dir === 'in' && s.packets > 0), 10000);
  t.ok(r3in, 'R3 received packets on its SA from R2 (the direct path carries traffic)');
  t.ok(ikev2Rows(lab.ctl('R3', 'show crypto ikev2 sa')).some((r) => r.remote === '172.16.25.2' && r.status === 'READY'), 'R3: READY with R2');
  if (!direct || !shortcut || !r3in) t.comment(logs());
  for (const r of ['R1', 'R2', 'R3']) t.notMatch(lab.ctl(r, 'show logging'), /P4ssw0rd|Wr0ngKey/, `${r}: no key in the log`);

  await wrongKey(t, lab);
  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'h2 -> h1 still passes after the attacker');

  await stopCaptures();
  // the wire: ESP and IKEv2 only, no cleartext GRE; every IKE packet is version 2.0 and clean in tshark
  for (const [i, file] of pcaps.entries()) {
    t.equal(tsharkFields(file, 'gre', ['frame.number']).length, 0, `r${i + 1} link: no cleartext GRE`);
    t.equal(tsharkFields(file, 'ip.proto == 47', ['frame.number']).length, 0, `r${i + 1} link: no IP protocol 47 at all`);
    const esp = tsharkFields(file, 'esp', ['esp.spi']);
    t.ok(esp.length >= 5, `r${i + 1} link: ESP (${esp.length} packets)`);
    const ike = tsharkFields(file, 'isakmp', ['isakmp.version', 'isakmp.exchangetype']);
    t.ok(ike.length >= 4, `r${i + 1} link: IKE packets (${ike.length})`);
    t.same([...new Set(ike.map((r) => r['isakmp.version']))], ['0x20'], `r${i + 1} link: every IKE packet is IKEv2`);
    const json = JSON.parse(tshark(['-r', file, '-Y', 'isakmp', '-T', 'json', '--no-duplicate-keys'])) as unknown[];
    t.same(problems(json), [], `r${i + 1} link: no malformed IKE packet, no expert info`);
  }
  const types = new Set(pcaps.flatMap((f) => tsharkFields(f, 'isakmp', ['isakmp.exchangetype']).map((r) => r['isakmp.exchangetype'])));
  t.ok(types.has('34') && types.has('35'), `IKE_SA_INIT (34) and IKE_AUTH (35) on the wire (${[...types].join(', ')})`);
});

/** A host with a keyring entry for 172.16.0.0/16 but the wrong key initiates to the hub: nothing is established. */
async function wrongKey(t: Test, lab: Lab): Promise<void> {
  const dir = fs.mkdtempSync(path.join(lab.dir, 'attacker-'));
  const peer = new IkePeer(lab.ns('inet'), dir, bundlePeer(dir, 'ikev2-peer'));
  const settings: IkeV2Settings = {
    proposals: [{ name: 'P', encryption: ['aes-cbc-256'], integrity: ['sha256'], group: [14] }],
    keyring: [{ name: 'ANY', address: '172.16.0.0', mask: '255.255.0.0', key: 'Wr0ngKey' }],
    transformSets: [{ name: 'T', transforms: ['esp-aes', 'esp-sha-hmac'] }],
  };
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings));
  await peer.spawnTool(['--local', '172.16.15.1', '--settings', path.join(dir, 'settings.json'), '--initiate', '172.16.15.2']);
  const failed = await peer.wait('failed', 30000);
  t.ok(failed, `attacker: its SA failed (${String(failed?.reason)})`);
  t.notOk(peer.find('established'), 'attacker: no IKE SA established');
  t.notOk(peer.find('child'), 'attacker: no Child SA');
  const refused = await waitFor(() => lab.routers.get('R1')!.log.some((l) => /172\.16\.15\.1.*(AUTH|authentication)/i.test(l)), 10000);
  t.ok(refused, 'hub logged the failed authentication');
  t.notOk(ikev2Rows(lab.ctl('R1', 'show crypto ikev2 sa')).some((r) => r.remote === '172.16.15.1' && r.status === 'READY'), 'hub: no READY SA with the attacker');
  t.notOk(lab.ctlJson('R1', 'show crypto ipsec sa').some((s: { peer: string }) => s.peer === '172.16.15.1'), 'hub: no IPsec SA with the attacker');
  await peer.stop();
}
