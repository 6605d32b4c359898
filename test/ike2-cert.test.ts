// Certificate authentication (RFC 7427 digital signatures; Ed25519 per RFC 8420, ECDSA P-256, RSA):
// certificates made by the openssl CLI in the test (a CA, spokes with their address as SAN IP). Two
// managers establish with each key type; tshark decodes the exchange (CERT, AUTH method 14) clean; a
// certificate from another CA, one whose SAN is another address (an identity it may not claim), an
// expired one, and a signature by the wrong key are all refused with AUTHENTICATION_FAILED.
import t from 'tap';
import { join } from 'node:path';
import { ike2Pair, v2Policy } from './util/ike2.js';
import { ikePcap } from './util/ike.js';
import { tshark } from './util/tshark.js';
import { all, problems } from './util/tshark-json.js';
import { needs, requireTools } from './util/needs.js';
import { TestCa, type TestKeyKind } from './util/pki.js';

requireTools(t, ['openssl']);
const pki = new TestCa();
t.teardown(() => pki.close());
const dir = pki.dir;
const read = (f: string) => pki.read(f);
const leaf = (name: string, kind: TestKeyKind, issuer: string, ip: string) => pki.leaf(name, issuer, [ip], undefined, kind);
const creds = (name: string, trusted = ['ca']) => ({ certificate: { cert: read(`${name}.pem`), key: read(`${name}.key`), trusted: trusted.map((c) => read(`${c}.pem`)) } });

pki.ca('ca');
pki.ca('rogue');
for (const kind of ['ed25519', 'ecdsa', 'rsa'] as const) {
  leaf(`hub-${kind}`, kind, 'ca', '172.16.2.1');
  leaf(`spoke-${kind}`, kind, 'ca', '172.16.1.1');
}

for (const kind of ['ed25519', 'ecdsa', 'rsa']) {
  t.test(`${kind} certificates: established, tshark clean`, async (t) => {
    const p = ike2Pair(v2Policy(creds(`spoke-${kind}`)), v2Policy(creds(`hub-${kind}`)));
    t.teardown(() => p.close());
    const sa = p.a.m.initiate('172.16.2.1');
    await p.settle();
    t.equal(sa.state, 'READY', 'established');
    t.equal(sa.peerId, '172.16.2.1', 'peer identity from the certificate-bound ID');
    t.equal(p.b.m.sas[0]?.peerId, '172.16.1.1');
    t.ok(p.a.events.some((e) => e.event === 'child'), 'Child SA');
    if (needs(t, 'tshark').skip) return;
    const pcap = join(dir, `${kind}.pcap`);
    ikePcap(pcap, p.wire);
    const k = sa.keys!;
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const uat = `uat:ikev2_decryption_table:${hex(sa.ispi)},${hex(sa.rspi)},${hex(k.skEi)},${hex(k.skEr)},"AES-CBC-256 [RFC3602]",${hex(k.skAi)},${hex(k.skAr)},"HMAC_SHA2_256_128 [RFC4868]"`;
    const json = JSON.parse(tshark(['-r', pcap, '-T', 'json', '--no-duplicate-keys', '-o', uat])) as unknown[];
    t.same(problems(json), [], 'no malformed packet or expert info');
    t.same(all(json, 'isakmp.auth.method'), ['14', '14'], 'AUTH method 14 (digital signature) both ways');
    t.same(all(json, 'isakmp.cert.encoding'), ['4', '4'], 'CERT: X.509 signature, both ways');
  });
}

t.test('refused: another CA, a SAN for another address, expired, wrong key', async (t) => {
  leaf('spoke-rogue', 'ecdsa', 'rogue', '172.16.1.1');
  leaf('spoke-claims-hub', 'ecdsa', 'ca', '172.16.2.1'); // a real certificate, but for the hub's address
  pki.expiredLeaf('spoke-expired', 'ca', ['172.16.1.1']);
  leaf('spoke-other', 'ecdsa', 'ca', '172.16.1.1');
  const wrongKey = { certificate: { cert: read('spoke-ecdsa.pem'), key: read('spoke-other.key'), trusted: [read('ca.pem')] } };
  const cases: Array<[string, object, RegExp]> = [
    ['a certificate from a CA we do not trust', creds('spoke-rogue', ['rogue', 'ca']), /not issued by a trusted CA/],
    ['a certificate for an identity the spoke may not claim', creds('spoke-claims-hub'), /does not carry the identity 172\.16\.1\.1/],
    ['an expired certificate', creds('spoke-expired'), /outside its validity/],
  ];
  for (const [what, spoke, reason] of cases) {
    const p = ike2Pair(v2Policy(spoke), v2Policy(creds('hub-ecdsa')));
    const sa = p.a.m.initiate('172.16.2.1');
    await p.settle();
    t.not(sa.state, 'READY', `${what}: not established`);
    t.match(p.b.events.find((e) => e.event === 'failed')?.reason, reason, `${what}: refused, saying why`);
    t.match(p.a.events.find((e) => e.event === 'failed')?.reason, /AUTHENTICATION_FAILED/, 'the spoke was told AUTHENTICATION_FAILED');
    t.same(p.b.m.sas, [], 'nothing left on the hub');
    p.close();
  }
  t.throws(() => v2Policy(wrongKey), /do not match/, 'a key that is not the certificate\'s is refused at configuration');
});

// Enrolled devices (docs/enrollment.md): the identity is the device name the certificate carries as a
// SAN dNSName, sent as ID_FQDN; the SAN IP is the tunnel address, which identity-bound NHRP binds.
t.test('FQDN identity with a certificate: established by name; another device\'s name, a CN, a wildcard refused', async (t) => {
  const A = 'spoke-a.0123456789abcdef0123456789abcdef.dmvpn.invalid', B = 'spoke-b.fedcba9876543210fedcba9876543210.dmvpn.invalid';
  pki.leaf('dev-a', 'ca', [A, '192.168.0.10'], undefined, 'ed25519');
  pki.leaf('dev-b', 'ca', [B, '192.168.0.11'], undefined, 'ed25519');
  pki.leaf(A, 'ca', ['192.168.0.12']); // CN=A, no dNSName: a name in the subject only
  pki.leaf('dev-wild', 'ca', ['*.dmvpn.invalid', '192.168.0.13']);
  const hub = () => v2Policy(creds('hub-ecdsa'));

  const good = ike2Pair(v2Policy({ ...creds('dev-a'), localFqdn: A }), hub(), { aAddr: '10.25.0.2' });
  const sa = good.a.m.initiate('172.16.2.1');
  await good.settle();
  t.equal(sa.state, 'READY', 'device A with its name: established');
  const hubSa = good.b.m.sas[0];
  t.equal(hubSa?.peerId, A, 'the hub knows it by its name, not by the address it came from');
  t.same(hubSa?.peerCertAddresses, ['192.168.0.10'], 'and binds the tunnel address its certificate names');
  t.equal(sa.peerId, '172.16.2.1', 'the hub still identifies by its address');
  good.close();

  t.throws(() => v2Policy({ ...creds('dev-b'), localFqdn: A }), /identity local fqdn .*our certificate does not carry it/, 'configuring a name our certificate lacks: refused at configuration');

  // hostile peers that skip that check: the policy edited after it passed
  const claiming = (cert: string, id: string) => { const p = v2Policy(creds(cert)); return { ...p, localFqdn: id }; };
  const cases: Array<[string, ReturnType<typeof claiming>, RegExp]> = [
    ['device B\'s certificate presented with device A\'s name', claiming('dev-b', A), new RegExp(`does not carry the identity ${A.replace(/\./g, '\\.')} \\(SAN DNS\\)`)],
    ['a name only in the subject CN', claiming(A, A), /does not carry the identity .* \(SAN DNS\)/],
    ['a wildcard certificate for a name under it', claiming('dev-wild', A), /does not carry the identity .* \(SAN DNS\)/],
    ['an ID_FQDN that is not a DNS name', claiming('dev-a', 'spoke a\u0000.x'), /not a DNS name/],
  ];
  for (const [what, spoke, reason] of cases) {
    const p = ike2Pair(spoke, hub(), { aAddr: '10.25.0.2' });
    const s2 = p.a.m.initiate('172.16.2.1');
    await p.settle();
    t.not(s2.state, 'READY', `${what}: not established`);
    t.match(p.b.events.find((e) => e.event === 'failed')?.reason, reason, `${what}: refused, saying why`);
    t.same(p.b.m.sas, [], 'nothing left on the hub');
    p.close();
  }
  // the name compares as DNS does: one device, one identity however it spells its name
  const upper = ike2Pair(claiming('dev-a', A.toUpperCase()), hub(), { aAddr: '10.25.0.2' });
  upper.a.m.initiate('172.16.2.1');
  await upper.settle();
  t.equal(upper.b.m.sas[0]?.peerId, A, 'a name in capitals: accepted as the same, lower-case, identity');
  upper.close();
});

t.test('identity local fqdn: the IOS line round trip, a name that is not one refused', async (t) => {
  const { parseStartupConfig } = await import('../appliance/config/load.js');
  const { renderConfig } = await import('../appliance/config/render.js');
  const text = 'crypto ikev2 profile P\n identity local fqdn Spoke-1.Example.net\n authentication remote ecdsa-sig\n authentication local ecdsa-sig\nend\n';
  const r = parseStartupConfig(text);
  t.ok(r.ok, 'loads');
  if (!r.ok) return;
  t.equal(r.config.crypto.ikev2?.profiles?.[0].identityLocalFqdn, 'spoke-1.example.net', 'kept in lower case');
  t.match(renderConfig(r.config), /^crypto ikev2 profile P\n identity local fqdn spoke-1\.example\.net\n authentication remote ecdsa-sig\n/m, 'rendered IOS-style');
  const removed = parseStartupConfig(`${text.replace(/end\n$/, '')}crypto ikev2 profile P\n no identity local fqdn spoke-1.example.net\nend\n`);
  t.ok(removed.ok && removed.config.crypto.ikev2?.profiles?.[0].identityLocalFqdn === undefined, 'no identity local fqdn removes it');
  for (const bad of ['-x.example', 'a..b', '*.example.net', `${'a'.repeat(64)}.net`]) {
    const x = parseStartupConfig(`crypto ikev2 profile P\n identity local fqdn ${bad}\n`);
    t.ok(!x.ok && /Invalid FQDN/.test(x.errors[0].message), `refused: ${bad}`);
  }
});
