// Crypto config -> SAs: the checks an engineer relies on before anything is applied.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import { planIpsec } from '../appliance/supervisor/ipsec-plan.js';
import type { TunnelConfig } from '../appliance/config/model.js';

const GCM_KEY = '00112233445566778899aabbccddeeff' + 'cafebabe';
function cfg(transform: string, inKey = GCM_KEY, outKey = GCM_KEY, extra = '') {
  const text = `hostname R2
crypto ipsec transform-set TS ${transform}
 mode transport
crypto ipsec profile P
 set transform-set TS
crypto ipsec manual-sa TO-R1
 set peer 172.16.15.2
 set transform-set TS
 set session-key inbound esp 4097 cipher ${inKey}${extra}
 set session-key outbound esp 4098 cipher ${outKey}${extra}
 set udp-encapsulation
interface Tunnel0
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
