// Child SAs with AEAD ESP negotiated by IKE (issue 10): `esp-gcm 128|256` (AES-GCM-16, RFC 4106) and
// `esp-chacha20-poly1305` (RFC 7634) in a transform set. IKEv2 (IKE_AUTH and CREATE_CHILD_SA) offers
// ENCR 20 with a key length / ENCR 28 and no integrity transform; IKEv1 quick mode offers ESP transform
// 20 with a key length and no authentication algorithm attribute. KEYMAT per direction is key || 4-byte
// salt (RFC 4106 8.1, RFC 7634 2), no HMAC key. Both managers' keys go into two WASM data planes through
// ChildSaTable; a packet crosses each way, and the ESP on the wire decrypts with node:crypto from the
// negotiated key material (salt || IV as the nonce), which pins the key/salt split.
import t, { type Test } from 'tap';
import { createDecipheriv } from 'node:crypto';
import type { CryptoConfig } from '../appliance/config/model.js';
import { phase2Proposal } from '../appliance/ike/config.js';
import { IkeV1Manager } from '../appliance/ike/manager/ike-v1.js';
import type { ChildSaKeys } from '../appliance/ike/sa/child-sa.js';
import { selectEsp, espOffer } from '../appliance/ike/tasks/v2/proposals.js';
import { TransformType, ProtocolV2 } from '../appliance/ike/encoding/constants-v2.js';
import { ChildSaTable, dataplaneTransform } from '../appliance/supervisor/ike-child-sas.js';
import { TUNNEL_FLAG } from '../appliance/dataplane/layout.js';
import { ESP_ENC, ESP_INTEG } from '../appliance/dataplane/sa.js';
import { u32ToIp } from '../appliance/net/ipv4.js';
import { node, A, B, type Node, type Out } from './util/esp-env.js';
import { ike2Pair, v2Policy } from './util/ike2.js';
import { negotiateChild } from './util/ike.js';

const addrA = u32ToIp(A.nbma), addrB = u32ToIp(B.nbma);
const WIDE_KEYRING = [{ name: 'all', address: '0.0.0.0', mask: '0.0.0.0', key: 'P4ssw0rd' }];

const SUITES = [
  { transforms: ['esp-gcm'], cipher: 'aes-gcm-16', keyBits: 128, enc: ESP_ENC.AES_GCM_128, name: 'esp-gcm' },
  { transforms: ['esp-gcm 256'], cipher: 'aes-gcm-16', keyBits: 256, enc: ESP_ENC.AES_GCM_256, name: 'esp-256-gcm' },
  { transforms: ['esp-chacha20-poly1305'], cipher: 'chacha20-poly1305', keyBits: 256, enc: ESP_ENC.CHACHA20_POLY1305, name: 'esp-chacha20-poly1305' },
] as const;

const copyKeys = (k: ChildSaKeys) => ({ in: Buffer.from(k.inbound.encKey), out: Buffer.from(k.outbound.encKey) });

/** IKEv2 between A's and B's NBMA addresses; resolves with both sides' first Child SA. */
async function negotiateV2(transforms: readonly string[], peerTransforms = transforms): Promise<{ a?: ChildSaKeys; b?: ChildSaKeys; logs: string[] }> {
  const pol = (tr: readonly string[]) => v2Policy({ keyring: WIDE_KEYRING, proposals: [{ name: 'G', encryption: ['aes-gcm-256'], prf: ['sha256'], group: [31] }],
    transformSets: [{ name: 'TS', transforms: [...tr] }] });
  const p = ike2Pair(pol(transforms), pol(peerTransforms), { aAddr: addrA, bAddr: addrB });
  p.a.m.initiate(addrB);
  await p.settle();
  const child = (s: typeof p.a) => s.events.find((e) => e.event === 'child')?.keys as ChildSaKeys | undefined;
  const out = { a: child(p.a), b: child(p.b), logs: [...p.a.logs, ...p.b.logs] };
  p.close();
  return out;
}

function v1Crypto(transforms: readonly string[]): CryptoConfig {
  return {
    lines: [], isakmpPolicies: [{ priority: 10, authentication: 'pre-share', encryption: 'aes 256', hash: 'sha256', group: 14 }],
    isakmpKeys: [{ key: 'P4ssw0rd', address: '0.0.0.0', mask: '0.0.0.0' }],
    transformSets: [{ name: 'TS', transforms: [...transforms] }], ipsecProfiles: [{ name: 'P', transformSets: ['TS'] }],
  };
}

/** IKEv1 main mode + quick mode between A's and B's NBMA addresses. */
const negotiateV1 = (transforms: readonly string[], peerTransforms = transforms) => negotiateChild(v1Crypto(transforms), v1Crypto(peerTransforms), addrA, addrB);

/** The ESP of one wire output (raw ESP carries its IPv4 header). */
const espOf = (o: Out) => Buffer.from(o.kind === 50 ? o.data.subarray((o.data[0] & 15) * 4) : o.data);

/** Opens one ESP packet with node:crypto: key || salt, nonce = salt || 8-byte IV, AAD = SPI | seq, 16-byte ICV. */
function openEsp(esp: Buffer, keySalt: Buffer, cipher: string): Buffer {
  const key = keySalt.subarray(0, keySalt.length - 4), salt = keySalt.subarray(keySalt.length - 4);
  const nonce = Buffer.concat([salt, esp.subarray(8, 16)]);
  const d = cipher === 'chacha20-poly1305'
    ? createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 } as never)
    : createDecipheriv(`aes-${key.length * 8}-gcm` as 'aes-128-gcm', key, nonce, { authTagLength: 16 });
  (d as unknown as { setAAD(b: Buffer): void }).setAAD(esp.subarray(0, 8));
  (d as unknown as { setAuthTag(b: Buffer): void }).setAuthTag(esp.subarray(esp.length - 16));
  return Buffer.concat([d.update(esp.subarray(16, esp.length - 16)), d.final()]);
}

/** Installs both pairs in two data planes and sends a packet each way; the wire ESP is opened with the keys. */
function carry(t: Test, ka: ChildSaKeys, kb: ChildSaKeys, s: (typeof SUITES)[number]): void {
  const a = node(A, B, { flags: TUNNEL_FLAG.PROTECTED }), b = node(B, A, { flags: TUNNEL_FLAG.PROTECTED });
  t.same(dataplaneTransform(ka), { enc: s.enc, integ: ESP_INTEG.NONE, name: s.name }, `data plane transform ${s.name}, no HMAC`);
  const keysA = copyKeys(ka);
  const ta = new ChildSaTable(a.sa, 2, 64), tb = new ChildSaTable(b.sa, 2, 64);
  const ca = ta.install(ka, 1001), cb = tb.install(kb, 1001);
  if (typeof ca === 'string' || typeof cb === 'string') { t.fail(`not installed: ${ca} ${cb}`); return; }
  t.ok(ta.installOutbound(ca) && tb.installOutbound(cb), 'both outbound halves installed');
  a.apply(); b.apply();
  t.equal(ca.transform, s.name, 'show crypto ipsec sa names the IOS transform');
  t.ok(ka.inbound.encKey.every((x) => x === 0) && ka.outbound.encKey.every((x) => x === 0), 'our key copies zeroed');
  for (const [from, to, label] of [[a, b, 'A -> B'], [b, a, 'B -> A']] as Array<[Node, Node, string]>) {
    const inner = from.send(120);
    const w = from.wire();
    t.equal(w.length, 1, `${label}: one ESP packet`);
    if (!w[0]) continue;
    if (from === a) {
      const esp = espOf(w[0]);
      t.equal(esp.readUInt32BE(0), ka.outbound.spi, 'A -> B: SPI is the one B chose');
      const pt = openEsp(esp, keysA.out, s.cipher);
      t.equal(pt[pt.length - 1], 4, 'A -> B: node:crypto opens it with the negotiated key || salt (tunnel mode: next header IPv4, the GRE packet)');
      t.ok(pt.includes(Buffer.from(inner)), 'and finds the inner packet');
    }
    to.deliver(w[0], from.me.nbma);
    t.equal(to.take(to.r.tunTx).length, 1, `${label}: decrypted into the other TUN`);
  }
  const rows = a.sas();
  t.ok(rows.length === 2 && rows.every((r) => r.enc === s.enc && r.integ === 0 && r.drops.auth === 0), 'A: two SAs, AEAD transform, no auth drops');
}

for (const s of SUITES) {
  t.test(`IKEv2 Child SA with ${s.transforms.join(' ')}: negotiated, keys mirrored, ESP crosses both data planes`, async (t) => {
    const { a, b, logs } = await negotiateV2(s.transforms);
    if (!a || !b) { t.fail(`no Child SA: ${logs.slice(-6).join(' | ')}`); return; }
    t.match(a, { cipher: s.cipher, keyBits: s.keyBits, integrity: 'none' }, `${s.cipher}-${s.keyBits}, no integrity transform`);
    t.equal(a.outbound.encKey.length, s.keyBits / 8 + 4, 'KEYMAT per direction: key + 4-byte salt');
    t.equal(a.outbound.authKey.length, 0, 'no HMAC key');
    t.same([Buffer.from(a.outbound.encKey), Buffer.from(a.inbound.encKey)], [Buffer.from(b.inbound.encKey), Buffer.from(b.outbound.encKey)], 'mirrored at both ends');
    t.notSame(Buffer.from(a.outbound.encKey), Buffer.from(a.inbound.encKey), 'distinct per direction');
    carry(t, a, b, s);
  });
}

t.test('IKEv1 quick mode with esp-gcm 128 and 256: transform 20 + key length, keys mirrored, ESP crosses', async (t) => {
  for (const s of SUITES.slice(0, 2)) {
    const { a, b, notes } = await negotiateV1(s.transforms);
    if (!a || !b) { t.fail(`no Child SA: ${notes.slice(-6).join(' | ')}`); continue; }
    t.match(a, { cipher: s.cipher, keyBits: s.keyBits, integrity: 'none' }, `${s.transforms[0]}: ${s.cipher}-${s.keyBits}`);
    t.equal(a.inbound.encKey.length, s.keyBits / 8 + 4, 'key + salt');
    t.same(Buffer.from(a.outbound.encKey), Buffer.from(b.inbound.encKey), 'mirrored');
    carry(t, a, b, s);
  }
});

t.test('mismatches: AEAD against CBC+HMAC gives no Child SA; GCM 128 against GCM 256 gives none', async (t) => {
  const v2 = await negotiateV2(['esp-gcm'], ['esp-aes', 'esp-sha-hmac']);
  t.notOk(v2.a ?? v2.b, 'IKEv2: esp-gcm vs esp-aes esp-sha-hmac: no Child SA');
  t.ok(v2.logs.some((l) => /NO_PROPOSAL_CHOSEN|notify 14|no acceptable/i.test(l)), 'and it is said');
  const len = await negotiateV2(['esp-gcm 128'], ['esp-gcm 256']);
  t.notOk(len.a ?? len.b, 'IKEv2: key lengths must agree');
  const v1 = await negotiateV1(['esp-gcm'], ['esp-gcm 256']);
  t.notOk(v1.a ?? v1.b, 'IKEv1: esp-gcm 128 vs 256: no Child SA');
});

t.test('proposal rules: an AEAD ESP proposal carrying an integrity transform is not taken; the offer has none', async (t) => {
  const gcm = phase2Proposal({ name: 'G', transforms: ['esp-gcm 256'] });
  if (!gcm.ok) { t.fail(gcm.reason); return; }
  const spi = new Uint8Array([1, 2, 3, 4]);
  const offer = espOffer([gcm.value], spi);
  t.same(offer[0].transforms.map((x) => x.type), [TransformType.ENCR, TransformType.ESN], 'offer: ENCR and ESN only');
  t.same(offer[0].transforms[0], { type: TransformType.ENCR, id: 20, keyLength: 256 }, 'ENCR_AES_GCM_16, key length 256');
  t.ok(selectEsp(offer, [gcm.value]), 'our own offer is acceptable');
  const withInteg = [{ ...offer[0], protocol: ProtocolV2.ESP, transforms: [...offer[0].transforms, { type: TransformType.INTEG, id: 2 }] }];
  t.equal(selectEsp(withInteg, [gcm.value]), null, 'GCM with HMAC-SHA1 in the same proposal: refused');
  const withNone = [{ ...offer[0], transforms: [...offer[0].transforms, { type: TransformType.INTEG, id: 0 }] }];
  t.ok(selectEsp(withNone, [gcm.value]), 'GCM with INTEG NONE: taken');
});

t.test('transform set rules: AEAD with an HMAC refused, IKEv1 says ChaCha20-Poly1305 is IKEv2 only', async (t) => {
  const bad = phase2Proposal({ name: 'X', transforms: ['esp-gcm', 'esp-sha-hmac'] });
  t.match(bad, { ok: false, reason: /authenticates by itself/ }, 'esp-gcm esp-sha-hmac refused with its reason');
  t.match(phase2Proposal({ name: 'Y', transforms: ['esp-aes'] }), { ok: false, reason: /needs an ESP HMAC/ }, 'esp-aes alone refused');
  const notes: string[] = [];
  const m = new IkeV1Manager(v1Crypto(['esp-chacha20-poly1305']), '172.16.1.1', () => {}, () => {}, {});
  notes.push(...m.configure(v1Crypto(['esp-chacha20-poly1305'])));
  m.close();
  t.ok(notes.some((n) => /chacha20-poly1305 has no IKEv1 transform ID: IKEv2 only/.test(n)), 'IKEv1 configure names it');
});

t.test('IKEv2 CREATE_CHILD_SA rekey of an esp-gcm 256 Child SA with PFS (X25519): the new pair is AEAD too, mirrored, new keys', async (t) => {
  const pol = () => v2Policy({ keyring: WIDE_KEYRING, pfs: 'group31', proposals: [{ name: 'G', encryption: ['aes-gcm-256'], prf: ['sha256'], group: [31] }],
    transformSets: [{ name: 'TS', transforms: ['esp-gcm 256'] }] });
  const p = ike2Pair(pol(), pol(), { aAddr: addrA, bAddr: addrB });
  t.teardown(() => p.close());
  const sa = p.a.m.initiate(addrB);
  await p.settle();
  const kids = (s: typeof p.a) => s.events.filter((e) => e.event === 'child').map((e) => e.keys as ChildSaKeys);
  const [old] = kids(p.a);
  if (!old) { t.fail(`no first Child SA: ${p.a.logs.slice(-4).join(' | ')}`); return; }
  const oldKey = Buffer.from(old.outbound.encKey);
  t.ok(p.a.m.rekeyChild(sa, old.inbound.spi), 'rekey started');
  await p.settle();
  const fresh = kids(p.a)[1], peer = kids(p.b)[1];
  if (!fresh || !peer) { t.fail(`no rekeyed pair: ${[...p.a.logs, ...p.b.logs].slice(-6).join(' | ')}`); return; }
  t.match(fresh, { cipher: 'aes-gcm-16', keyBits: 256, integrity: 'none', pfsGroup: 31 }, 'AES-GCM-16-256, PFS group 31');
  t.equal(fresh.outbound.encKey.length, 36, 'key + salt');
  t.same(Buffer.from(fresh.outbound.encKey), Buffer.from(peer.inbound.encKey), 'mirrored');
  t.notSame(Buffer.from(fresh.outbound.encKey), oldKey, 'new keys');
  carry(t, fresh, peer, SUITES[1]);
});
