// `crypto pki trustpoint` and `crypto pki certificate chain` as IOS keeps them: certificates made by the
// openssl CLI, pasted as hex blocks, rendered back the same way (upper-case words, tab-indented quit)
// and reloaded to the same model; a block changes the config only at quit; malformed, mislabelled or
// unterminated blocks and unknown trustpoints are refused with a message naming the problem.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { CliSession } from '../appliance/console/session.js';
import type { ApplianceConfig } from '../appliance/config/model.js';
import { requireTools } from './util/needs.js';
import { TestCa, certBlock, derHex } from './util/pki.js';

requireTools(t, ['openssl']);
const ca = new TestCa();
t.teardown(() => ca.close());
const caPem = ca.ca('root');
const leafPem = ca.leaf('spoke', 'root', ['172.16.1.1', '10.0.0.2']);
const leafSerial = new X509Certificate(leafPem).serialNumber;

const head = ['hostname R2', 'crypto pki trustpoint HUB-CA', ' enrollment terminal', ' subject-name CN=spoke,O=lab', ' ip-address 172.16.1.1',
  ' revocation-check none', ' eckeypair spoke-key'];
const chain = ['crypto pki certificate chain HUB-CA', ...certBlock(leafPem, leafSerial, false), ...certBlock(caPem, '01', true)];

function load(lines: string[]) {
  return parseStartupConfig(lines.join('\n') + '\n');
}

t.test('a trustpoint and its chain load, render as IOS prints them, and reload to the same model', async (t) => {
  const r = load([...head, ...chain]);
  if (!r.ok) { t.fail(JSON.stringify(r.errors)); return; }
  const p = r.config.crypto.pki!;
  t.same(p.trustpoints, [{ name: 'HUB-CA', enrollment: 'terminal', subjectName: 'CN=spoke,O=lab', ipAddress: '172.16.1.1', revocationNone: true, keyPair: { kind: 'ec', label: 'spoke-key' } }]);
  t.equal(p.chains?.length, 1);
  t.same(p.chains![0].certs.map((c) => [c.serial, c.ca]), [[leafSerial, false], ['01', true]]);
  t.equal(p.chains![0].certs[0].der, derHex(leafPem), 'DER kept exactly');
  const text = renderConfig(r.config);
  for (const l of [...head.slice(1), ...chain]) t.ok(text.split('\n').includes(l), `rendered: ${JSON.stringify(l)}`);
  t.match(text, /crypto pki trustpoint HUB-CA[\s\S]*crypto pki certificate chain HUB-CA/, 'trustpoint before its chain');
  const again = parseStartupConfig(text);
  t.ok(again.ok, 'the rendered config reloads');
  if (again.ok) t.same(again.config.crypto, r.config.crypto, 'same model after the round trip');
  // an IOS transcript pastes the hex in lower case and with other line lengths
  const loose = chain.map((l) => (/^ {2}[0-9A-F]/.test(l) ? l.toLowerCase() : l));
  const r2 = load([...head, ...loose]);
  t.ok(r2.ok && JSON.stringify(r2.config.crypto) === JSON.stringify(r.config.crypto), 'lower-case hex loads to the same model');
});

t.test('bad blocks are refused with the line and the problem', async (t) => {
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown trustpoint', ['crypto pki certificate chain NOPE', ...certBlock(caPem, '01', true)], /trustpoint NOPE is not defined/],
    ['non-hex data', [...head, 'crypto pki certificate chain HUB-CA', ' certificate ca 01', '  3082ZZ01', '  quit'], /"3082ZZ01" is not hexadecimal/],
    ['truncated certificate', [...head, 'crypto pki certificate chain HUB-CA', ...certBlock(caPem, '01', true).filter((_, i) => i !== 3)], /not an X.509 certificate/],
    ['odd digits', [...head, 'crypto pki certificate chain HUB-CA', ' certificate ca 01', '  308', '  quit'], /odd number of hex digits/],
    ['wrong serial', [...head, 'crypto pki certificate chain HUB-CA', ...certBlock(caPem, '7F', true)], /serial number is 01/],
    ['a leaf as ca', [...head, 'crypto pki certificate chain HUB-CA', ...certBlock(leafPem, leafSerial, true)], /not a CA certificate/],
    ['empty block', [...head, 'crypto pki certificate chain HUB-CA', ' certificate ca 01', '  quit'], /no certificate data/],
    ['no quit', [...head, 'crypto pki certificate chain HUB-CA', ...certBlock(caPem, '01', true).slice(0, -1)], /not ended with quit/],
    ['an endless block', [...head, 'crypto pki certificate chain HUB-CA', ' certificate ca 01', ...Array.from({ length: 600 }, () => '  ' + Array(8).fill('30820101').join(' '))], /longer than 16384 bytes/],
    ['a global command inside the block', [...head, 'crypto pki certificate chain HUB-CA', ...certBlock(caPem, '01', true).slice(0, 3), 'interface Tunnel0'], /"interface" is not hexadecimal/],
  ];
  for (const [what, lines, msg] of cases) {
    const r = load(lines);
    t.notOk(r.ok, `${what}: refused`);
    if (!r.ok) t.match(r.errors[0].message, msg, `${what}: ${r.errors[0].message} (line ${r.errors[0].line})`);
  }
});

t.test('configuration mode: the hex lines leave the config alone until quit', async (t) => {
  const r = load(head);
  if (!r.ok) throw new Error('fixture');
  let cfg: ApplianceConfig = r.config;
  let applied = 0;
  const s = new CliSession({ hostname: () => cfg.hostname, getConfig: () => cfg, applyConfig: (n) => { cfg = n; applied++; return { ok: true }; }, exec: {} }, { privileged: true });
  s.feed('configure terminal');
  t.equal(s.feed('crypto pki certificate chain HUB-CA'), '');
  t.equal(s.prompt, 'R2(config-cert-chain)#');
  const block = certBlock(caPem, '01', true);
  for (const l of block.slice(0, -1)) t.equal(s.feed(l), '', `accepted: ${l.slice(0, 20)}`);
  t.equal(s.prompt, 'R2(config-pubkey)#');
  t.equal(applied, 0, 'nothing applied before quit');
  t.equal(s.feed('quit'), '');
  t.equal(applied, 1, 'applied once, at quit');
  t.equal(s.prompt, 'R2(config-cert-chain)#');
  t.same(cfg.crypto.pki?.chains?.[0].certs.map((c) => c.serial), ['01']);
  // a bad block: refused at quit, nothing changed, back to the data prompt to retype or abandon
  s.feed(' certificate 5');
  s.feed('  30820101');
  t.match(s.feed('quit'), /% certificate 5: not an X.509 certificate/);
  t.equal(applied, 1, 'nothing applied for the bad block');
  t.match(s.feed('end'), /not hexadecimal/, 'still in the block: only hex or quit');
  t.match(s.feed('no crypto pki trustpoint HUB-CA'), /not hexadecimal/);
});

t.test('no crypto pki trustpoint removes its certificates too', async (t) => {
  const r = load([...head, ...chain, 'no crypto pki trustpoint HUB-CA']);
  t.ok(r.ok);
  if (r.ok) { t.equal(r.config.crypto.pki, undefined); t.notMatch(renderConfig(r.config), /crypto pki/); }
});

t.test('a trustpoint used by an ikev2 profile cannot be removed (the running-config would not reload)', async (t) => {
  const r = load([...head, 'crypto ikev2 profile P', ' pki trustpoint HUB-CA', 'no crypto pki trustpoint HUB-CA']);
  t.notOk(r.ok);
  if (!r.ok) t.match(r.errors[0].message, /trustpoint HUB-CA is used by ikev2 profile P/);
});

t.test('paste mode: a configExec command reads lines until quit, in global config and in exec', async (t) => {
  const r = load(head);
  if (!r.ok) throw new Error('fixture');
  const got: string[] = [];
  const s = new CliSession({
    hostname: () => 'R2', getConfig: () => r.config, applyConfig: () => ({ ok: true }), exec: {},
    configExec: { 'crypto pki authenticate {name:word}': (a) => ({ intro: `paste for ${a.p.name}\n`, finish: (text) => { got.push(text); return `got ${text.split('\n').length - 1} lines\n`; } }) },
  }, { privileged: true });
  t.equal(s.feed('crypto pki authenticate TP'), 'paste for TP\n', 'privileged exec');
  t.equal(s.prompt, '', 'no prompt while pasting');
  t.equal(s.feed('-----BEGIN CERTIFICATE-----'), '');
  t.equal(s.feed('show running-config'), '', 'anything is data while pasting');
  t.equal(s.feed('quit'), 'got 2 lines\n');
  t.equal(s.prompt, 'R2#');
  s.feed('configure terminal');
  t.equal(s.feed('crypto pki authenticate X'), 'paste for X\n', 'global configuration mode, as IOS');
  t.equal(s.feed('AAAA'), '');
  t.equal(s.feed(''), 'got 1 lines\n', 'a blank line ends it too');
  t.equal(s.prompt, 'R2(config)#');
  t.same(got, ['-----BEGIN CERTIFICATE-----\nshow running-config\n', 'AAAA\n']);
});

t.test('show crypto pki certificates / trustpoints from the config', async (t) => {
  const { formatPkiCertificates, formatPkiTrustpoints } = await import('../appliance/show/crypto-pki.js');
  const r = load([...head, ...chain]);
  if (!r.ok) throw new Error('fixture');
  const text = formatPkiCertificates(r.config.crypto.pki, 'HUB-CA');
  t.match(text, new RegExp(`^Certificate\\n  Status: Available\\n  Certificate Serial Number \\(hex\\): ${leafSerial}\\n[\\s\\S]*    IP Address: 172\\.16\\.1\\.1\\n    IP Address: 10\\.0\\.0\\.2\\n    cn=spoke\\n[\\s\\S]*^CA Certificate\\n`, 'm'));
  const rows = JSON.parse(formatPkiCertificates(r.config.crypto.pki, undefined, true));
  t.same(rows.map((x: { serial: string; ca: boolean }) => [x.serial, x.ca]), [[leafSerial, false], ['01', true]]);
  t.match(formatPkiTrustpoints(r.config.crypto.pki), /Trustpoint HUB-CA:\n    Subject Name: \n    cn=root\n          Serial Number \(hex\): 01\n    Certificate configured\.\n    Router certificate configured\.\n    Key pair: ec spoke-key/);
  t.equal(formatPkiCertificates(r.config.crypto.pki, 'OTHER'), '% No certificates for trustpoint OTHER\n');
});

t.test('a trustpoint as IOS writes it loads: enrollment-only lines are noted, other enrollment and revocation methods refused', async (t) => {
  const r = load(['crypto pki trustpoint TP-self', ' enrollment terminal', ' serial-number none', ' fqdn none', ' ip-address none', ' subject-name cn=R1', ' revocation-check none', ' rsakeypair TP-KEY 2048']);
  t.ok(r.ok, 'loads');
  if (r.ok) {
    t.same(r.config.crypto.pki?.trustpoints?.[0].keyPair, { kind: 'rsa', label: 'TP-KEY', bits: 2048 });
    t.equal(r.inactive.length, 3, 'serial-number, fqdn, ip-address none: accepted, noted as inactive');
    t.match(renderConfig(r.config), / rsakeypair TP-KEY 2048\n/);
  }
  for (const [line, msg] of [[' enrollment selfsigned', /only enrollment terminal/], [' enrollment url http://ca.example/', /https:\/\/ADDRESS:PORT of a DMVPN enrollment server expected \(SCEP is not supported\)/], [' revocation-check crl', /only revocation-check none/]] as const) {
    const bad = load(['crypto pki trustpoint TP', line]);
    t.notOk(bad.ok, `${line.trim()}: refused`);
    if (!bad.ok) t.match(bad.errors[0].message, msg);
  }
});
