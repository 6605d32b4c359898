// IOS secret formats against published vectors: passlib's md5_crypt and cisco_type7 documentation,
// OpenSSL's `passwd -1` (an independent MD5-crypt), the type 8 examples of Cisco's "password types"
// article (reproduced on Stack Overflow), and John the Ripper's cisco type 9 test vectors.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import {
  md5Crypt, verifySecret, hashSecret, type8, secretType, encodeType7, decodeType7, ciscoBase64, samePassword,
} from '../appliance/auth/secrets.js';

t.test('type 5: MD5-crypt', async t => {
  t.equal(md5Crypt('password', '3azHgidD'), '$1$3azHgidD$SrJPt7B.9rekpmwJwtON31', 'passlib md5_crypt example');
  t.equal(md5Crypt('password', 'wu98'), '$1$wu98$9UuD3hvrwehnqyF1D548N0', 'passlib, Cisco 4-character salt');
  t.equal(md5Crypt('password', 'xxxxxxxx'), '$1$xxxxxxxx$UYCIxa628.9qXjpQCjM4a.', 'OpenSSL passwd documentation');
  // lengths crossing the 16-byte blocks of the algorithm, against the host's OpenSSL
  for (const pw of ['', 'a', 'cisco', 'exactly16bytes!!', 'a much longer password of 40 characters.']) {
    const want = execFileSync('openssl', ['passwd', '-1', '-salt', 'Ab1.', pw], { encoding: 'utf8' }).trim();
    t.equal(md5Crypt(pw, 'Ab1.'), want, `openssl passwd -1 for ${JSON.stringify(pw)}`);
  }
  t.ok(verifySecret('password', '$1$wu98$9UuD3hvrwehnqyF1D548N0'));
  t.notOk(verifySecret('Password', '$1$wu98$9UuD3hvrwehnqyF1D548N0'));
});

t.test('type 8: PBKDF2-SHA-256', async t => {
  t.equal(type8('cisco', 'dsYGNam3K1SIJO'), '$8$dsYGNam3K1SIJO$7nv/35M/qr6t.dVc7UY9zrJDWRVqncHub1PE9UlMQFs');
  t.ok(verifySecret('cisco', '$8$mTj4RZG8N9ZDOk$elY/asfm8kD3iDmkBe3hD2r4xcA/0oWS5V3os.O91u.'));
  t.notOk(verifySecret('cisc0', '$8$mTj4RZG8N9ZDOk$elY/asfm8kD3iDmkBe3hD2r4xcA/0oWS5V3os.O91u.'));
});

t.test('type 9: scrypt with Cisco parameters', async t => {
  t.ok(verifySecret('cisco', '$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM'), 'JtR vector "cisco"');
  t.ok(verifySecret('123456', '$9$cvWdfQlRRDKq/U$VFTPha5VHTCbSgSUAo.nPoh50ZiXOw1zmljEjXkaq1g'), 'JtR vector "123456"');
  t.ok(verifySecret('JtR', '$9$X9fA8mypebLFVj$Klp6X9hxNhkns0kwUIinvLRSIgWOvCwDhVTZqjsycyU'), 'JtR vector "JtR"');
  t.notOk(verifySecret('JTR', '$9$X9fA8mypebLFVj$Klp6X9hxNhkns0kwUIinvLRSIgWOvCwDhVTZqjsycyU'));
  const h = hashSecret('n3w secret');
  t.match(h, /^\$9\$[./0-9A-Za-z]{14}\$[./0-9A-Za-z]{43}$/, 'new secrets are type 9 with an 80-bit salt');
  t.not(hashSecret('n3w secret'), h, 'a fresh salt each time');
  t.ok(verifySecret('n3w secret', h));
  t.notOk(verifySecret('n3w secret ', h));
});

t.test('malformed stored secrets verify nothing', async t => {
  for (const bad of ['', '$9$', '$9$short$abc', '$1$toolongsalt$9UuD3hvrwehnqyF1D548N0', '$8$dsYGNam3K1SIJO$7nv/35M', 'cisco',
    '$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM$', '$2$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM']) {
    t.type(secretType(bad), 'string', `refused: ${JSON.stringify(bad)}`);
    t.notOk(verifySecret('cisco', bad));
  }
  t.notOk(verifySecret('x'.repeat(10_000), '$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM'), 'overlong input is not hashed');
});

t.test('type 7', async t => {
  t.equal(decodeType7('044B0A151C36435C0D'), 'password', 'passlib cisco_type7 example');
  t.equal(decodeType7('1511021F0725'), 'cisco', 'Cisco::Hash example');
  t.equal(decodeType7('121A0C041104'), 'cisco', 'Crypt::Cisco example');
  t.equal(encodeType7('cisco', 15), '1511021F0725');
  t.equal(encodeType7('password', 4), '044B0A151C36435C0D');
  for (let seed = 0; seed < 16; seed++) t.equal(decodeType7(encodeType7('Str4nge!pw?', seed)), 'Str4nge!pw?');
  for (const bad of ['', '1', '99AB', '15XY', '151']) t.equal(decodeType7(bad), undefined, `not type 7: ${bad}`);
});

t.test('helpers', async t => {
  t.equal(ciscoBase64(Buffer.from([0, 0, 0])), '....');
  t.equal(ciscoBase64(Buffer.from([0xff, 0xff, 0xff])), 'zzzz');
  t.ok(samePassword('abc', 'abc'));
  t.notOk(samePassword('abc', 'abd'));
});
