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
