// Main mode between two of our managers in-process (seed 003's policy and stronger ones), with every
// datagram dissected by tshark: no malformed packet or expert warning, and with the keys we derived
// tshark decrypts messages 5 and 6 (its own IV derivation from the KE payloads) and finds the IDs.
// Wrong keys, tampered messages and garbage are dropped and counted, never established.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptionKey } from '../appliance/ike/keymat/ikev1.js';
import type { IkeSaV1 } from '../appliance/ike/sa/ike-sa-v1.js';
import { ikePair, ikePcap, seedCrypto } from './util/ike.js';
import { tshark } from './util/tshark.js';
import { all, problems } from './util/tshark-json.js';
import { needs } from './util/needs.js';

const dir = mkdtempSync(join(tmpdir(), 'ike-mm-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const hx = (b: Uint8Array) => Buffer.from(b).toString('hex');

function decryptionUat(sa: IkeSaV1): string {
  const p = sa.policy!;
  return `${hx(sa.ispi)},${hx(encryptionKey(p.hash, sa.keys!.skeyidE, p.cipher.keyLen))}`;
}

const policies = [
  { name: 'seed 003 (IOS defaults DES/SHA-1/group 1)', policy: {} },
  { name: '3DES/MD5/group 2', policy: { encryption: '3des', hash: 'md5', group: 2 } },
  { name: 'AES-256/SHA-256/group 14', policy: { encryption: 'aes 256', hash: 'sha256', group: 14 } },
  { name: 'AES-128/SHA-1/group 5', policy: { encryption: 'aes', hash: 'sha', group: 5 } },
];

for (const { name, policy } of policies) {
  t.test(`main mode in-process: ${name}`, async (t) => {
    const pair = ikePair(seedCrypto(policy), seedCrypto(policy));
    t.teardown(() => pair.close());
    const sa = pair.a.initiate('172.16.2.1');
    await pair.settle();
    const peer = pair.b.sas[0];
    t.equal(sa.state, 'QM_IDLE', 'initiator established');
    t.equal(peer?.state, 'QM_IDLE', 'responder established');
    t.equal(sa.peerId, '172.16.2.1', 'initiator saw the responder ID');
    t.equal(peer?.peerId, '172.16.1.1', 'responder saw the initiator ID');
    t.same(hx(sa.keys!.skeyidD), hx(peer!.keys!.skeyidD), 'both ends derived the same SKEYID_d');
    t.equal(pair.wire.length, 6, 'six messages');
    t.same([pair.a.counters.rejected, pair.b.counters.rejected, pair.a.counters.malformed, pair.b.counters.malformed], [0, 0, 0, 0], 'nothing dropped');

    if (needs(t, 'tshark').skip) return;
    const pcap = join(dir, `${name.replace(/\W+/g, '-')}.pcap`);
    ikePcap(pcap, pair.wire);
    const json = JSON.parse(tshark(['-r', pcap, '-T', 'json', '--no-duplicate-keys', '-o', `uat:ikev1_decryption_table:${decryptionUat(sa)}`])) as unknown[];
    t.equal(json.length, 6, 'tshark read six packets');
    t.same(problems(json), [], 'no malformed packet or expert info');
    t.same(all(json, 'isakmp.exchangetype').map(Number), [2, 2, 2, 2, 2, 2], 'all identity protection');
    t.same(all(json, 'isakmp.id.data.ipv4_addr'), ['172.16.1.1', '172.16.2.1'], 'tshark decrypted both ID payloads');
    t.equal(all(json, 'isakmp.hash').length, 2, 'both HASH payloads decrypted');
    t.same(all(json, 'isakmp.notify.msgtype').map(Number), [24578], 'INITIAL-CONTACT in message 5');
    const verbose = tshark(['-r', pcap, '-V']);
    t.notMatch(verbose, /Malformed|Expert Info \((Warning|Error)/, 'tshark -V: clean');
  });
}

t.test('wrong pre-shared key: message 5 refused, nothing established', async (t) => {
  const pair = ikePair(seedCrypto({}, 'P4ssw0rd'), seedCrypto({}, 'other'));
  t.teardown(() => pair.close());
  const sa = pair.a.initiate('172.16.2.1');
  await pair.settle();
  t.equal(pair.b.sas[0]?.state, 'MM_KEY_EXCH', 'responder stopped before authentication');
  t.equal(sa.state, 'MM_KEY_EXCH', 'initiator waits (and will retransmit, then give up)');
  t.equal(pair.b.counters.rejected + pair.b.counters.malformed, 1, 'counted');
  t.match(pair.logs.join('\n'), /wrong pre-shared key\?/, 'logged as a probable wrong key');
  t.notMatch(pair.logs.join('\n'), /P4ssw0rd|other/, 'the key is never logged');
  t.equal(pair.b.counters.established + pair.a.counters.established, 0);
});

t.test('no common policy: message 1 refused, no state kept', async (t) => {
  const pair = ikePair(seedCrypto({ encryption: 'aes' }), seedCrypto({ encryption: '3des' }));
  t.teardown(() => pair.close());
  pair.a.initiate('172.16.2.1');
  await pair.settle();
  t.equal(pair.b.sas.length, 0, 'responder holds no SA');
  t.equal(pair.b.counters.rejected, 1);
  t.match(pair.logs.join('\n'), /no acceptable ISAKMP proposal/);
});

t.test('no key for the peer: refused at message 1', async (t) => {
  const c = seedCrypto();
  c.isakmpKeys = [{ key: 'x', address: '10.0.0.0', mask: '255.0.0.0' }];
  const pair = ikePair(seedCrypto(), c);
  t.teardown(() => pair.close());
  pair.a.initiate('172.16.2.1');
  await pair.settle();
  t.equal(pair.b.sas.length, 0);
  t.match(pair.logs.join('\n'), /no pre-shared key/);
});

t.test('a flipped bit in any message: dropped and counted, the exchange never completes with it', async (t) => {
  for (let target = 0; target < 6; target++) {
    const pair = ikePair(seedCrypto(), seedCrypto(), undefined, undefined, (w, i) => {
      if (i !== target) return w.data;
      const d = w.data.slice();
      d[d.length - 1] ^= 0x01; // last byte: inside the last payload (or its padding)
      d[40] ^= 0x80; // and one inside the first payload
      return d;
    });
    const sa = pair.a.initiate('172.16.2.1');
    await pair.settle();
    const drops = ['malformed', 'rejected', 'unknownSa'] as const;
    const n = drops.reduce((s, k) => s + pair.a.counters[k] + pair.b.counters[k], 0);
    t.ok(n >= 1, `message ${target + 1} tampered: dropped (${n})`);
    t.not(sa.state, 'QM_IDLE', `message ${target + 1} tampered: not established`);
    t.equal(pair.a.counters.internalErrors + pair.b.counters.internalErrors, 0, 'no internal error');
    pair.close();
  }
});

t.test('lost messages: the initiator retransmits, the responder answers a duplicate with its last reply', async (t) => {
  for (const lost of [0, 1, 3, 5]) {
    let dropped = false;
    const pair = ikePair(seedCrypto(), seedCrypto(), undefined, undefined, (w, i) => {
      if (i === lost && !dropped) { dropped = true; return null; }
      return w.data;
    });
    const sa = pair.a.initiate('172.16.2.1');
    await pair.settle();
    t.not(sa.state, 'QM_IDLE', `message ${lost + 1} lost: not established yet`);
    const ok = await new Promise<boolean>((resolve) => {
      const end = Date.now() + 5000;
      const poll = () => (sa.state === 'QM_IDLE' && pair.b.sas[0]?.state === 'QM_IDLE' ? resolve(true) : Date.now() > end ? resolve(false) : setTimeout(poll, 50));
      poll();
    });
    t.ok(ok, `message ${lost + 1} lost: established after the retransmission`);
    t.ok(pair.a.counters.retransmitted + pair.b.counters.retransmitted >= 1, 'retransmission counted');
    t.equal(pair.b.sas.length, 1, 'one SA at the responder, not two');
    pair.close();
  }
});
