// The IKEv2 profile's certificate authentication from config (issue 10, PKI): `authentication local|remote
// ecdsa-sig|rsa-sig|ed25519-sig` + `pki trustpoint T` + T's chain + the key store's key become the
// IKEv2 settings; two managers with such configs establish (AUTH by signature both ways) and keep the
// certificate's SAN addresses; every unusable combination is refused naming the problem; a profile that
// wants signatures refuses a peer's pre-shared key (counted); the key store keeps keys 0600, reloads
// them, refuses to overwrite, and never puts key material in a message.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { parseStartupConfig } from '../appliance/config/load.js';
import { ikeV2Policy, ikeV2SettingsFrom } from '../appliance/ike/config-v2.js';
import { KeyStore } from '../appliance/supervisor/key-store.js';
import { ike2Pair, v2Policy } from './util/ike2.js';
import { requireTools } from './util/needs.js';
import { TestCa, certBlock } from './util/pki.js';

requireTools(t, ['openssl']);
const ca = new TestCa();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hpk-ks-'));
t.teardown(() => { ca.close(); fs.rmSync(dir, { recursive: true, force: true }); });
const caPem = ca.ca('lab');
ca.ca('rogue');

const stores: Record<string, KeyStore> = {};
const certs: Record<string, string> = {};
const pubPem = (s: KeyStore, label: string) =>
  createPublicKey({ key: s.publicKeys().find((k) => k.label === label)!.spki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }) as string;
for (const [name, addr] of [['A', '172.16.1.1'], ['B', '172.16.2.1']]) {
  stores[name] = new KeyStore(path.join(dir, `${name}.keys`));
  stores[name].generate('ec', `${name}-KEY`, 256);
  certs[name] = ca.leaf(name, 'lab', [addr, name === 'A' ? '10.0.0.1' : '10.0.0.2'], pubPem(stores[name], `${name}-KEY`));
}
const serial = (pem: string) => new X509Certificate(pem).serialNumber;

function config(name: string, o: { local?: string; remote?: string; kind?: string; own?: string | null; trustpoint?: string; caCert?: string } = {}): string {
  const own = o.own === undefined ? certs[name] : o.own;
  return [
    'crypto pki trustpoint LAB', ` ${o.kind ?? 'ec'}keypair ${name}-KEY`,
    'crypto pki certificate chain LAB', ...(own ? certBlock(own, serial(own), false) : []), ...certBlock(o.caCert ?? caPem, '01', true),
    'crypto ikev2 profile PROF', ` authentication local ${o.local ?? 'ecdsa-sig'}`, ` authentication remote ${o.remote ?? 'ecdsa-sig'}`, ` pki trustpoint ${o.trustpoint ?? 'LAB'}`,
    'crypto ipsec transform-set TS esp-aes esp-sha-hmac', 'crypto ipsec profile IP', ' set transform-set TS', ' set ikev2-profile PROF', '',
  ].join('\n');
}
function settings(text: string, store?: KeyStore) {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(r.errors[0].message);
  return ikeV2SettingsFrom(r.config.crypto, 'IP', store?.lookup)!;
}

t.test('two managers configured from trustpoints establish by signature and keep the SAN addresses', async (t) => {
  const pol = (n: string) => { const s = settings(config(n), stores[n]); if (!s.ok) throw new Error(s.reason); const p = ikeV2Policy(s.value); if (!p.ok) throw new Error(p.reason); return p.value; };
  const a = pol('A'), b = pol('B');
  t.ok(a.credentials && a.peerMustSign, 'credentials from the config, peer must sign');
  t.same(a.keyring, [], 'no keyring needed with certificates');
  const p = ike2Pair(a, b);
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.equal(sa.state, 'READY', 'established');
  t.same(sa.peerCertAddresses, ['172.16.2.1', '10.0.0.2'], 'A keeps B\'s certificate addresses');
  t.same(p.b.m.sas[0].peerCertAddresses, ['172.16.1.1', '10.0.0.1'], 'B keeps A\'s');
  t.equal(sa.peerKeyType, 'ec');
});

t.test('unusable certificate configs are refused, naming the problem', async (t) => {
  const other = new KeyStore(path.join(dir, 'other.keys'));
  other.generate('ec', 'A-KEY', 256); // same label, another key
  const rogue = ca.leaf('A-rogue', 'rogue', ['172.16.1.1'], pubPem(stores.A, 'A-KEY'));
  const cases: Array<[string, string, KeyStore | undefined, RegExp]> = [
    ['no key store entry', config('A'), undefined, /no key pair A-KEY in the key store \(crypto key generate ec label A-KEY\)/],
    ['the key store\'s key is not the certificate\'s', config('A'), other, /certificate \S+ is not for key pair A-KEY/],
    ['no own certificate', config('A', { own: null }), stores.A, /has no certificate of its own \(crypto pki import LAB certificate\)/],
    ['own certificate from another CA', config('A', { own: rogue }), stores.A, /is not issued by the CA of trustpoint LAB/],
    ['method and key type differ', config('A', { local: 'rsa-sig', remote: 'rsa-sig' }), stores.A, /authentication local rsa-sig but trustpoint LAB's key pair is ec \(use ecdsa-sig\)/],
    ['key store kind differs from the trustpoint', config('A', { kind: 'rsa', local: 'rsa-sig', remote: 'rsa-sig' }), stores.A, /key pair A-KEY is ec, the trustpoint says rsakeypair/],
    ['pre-share one side, certificates the other', config('A', { remote: 'pre-share' }), stores.A, /pre-share on one side and certificates on the other is not implemented/],
  ];
  for (const [what, text, store, msg] of cases) {
    const s = settings(text, store);
    t.notOk(s.ok, `${what}: refused`);
    if (!s.ok) { t.match(s.reason, msg, `${what}: ${s.reason}`); t.notMatch(s.reason, /PRIVATE KEY|BEGIN/, 'no key material in the reason'); }
  }
  const r = parseStartupConfig(config('A', { trustpoint: 'NOPE' }));
  t.notOk(r.ok, 'pki trustpoint of an undefined trustpoint: refused at load');
  if (!r.ok) t.match(r.errors[0].message, /trustpoint NOPE is not defined/);
  const noTp = parseStartupConfig('crypto ikev2 profile P\n authentication local ecdsa-sig\n authentication remote ecdsa-sig\ncrypto ipsec transform-set TS esp-aes esp-sha-hmac\ncrypto ipsec profile IP\n set transform-set TS\n set ikev2-profile P\n');
  t.ok(noTp.ok);
  if (noTp.ok) t.match((ikeV2SettingsFrom(noTp.config.crypto, 'IP') as { reason: string }).reason, /authentication local ecdsa-sig needs pki trustpoint NAME/);
});

t.test('a profile that wants signatures refuses a pre-shared key, counted', async (t) => {
  const s = settings(config('B'), stores.B);
  if (!s.ok) throw new Error(s.reason);
  // B also holds a keyring entry for A: without peerMustSign, A's PSK would be accepted
  const b = ikeV2Policy({ ...s.value, keyring: [{ name: 'k', address: '172.16.0.0', mask: '255.255.0.0', key: 'P4ssw0rd' }] });
  if (!b.ok) throw new Error(b.reason);
  const p = ike2Pair(v2Policy(), b.value);
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.not(sa.state, 'READY', 'not established');
  t.match(p.b.events.find((e) => e.event === 'failed')?.reason, /authenticates with a pre-shared key, the profile requires a certificate signature/);
  t.equal(p.b.m.counters.peerAuthRefused, 1, 'counted under peerAuthRefused');
});

t.test('key store: 0600, reloads, no overwrite, zeroize, damaged file, modes fixed', async (t) => {
  const file = path.join(dir, 'ks.keys');
  const s = new KeyStore(file);
  s.generate('ed25519', 'ED', 256);
  s.generate('rsa', 'RSA', 2048);
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'file mode 0600');
  t.throws(() => s.generate('ec', 'ED', 256), /key pair ED exists/, 'no overwrite');
  t.throws(() => s.generate('ec', 'bad label!', 256), /key label/, 'label checked');
  const again = new KeyStore(file);
  t.same(again.publicKeys().map((k) => [k.label, k.kind]), [['ED', 'ed25519'], ['RSA', 'rsa']], 'reloaded');
  t.equal(again.lookup('RSA')?.kind, 'rsa');
  t.ok(again.zeroize('ED', 'ed25519'), 'zeroize');
  t.notOk(again.zeroize('RSA', 'ec'), 'zeroize checks the kind');
  t.same(new KeyStore(file).publicKeys().map((k) => k.label), ['RSA'], 'zeroize persisted');
  fs.chmodSync(file, 0o644);
  const warnings: string[] = [];
  new KeyStore(file, (m) => warnings.push(m));
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'a world-readable store is made 0600');
  t.match(warnings.join('\n'), /readable by others/);
  fs.writeFileSync(file, '{"keys": {"X": {"kind": "ec", "pem": "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----"}}}');
  const w2: string[] = [];
  const damaged = new KeyStore(file, (m) => w2.push(m));
  t.same(damaged.publicKeys(), [], 'a damaged store loads nothing');
  t.match(w2.join('\n'), /unreadable/);
  t.notMatch(w2.join('\n'), /AAAA|PRIVATE/, 'no key material in the warning');
});

for (const [kind, method] of [['rsa', 'rsa-sig'], ['ed25519', 'ed25519-sig']] as const) {
  t.test(`${kind} key pairs from the key store with ${method}: established, signed both ways`, async (t) => {
    const pol = (name: string, addr: string) => {
      const store = new KeyStore(path.join(dir, `${kind}-${name}.keys`));
      store.generate(kind, `${name}-KEY`, 2048);
      const cert = ca.leaf(`${kind}-${name}`, 'lab', [addr], pubPem(store, `${name}-KEY`));
      const s = settings(config(name, { kind, local: method, remote: method, own: cert }), store);
      if (!s.ok) throw new Error(s.reason);
      const p = ikeV2Policy(s.value);
      if (!p.ok) throw new Error(p.reason);
      return p.value;
    };
    const p = ike2Pair(pol('A', '172.16.1.1'), pol('B', '172.16.2.1'));
    t.teardown(() => p.close());
    const sa = p.a.m.initiate('172.16.2.1');
    await p.settle();
    t.equal(sa.state, 'READY', 'established');
    t.equal(sa.peerKeyType, kind, `the peer signed with its ${kind} key`);
    t.equal(p.b.m.sas[0].peerKeyType, kind);
  });
}

t.test('a peer certificate that expired, or from another CA, is refused by a trustpoint-configured side, counted', async (t) => {
  const s = settings(config('B'), stores.B);
  if (!s.ok) throw new Error(s.reason);
  const b = ikeV2Policy(s.value);
  if (!b.ok) throw new Error(b.reason);
  const expired = ca.expiredLeaf('A-expired', 'lab', ['172.16.1.1']);
  const rogue = ca.leaf('A-rogue2', 'rogue', ['172.16.1.1']);
  const cases: Array<[string, string, string, RegExp]> = [
    ['expired', expired, 'A-expired', /outside its validity period/],
    ['another CA', rogue, 'A-rogue2', /not issued by a trusted CA/],
  ];
  for (const [what, cert, name, reason] of cases) {
    const a = v2Policy({ certificate: { cert, key: ca.read(`${name}.key`), trusted: [caPem] } });
    const p = ike2Pair(a, b.value);
    const sa = p.a.m.initiate('172.16.2.1');
    await p.settle();
    t.not(sa.state, 'READY', `${what}: not established`);
    t.match(p.b.events.find((e) => e.event === 'failed')?.reason, reason, `${what}: the reason`);
    t.equal(p.b.m.counters.peerAuthRefused, 1, `${what}: peerAuthRefused counted`);
    p.close();
  }
});
