// `crypto pki enroll`'s PKCS#10 request (ike/pki/csr.ts), checked by the openssl CLI: for EC P-256, RSA
// and Ed25519 keys the request verifies (its signature by the key it carries), names the subject and
// the SAN IP, and openssl x509 -req makes a certificate from it that is for that key; a subject-name
// attribute it does not know is refused with the attribute named.
import t from 'tap';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { certificateRequest, derName } from '../appliance/ike/pki/csr.js';
import { requireTools } from './util/needs.js';
import { TestCa } from './util/pki.js';

requireTools(t, ['openssl']);
const ca = new TestCa();
t.teardown(() => ca.close());
ca.ca('root');

for (const kind of ['ec', 'rsa', 'ed25519'] as const) {
  t.test(`${kind}: openssl verifies the request and certifies its key`, async (t) => {
    const pair = kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
    ca.write(`${kind}.csr`, certificateRequest(pair.privateKey, 'CN=spoke1,O=lab,C=DE', '172.16.25.2'));
    const text = ca.ssl('req', '-in', `${kind}.csr`, '-verify', '-noout', '-text').toString();
    t.match(text, /Subject: CN ?= ?spoke1, O ?= ?lab, C ?= ?DE/, 'subject');
    t.match(text, /IP Address:172\.16\.25\.2/, 'SAN IP requested');
    ca.write(`${kind}.ext`, 'subjectAltName=IP:172.16.25.2\n');
    ca.ssl('x509', '-req', '-in', `${kind}.csr`, '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '7', '-days', '1', '-extfile', `${kind}.ext`, '-out', `${kind}.pem`);
    const cert = new X509Certificate(ca.read(`${kind}.pem`));
    t.ok(cert.checkPrivateKey(pair.privateKey), 'the certificate is for our key');
  });
}

t.test('subject-name attributes', async (t) => {
  t.match(derName('CN=a,XX=b'), /"XX=b" is not one of CN, O, OU, C, L, ST, SERIALNUMBER=value/);
  t.ok(Buffer.isBuffer(derName('cn=R1, ou=branch')), 'lower case and spaces');
});
