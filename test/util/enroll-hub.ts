// The hub side of the zero-touch enrollment tests (integration-enroll, integration-enroll-discovery,
// image-enroll): its crypto and `dmvpn enrollment` config lines (IKEv2 with certificates from a
// throw-away CA, the pool 192.168.0.10-20, the template test/fixtures/enroll-spoke-template.cfg next to
// the config), its key store (its TLS/IKE key and the CA key, as `crypto key generate` keeps them), and
// R1 of seed 003 started as that hub; and a factory spoke started towards it.
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Lab, labConfig, waitFor, nsExec, ROOT } from './lab.js';
import { certBlock, TestCa } from './pki.js';

/** the hub's NBMA address in seed 003 (R1), which the template's `ip nhrp nhs` names */
export const HUB_NBMA = '172.16.15.2';

/** Config lines to append to the hub's config; `tokens`: the ` token ...` lines of the enrollment block. */
function enrollHubCrypto(hubPem: string, caPem: string, tokens: string[]): string {
  return [
    'crypto pki trustpoint LAB-CA', ' enrollment terminal', ' revocation-check none', ' eckeypair HUB-KEY',
    'crypto pki certificate chain LAB-CA', ...certBlock(hubPem, new X509Certificate(hubPem).serialNumber, false), ...certBlock(caPem, new X509Certificate(caPem).serialNumber, true),
    'crypto ikev2 proposal P', ' encryption aes-cbc-256', ' integrity sha256', ' group 19', 'crypto ikev2 policy POL', ' proposal P',
    'crypto ikev2 profile IKEV2PROF', ' match identity remote address 172.16.0.0 255.255.0.0', ' authentication remote ed25519-sig', ' authentication local ecdsa-sig', ' pki trustpoint LAB-CA',
    'crypto ipsec transform-set MyTransformSet esp-aes esp-sha-hmac', 'crypto ipsec profile MyProfile', ' set transform-set MyTransformSet', ' set ikev2-profile IKEV2PROF',
    'interface Tunnel0', ' tunnel protection ipsec profile MyProfile',
    'dmvpn enrollment', ' trustpoint LAB-CA', ' ca-keypair CA-KEY', ' listen port 4430', ' pool 192.168.0.10 192.168.0.20', ' template spoke-template.cfg',
    ...tokens, '',
  ].join('\n');
}

/** The hub's key store next to `hubConfig` (HUB-KEY: `ca`'s hub.key, CA-KEY: lab.key) and the spoke
 *  template in its directory. */
function writeHubFiles(hubConfig: string, ca: TestCa): void {
  const key = (pem: string) => ({ kind: 'ec', bits: 256, created: new Date().toISOString(), pem });
  fs.writeFileSync(`${hubConfig}.keys`, JSON.stringify({ version: 1, keys: { 'HUB-KEY': key(ca.read('hub.key')), 'CA-KEY': key(ca.read('lab.key')) } }), { mode: 0o600 });
  fs.copyFileSync(path.join(ROOT, 'test/fixtures/enroll-spoke-template.cfg'), path.join(path.dirname(hubConfig), 'spoke-template.cfg'));
}

/** Starts R1 as the enrollment hub: `baseConfig` (ending in `end`) with the crypto and enrollment
 *  lines, `tokens` (`NAME SECRET [one-time]`), added; returns at once with its config path and views. */
export function startHubWith(lab: Lab, ca: TestCa, baseConfig: string, tokens: string[], enrollmentLines: string[] = []) {
  const caPem = ca.ca('lab');
  const hubPem = ca.leaf('hub', 'lab', [HUB_NBMA, '192.168.0.1']);
  const hubCfg = lab.writeConfig('R1', baseConfig.replace(/\nend\n?$/, `\n${enrollHubCrypto(hubPem, caPem, [...tokens.map((tk) => ` token ${tk}`), ...enrollmentLines])}end\n`));
  writeHubFiles(hubCfg, ca);
  lab.start('R1', hubCfg);
  const enrollView = () => { try { return lab.ctlJson('R1', 'show dmvpn enrollment'); } catch { return undefined; } };
  const hubPeers = () => { try { return (lab.ctlJson('R1', 'show dmvpn').interfaces[0]?.peers ?? []) as Array<{ nbma: string; tunnel: string; state: string }>; } catch { return []; } };
  return { caPem, hubCfg, enrollView, hubPeers };
}

/** Starts seed 003's R1 as the enrollment hub with `tokens`; resolves with its config path and
 *  `show dmvpn enrollment` once it listens (`listening` undefined when it never did). */
export async function startEnrollHub(lab: Lab, ca: TestCa, tokens: string[], enrollmentLines: string[] = []) {
  const hub = startHubWith(lab, ca, labConfig('R1', { holdtime: 60, registrationTimeout: 5 }), tokens, enrollmentLines);
  const listening = await waitFor(() => hub.enrollView()?.listening, 30000);
  return { ...hub, listening };
}

/** the enrollment retry timing factory spokes run with in the tests (the defaults are minutes) */
export const FAST_RETRY = { DMVPN_ENROLL_RETRY_MS: '1000', DMVPN_ENROLL_RETRY_CAP_MS: '4000' };

/** Starts factory spoke `r`: its WAN addressed as DHCP would (`wan` A.B.C.D/N, default route via
 *  `gateway`), no startup-config, a provisioning file naming the hub, its `pin` and `token` (NAME SECRET).
 *  Returns the startup-config path, which stays absent until the spoke is enrolled. */
export function startFactorySpoke(lab: Lab, r: string, o: { wan: string; gateway: string; pin: string; token: string; env?: Record<string, string> }): string {
  const ns = lab.ns(r);
  nsExec(ns, ['ip', 'addr', 'add', o.wan, 'dev', 'eth0']);
  nsExec(ns, ['ip', 'route', 'add', 'default', 'via', o.gateway]);
  const prov = path.join(lab.dir, `${r}.provision`);
  fs.writeFileSync(prov, `! factory provisioning\nhub ${HUB_NBMA} port 4430\npin ${o.pin}\ntoken ${o.token}\n`, { mode: 0o600 });
  const cfg = path.join(lab.dir, `${r}.cfg`);
  lab.start(r, cfg, o.env ?? FAST_RETRY, ['--provision', prov]);
  return cfg;
}

/** What an enrolled-spoke test asserts with (tap's Test, the part used here). */
interface Asserts { teardown(f: () => void): void; ok(v: unknown, m: string): void; comment(...a: unknown[]): void }

/**
 * A lab (`prefix`, two spokes) with R1 as the enrollment hub taking `tokens` (`enrollmentLines` added to
 * its block), listening; torn down at the end of `t`. Asserts that it listens; undefined (the routers'
 * logs commented) when it did not. `logs()`: the last lines of each router's output.
 */
export async function enrollHubLab(t: Asserts, prefix: string, tokens: string[], enrollmentLines: string[] = []) {
  const lab = new Lab(`${prefix}${process.pid % 10000}`, 2);
  const ca = new TestCa();
  t.teardown(() => { lab.down(); ca.close(); });
  lab.up();
  const hub = await startEnrollHub(lab, ca, tokens, enrollmentLines);
  const logs = () => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-80).join('\n')}`).join('\n');
  t.ok(hub.listening, 'hub: enrollment server listening');
  if (!hub.listening) { t.comment(logs()); return undefined; }
  return { lab, ca, ...hub, listening: hub.listening, logs };
}

/**
 * enrollHubLab with the one-time token `SITE1 secret`, and factory spoke R2 enrolled with it, UP in the
 * hub's show dmvpn. Asserts each step; undefined (the routers' logs commented) when one failed.
 */
export async function enrolledSpokeLab(t: Asserts, prefix: string, secret: string, enrollmentLines: string[]) {
  const hub = await enrollHubLab(t, prefix, [`SITE1 ${secret} one-time`], enrollmentLines);
  if (!hub) return undefined;
  const { lab, logs } = hub;
  const r2cfg = startFactorySpoke(lab, 'R2', { wan: '172.16.25.2/30', gateway: '172.16.25.1', pin: hub.listening.pin, token: `SITE1 ${secret}` });
  const up = await waitFor(() => hub.hubPeers().find((p) => p.nbma === '172.16.25.2' && p.state === 'UP'), 90000);
  const upAt = Date.now();
  t.ok(up, 'hub: R2 UP');
  if (!up) { t.comment(logs()); return undefined; }
  return { ...hub, r2cfg, upAt };
}
