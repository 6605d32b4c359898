// The enrollment hub of the zero-touch integration tests: R1 of seed 003 with certificate IKEv2, its TLS
// and CA keys in its key store and `dmvpn enrollment` (pool 192.168.0.10-20, the fixture template,
// the tokens given), started and waited for until its enrollment server listens.
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Lab, labConfig, waitFor, ROOT } from './lab.js';
import { TestCa, certBlock } from './pki.js';

export const HUB_NBMA = '172.16.15.2';

export const hubCrypto = (hubPem: string, caPem: string, tokens: string[]) => [
  'crypto pki trustpoint LAB-CA', ' enrollment terminal', ' revocation-check none', ' eckeypair HUB-KEY',
  'crypto pki certificate chain LAB-CA', ...certBlock(hubPem, new X509Certificate(hubPem).serialNumber, false), ...certBlock(caPem, new X509Certificate(caPem).serialNumber, true),
  'crypto ikev2 proposal P', ' encryption aes-cbc-256', ' integrity sha256', ' group 19', 'crypto ikev2 policy POL', ' proposal P',
  'crypto ikev2 profile IKEV2PROF', ' match identity remote address 172.16.0.0 255.255.0.0', ' authentication remote ed25519-sig', ' authentication local ecdsa-sig', ' pki trustpoint LAB-CA',
  'crypto ipsec transform-set MyTransformSet esp-aes esp-sha-hmac', 'crypto ipsec profile MyProfile', ' set transform-set MyTransformSet', ' set ikev2-profile IKEV2PROF',
  'interface Tunnel0', ' tunnel protection ipsec profile MyProfile',
  'dmvpn enrollment', ' trustpoint LAB-CA', ' ca-keypair CA-KEY', ' listen port 4430', ' pool 192.168.0.10 192.168.0.20', ' template spoke-template.cfg',
  ...tokens.map((tk) => ` token ${tk}`), '',
].join('\n');

/** Starts R1 as the enrollment hub; resolves with its config path and `show dmvpn enrollment` once it
 *  listens (undefined when it never did). */
export async function startEnrollHub(lab: Lab, ca: TestCa, tokens: string[]) {
  const caPem = ca.ca('lab');
  const hubPem = ca.leaf('hub', 'lab', [HUB_NBMA, '192.168.0.1']);
  // the hub's key store: its TLS/IKE key and the CA key (as `crypto key generate` would keep them)
  const hubCfg = lab.writeConfig('R1', labConfig('R1', { holdtime: 60, registrationTimeout: 5 }).replace(/\nend\n?$/, `\n${hubCrypto(hubPem, caPem, tokens)}end\n`));
  const key = (pem: string) => ({ kind: 'ec', bits: 256, created: new Date().toISOString(), pem });
  fs.writeFileSync(`${hubCfg}.keys`, JSON.stringify({ version: 1, keys: { 'HUB-KEY': key(ca.read('hub.key')), 'CA-KEY': key(ca.read('lab.key')) } }), { mode: 0o600 });
  fs.copyFileSync(path.join(ROOT, 'test/fixtures/enroll-spoke-template.cfg'), path.join(lab.dir, 'spoke-template.cfg'));
  lab.start('R1', hubCfg);
  const enrollView = () => { try { return lab.ctlJson('R1', 'show dmvpn enrollment'); } catch { return undefined; } };
  const hubPeers = () => { try { return lab.ctlJson('R1', 'show dmvpn').interfaces[0].peers as Array<{ nbma: string; tunnel: string; state: string }>; } catch { return []; } };
  const listening = await waitFor(() => enrollView()?.listening, 30000);
  return { caPem, hubCfg, listening, enrollView, hubPeers };
}
