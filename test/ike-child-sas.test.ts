// IKE-negotiated keys in the WASM data plane, in-process: two IKEv1 managers negotiate (seed 003's
// policy and transform set) between the addresses of two data-plane instances; ChildSaTable installs
// each side's Child SA pair; an inner packet then crosses as tunnel-mode ESP (AES-CBC-128 +
// HMAC-SHA1-96) and comes out of the other data plane. Plus the table's own rules: indexes after the
// manual SAs, keys zeroed once in the ring, a deferred outbound half, removal frees the indexes.
import t, { type Test } from 'tap';
import { IkeV1Manager } from '../appliance/ike/manager/ike-v1.js';
import type { ChildSaKeys } from '../appliance/ike/sa/child-sa.js';
import type { IkeSaV1 } from '../appliance/ike/sa/ike-sa-v1.js';
import { ChildSaTable, dataplaneTransform } from '../appliance/supervisor/ike-child-sas.js';
import { TUNNEL_FLAG } from '../appliance/dataplane/layout.js';
import { SA_FLAG, SA_DIR, SA_EVENT_REASON, decodeEspControl } from '../appliance/dataplane/sa.js';
import { u32ToIp } from '../appliance/net/ipv4.js';
import { node, A, B, type Node } from './util/esp-env.js';
import { seedCrypto } from './util/ike.js';

const crypto = { ...seedCrypto(), isakmpKeys: [{ key: 'P4ssw0rd', address: '0.0.0.0', mask: '0.0.0.0' }] };

/** Two managers at A's and B's NBMA addresses, datagrams delivered asynchronously; children collected. */
function negotiate(): Promise<{ a: ChildSaKeys; b: ChildSaKeys; sa: IkeSaV1 }> {
  const got: Record<string, ChildSaKeys> = {};
  const m: Record<string, IkeV1Manager> = {};
  const addrA = u32ToIp(A.nbma), addrB = u32ToIp(B.nbma);
  return new Promise((resolve) => {
    const mk = (me: string) => new IkeV1Manager(crypto, me, (d, to) => setImmediate(() => m[to]?.handleDatagram(d, me, 500)), () => {}, {
      established: (sa) => { if (sa.initiator) m[me].initiateQuick(sa); },
      child: (sa, k) => { got[me] = k; if (got[addrA] && got[addrB]) { resolve({ a: got[addrA], b: got[addrB], sa }); m[addrA].close(); m[addrB].close(); } },
    });
    m[addrA] = mk(addrA); m[addrB] = mk(addrB);
    m[addrA].initiate(addrB);
  });
}

function crosses(t: Test, from: Node, to: Node): void {
  from.send(100);
  const w = from.wire();
  t.equal(w.length, 1, 'one packet on the wire');
  t.equal(w[0]?.kind, 50, 'raw ESP');
  if (w[0]) to.deliver(w[0], from.me.nbma);
  t.equal(to.take(to.r.tunTx).length, 1, 'decrypted into the other TUN');
}

t.test('keys from quick mode run in the data plane both ways (tunnel mode)', async (t) => {
  const a = node(A, B, { flags: TUNNEL_FLAG.PROTECTED }), b = node(B, A, { flags: TUNNEL_FLAG.PROTECTED });
  const { a: ka, b: kb, sa } = await negotiate();
  t.same(dataplaneTransform(ka), { enc: 4, integ: 1, name: 'esp-aes esp-sha-hmac' }, 'esp-aes esp-sha-hmac = AES-CBC-128 + HMAC-SHA1-96');
  const ta = new ChildSaTable(a.sa, 2, 64), tb = new ChildSaTable(b.sa, 2, 64);
  const ca = ta.install(ka, sa.connId), cb = tb.install(kb, sa.connId);
  if (typeof ca === 'string' || typeof cb === 'string') { t.fail(`not installed: ${ca} ${cb}`); return; }
  t.notOk(ta.hasOutbound(u32ToIp(B.nbma)), 'A: the outbound half waits for installOutbound');
  t.ok(ta.installOutbound(ca), 'A: outbound installed');
  a.apply(); b.apply();
  t.ok(ka.inbound.encKey.every((x) => x === 0) && ka.outbound.encKey.every((x) => x === 0) && ka.outbound.authKey.every((x) => x === 0), 'our key copies zeroed');
  t.same([ca.inIndex, ca.outIndex], [2, 3], 'indexes from the first one above the manual SAs');
  t.notOk(tb.hasOutbound(u32ToIp(A.nbma)), 'B: outbound deferred');
  crosses(t, a, b);
  t.ok(tb.installOutbound(cb), 'B: outbound installed');
  t.notOk(tb.installOutbound(cb), 'only once');
  kb.outbound.encKey.fill(1);
  b.apply();
  t.ok(kb.outbound.encKey.every((x) => x === 1), 'the table kept its own copy of the pending keys (zeroed after installation)');
  crosses(t, b, a);
  const rows = a.sas();
  t.equal(rows.length, 2);
  t.ok(rows.every((r) => r.flags & SA_FLAG.TUNNEL && r.flags & SA_FLAG.GRE_ONLY), 'tunnel mode, GRE-only selectors');
  t.equal(ta.byOutboundSpi(u32ToIp(B.nbma), ca.spiOut), ca);
  ta.remove(ca); a.apply();
  t.equal(a.sas().length, 0, 'removed from the data plane');
  t.equal(ta.all.length, 0);
  a.send(10);
  t.equal(a.wire().length, 0, 'no SA: nothing leaves a protected tunnel');
});

t.test('transforms the data plane cannot run are refused, not installed', async (t) => {
  const a = node(A, B);
  const table = new ChildSaTable(a.sa, 0, 4);
  const pair = (k: ChildSaKeys) => { const c = table.install(k, 1001); if (typeof c !== 'string') table.installOutbound(c); return c; };
  const keys = (cipher: ChildSaKeys['cipher'], keyBits: number, integrity: ChildSaKeys['integrity']): ChildSaKeys => ({
    local: '198.51.100.1', remote: '203.0.113.2', protocol: 47, mode: 'tunnel', cipher, keyBits, integrity, lifetime: 3600,
    inbound: { spi: 0x1234, encKey: new Uint8Array(keyBits / 8), authKey: new Uint8Array(20) }, outbound: { spi: 0x5678, encKey: new Uint8Array(keyBits / 8), authKey: new Uint8Array(20) } });
  t.match(table.install(keys('3des-cbc', 192, 'hmac-sha1-96'), 1001), /not implemented in the data plane/);
  t.match(table.install(keys('aes-cbc', 128, 'hmac-md5-96'), 1001), /hmac-md5-96 is not implemented/);
  t.match(table.install(keys('aes-cbc', 192, 'hmac-sha1-96'), 1001), /aes-cbc-192/);
  t.match(table.install(keys('aes-gcm-16', 128, 'hmac-sha1-96'), 1001), /an AEAD takes no HMAC/);
  t.equal(table.all.length, 0);
  for (let i = 0; i < 2; i++) t.type(pair(keys('aes-cbc', 128, 'hmac-sha1-96')), 'object');
  t.equal(pair(keys('aes-cbc', 128, 'hmac-sha1-96')), 'SA table full', 'bounded by the table');
});

t.test('a byte lifetime (set security-association lifetime kilobytes) reaches the data plane: soft, then hard', async (t) => {
  const a = node(A, B, { flags: TUNNEL_FLAG.PROTECTED });
  const { a: ka, sa } = await negotiate();
  const table = new ChildSaTable(a.sa, 0, 8);
  const c = table.install(ka, sa.connId, 2000n);
  t.type(c, 'object');
  if (typeof c !== 'string') table.installOutbound(c);
  a.apply();
  const events: number[] = [];
  for (let i = 0; i < 30; i++) {
    a.send(100); a.wire();
    for (const m of a.ctl()) { const e = decodeEspControl(m.kind, m.addr, m.aux, m.data); if (e?.type === 'SA_EVENT' && e.dir === SA_DIR.OUT) events.push(e.reason); }
  }
  t.same(events, [SA_EVENT_REASON.SOFT_LIFETIME, SA_EVENT_REASON.HARD_LIFETIME], 'SA_EVENT soft (rekey) then hard (stop), once each');
  t.equal(a.sas().find((r) => r.dir === 'out')?.state, 'expired', 'the outbound SA stopped');
});
