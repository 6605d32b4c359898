// IKEv2 between two of our managers in-process: IKE_SA_INIT + IKE_AUTH for every suite, mirrored keys;
// tshark's isakmp dissector decodes every message clean and, given the SK keys through its
// ikev2_decryption_table, decrypts IKE_AUTH and finds the identities and selectors; transport mode;
// INVALID_KE_PAYLOAD recovery; retransmission of a lost response from the cache; replayed and
// tampered messages dropped and counted; fragmentation (RFC 7383); deletes and liveness.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ikePcap } from './util/ike.js';
import { ike2Pair, v2Policy } from './util/ike2.js';
import { tshark } from './util/tshark.js';
import { all, problems } from './util/tshark-json.js';
import { needs } from './util/needs.js';
import type { IkeSaV2 } from '../appliance/ike/sa/ike-sa-v2.js';
import type { ChildSaKeys } from '../appliance/ike/sa/child-sa.js';
import type { IkeV2ProposalSettings } from '../appliance/ike/config-v2.js';

const dir = process.env.IKE2_KEEP ?? mkdtempSync(join(tmpdir(), 'ike2-x-'));
if (!process.env.IKE2_KEEP) t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const suites: Array<[IkeV2ProposalSettings, string | null, string]> = [
  [{ name: 'a', encryption: ['aes-cbc-256'], integrity: ['sha256'], group: [14] }, 'AES-CBC-256 [RFC3602]', 'HMAC_SHA2_256_128 [RFC4868]'],
  [{ name: 'b', encryption: ['aes-cbc-128'], integrity: ['sha512'], group: [19] }, 'AES-CBC-128 [RFC3602]', 'HMAC_SHA2_512_256 [RFC4868]'],
  [{ name: 'c', encryption: ['aes-gcm-256'], prf: ['sha384'], group: [20] }, 'AES-GCM-256 with 16 octet ICV [RFC5282]', 'NONE [RFC4306]'],
  [{ name: 'd', encryption: ['aes-gcm-128'], prf: ['sha256'], group: [31] }, 'AES-GCM-128 with 16 octet ICV [RFC5282]', 'NONE [RFC4306]'],
  // Wireshark 4.0 has no ChaCha20-Poly1305 in its IKEv2 decryption table: dissected, not decrypted
  [{ name: 'e', encryption: ['chacha20-poly1305'], prf: ['sha512'], group: [31] }, null, ''],
];

const childOf = (events: Array<{ event: string; [k: string]: unknown }>) => events.find((e) => e.event === 'child')?.keys as ChildSaKeys | undefined;

for (const [prop, encName, integName] of suites) {
  t.test(`${prop.encryption[0]} / ${prop.integrity?.[0] ?? 'prf ' + prop.prf?.[0]} / group ${prop.group[0]}`, async (t) => {
    const p = ike2Pair(v2Policy({ proposals: [prop] }), v2Policy({ proposals: [prop] }));
    t.teardown(() => p.close());
    const sa = p.a.m.initiate('172.16.2.1');
    await p.settle();
    t.same(p.a.events.map((e) => e.event), ['established', 'child'], 'initiator: established, Child SA');
    t.same(p.b.events.map((e) => e.event), ['established', 'child'], 'responder: established, Child SA');
    const ka = childOf(p.a.events)!, kb = childOf(p.b.events)!;
    t.equal(ka.outbound.spi, kb.inbound.spi, 'A sends on the SPI B chose');
    t.equal(hex(ka.outbound.encKey), hex(kb.inbound.encKey), 'A->B encryption key mirrored');
    t.equal(hex(ka.outbound.authKey), hex(kb.inbound.authKey), 'A->B integrity key mirrored');
    t.equal(hex(ka.inbound.encKey), hex(kb.outbound.encKey), 'B->A encryption key mirrored');
    t.not(hex(ka.inbound.encKey), hex(ka.outbound.encKey), 'directions keyed apart');
    t.match(ka, { mode: 'tunnel', protocol: 47, cipher: 'aes-cbc', keyBits: 128, integrity: 'hmac-sha1-96', local: '172.16.1.1', remote: '172.16.2.1' });
    t.equal(p.wire.length, 4, 'four datagrams: IKE_SA_INIT and IKE_AUTH, request and response');
    for (const s of [p.a, p.b]) t.same([s.m.counters.malformed, s.m.counters.rejected, s.m.counters.internalErrors], [0, 0, 0], 'nothing dropped');

    if (needs(t, 'tshark').skip) return;
    const pcap = join(dir, `${prop.name}.pcap`);
    ikePcap(pcap, p.wire);
    const k = sa.keys!;
    const uat = encName ? ['-o', `uat:ikev2_decryption_table:${hex(sa.ispi)},${hex(sa.rspi)},${hex(k.skEi)},${hex(k.skEr)},"${encName}",${hex(k.skAi)},${hex(k.skAr)},"${integName}"`] : [];
    const json = JSON.parse(tshark(['-r', pcap, '-T', 'json', '--no-duplicate-keys', ...uat])) as unknown[];
    t.equal(json.length, 4, 'tshark read four packets');
    t.same(problems(json), [], 'no malformed packet or expert info');
    t.same(all(json, 'isakmp.exchangetype'), ['34', '34', '35', '35'], 'IKE_SA_INIT, IKE_SA_INIT, IKE_AUTH, IKE_AUTH');
    if (encName) {
      t.same(all(json, 'isakmp.id.data.ipv4_addr'), ['172.16.1.1', '172.16.2.1'], 'tshark decrypted IKE_AUTH: IDi and IDr');
      t.same(all(json, 'isakmp.ts.protoid'), ['47', '47', '47', '47'], 'TSi/TSr: GRE in both messages');
      t.same(all(json, 'isakmp.ts.start_ipv4'), ['172.16.1.1', '172.16.2.1', '172.16.1.1', '172.16.2.1'], 'TSi = initiator, TSr = responder');
      t.same(all(json, 'isakmp.auth.method'), ['2', '2'], 'AUTH: shared key MIC');
      const verbose = tshark(['-r', pcap, '-V', ...uat]);
      t.match(verbose, /Decrypted Data/, 'decrypted');
      t.notMatch(verbose, /Malformed|Expert Info \((Warning|Error)|ICV: .*\[incorrect|Checksum.*incorrect/i, 'tshark -V: clean, ICV correct');
    }
  });
}

t.test('transport mode when both transform sets say so; tunnel otherwise', async (t) => {
  const tr = [{ name: 'T', transforms: ['esp-aes 256', 'esp-sha256-hmac'], mode: 'transport' as const }];
  const p = ike2Pair(v2Policy({ transformSets: tr }), v2Policy({ transformSets: tr }));
  t.teardown(() => p.close());
  p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.match(childOf(p.a.events), { mode: 'transport', keyBits: 256, integrity: 'hmac-sha256-128' });
  t.match(childOf(p.b.events), { mode: 'transport' });
  const q = ike2Pair(v2Policy({ transformSets: tr }), v2Policy());
  t.teardown(() => q.close());
  q.a.m.initiate('172.16.2.1');
  await q.settle();
  t.notOk(childOf(q.a.events), 'responder offers esp-aes/sha (tunnel): no common transform, no Child SA');
  t.ok(q.a.events.some((e) => e.event === 'established'), 'but the IKE SA is up');
});

t.test('INVALID_KE_PAYLOAD: the initiator retries with the group the responder wants', async (t) => {
  const p = ike2Pair(v2Policy({ proposals: [{ name: 'x', encryption: ['aes-cbc-128'], integrity: ['sha256'], group: [19, 14] }] }),
    v2Policy({ proposals: [{ name: 'y', encryption: ['aes-cbc-128'], integrity: ['sha256'], group: [14] }] }));
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.equal(sa.state, 'READY');
  t.equal(sa.suite?.group, 14, 'group 14 negotiated');
  t.equal(p.wire.length, 6, 'one extra round trip');
});

t.test('no common proposal, wrong key: NO_PROPOSAL_CHOSEN / AUTHENTICATION_FAILED, nothing left behind', async (t) => {
  const p = ike2Pair(v2Policy({ proposals: [{ name: 'x', encryption: ['aes-gcm-128'], prf: ['sha256'], group: [31] }] }), v2Policy());
  t.teardown(() => p.close());
  p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.match(p.a.events, [{ event: 'failed', reason: /notify 14/ }], 'initiator: refused with NO_PROPOSAL_CHOSEN');
  t.same([p.a.m.sas.length, p.b.m.sas.length], [0, 0], 'no SA on either side');
  const q = ike2Pair(v2Policy(), v2Policy({ keyring: [{ name: 'k', address: '172.16.0.0', mask: '255.255.0.0', key: 'other' }] }));
  t.teardown(() => q.close());
  q.a.m.initiate('172.16.2.1');
  await q.settle();
  t.match(q.b.events, [{ event: 'failed', reason: /does not verify/ }], 'responder: AUTH refused');
  t.match(q.a.events, [{ event: 'failed', reason: /AUTHENTICATION_FAILED/ }], 'initiator: told AUTHENTICATION_FAILED');
  t.same([q.a.m.sas.length, q.b.m.sas.length], [0, 0], 'no SA on either side');
  t.notOk([...q.a.logs, ...q.b.logs].some((l) => /P4ssw0rd|other/.test(l)), 'no key in any log line');
});

t.test('a lost response is retransmitted from the cache; replays and old message IDs dropped', async (t) => {
  let dropped = false;
  // drop the first IKE_AUTH response (datagram 4): the initiator's retransmission gets the cached answer
  const p = ike2Pair(v2Policy(), v2Policy(), { opts: { retransmitMs: [30, 60, 120] }, tamper: (w, i) => (i === 3 && !dropped ? ((dropped = true), null) : w.data) });
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  for (let i = 0; i < 50 && sa.state !== 'READY'; i++) { await new Promise((r) => setTimeout(r, 20)); await p.settle(); }
  t.equal(sa.state, 'READY', 'established after the retransmission');
  t.equal(p.a.m.counters.retransmitted, 1, 'initiator retransmitted IKE_AUTH once');
  t.equal(p.b.m.counters.retransmitted, 1, 'responder answered it from its cache');
  t.equal(p.b.events.filter((e) => e.event === 'child').length, 1, 'responder made one Child SA, not two');
  // replay the IKE_AUTH request (datagram 3) now: a genuine duplicate of the last request, answered from the cache again
  p.b.m.handleDatagram(p.wire[2].data, '172.16.1.1', 500, 500);
  t.equal(p.b.m.counters.retransmitted, 2, 'a duplicate of the last request: answered again, nothing re-run');
  // an older request ID (the IKE_SA_INIT, message 0, replayed to the established SA) is dropped
  const before = p.b.m.counters.rejected;
  p.b.m.handleDatagram(p.wire[0].data, '172.16.1.1', 500, 500);
  t.equal(p.b.m.counters.rejected, before + 1, 'replayed IKE_SA_INIT for the established SA: dropped, counted, no new state'); t.equal(p.b.m.sas.length, 1, 'still one SA');
  // a response nobody asked for
  p.a.m.handleDatagram(p.wire[3].data, '172.16.2.1', 500, 500);
  t.equal(p.a.m.counters.oldMessageIds, 1, 'a response to no outstanding request: dropped as old');
  t.same([p.a.m.counters.internalErrors, p.b.m.counters.internalErrors], [0, 0]);
});

t.test('tampering: a flipped bit anywhere in IKE_AUTH is refused and counted; the exchange still completes by retransmission', async (t) => {
  for (const which of [2, 3]) {
    let flipped = false;
    const p = ike2Pair(v2Policy(), v2Policy(), { opts: { retransmitMs: [30, 60, 120] }, tamper: (w, i) => {
      if (i !== which || flipped) return w.data;
      flipped = true;
      const x = new Uint8Array(w.data); x[x.length - 20] ^= 0x10; return x;
    } });
    t.teardown(() => p.close());
    const sa = p.a.m.initiate('172.16.2.1');
    for (let i = 0; i < 50 && sa.state !== 'READY'; i++) { await new Promise((r) => setTimeout(r, 20)); await p.settle(); }
    const victim = which === 2 ? p.b : p.a;
    t.equal(victim.m.counters.rejected, 1, `${which === 2 ? 'request' : 'response'} with a flipped bit: refused (integrity), counted`);
    t.equal(sa.state, 'READY', 'established with the genuine retransmission');
  }
});

t.test('fragmentation (RFC 7383): IKE_AUTH split into SKF payloads below a small MTU, reassembled; tshark decodes the fragments', async (t) => {
  const pol = v2Policy({ fragmentMtu: 200 });
  const p = ike2Pair(pol, pol);
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.equal(sa.state, 'READY', 'established');
  t.ok(p.wire.length > 4, `${p.wire.length} datagrams: IKE_AUTH went in fragments`);
  t.ok(p.wire.every((w) => w.data.length + 28 <= 200 || w.data[16] === 33 /* IKE_SA_INIT is never fragmented */), 'no encrypted datagram above the MTU');
  t.ok(p.b.m.counters.fragmentsIn > 1 && p.a.m.counters.fragmentsIn > 1, 'both reassembled fragments');
  t.ok(childOf(p.a.events) && childOf(p.b.events), 'Child SA on both sides');
  if (needs(t, 'tshark').skip) return;
  const pcap = join(dir, 'frag.pcap');
  ikePcap(pcap, p.wire);
  const json = JSON.parse(tshark(['-r', pcap, '-T', 'json', '--no-duplicate-keys'])) as unknown[];
  t.same(problems(json), [], 'tshark: no malformed packet or expert info');
  t.ok(all(json, 'isakmp.frag.total').length >= 2, 'tshark sees Encrypted Fragment payloads');
});

t.test('INFORMATIONAL: liveness, Child SA delete, IKE SA delete', async (t) => {
  const p = ike2Pair(v2Policy(), v2Policy());
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.ok(p.a.m.checkLiveness(sa), 'liveness check sent');
  await p.settle();
  t.equal(p.b.m.counters.informational, 1, 'peer answered it');
  const child = childOf(p.a.events)!;
  t.ok(p.a.m.deleteChild(sa, child.inbound.spi));
  await p.settle();
  t.match(p.b.events.find((e) => e.event === 'childDeleted'), { spis: [child.inbound.spi] }, 'peer deleted its outbound half (our inbound SPI)');
  t.match(p.a.events.find((e) => e.event === 'childDeleted'), { spis: [child.outbound.spi] }, 'we removed our outbound half on the answer');
  t.same([p.a.m.childrenOf(sa).length, p.b.m.childrenOf(p.b.m.sas[0]).length], [0, 0]);
  p.a.m.clear(sa);
  await p.settle();
  t.ok(p.b.events.some((e) => e.event === 'deleted'), 'peer deleted the IKE SA');
  t.same([p.a.m.sas.length, p.b.m.sas.length], [0, 0], 'no SA left on either side');
  t.same([p.a.m.counters.rejected + p.a.m.counters.unknownSa, p.b.m.counters.rejected + p.b.m.counters.unknownSa], [0, 0], 'nothing dropped');
});

t.test('a dead peer: requests retransmitted with backoff, then the SA is given up', async (t) => {
  let cut = false;
  const p = ike2Pair(v2Policy(), v2Policy(), { opts: { retransmitMs: [20, 40, 80] }, tamper: (w) => (cut ? null : w.data) });
  t.teardown(() => p.close());
  const sa: IkeSaV2 = p.a.m.initiate('172.16.2.1');
  await p.settle();
  cut = true;
  p.a.m.checkLiveness(sa);
  for (let i = 0; i < 40 && p.a.m.sas.length; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(p.a.m.counters.retransmitted, 3, 'three retransmissions');
  t.same(p.a.m.sas, [], 'SA given up');
  t.ok(p.a.events.some((e) => e.event === 'deleted'), 'deleted event (it was established)');
});

t.test('shared sockets: the version byte routes IKEv1 and IKEv2, ESP-in-UDP has none', async (t) => {
  const { ikeVersion } = await import('../appliance/ike/transport/ike-sockets.js');
  const p = ike2Pair(v2Policy(), v2Policy());
  t.teardown(() => p.close());
  p.a.m.initiate('172.16.2.1');
  await p.settle();
  const v2msg = p.wire[0].data;
  t.equal(ikeVersion(v2msg, 500), 2, 'IKEv2 on 500');
  t.equal(ikeVersion(new Uint8Array([0, 0, 0, 0, ...v2msg]), 4500), 2, 'IKEv2 after the non-ESP marker on 4500');
  const v1 = new Uint8Array(v2msg); v1[17] = 0x10;
  t.equal(ikeVersion(v1, 500), 1, 'IKEv1');
  t.equal(ikeVersion(new Uint8Array([0x12, 0x34, 0x56, 0x78, ...v2msg]), 4500), 0, 'ESP in UDP (a SPI, no marker): no IKE version');
  t.equal(ikeVersion(new Uint8Array(10), 500), 0, 'a runt: none');
});
