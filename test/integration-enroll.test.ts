// Zero-touch enrollment end to end in namespaces (docs/enrollment.md, issue 15): hub R1 of seed 003 runs
// the enrollment server (its CA key and TLS key in its key store, `dmvpn enrollment` in its config,
// IKEv2 with certificates); factory spoke R2 starts with no startup-config, only a provisioning file
// (hub address and port, the hub key's pin, a one-time token) and a WAN address as DHCP would give it:
// it generates its Ed25519 device key, enrolls, saves the config the hub rendered from its template,
// starts from it and registers over certificate-authenticated IKEv2 (an IKE SA, ESP packets both ways,
// in the hub's show dmvpn). The certificate is checked by openssl. R3 with a wrong secret is refused
// (the reason in its log and in the hub's show dmvpn enrollment, counted, retried with backoff, nothing
// saved); then with the right one-time token, already used by R2: refused as token-used.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Lab, waitFor, nsExec } from './util/lab.js';
import { startEnrollHub, startFactorySpoke, FAST_RETRY, HUB_NBMA } from './util/enroll-hub.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { dmvpnctlSession } from './util/live-config.js';
import { TestCa, derHex } from './util/pki.js';
import { pemBlock } from '../appliance/ike/pki/trustpoint.js';

requireTools(t, [...LAB_NEEDS, 'openssl']);

const SECRET = 'zt-factory-token-0123456789';
const FLEET_SECRET = 'zt-fleet-token-abcdefghijkl';

t.test('a factory spoke enrolls with a token and comes up encrypted; a bad token is refused on both sides', async (t) => {
  const lab = new Lab(`zt${process.pid % 10000}`, 2);
  const ca = new TestCa();
  t.teardown(() => { lab.down(); ca.close(); });
  lab.up();
  const { caPem, hubCfg, listening, enrollView, hubPeers } = await startEnrollHub(lab, ca, [`SITE1 ${SECRET} one-time`]);
  const logs = () => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-60).join('\n')}`).join('\n');
  t.ok(listening, 'hub: enrollment server listening');
  if (!listening) { t.comment(logs()); return; }
  const pin: string = listening.pin;
  t.equal(listening.address, HUB_NBMA, 'hub: listening on its tunnel source (NBMA) address');
  t.match(pin, /^sha256\/\/[A-Za-z0-9+/]{43}=$/, 'hub: its key pin shown');
  t.match(lab.ctl('R1', 'show running-config'), /^dmvpn enrollment\n trustpoint LAB-CA\n ca-keypair CA-KEY\n listen port 4430\n pool 192\.168\.0\.10 192\.168\.0\.20\n template spoke-template\.cfg\n token SITE1 sha256 [0-9a-f]{64} one-time$/m, 'hub: show running-config, secret hashed');

  // an Internet host hammers the listener: plain-text junk and 30 connections in a row from one address
  nsExec(`${lab.prefix}-inet`, ['bash', '-c', `for i in $(seq 30); do (exec 3<>/dev/tcp/${HUB_NBMA}/4430 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 1 cat <&3 >/dev/null) 2>/dev/null; done; true`], { allowFail: true });
  const hammered = await waitFor(() => { const c = enrollView()?.counters; return c && c.rateLimited > 0 && c.tlsErrors > 0 ? c : undefined; }, 15000);
  t.ok(hammered, `hub: junk and the connection burst counted (rate ${hammered?.rateLimited}, TLS ${hammered?.tlsErrors}), no request handled (${hammered?.requests})`);
  t.equal(hammered?.requests, 0, 'hub: nothing reached the request handler');

  // the factory spokes: WAN addressed as DHCP would, no startup-config, a provisioning file
  const factory = (r: string, n: number, secret: string) => startFactorySpoke(lab, r, { wan: `172.16.${n}5.2/30`, gateway: `172.16.${n}5.1`, pin, token: `SITE1 ${secret}` });
  const r3cfg = factory('R3', 3, 'not-the-secret-at-all');
  const r2cfg = factory('R2', 2, SECRET);

  // R3: refused with the reason on both sides, retried, nothing saved
  const r3log = () => lab.routers.get('R3')!.log.join('\n');
  const refusedTwice = await waitFor(() => (r3log().match(/hub 172\.16\.15\.2 refused enrollment: bad-token: the token is unknown or its secret is wrong \(attempt \d+\); retrying in \d+ s/g) ?? []).length >= 2, 30000);
  t.ok(refusedTwice, 'R3: refused with the reason, retried');
  const hubRefused = enrollView()?.refused ?? [];
  t.ok(hubRefused.some((r: { from: string; reason: string }) => r.from.endsWith('172.16.35.2') && r.reason === 'bad-token'), 'hub: R3 listed as refused, bad-token');
  t.match(lab.ctl('R1', 'show dmvpn enrollment'), /Refused \(latest\):\n.*\n.*172\.16\.35\.2 +SITE1 +- +bad-token/, 'hub: show dmvpn enrollment says why');
  t.notOk(fs.existsSync(r3cfg), 'R3: no startup-config written');

  // R2: admitted, saved, started, registered over IKEv2 with its certificate
  const up = await waitFor(() => hubPeers().some((p) => p.nbma === '172.16.25.2' && p.tunnel === '192.168.0.10' && p.state === 'UP'), 90000);
  t.ok(up, 'hub: R2 UP in show dmvpn as 192.168.0.10');
  if (!up) t.comment(logs());
  // the supervisor's own log (show logging): stdout chunks may split a line
  const r2shown = lab.ctl('R2', 'show logging');
  if (!t.match(r2shown, /device key DEVICE generated \(Ed25519\)/, 'R2: device key generated')) t.comment(`${r2shown}\n--- stdout\n${lab.routers.get('R2')!.log.slice(0, 40).join('\n')}`);
  t.match(r2shown, /enrolled with hub 172\.16\.15\.2: spoke-192-168-0-10, tunnel address 192\.168\.0\.10; startup-config saved/, 'R2: enrolled, saved');
  t.equal(fs.statSync(`${r2cfg}.keys`).mode & 0o777, 0o600, 'R2: key store 0600');
  t.equal(fs.statSync(r2cfg).mode & 0o777, 0o600, 'R2: startup-config 0600');
  t.equal(JSON.parse(fs.readFileSync(`${r2cfg}.keys`, 'utf8')).keys.DEVICE.kind, 'ed25519', 'R2: the device key is Ed25519');
  t.match(lab.ctl('R2', 'show running-config'), /^hostname spoke-192-168-0-10$/m, 'R2: running the enrolled config');
  t.match(lab.ctl('R1', 'show crypto ikev2 sa'), /172\.16\.25\.2\/\d+ +none\/none +READY[\s\S]*Auth sign: ECDSA, Auth verify: ED25519/, 'hub: IKEv2 SA READY with R2, R2 verified by its Ed25519 certificate');
  t.ok(nsExec(lab.ns('R2'), ['ping', '-c', '3', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true }).status === 0, 'R2 pings the hub\'s tunnel address');
  const ipsec = lab.ctl('R2', 'show crypto ipsec sa');
  const encaps = Number(/#pkts encaps: (\d+)/.exec(ipsec)?.[1] ?? 0), decaps = Number(/#pkts decaps: (\d+)/.exec(ipsec)?.[1] ?? 0);
  t.ok(encaps > 0 && decaps > 0, `R2: ESP both ways (encaps ${encaps}, decaps ${decaps})`);
  const admitted = enrollView()?.admitted ?? [];
  t.match(admitted, [{ address: '192.168.0.10', hostname: 'spoke-192-168-0-10', token: 'SITE1' }], 'hub: R2 admitted in show dmvpn enrollment');
  const state = JSON.parse(fs.readFileSync(`${hubCfg}.enroll`, 'utf8'));
  t.equal(state.usedTokens.SITE1, admitted[0]?.key, 'hub: the one-time token used, kept in its state file');

  // openssl's view of the certificate R2 saved
  const saved = fs.readFileSync(r2cfg, 'utf8');
  const block = /crypto pki certificate chain DMVPN-ENROLL\n certificate [0-9A-F]+\n((?: {2}[0-9A-F ]+\n)+)/.exec(saved);
  t.ok(block, 'R2: the chain in its startup-config');
  const der = Buffer.from(block![1].replace(/\s+/g, ''), 'hex');
  ca.write('r2.pem', pemBlock('CERTIFICATE', der));
  t.match(ca.ssl('verify', '-CAfile', 'lab.pem', 'r2.pem').toString(), /r2\.pem: OK/, 'openssl verify -CAfile: OK');
  t.match(ca.ssl('x509', '-in', 'r2.pem', '-noout', '-ext', 'subjectAltName').toString(), /^\s+DNS:spoke-192-168-0-10\.[0-9a-f]{32}\.dmvpn\.invalid, IP Address:192\.168\.0\.10$/m, 'openssl: SAN the device name and the tunnel address');
  t.ok(saved.includes(derHex(caPem).toUpperCase().slice(0, 8)), 'R2: the CA certificate in its chain');

  // R3 now with the right secret: the one-time token is R2's
  await lab.stop('R3');
  fs.writeFileSync(path.join(lab.dir, 'R3.provision'), `hub ${HUB_NBMA} port 4430\npin ${pin}\ntoken SITE1 ${SECRET}\n`);
  lab.routers.get('R3')!.log.length = 0;
  lab.start('R3', r3cfg, FAST_RETRY, ['--provision', path.join(lab.dir, 'R3.provision')]);
  t.ok(await waitFor(() => /refused enrollment: token-used: the one-time token was already used by another device key/.test(r3log()), 30000), 'R3 with R2\'s one-time token: refused, token-used');
  t.ok((enrollView()?.refused ?? []).some((r: { reason: string }) => r.reason === 'token-used'), 'hub: token-used listed');
  t.notOk(fs.existsSync(r3cfg), 'R3: still nothing saved');
  t.ok((enrollView()?.counters.refused ?? 0) >= 3, 'hub: refusals counted');
  // R2 loses its startup-config but keeps its key store: the same device key gets the same address back
  await lab.stop('R2');
  fs.rmSync(r2cfg);
  const keysBefore = fs.readFileSync(`${r2cfg}.keys`, 'utf8');
  const r2log = lab.routers.get('R2')!.log;
  r2log.length = 0;
  lab.start('R2', r2cfg, FAST_RETRY, ['--provision', path.join(lab.dir, 'R2.provision')]);
  t.ok(await waitFor(() => /enrolled with hub 172\.16\.15\.2: spoke-192-168-0-10, tunnel address 192\.168\.0\.10/.test(r2log.join('\n')), 30000), 'R2 re-enrolled: the same address');
  t.notMatch(r2log.join('\n'), /device key DEVICE generated/, 'R2: its device key reused, not generated again');
  t.equal(fs.readFileSync(`${r2cfg}.keys`, 'utf8'), keysBefore, 'R2: key store unchanged');
  t.ok((enrollView()?.counters.readmitted ?? 0) >= 1, 'hub: counted as enrolled again');
  t.ok(await waitFor(() => hubPeers().some((p) => p.nbma === '172.16.25.2' && p.tunnel === '192.168.0.10' && p.state === 'UP'), 60000), 'hub: R2 UP again');
  // manual approval, typed live on the hub: R3 with a new reusable token waits until the operator approves it
  const live = dmvpnctlSession(lab, 'R1', ['configure terminal', 'dmvpn enrollment', 'approval manual', `token FLEET ${FLEET_SECRET}`, 'end']);
  t.equal(live.status, 0, 'hub: approval manual and a new token typed live');
  t.match(lab.ctl('R1', 'show running-config'), /^ approval manual\n token SITE1 sha256 [0-9a-f]{64} one-time\n token FLEET sha256 [0-9a-f]{64}$/m, 'hub: in the running-config');
  await lab.stop('R3');
  fs.writeFileSync(path.join(lab.dir, 'R3.provision'), `hub ${HUB_NBMA} port 4430\npin ${pin}\ntoken FLEET ${FLEET_SECRET}\n`);
  lab.start('R3', r3cfg, { DMVPN_ENROLL_RETRY_MS: '1000', DMVPN_ENROLL_RETRY_CAP_MS: '3000' }, ['--provision', path.join(lab.dir, 'R3.provision')]);
  const pending = await waitFor(() => (enrollView()?.pending ?? []).find((p: { from: string }) => p.from.endsWith('172.16.35.2')), 30000);
  t.ok(pending, 'hub: R3 pending in show dmvpn enrollment');
  t.ok(await waitFor(() => /hub 172\.16\.15\.2: waiting for the operator's approval; asking again/.test(r3log()), 15000), 'R3: says it waits for approval');
  t.notOk(fs.existsSync(r3cfg), 'R3: nothing saved while pending');
  t.match(lab.ctl('R1', `dmvpn enrollment approve ${pending?.key.slice(0, 16)}`), /approved/, 'hub: dmvpn enrollment approve');
  const r3up = await waitFor(() => hubPeers().some((p) => p.nbma === '172.16.35.2' && p.tunnel === '192.168.0.11' && p.state === 'UP'), 60000);
  t.ok(r3up, 'hub: R3 UP as 192.168.0.11 after approval');
  if (!r3up) t.comment(logs());
  t.ok(hubPeers().some((p) => p.nbma === '172.16.25.2' && p.state === 'UP'), 'hub: R2 still UP');
  for (const r of ['R1', 'R2', 'R3']) t.notMatch(lab.routers.get(r)!.log.join('\n') + (r === 'R3' ? '' : lab.ctl(r, 'show logging')), new RegExp(`${SECRET}|${FLEET_SECRET}|not-the-secret|PRIVATE KEY`), `${r}: no secret or key in the log`);
});
