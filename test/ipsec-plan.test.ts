// Crypto config -> SAs: the checks an engineer relies on before anything is applied.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import { planIpsec, ipsecWarnings, DEFAULT_SEQ_DIR, DEFAULT_SEQ_BLOCK } from '../appliance/supervisor/ipsec-plan.js';
import type { TunnelConfig } from '../appliance/config/model.js';

const GCM_KEY = '00112233445566778899aabbccddeeff' + 'cafebabe';
function cfg(transform: string, inKey = GCM_KEY, outKey = GCM_KEY, extra = '', persist = ' set sequence-persistence default\n') {
  const text = `hostname R2
crypto ipsec transform-set TS ${transform}
 mode transport
crypto ipsec profile P
 set transform-set TS
crypto ipsec manual-sa TO-R1
 set peer 172.16.15.2
 set transform-set TS
 set session-key inbound esp 4097${inKey ? ` cipher ${inKey}` : ''}${extra}
 set session-key outbound esp 4098${outKey ? ` cipher ${outKey}` : ''}${extra}
 set udp-encapsulation
${persist}interface Tunnel0
 ip address 192.168.0.2 255.255.255.0
 tunnel source 172.16.25.2
 tunnel mode gre multipoint
 tunnel protection ipsec profile P
`;
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const tunnel = r.config.interfaces.find((i) => i.kind === 'tunnel') as TunnelConfig;
  return { config: r.config, tunnel };
}

t.test('the issue\'s manual-sa form yields an inbound and an outbound SA', async (t) => {
  const { config, tunnel } = cfg('esp-gcm 128');
  const sas = planIpsec(config, tunnel);
  t.equal(sas.length, 2);
  const [i, o] = sas;
  t.match(i, { direction: 'in', spi: 4097, peer: '172.16.15.2', udpEncap: true, transform: { cipher: 'aes-gcm-128', icvLen: 16, mode: 'transport' } });
  t.match(o, { direction: 'out', spi: 4098 });
  t.equal(Buffer.from(i.key).toString('hex'), GCM_KEY, 'key || salt as given');
});

t.test('legacy esp-aes esp-sha-hmac (seed 003) needs an authenticator of 20 bytes', async (t) => {
  const k = '00112233445566778899aabbccddeeff';
  const a = '0102030405060708090a0b0c0d0e0f1011121314';
  const sas = planIpsec(...Object.values(cfg('esp-aes esp-sha-hmac', k, k, ` authenticator ${a}`)) as [any, any]);
  t.match(sas[0].transform, { cipher: 'aes-cbc-128', integrity: 'hmac-sha1-96', icvLen: 12 });
  t.throws(() => planIpsec(...Object.values(cfg('esp-aes esp-sha-hmac', k, k, ' authenticator 0102')) as [any, any]),
    /inbound authenticator is 2 bytes; hmac-sha1-96 needs 20/);
});

t.test('wrong key lengths, unknown transform sets and reserved SPIs are refused with the reason', async (t) => {
  t.throws(() => planIpsec(...Object.values(cfg('esp-gcm 256')) as [any, any]), /cipher key is 20 bytes; aes-gcm-256 needs 36 \(key followed by the 4-byte salt\)/);
  t.throws(() => planIpsec(...Object.values(cfg('esp-chacha20-poly1305', GCM_KEY.slice(0, 10))) as [any, any]), /inbound cipher key is 5 bytes; chacha20-poly1305 needs 36/);
  const { config, tunnel } = cfg('esp-gcm 128');
  config.crypto.manualSas![0].transformSet = 'NOPE';
  t.throws(() => planIpsec(config, tunnel), /transform-set NOPE is not defined/);
  const c2 = cfg('esp-gcm 128');
  c2.config.crypto.manualSas![0].inbound!.spi = 7;
  t.throws(() => planIpsec(c2.config, c2.tunnel), /SPI 7 is reserved/);
  const c3 = cfg('esp-gcm 128');
  c3.tunnel.protection = { profile: 'OTHER', shared: false };
  t.throws(() => planIpsec(c3.config, c3.tunnel), /profile OTHER is not defined/);
});

t.test('no tunnel protection: no SAs', async (t) => {
  const { config, tunnel } = cfg('esp-gcm 128');
  delete tunnel.protection;
  t.same(planIpsec(config, tunnel), []);
});

t.test('AEAD manual SAs without sequence persistence are refused, citing why', async (t) => {
  for (const ts of ['esp-gcm 128', 'esp-gcm 256', 'esp-chacha20-poly1305']) {
    const key = ts === 'esp-gcm 128' ? GCM_KEY : GCM_KEY + '00112233445566778899aabbccddeeff';
    const { config, tunnel } = cfg(ts, key, key, '', '');
    t.throws(() => planIpsec(config, tunnel),
      /would reuse nonces.*RFC 4106 section 8\.1, RFC 7634 section 4 and RFC 8221.*set sequence-persistence/, `${ts} refused`);
  }
  const { config, tunnel } = cfg('esp-gcm 128');
  const sas = planIpsec(config, tunnel);
  t.same(sas.map((s) => s.persistence), [{ dir: DEFAULT_SEQ_DIR, block: DEFAULT_SEQ_BLOCK }, { dir: DEFAULT_SEQ_DIR, block: DEFAULT_SEQ_BLOCK }], 'opted in: default directory and block');
  const c2 = cfg('esp-gcm 128', GCM_KEY, GCM_KEY, '', ' set sequence-persistence /tmp/seqdir block 1024\n');
  t.same(planIpsec(c2.config, c2.tunnel)[1].persistence, { dir: '/tmp/seqdir', block: 1024 });
  const c3 = cfg('esp-gcm 128', GCM_KEY, GCM_KEY, '', ' set sequence-persistence relative/dir\n');
  t.throws(() => planIpsec(c3.config, c3.tunnel), /absolute directory/);
  t.same(ipsecWarnings(sas), [], 'persisted AEAD: no warning');
});

t.test('non-AEAD manual SAs load with a replay warning unless persisted; esp-null warns; null+none refused', async (t) => {
  const k = '00112233445566778899aabbccddeeff';
  const a = ' authenticator 0102030405060708090a0b0c0d0e0f1011121314';
  const plain = cfg('esp-aes esp-sha-hmac', k, k, a, '');
  const w = ipsecWarnings(planIpsec(plain.config, plain.tunnel));
  t.equal(w.length, 1);
  t.match(w[0], /manual-sa TO-R1: no set sequence-persistence: .*replay/);
  const persisted = cfg('esp-aes esp-sha-hmac', k, k, a);
  t.same(ipsecWarnings(planIpsec(persisted.config, persisted.tunnel)), []);
  const nul = cfg('esp-null esp-sha-hmac', '', '', a);
  const nw = ipsecWarnings(planIpsec(nul.config, nul.tunnel));
  t.match(nw, [/esp-null: GRE to 172\.16\.15\.2 is authenticated but NOT encrypted/]);
  const none = cfg('esp-null', '', '', ' authenticator 01');
  t.throws(() => planIpsec(none.config, none.tunnel), /esp-null needs an integrity transform.*RFC 4303 section 3\.2/);
});

t.test('sequence-persistence renders back and round-trips', async (t) => {
  const { config } = cfg('esp-gcm 128', GCM_KEY, GCM_KEY, '', ' set sequence-persistence /var/x block 4096\n');
  t.same(config.crypto.manualSas![0].sequencePersistence, { dir: '/var/x', block: 4096 });
});
