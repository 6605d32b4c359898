// Zero-touch enrollment behind NAT (docs/enrollment.md "The device name", issue 15): factory spoke R2 sits
// behind an nftables masquerade (its WAN 10.25.0.2, the hub sees 172.16.45.2). It enrolls, and its
// certificate names it by the device name the hub chose (SAN dNSName from its key id) and its tunnel
// address, no address of the underlay; it authenticates with ID_FQDN, comes up over NAT-T (IKEv2 READY,
// ESP counters rise with pings across the tunnel) and is UP in the hub's show dmvpn. R3, behind the
// same NAT (10.35.0.2, the same public address), enrolls as a second device and is UP beside it; then,
// as hostile enrollees: R3's own certificate and key in an IKE peer that claims R2's name are refused by
// the hub (the certificate does not carry it), while the same peer claiming R3's own name is accepted
// (so the refusal is the name's); and R3 restarted with R2's tunnel address cannot register it from
// the very NBMA address R2 registered from (identity-bound NHRP: its certificate names 192.168.0.11).
// Before the device name, R2's certificate named 172.16.45.2 and its IKE identity was 10.25.0.2: the
// hub refused its AUTH and R2 never came up.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, waitFor, nsExec } from './util/lab.js';
import { putBehindNat } from './util/nat.js';
import { startEnrollHub, startFactorySpoke, FAST_RETRY } from './util/enroll-hub.js';
import { IkePeer, bundlePeer } from './util/ike-peer.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { TestCa } from './util/pki.js';
import { pemBlock } from '../appliance/ike/pki/trustpoint.js';
import type { IkeV2Settings } from '../appliance/ike/config-v2.js';

requireTools(t, [...LAB_NEEDS, 'nft', 'openssl']);

const SECRET = 'zt-nat-token-0123456789ab';
const FLEET_SECRET = 'zt-nat-fleet-abcdefghijkl';
const PUBLIC = '172.16.45.2';
const NAME = /^spoke-192-168-0-1[01]\.[0-9a-f]{32}\.dmvpn\.invalid$/;

/** The device certificate (PEM) in a spoke's saved startup-config: the first certificate of its enrollment chain. */
function savedCert(cfg: string): string {
  const block = /crypto pki certificate chain DMVPN-ENROLL\n certificate [0-9A-F]+\n((?: {2}[0-9A-F ]+\n)+)/.exec(fs.readFileSync(cfg, 'utf8'));
  if (!block) throw new Error(`no enrollment chain in ${cfg}`);
  return pemBlock('CERTIFICATE', Buffer.from(block[1].replace(/\s+/g, ''), 'hex'));
}

/** `show crypto ipsec sa`'s packet counters of a router (all SAs). */
function espCounts(lab: Lab, r: string): { encaps: number; decaps: number } {
  const text = lab.ctl(r, 'show crypto ipsec sa');
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  return { encaps: sum(/#pkts encaps: (\d+)/g), decaps: sum(/#pkts decaps: (\d+)/g) };
}

t.test('an enrolled spoke behind NAT comes up by its device name; another device can neither use that name nor its address', async (t) => {
  const lab = new Lab(`zn${process.pid % 10000}`, 2);
  const ca = new TestCa();
  t.teardown(() => { lab.down(); ca.close(); });
  lab.up();
  putBehindNat(lab, [2, 3], { publicIp: PUBLIC, inetLink: 'natb' });
  const { listening, enrollView, hubPeers } = await startEnrollHub(lab, ca, [`SITE1 ${SECRET} one-time`, `FLEET ${FLEET_SECRET}`]);
  const logs = () => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-60).join('\n')}`).join('\n');
  t.ok(listening, 'hub: enrollment server listening');
  if (!listening) { t.comment(logs()); return; }

  // R2 behind the NAT: enrolled from the public address, UP by its name
  const r2cfg = startFactorySpoke(lab, 'R2', { wan: '10.25.0.2/24', gateway: '10.25.0.1', pin: listening.pin, token: `SITE1 ${SECRET}` });
  const up = await waitFor(() => hubPeers().some((p) => p.nbma === PUBLIC && p.tunnel === '192.168.0.10' && p.state === 'UP'), 120000);
  t.ok(up, `hub: R2 UP in show dmvpn as 192.168.0.10 at the NAT's address ${PUBLIC}`);
  if (!up) { t.comment(logs()); return; }
  const admitted = enrollView()?.admitted ?? [];
  t.match(admitted, [{ address: '192.168.0.10', hostname: 'spoke-192-168-0-10', token: 'SITE1' }], 'hub: R2 admitted');
  t.ok((enrollView()?.refused ?? []).length === 0, 'hub: nothing refused');
  const r2name = `spoke-192-168-0-10.${String(admitted[0]?.key).slice(0, 32)}.dmvpn.invalid`;
  t.match(r2name, NAME, `R2's device name: ${r2name}`);

  // the certificate, as openssl reads it: the name and the tunnel address, no underlay address
  ca.write('r2.pem', savedCert(r2cfg));
  t.match(ca.ssl('verify', '-CAfile', 'lab.pem', 'r2.pem').toString(), /r2\.pem: OK/, 'openssl verify -CAfile: OK');
  const san = ca.ssl('x509', '-in', 'r2.pem', '-noout', '-ext', 'subjectAltName').toString();
  t.match(san, new RegExp(`^\\s+DNS:${r2name.replace(/\./g, '\\.')}, IP Address:192\\.168\\.0\\.10$`, 'm'), 'openssl: SAN the device name and the tunnel address');
  t.notMatch(san, /172\.16\.45\.2|10\.25\.0\.2/, 'neither the public nor the private address');
  t.match(fs.readFileSync(r2cfg, 'utf8'), new RegExp(`^ identity local fqdn ${r2name.replace(/\./g, '\\.')}$`, 'm'), 'R2: its saved profile names its device name as IKE identity');

  // IKEv2 by name, over NAT-T
  const hubDetail = lab.ctl('R1', 'show crypto ikev2 sa detail');
  t.match(hubDetail, new RegExp(`${PUBLIC.replace(/\./g, '\\.')}/4500 +none/none +READY[\\s\\S]*?Remote id: ${r2name.replace(/\./g, '\\.')}\\n[\\s\\S]*?NAT-T is detected outside`), 'hub: IKEv2 SA READY with R2 on 4500, remote id its device name, NAT-T detected');
  t.match(hubDetail, /Auth verify: ED25519/, 'hub: R2 verified by its Ed25519 certificate');
  const r2Detail = lab.ctl('R2', 'show crypto ikev2 sa detail');
  t.match(r2Detail, new RegExp(`10\\.25\\.0\\.2/4500 +172\\.16\\.15\\.2/4500 +none/none +READY[\\s\\S]*?Local id: ${r2name.replace(/\./g, '\\.')}\\n {6}Remote id: 172\\.16\\.15\\.2[\\s\\S]*?NAT-T is detected inside`), 'R2: READY, local id its name, NAT-T detected inside');
  const before = espCounts(lab, 'R2');
  const ping = nsExec(lab.ns('R2'), ['ping', '-c', '5', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true });
  t.equal(ping.status, 0, 'R2 pings the hub\'s tunnel address');
  const after = espCounts(lab, 'R2');
  t.ok(after.encaps >= before.encaps + 5 && after.decaps >= before.decaps + 5, `R2: ESP counters rose with the pings (encaps ${before.encaps} -> ${after.encaps}, decaps ${before.decaps} -> ${after.decaps})`);
  const hubEsp = lab.ctlJson<Array<{ peer: string }>>('R1', 'show crypto ipsec sa');
  t.ok(hubEsp.some((s) => s.peer === PUBLIC), 'hub: an IPsec SA with the NAT\'s address');

  // R3, a second device behind the same NAT, enrolled with the fleet token: the same public address, another identity
  const r3cfg = startFactorySpoke(lab, 'R3', { wan: '10.35.0.2/24', gateway: '10.35.0.1', pin: listening.pin, token: `FLEET ${FLEET_SECRET}` });
  const r3up = await waitFor(() => hubPeers().some((p) => p.nbma === PUBLIC && p.tunnel === '192.168.0.11' && p.state === 'UP'), 120000);
  t.ok(r3up, `hub: R3 UP as 192.168.0.11, also at ${PUBLIC}`);
  if (!r3up) { t.comment(logs()); return; }
  const r3key = (enrollView()?.admitted ?? []).find((b: { address: string }) => b.address === '192.168.0.11')?.key as string;
  const r3name = `spoke-192-168-0-11.${r3key.slice(0, 32)}.dmvpn.invalid`;
  t.ok(hubPeers().some((p) => p.nbma === PUBLIC && p.tunnel === '192.168.0.10' && p.state === 'UP'), 'hub: R2 still UP beside it');
  t.equal(nsExec(lab.ns('R3'), ['ping', '-c', '3', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true }).status, 0, 'R3 pings the hub');
  t.equal(nsExec(lab.ns('R2'), ['ping', '-c', '3', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true }).status, 0, 'and so does R2');
  await lab.stop('R3');

  // R3's certificate and key in an IKE peer: claiming R2's name refused, its own accepted
  const dir = fs.mkdtempSync(path.join(lab.dir, 'claim-'));
  const settings: IkeV2Settings = {
    proposals: [{ name: 'P', encryption: ['aes-cbc-256'], integrity: ['sha256'], group: [19] }],
    keyring: [], transformSets: [{ name: 'T', transforms: ['esp-aes', 'esp-sha-hmac'] }], peerMustSign: true,
    certificate: { cert: savedCert(r3cfg), key: JSON.parse(fs.readFileSync(`${r3cfg}.keys`, 'utf8')).keys.DEVICE.pem, trusted: [ca.read('lab.pem')] },
  };
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings), { mode: 0o600 });
  const bundle = bundlePeer(dir, 'ikev2-peer');
  const claim = async (name: string) => {
    const peer = new IkePeer(lab.ns('R3'), dir, bundle);
    await peer.spawnTool(['--local', '10.35.0.2', '--settings', path.join(dir, 'settings.json'), '--initiate', '172.16.15.2', '--claim-fqdn', name]);
    const outcome = await waitFor(() => peer.find('established') ?? peer.find('failed'), 30000);
    await peer.stop();
    return outcome;
  };
  const refusedLine = new RegExp(`${r2name.replace(/\./g, '\\.')}: certificate does not carry the identity ${r2name.replace(/\./g, '\\.')} \\(SAN DNS\\)`);
  const hostile = await claim(r2name);
  t.match(hostile, { event: 'failed', reason: /AUTHENTICATION_FAILED/ }, 'R3\'s certificate claiming R2\'s name: refused (AUTHENTICATION_FAILED)');
  t.ok(await waitFor(() => lab.routers.get('R1')!.log.some((l) => refusedLine.test(l)), 15000), 'hub: logged that the certificate does not carry the name');
  t.ok(hubPeers().some((p) => p.nbma === PUBLIC && p.tunnel === '192.168.0.10' && p.state === 'UP'), 'hub: R2 still UP');
  const own = await claim(r3name);
  t.match(own, { event: 'established', peerId: '172.16.15.2' }, 'the same peer claiming R3\'s own name: established (the refusal was the name\'s)');

  // R3 restarted claiming R2's tunnel address: its SA comes up, the registration is refused
  const nhrpRefused = () => { try { return lab.ctlJson('R1', 'show ip nhrp traffic').refused?.['registration-identity'] ?? 0; } catch { return 0; } };
  const identityBefore = nhrpRefused();
  fs.writeFileSync(r3cfg, fs.readFileSync(r3cfg, 'utf8').replace(/^ ip address 192\.168\.0\.11 /m, ' ip address 192.168.0.10 '));
  lab.start('R3', r3cfg, FAST_RETRY);
  t.ok(await waitFor(() => nhrpRefused() > identityBefore, 90000), 'hub: R3\'s registration of 192.168.0.10 refused (registration-identity)');
  const bindingLine = new RegExp(`the certificate of IKE identity ${r3name.replace(/\./g, '\\.')} names 192\\.168\\.0\\.11, not 192\\.168\\.0\\.10`);
  t.ok(await waitFor(() => lab.routers.get('R1')!.log.some((l) => bindingLine.test(l)) || bindingLine.test(lab.ctl('R1', 'show logging')), 15000), 'hub: logged with the certificate\'s address');
  t.equal(hubPeers().filter((p) => p.tunnel === '192.168.0.10').length, 1, '192.168.0.10: one entry, R2\'s (whose replies would otherwise go to R3)');
  t.equal(nsExec(lab.ns('R2'), ['ping', '-c', '3', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true }).status, 0, 'R2 still pings the hub');
  for (const r of ['R1', 'R2', 'R3']) t.notMatch(lab.routers.get(r)!.log.join('\n'), new RegExp(`${SECRET}|${FLEET_SECRET}|PRIVATE KEY`), `${r}: no secret or key in the log`);
});
