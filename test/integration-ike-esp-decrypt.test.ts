// Seed 003 with its crypto block in namespaces, the hub and R2 started with the lab key log
// (DMVPN_IKE_KEYLOG, like SSLKEYLOGFILE), R3 without it. From the key logs alone tshark's esp_sa UAT
// decrypts every ESP packet on the three WAN links into IPv4/GRE, checks each ICV good, and finds the
// pings inside. R3 writes no key log; no router's log holds a key.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './util/lab.js';

import { tshark } from './util/tshark.js';
import { startSeed003 } from './util/seed003-crypto.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { withSeedCrypto } from './util/seed003-crypto.js';

requireTools(t, [...LAB_NEEDS, 'tshark', 'dumpcap']);

interface KeyLine { spi: string; dir: string; src: string; dst: string; cipher: string; enc: string; integ: string; auth: string }

function readKeyLog(file: string): KeyLine[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [spi, dir, src, dst, cipher, enc, integ, auth] = l.split(' ');
    return { spi, dir, src, dst, cipher, enc, integ, auth };
  });
}

const UAT_ENC: Record<string, string> = { 'aes-cbc-128': 'AES-CBC [RFC3602]', 'aes-cbc-256': 'AES-CBC [RFC3602]' };
const UAT_AUTH: Record<string, string> = { 'hmac-sha1-96': 'HMAC-SHA-1-96 [RFC2404]', 'hmac-sha256-128': 'HMAC-SHA-256-128 [RFC4868]' };
/** One esp_sa UAT record (Wireshark 4.0 field order: protocol, src, dst, SPI, encryption, key, authentication, key). */
const uatRecord = (k: KeyLine) => `"IPv4","${k.src}","${k.dst}","0x${k.spi}","${UAT_ENC[k.cipher]}","0x${k.enc}","${UAT_AUTH[k.integ]}","0x${k.auth}"`;
const arr = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

const keyLogIn = (dir: string, r: string) => path.join(dir, `keylog-${r}.txt`);

t.test('every ESP packet of an IKE-negotiated DMVPN decrypts in tshark with the key-logged keys, ICV good', async (t) => {
  const { lab, pcaps, logs, spokesUp, stopCaptures } = await startSeed003(t, 'ikd', withSeedCrypto, 'esp', (r, dir): Record<string, string> => (r === 'R3' ? {} : { DMVPN_IKE_KEYLOG: keyLogIn(dir, r) }));
  const keyLog = (r: string) => keyLogIn(lab.dir, r);
  const up = await spokesUp();
  t.ok(up, 'both spokes registered through ESP');
  if (!up) { t.comment(logs(80)); return; }

  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 5), 'h2 -> h1 (spoke to hub)');
  t.ok(lab.ping(lab.ns('h2'), '10.0.3.10', 5), 'h2 -> h3 (spoke to spoke, shortcut negotiated on demand)');
  const direct = await waitFor(() => lab.ctlJson('R2', 'show crypto ipsec sa').some((s: { peer: string; dir: string }) => s.peer === '172.16.35.2' && s.dir === 'out'), 30000);
  t.ok(direct, 'R2 has an outbound SA straight to R3');
  t.ok(lab.ping(lab.ns('h3'), '10.0.2.10', 5), 'h3 -> h2 over the direct SA');
  await new Promise((r) => setTimeout(r, 500));
  await stopCaptures();

  // the key log: on only where the variable was set, 0600, and it names every SA the routers show
  for (const r of ['R1', 'R2']) {
    t.equal(fs.statSync(keyLog(r)).mode & 0o777, 0o600, `${r}: key log is 0600`);
    t.ok(lab.routers.get(r)!.log.some((l) => /KEYLOG.*DMVPN_IKE_KEYLOG is set/.test(l)), `${r}: warns at start that key logging is on`);
  }
  t.notOk(fs.existsSync(keyLog('R3')), 'R3 (variable unset): no key log');
  t.same(fs.readdirSync(lab.dir).filter((f) => /keylog/i.test(f)).sort(), ['keylog-R1.txt', 'keylog-R2.txt'], 'no other key log file');
  t.notOk(lab.routers.get('R3')!.log.some((l) => /KEYLOG/.test(l)), 'R3: no key log warning');
  const keys = [...readKeyLog(keyLog('R1')), ...readKeyLog(keyLog('R2'))];
  const shown = ['R1', 'R2'].flatMap((r) => lab.ctlJson<Array<{ spi: number }>>(r, 'show crypto ipsec sa').map((s) => s.spi.toString(16).padStart(8, '0')));
  t.ok(shown.length >= 6 && shown.every((spi) => keys.some((k) => k.spi === spi)), `every SA R1 and R2 show is in their key logs (${shown.length} SAs)`);

  // no key ever in a router's normal log (its output and its log buffer)
  const secrets = keys.flatMap((k) => [k.enc, k.auth]);
  for (const r of ['R1', 'R2', 'R3']) {
    const text = lab.routers.get(r)!.log.join('\n') + lab.ctl(r, 'show logging');
    t.notOk(secrets.some((s) => text.includes(s)), `${r}: no key hex in its log`);
  }

  // tshark: every ESP packet decrypts with the UAT built from the key logs, ICV checked good
  const uat = (records: KeyLine[], name: string) => {
    const home = path.join(lab.dir, name);
    fs.mkdirSync(path.join(home, 'wireshark'), { recursive: true });
    fs.writeFileSync(path.join(home, 'wireshark', 'esp_sa'), [...new Set(records.map(uatRecord))].join('\n') + '\n');
    return { ...process.env, XDG_CONFIG_HOME: home, HOME: home };
  };
  const decrypt = (file: string, env: NodeJS.ProcessEnv) => (JSON.parse(tshark(['-r', file, '-Y', 'esp', '-T', 'json', '--no-duplicate-keys',
    '-o', 'esp.enable_encryption_decode:TRUE', '-o', 'esp.enable_authentication_check:TRUE'], env)) as Array<{ _source: { layers: Record<string, any> } }>)
    .map((p) => p._source.layers);
  const icvGood = (l: Record<string, any>) => l.esp?.['esp.icv_tree']?.['esp.icv_good'] === '1' && l.esp?.['esp.icv_tree']?.['esp.icv_bad'] === '0';
  const logged = uat(keys, 'tshark-logged');
  const pings = new Set<string>();
  for (const [i, file] of pcaps.entries()) {
    const layers = decrypt(file, logged);
    const bad: string[] = [];
    for (const l of layers) {
      const ips = arr(l.ip) as Array<Record<string, string>>;
      const no = l.frame?.['frame.number'];
      if (!icvGood(l)) bad.push(`${no}: ICV not good`);
      else if (l.esp['esp.decrypted_data_tree']?.['esp.protocol'] !== '0x04' || ips.length < 2 || ips[1]['ip.proto'] !== '47' || !l.gre || !(l.nhrp || ips.length === 3)) bad.push(`${no}: not IPv4/GRE (NHRP or IPv4) inside (tunnel mode)`);
      if (l.icmp) pings.add(`${ips[2]['ip.src']}>${ips[2]['ip.dst']}:${l.icmp['icmp.type']}`);
    }
    t.ok(layers.length >= 10, `r${i + 1} link: ${layers.length} ESP packets`);
    t.same(bad.slice(0, 10), [], `r${i + 1} link: every ESP packet decrypts to IPv4/GRE with its ICV checked good`);
  }
  // the check can fail: the same keys with one bit of every authentication key flipped give no good ICV
  const flipped = uat(keys.map((k) => ({ ...k, auth: (parseInt(k.auth[0], 16) ^ 1).toString(16) + k.auth.slice(1) })), 'tshark-flipped');
  const wrong = decrypt(pcaps[0], flipped);
  t.ok(wrong.length >= 10 && wrong.every((l) => !icvGood(l) && l.esp?.['esp.icv_tree']?.['esp.icv_bad'] === '1'), 'a wrong authentication key: tshark marks every ICV bad');
  for (const p of ['10.0.2.10>10.0.1.10:8', '10.0.1.10>10.0.2.10:0', '10.0.2.10>10.0.3.10:8', '10.0.3.10>10.0.2.10:8', '10.0.2.10>10.0.3.10:0'])
    t.ok(pings.has(p), `decrypted ICMP ${p}`);
});

