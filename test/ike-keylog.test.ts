// The lab key log (DMVPN_IKE_KEYLOG): read once, 0600, two lines per Child SA in the documented
// order (inbound: peer -> us, outbound: us -> peer), and a write error reported once, never thrown.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildSaKeys } from '../appliance/ike/sa/child-sa.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ike-keylog-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'keys.txt');
process.env.DMVPN_IKE_KEYLOG = file;
const { ikeKeyLogPath, ikeKeyLogWriter } = await import('../appliance/supervisor/ike-keylog.js');

const keys = (spiIn: number, spiOut: number): ChildSaKeys => ({
  local: '172.16.25.2', remote: '172.16.15.2', protocol: 47, mode: 'tunnel', cipher: 'aes-cbc', keyBits: 128, integrity: 'hmac-sha1-96', lifetime: 3600,
  inbound: { spi: spiIn, encKey: new Uint8Array(16).fill(0x11), authKey: new Uint8Array(20).fill(0x22) },
  outbound: { spi: spiOut, encKey: new Uint8Array(16).fill(0x33), authKey: new Uint8Array(20).fill(0x44) },
});

t.test('read once at start: a later change of the variable is ignored', async (t) => {
  t.equal(ikeKeyLogPath(), file);
  process.env.DMVPN_IKE_KEYLOG = path.join(dir, 'other.txt');
  t.equal(ikeKeyLogPath(), file);
});

t.test('lines per Child SA, file 0600', async (t) => {
  const errors: string[] = [];
  const write = ikeKeyLogWriter((m) => errors.push(m))!;
  write(keys(0xabc, 0x1234abcd));
  write(keys(0xdef, 0x5678));
  t.same(fs.readFileSync(file, 'utf8').split('\n'), [
    `00000abc in 172.16.15.2 172.16.25.2 aes-cbc-128 ${'11'.repeat(16)} hmac-sha1-96 ${'22'.repeat(20)}`,
    `1234abcd out 172.16.25.2 172.16.15.2 aes-cbc-128 ${'33'.repeat(16)} hmac-sha1-96 ${'44'.repeat(20)}`,
    `00000def in 172.16.15.2 172.16.25.2 aes-cbc-128 ${'11'.repeat(16)} hmac-sha1-96 ${'22'.repeat(20)}`,
    `00005678 out 172.16.25.2 172.16.15.2 aes-cbc-128 ${'33'.repeat(16)} hmac-sha1-96 ${'44'.repeat(20)}`, '']);
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  t.same(errors, []);
});

t.test('a write error is reported once and never thrown', async (t) => {
  fs.rmSync(file);
  fs.mkdirSync(file); // the path is now a directory: open fails
  const errors: string[] = [];
  const write = ikeKeyLogWriter((m) => errors.push(m))!;
  t.doesNotThrow(() => { write(keys(1, 2)); write(keys(3, 4)); });
  t.equal(errors.length, 1);
  t.match(errors[0], /IPsec key log .*keys\.txt: /);
  t.notMatch(errors[0], /1111|3333/, 'no key in the error');
});
