// The IKEv2 config as IOS writes it: `crypto ikev2 proposal|policy|keyring|profile`, `crypto ikev2 dpd`,
// `cookie-challenge`, `fragmentation`, `set ikev2-profile`: loads, renders back the same text, turns into
// the policy the IKEv2 manager runs (two managers from two such configs establish), and bad values are
// refused at load with the line named.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { ikeV2Policy, ikeV2SettingsFrom } from '../appliance/ike/config-v2.js';
import { ike2Pair } from './util/ike2.js';

const hub = `hostname HUB
crypto ikev2 proposal PROP
 encryption aes-gcm-256 aes-cbc-256
 prf sha384
 group 20 14
crypto ikev2 proposal CBC
 encryption aes-cbc-128
 integrity sha256
 group 19
crypto ikev2 policy POL
 proposal PROP
 proposal CBC
crypto ikev2 keyring KR
 peer SPOKES
  address 172.16.0.0 255.255.0.0
  pre-shared-key P4ssw0rd
crypto ikev2 profile PROF
 match identity remote address 172.16.0.0 255.255.0.0
 authentication remote pre-share
 authentication local pre-share
 keyring local KR
 dpd 10 3 on-demand
crypto ikev2 cookie-challenge 10
crypto ikev2 fragmentation mtu 1200
crypto ipsec transform-set TS esp-aes 256 esp-sha256-hmac
 mode transport
crypto ipsec profile IPSEC
 set transform-set TS
 set pfs group19
 set ikev2-profile PROF
`;

t.test('loads, renders back the same crypto lines, becomes a policy', async (t) => {
  const r = parseStartupConfig(hub);
  if (!r.ok) { t.fail(JSON.stringify(r.errors)); return; }
  const text = renderConfig(r.config);
  for (const line of hub.split('\n').filter((l) => l.startsWith('crypto') || l.startsWith(' '))) t.ok(text.includes(line + '\n'), `running-config has "${line}"`);
  const again = parseStartupConfig(text);
  t.ok(again.ok, 'the rendered text loads again');
  if (again.ok) t.same(again.config.crypto, r.config.crypto, 'and gives the same model');
  const s = ikeV2SettingsFrom(r.config.crypto);
  if (!s?.ok) { t.fail(String(s && !s.ok && s.reason)); return; }
  t.match(s.value, { proposals: [{ name: 'PROP', encryption: ['aes-gcm-256', 'aes-cbc-256'], prf: ['sha384'], group: [20, 14] }, { name: 'CBC', integrity: ['sha256'] }],
    keyring: [{ name: 'SPOKES', address: '172.16.0.0', mask: '255.255.0.0', key: 'P4ssw0rd' }], pfs: 'group19', dpd: { interval: 10, retry: 3 }, cookieChallenge: 10, fragmentMtu: 1200 });
  const p = ikeV2Policy(s.value);
  t.notOk(p.ok, 'aes-gcm and aes-cbc in one proposal are refused (IOS refuses it too)');
  t.match(!p.ok && p.reason, /AEAD and non-AEAD/);
});

t.test('two configs of this grammar establish with each other', async (t) => {
  const spoke = hub.replace('hostname HUB', 'hostname SPOKE').replace(' encryption aes-gcm-256 aes-cbc-256', ' encryption aes-gcm-256');
  const a = parseStartupConfig(spoke);
  if (!a.ok) { t.fail('load'); return; }
  const s = ikeV2SettingsFrom(a.config.crypto);
  if (!s?.ok) { t.fail('settings'); return; }
  const pa = ikeV2Policy(s.value);
  if (!pa.ok) { t.fail(pa.reason); return; }
  const p = ike2Pair(pa.value, pa.value);
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.equal(sa.state, 'READY');
  t.match(sa.suite, { encr: { encr: 'aes-gcm-16', keyBits: 256 }, prf: { prf: 'sha384' }, group: 20 }, 'the first proposal: AES-GCM-256, PRF SHA-384, ECP-384');
  t.match(p.a.events.find((e) => e.event === 'child')?.keys, { mode: 'transport', keyBits: 256, integrity: 'hmac-sha256-128' }, 'Child SA from the transform set: transport, AES-256, SHA-256');
});

t.test('IKEv1 unless the ipsec profile names an ikev2-profile; missing pieces named', async (t) => {
  const v1 = parseStartupConfig('crypto ipsec transform-set TS esp-aes esp-sha-hmac\ncrypto ipsec profile P\n set transform-set TS\n');
  t.ok(v1.ok && ikeV2SettingsFrom(v1.config.crypto) === undefined, 'no ikev2-profile: IKEv1 (undefined)');
  const noKr = parseStartupConfig('crypto ikev2 profile X\n authentication local pre-share\n authentication remote pre-share\ncrypto ipsec transform-set TS esp-aes esp-sha-hmac\ncrypto ipsec profile P\n set transform-set TS\n set ikev2-profile X\n');
  t.ok(noKr.ok);
  if (noKr.ok) t.match(ikeV2SettingsFrom(noKr.config.crypto), { ok: false, reason: /keyring local \(none\) not defined/ });
  const dflt = parseStartupConfig('crypto ikev2 keyring K\n peer A\n  address 10.0.0.1\n  pre-shared-key k\ncrypto ikev2 profile X\n authentication local pre-share\n authentication remote pre-share\n keyring local K\ncrypto ipsec transform-set TS esp-aes esp-sha-hmac\ncrypto ipsec profile P\n set transform-set TS\n set ikev2-profile X\n');
  if (dflt.ok) {
    const s = ikeV2SettingsFrom(dflt.config.crypto);
    t.match(s, { ok: true, warnings: [/IOS default proposal/], value: { proposals: [{ name: 'default' }] } }, 'no proposal: the IOS default, with a warning');
    t.ok(s?.ok && ikeV2Policy(s.value).ok, 'which is a valid policy');
  } else t.fail('load');
});

t.test('bad values refused at load, naming the line', async (t) => {
  for (const [text, line] of [
    ['crypto ikev2 proposal P\n encryption des\n', 2],
    ['crypto ikev2 proposal P\n group 5\n', 2],
    ['crypto ikev2 proposal P\n integrity md5\n', 2],
    ['crypto ikev2 cookie-challenge 0\n', 1],
  ] as const) {
    const r = parseStartupConfig(text);
    t.notOk(r.ok, `refused: ${text.trim().split('\n').pop()}`);
    if (!r.ok) t.equal(r.errors[0].line, line, 'at its line');
  }
});

t.test('show crypto ikev2 sa [detail]: IOS layout from the live SAs, no key', async (t) => {
  const { formatCryptoIkev2Sa } = await import('../appliance/show/crypto-ikev2.js');
  const { v2Policy } = await import('./util/ike2.js');
  const pol = v2Policy({ dpd: { interval: 10, retry: 3 } });
  const p = ike2Pair(pol, pol);
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  const brief = formatCryptoIkev2Sa(p.a.m.sas, pol, false, sa.establishedAt! + 35000);
  t.match(brief, /Tunnel-id Local\s+Remote\s+fvrf\/ivrf\s+Status/);
  t.match(brief, new RegExp(`^${sa.connId}\\s+172\\.16\\.1\\.1/500\\s+172\\.16\\.2\\.1/500\\s+none/none\\s+READY`, 'm'));
  t.match(brief, /Encr: AES-CBC, keysize: 256, PRF: SHA256, Hash: SHA256, DH Grp:14, Auth sign: PSK, Auth verify: PSK/);
  t.match(brief, /Life\/Active Time: 86400\/35 sec/);
  const detail = formatCryptoIkev2Sa(p.b.m.sas, pol, true);
  t.match(detail, new RegExp(`Local spi: ${Buffer.from(sa.rspi).toString('hex').toUpperCase()}\\s+Remote spi: ${Buffer.from(sa.ispi).toString('hex').toUpperCase()}`));
  t.match(detail, /Remote id: 172\.16\.1\.1/);
  t.match(detail, /Remote next msg id: 2/);
  t.match(detail, /DPD configured for 10 seconds, retry 3/);
  t.match(detail, /Initiator of SA : No/);
  const keys = Object.values(sa.keys!).map((k) => Buffer.from(k as Uint8Array).toString('hex').toUpperCase());
  t.notOk(keys.some((k) => detail.includes(k) || brief.includes(k)), 'no key material printed');
});
