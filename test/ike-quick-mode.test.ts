// Quick mode between two of our managers in-process: seed 003's transform set (esp-aes esp-sha-hmac,
// tunnel mode), transport mode, 3DES/SHA-256 with PFS group 2. Both ends derive mirrored ESP keys (our
// inbound is the peer's outbound), each direction distinct; tshark decrypts the quick mode messages
// with our phase-1 key and sees the ESP proposal and the GRE selectors. Tampering is dropped.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CryptoConfig } from '../appliance/config/model.js';
import { encryptionKey } from '../appliance/ike/keymat/ikev1.js';
import type { ChildSaKeys } from '../appliance/ike/sa/child-sa.js';
import type { IkeSaV1 } from '../appliance/ike/sa/ike-sa-v1.js';
import { IkeV1Manager } from '../appliance/ike/manager/ike-v1.js';
import { ikePcap, seedCrypto, type Wire } from './util/ike.js';
import { tshark } from './util/tshark.js';
import { all, problems } from './util/tshark-json.js';
import { needs } from './util/needs.js';

const dir = mkdtempSync(join(tmpdir(), 'ike-qm-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const hx = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Two managers with `child` events captured (ikePair's managers have no events). */
function pairWithChildren(crypto: CryptoConfig, tamper?: (i: number, d: Uint8Array) => Uint8Array) {
  const wire: Wire[] = [];
  const children: Record<string, ChildSaKeys[]> = { a: [], b: [] };
  let pending = 0;
  const m: Record<string, IkeV1Manager> = {};
  const send = (src: string) => (data: Uint8Array, dst: string) => {
    const d = tamper ? tamper(wire.length, data) : data;
    wire.push({ src, dst, sport: 500, dport: 500, data: d });
    pending++;
    setImmediate(() => { pending--; m[dst].handleDatagram(d, src, 500); });
  };
  const connected: Record<string, number[]> = { a: [], b: [] };
  m['172.16.1.1'] = new IkeV1Manager(crypto, '172.16.1.1', send('172.16.1.1'), () => {}, { child: (_, k) => { children.a.push(k); }, childConnected: (_, spi) => connected.a.push(spi) });
  m['172.16.2.1'] = new IkeV1Manager(crypto, '172.16.2.1', send('172.16.2.1'), () => {}, { child: (_, k) => { children.b.push(k); }, childConnected: (_, spi) => connected.b.push(spi) });
  const settle = async () => { for (let i = 0; i < 1000 && pending; i++) await new Promise((r) => setImmediate(r)); };
  return { a: m['172.16.1.1'], b: m['172.16.2.1'], wire, children, connected, settle };
}

const cases: Array<{ name: string; crypto: CryptoConfig; enc: number; auth: number; mode: string; integrity: string; pfs?: number }> = [
  { name: 'seed 003 esp-aes esp-sha-hmac (tunnel)', crypto: seedCrypto(), enc: 16, auth: 20, mode: 'tunnel', integrity: 'hmac-sha1-96' },
  { name: 'esp-aes 256 esp-sha256-hmac, mode transport', enc: 32, auth: 32, mode: 'transport', integrity: 'hmac-sha256-128',
    crypto: { ...seedCrypto(), transformSets: [{ name: 'MyTransformSet', transforms: ['esp-aes 256', 'esp-sha256-hmac'], mode: 'transport' }] } },
  { name: 'esp-3des esp-sha-hmac with PFS group 2', enc: 24, auth: 20, mode: 'tunnel', integrity: 'hmac-sha1-96', pfs: 2,
    crypto: { ...seedCrypto({ encryption: 'aes' }), transformSets: [{ name: 'MyTransformSet', transforms: ['esp-3des', 'esp-sha-hmac'] }],
      ipsecProfiles: [{ name: 'MyProfile', transformSets: ['MyTransformSet'], pfs: 'group2' }] } },
];

function uat(sa: IkeSaV1): string {
  const p = sa.policy!;
  return `${hx(sa.ispi)},${hx(encryptionKey(p.hash, sa.keys!.skeyidE, p.cipher.keyLen))}`;
}

for (const c of cases) {
  t.test(`quick mode in-process: ${c.name}`, async (t) => {
    const pair = pairWithChildren(c.crypto);
    t.teardown(() => { pair.a.close(); pair.b.close(); });
    const sa = pair.a.initiate('172.16.2.1');
    await pair.settle();
    t.equal(sa.state, 'QM_IDLE');
    t.ok(pair.a.initiateQuick(sa), 'quick mode started');
    await pair.settle();
    const [ka] = pair.children.a, [kb] = pair.children.b;
    t.ok(ka && kb, 'both ends produced a Child SA');
    if (!ka || !kb) return;
    t.equal(ka.inbound.spi, kb.outbound.spi, 'our inbound SPI is the peer\'s outbound');
    t.equal(ka.outbound.spi, kb.inbound.spi, 'and the other way');
    t.not(ka.inbound.spi, ka.outbound.spi, 'two distinct SPIs');
    t.equal(hx(ka.inbound.encKey), hx(kb.outbound.encKey), 'inbound cipher key mirrors');
    t.equal(hx(ka.outbound.authKey), hx(kb.inbound.authKey), 'outbound HMAC key mirrors');
    t.not(hx(ka.inbound.encKey), hx(ka.outbound.encKey), 'each direction has its own key');
    t.same([ka.inbound.encKey.length, ka.inbound.authKey.length], [c.enc, c.auth], 'key lengths');
    t.same([ka.mode, ka.integrity, ka.protocol, ka.lifetime, ka.pfsGroup], [c.mode, c.integrity, 47, 3600, c.pfs], 'parameters');
    t.same(pair.a.childrenOf(sa), [{ spiIn: ka.inbound.spi, spiOut: ka.outbound.spi }], 'the SA records the SPI pair');
    t.equal(pair.wire.length, 10, 'six main mode and three quick mode messages, then CONNECTED');
    t.equal(ka.peerCommits, true, 'the responder set the commit bit in message 2');
    t.equal(kb.peerCommits, undefined, 'the initiator did not');
    t.same(pair.connected, { a: [ka.outbound.spi], b: [] }, 'CONNECTED from the responder names the initiator\'s outbound SPI, once');
    t.equal(pair.a.counters.rejected + pair.b.counters.rejected + pair.a.counters.malformed + pair.b.counters.malformed, 0);

    if (needs(t, 'tshark').skip) return;
    const pcap = join(dir, `${c.name.replace(/\W+/g, '-')}.pcap`);
    ikePcap(pcap, pair.wire);
    const json = JSON.parse(tshark(['-r', pcap, '-T', 'json', '--no-duplicate-keys', '-o', `uat:ikev1_decryption_table:${uat(sa)}`]));
    t.same(problems(json), [], 'no malformed packet or expert info');
    t.same(all(json, 'isakmp.exchangetype').map(Number).slice(6), [32, 32, 32, 5], 'quick mode, then an informational');
    t.same(all(json, 'isakmp.flag_c').map(Number).slice(6), [0, 1, 0, 0], 'commit bit on message 2 only');
    t.same(all(json, 'isakmp.notify.msgtype').map(Number), [24578, 16384], 'INITIAL-CONTACT (main mode), then CONNECTED (decrypted)');
    t.same(all(json, 'isakmp.id.protoid').map(Number).slice(2), [47, 47, 47, 47], 'GRE selectors in both directions');
    t.same(all(json, 'isakmp.id.data.ipv4_addr').slice(2), ['172.16.1.1', '172.16.2.1', '172.16.1.1', '172.16.2.1'], 'IDci = initiator, IDcr = responder');
    t.same(all(json, 'isakmp.ipsec.attr.encap_mode').map(Number), [c.mode === 'tunnel' ? 1 : 2, c.mode === 'tunnel' ? 1 : 2], 'encapsulation mode offered and accepted');
    t.same(all(json, 'isakmp.prop.protoid').map(Number).slice(2), [3, 3], 'ESP proposals');
    t.equal(all(json, 'isakmp.nonce').length, 4, 'nonces of both phases decrypted');
    t.equal(all(json, 'isakmp.hash').length, 6, 'HASH_I, HASH_R, HASH(1), HASH(2), HASH(3), informational HASH(1)');
  });
}

t.test('quick mode tampered: no Child SA from a forged message', async (t) => {
  for (const target of [6, 7, 8]) {
    const pair = pairWithChildren(seedCrypto(), (i, d) => { if (i !== target) return d; const x = d.slice(); x[x.length - 9] ^= 0x10; return x; });
    const sa = pair.a.initiate('172.16.2.1');
    await pair.settle();
    pair.a.initiateQuick(sa);
    await pair.settle();
    const got = pair.children.a.length + pair.children.b.length;
    t.ok(target === 8 ? pair.children.b.length === 0 : got === 0, `quick mode message ${target - 5} tampered: no Child SA where it was checked`);
    t.ok(pair.a.counters.rejected + pair.b.counters.rejected + pair.a.counters.malformed + pair.b.counters.malformed >= 1, 'counted');
    t.equal(pair.a.counters.internalErrors + pair.b.counters.internalErrors, 0);
    pair.a.close(); pair.b.close();
  }
});

t.test('informational: clear sends an authenticated delete, the peer drops the SA; forged deletes do nothing', async (t) => {
  const pair = pairWithChildren(seedCrypto());
  t.teardown(() => { pair.a.close(); pair.b.close(); });
  const sa = pair.a.initiate('172.16.2.1');
  await pair.settle();
  t.equal(pair.b.sas.length, 1);
  // a forged informational: right cookies, encrypted flag, garbage body -> refused, SA kept
  const forged = pair.wire[5].data.slice();
  forged[18] = 5; forged[20] = 1; forged[23] = 9; // exchange 5, message ID 9
  pair.b.handleDatagram(forged, '172.16.1.1', 500);
  t.equal(pair.b.sas.length, 1, 'forged informational: SA kept');
  t.ok(pair.b.counters.malformed + pair.b.counters.rejected >= 1, 'counted');
  pair.a.clear(sa);
  await pair.settle();
  t.equal(pair.a.sas.length, 0, 'cleared here');
  t.equal(pair.b.sas.length, 0, 'the peer verified the delete and dropped its SA');
  t.equal(pair.b.counters.informational, 1);
});
