// Startup-config loading: seed 003 hub/spoke (+crypto) and the seed 004 tunnel-999 transcript load
// into the expected model; a bad line fails the whole load with its line number; render round-trips.
import t from 'tap';
import fs from 'node:fs';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import type { ApplianceConfig, TunnelConfig } from '../appliance/config/model.js';

const fx = (n: string) => fs.readFileSync(new URL(`./fixtures/cli/${n}`, import.meta.url), 'utf8');
const load = (text: string): ApplianceConfig => {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
};
const tun = (c: ApplianceConfig, name = 'Tunnel0') => c.interfaces.find(i => i.name === name) as TunnelConfig;

t.test('seed 003 hub R1 with crypto', async t => {
  const c = load(`hostname R1\n${fx('seed003-r1.cfg')}!\n${fx('seed003-crypto.cfg')}`);
  t.equal(c.hostname, 'R1');
  t.strictSame(c.interfaces[0], { kind: 'ethernet', name: 'FastEthernet0/0', shutdown: false,
    address: { address: '172.16.15.2', mask: '255.255.255.252' } });
  t.same(tun(c), {
    kind: 'tunnel', name: 'Tunnel0', number: 0, shutdown: false, mtu: 1400, mode: 'gre-multipoint',
    address: { address: '192.168.0.1', mask: '255.255.255.0' }, source: '172.16.15.2',
    protection: { profile: 'MyProfile', shared: false },
    nhrp: { networkId: 1, holdtime: 7200, nhs: [], maps: [], multicast: ['dynamic'], redirect: false, shortcut: false, registrationNoUnique: false },
  });
  t.strictSame(c.crypto.lines, [
    'crypto isakmp policy 10', ' authentication pre-share',
    'crypto isakmp key P4ssw0rd address 172.16.0.0 255.255.0.0',
    'crypto ipsec transform-set MyTransformSet esp-aes esp-sha-hmac',
    'crypto ipsec profile MyProfile', ' set transform-set MyTransformSet',
  ]);
  t.same(c.crypto.transformSets, [{ name: 'MyTransformSet', transforms: ['esp-aes', 'esp-sha-hmac'] }]);
  t.same(c.crypto.isakmpKeys, [{ key: 'P4ssw0rd', address: '172.16.0.0', mask: '255.255.0.0' }]);
  t.same(c.crypto.ipsecProfiles, [{ name: 'MyProfile', transformSets: ['MyTransformSet'] }]);
  // IKE (ISAKMP) lines are active now (the supervisor's IKE service): nothing is reported inactive
  t.same(c.inactive, []);
  t.same(c.crypto.isakmpPolicies, [{ priority: 10, authentication: 'pre-share' }]);
});

t.test('seed 003 spoke R2', async t => {
  const c = load(fx('seed003-r2.cfg'));
  t.equal(c.hostname, 'Router');
  t.equal(c.interfaces[0].name, 'FastEthernet0/0');
  const n = tun(c).nhrp;
  t.same(n.maps, [{ tunnelIp: '192.168.0.1', nbma: '172.16.15.2' }]);
  t.same(n.multicast, ['172.16.15.2']);
  t.same(n.nhs, [{ tunnelIp: '192.168.0.1' }]);
  t.equal(n.networkId, 1);
  t.equal(tun(c).source, '172.16.25.2');
  t.same(c.inactive, []);
});

t.test('seed 004 transcript (R1(config-if)# prompts, ip NHRP, tunnel 999) loads per router', async t => {
  const lines = fx('seed004-transcript.txt').split('\n');
  const of = (r: string) => lines.filter(l => l.startsWith(`${r}(`)).join('\n');
  const r1 = load(of('R1'));
  const t1 = tun(r1, 'Tunnel999');
  t.equal(t1.number, 999);
  t.equal(t1.mode, 'gre-multipoint');
  t.equal(t1.nhrp.networkId, 1); // "01"
  t.same(t1.nhrp.maps, [{ tunnelIp: '192.168.1.2', nbma: '3.3.3.2' }, { tunnelIp: '192.168.1.3', nbma: '4.4.4.2' }]);
  t.same(r1.routes, [{ prefix: '0.0.0.0', mask: '0.0.0.0', iface: 'Serial4/0' }]);
  t.strictSame(r1.interfaces.find(i => i.name === 'Serial4/0'), { kind: 'ethernet', name: 'Serial4/0', shutdown: false,
    address: { address: '10.1.1.1', mask: '255.0.0.0' } }); // the transcript sets the address twice; last wins
  t.ok(r1.inactive.some(x => x.text === 'no keepalive'));
  const r3 = load(of('R3'));
  t.equal(tun(r3, 'Tunnel999').destination, '1.1.1.1');
  t.equal(tun(r3, 'Tunnel999').mode, 'gre-ip');
  t.equal(tun(r3, 'Tunnel999').nhrp.networkId, 2);
  t.equal(r3.interfaces[0].name, 'Serial4/1');
  const r4 = load(of('R4'));
  t.same(tun(r4, 'Tunnel999').nhrp.maps, [{ tunnelIp: '192.168.1.1', nbma: '1.1.1.1' }]);
  // R2 uses Serial4/0 and FastEthernet0/0 (both "port 0"): it loads; the OS interfaces are chosen at
  // apply time by the naming rules (config-interfaces.test.ts).
  const r2 = load(of('R2'));
  t.same(r2.interfaces.map(i => i.name), ['Serial4/0', 'Serial4/1', 'Serial4/2', 'FastEthernet0/0']);
  t.equal(r2.routes.length, 6);
});

t.test('one bad line fails the whole load with its line number and no config', async t => {
  const text = `hostname R1\ninterface Tunnel0\n ip address 10.0.0.1 255.255.255.0\n ip nhrp mapp 10.0.0.2 1.1.1.1\n tunnel mode gre multipoint\n`;
  const r = parseStartupConfig(text);
  t.equal(r.ok, false);
  t.notOk('config' in r);
  if (!r.ok) t.same(r.errors, [{ line: 4, column: 13, text: ' ip nhrp mapp 10.0.0.2 1.1.1.1', message: "% Invalid input detected at '^' marker." }]);
  const r2 = parseStartupConfig('interface Tunnel0\n ip nhrp\n');
  t.same(!r2.ok && r2.errors[0], { line: 2, column: 1, text: ' ip nhrp', message: '% Incomplete command.' });
  const r3 = parseStartupConfig('interface Tunnel0\n ip nhrp authentication toolongsecret\n');
  t.match(!r3.ok && r3.errors[0], { line: 2, message: /at most 8/ });
  const r4 = parseStartupConfig('interface FastEthernet0/0\n ip mtu 1400\n');
  t.match(!r4.ok && r4.errors[0], { line: 2, message: /Tunnel interfaces only/ });
  const r5 = parseStartupConfig('ip route 10.0.0.0 255.0.0.0 1.2.3.256\n');
  t.match(!r5.ok && r5.errors[0], { line: 1, column: 29 });
});

t.test('keywords are case-insensitive, comments/blank/leading spaces/end ignored', async t => {
  const c = load('!\n\n   HOSTNAME r9\nINTERFACE TUNNEL 5\n  IP NHRP HOLDTIME 300\n  Tunnel Mode GRE MultiPoint\nend\n');
  t.equal(c.hostname, 'r9');
  t.equal(tun(c, 'Tunnel5').nhrp.holdtime, 300);
  t.equal(tun(c, 'Tunnel5').mode, 'gre-multipoint');
});

t.test('render round-trips', async t => {
  const full = `hostname HUB
crypto isakmp policy 10
 encryption aes 256
 hash sha256
 authentication pre-share
 group 14
 lifetime 3600
crypto isakmp key K3y address 0.0.0.0 0.0.0.0
crypto ipsec transform-set TS esp-aes 256 esp-sha256-hmac
 mode transport
crypto ipsec transform-set G esp-gcm 256
crypto ipsec profile P
 set transform-set TS G
 set pfs group14
crypto ipsec manual-sa M1
 set peer 172.16.25.2
 set transform-set TS
 set session-key inbound esp 300 cipher 00112233445566778899aabbccddeeff authenticator 0011223344556677889900112233445566778899
 set session-key outbound esp 301 cipher ffeeddccbbaa99887766554433221100
 set udp-encapsulation
interface GigabitEthernet0/1
 description WAN uplink to ISP
 ip address 172.16.15.2 255.255.255.252
 shutdown
interface Tunnel0
 description DMVPN cloud
 ip address 192.168.0.1 255.255.255.0
 ip mtu 1400
 ip tcp adjust-mss 1360
 ip nhrp authentication s3cr3t
 ip nhrp map 192.168.0.9 172.16.99.2
 ip nhrp map multicast dynamic
 ip nhrp network-id 100
 ip nhrp holdtime 600
 ip nhrp nhs 192.168.0.9 nbma 172.16.99.2 priority 1 cluster 2
 ip nhrp nhs dynamic nbma 172.16.99.3
 ip nhrp registration timeout 60
 ip nhrp registration no-unique
 ip nhrp redirect
 ip nhrp shortcut
 if-state nhrp
 tunnel source GigabitEthernet0/1
 tunnel mode gre multipoint
 tunnel key 100
 tunnel protection ipsec profile P shared
interface Tunnel1
 ip mtu 1380
 tunnel source 10.0.0.1
 tunnel destination 10.0.0.2
ip route 0.0.0.0 0.0.0.0 172.16.15.1
ip route 10.0.0.0 255.0.0.0 Tunnel0 192.168.0.2 20
ip route 10.9.0.0 255.255.0.0 GigabitEthernet0/1
`;
  const c1 = load(full);
  const text = renderConfig(c1);
  const c2 = load(text);
  const { inactive: i1, ...rest1 } = c1;
  const { inactive: i2, ...rest2 } = c2;
  t.strictSame(rest2, rest1, 'model survives render -> parse (inactive line numbers differ by layout)');
  t.equal(renderConfig(c2), text, 'render is a fixed point');
  t.strictSame(load(renderConfig(c2)), c2, 'parse(render(c)) deep-equals c for rendered configs');
  t.match(text, /^!\nhostname HUB\n!\ncrypto isakmp policy 10\n encryption aes 256\n/);
  t.match(text, /interface Tunnel0\n description DMVPN cloud\n ip address 192\.168\.0\.1 255\.255\.255\.0\n ip tcp adjust-mss 1360|ip nhrp authentication/);
  t.match(text, /\ninterface GigabitEthernet0\/1\n description WAN uplink to ISP\n ip address 172\.16\.15\.2 255\.255\.255\.252\n shutdown\n!/);
  t.match(text, /\nip route 10\.0\.0\.0 255\.0\.0\.0 Tunnel0 192\.168\.0\.2 20\n/);
  t.match(text, /\nend\n$/);
  t.notMatch(text, /ip mtu 1400/, 'defaults are not rendered');
  t.equal((c1.interfaces.find((i) => i.name === 'Tunnel0') as { ifStateNhrp?: boolean }).ifStateNhrp, true, 'if-state nhrp is active');
  t.match(text, /\n ip nhrp registration no-unique\n[\s\S]* if-state nhrp\n tunnel source/);
  t.equal(i1.length, i2.length, 'the same lines are reported inactive');
  for (const s of ['r1', 'r2']) {
    const c = load(fx(`seed003-${s}.cfg`));
    t.strictSame(load(renderConfig(c)), c, `seed 003 ${s} round-trips exactly`);
  }
});

t.test('no forms edit the model', async t => {
  const c = load(`interface Tunnel0
 ip address 10.0.0.1 255.255.255.0
 ip nhrp map 10.0.0.2 1.1.1.2
 ip nhrp map 10.0.0.3 1.1.1.3
 ip nhrp nhs 10.0.0.2
 ip nhrp map multicast dynamic
 ip nhrp holdtime 300
 ip mtu 1300
 shutdown
 tunnel mode gre multipoint
 tunnel key 5
 no ip address
 no ip nhrp map 10.0.0.2
 no ip nhrp nhs 10.0.0.2
 no ip nhrp map multicast dynamic
 no ip nhrp holdtime
 no ip mtu
 no shutdown
 no tunnel mode
 no tunnel key
interface Tunnel9
ip route 1.0.0.0 255.0.0.0 2.2.2.2
ip route 3.0.0.0 255.0.0.0 2.2.2.2
no ip route 1.0.0.0 255.0.0.0
no interface Tunnel9
crypto ipsec profile X
no crypto ipsec profile X
`);
  const x = tun(c);
  t.notOk('address' in x);
  t.same(x.nhrp.maps, [{ tunnelIp: '10.0.0.3', nbma: '1.1.1.3' }]);
  t.same(x.nhrp.nhs, []);
  t.same(x.nhrp.multicast, []);
  t.equal(x.nhrp.holdtime, 7200);
  t.equal(x.mtu, 1400);
  t.equal(x.shutdown, false);
  t.equal(x.mode, 'gre-ip');
  t.notOk('key' in x);
  t.same(c.interfaces.map(i => i.name), ['Tunnel0']);
  t.same(c.routes, [{ prefix: '3.0.0.0', mask: '255.0.0.0', nextHop: '2.2.2.2' }]);
  t.same(c.crypto, { lines: [] });
});

t.test('IKE lines: DPD, NAT keepalive and IPsec SA lifetime load, render and round-trip', async t => {
  const text = ['crypto isakmp policy 10', ' authentication pre-share', 'crypto isakmp key P4ssw0rd address 172.16.0.0 255.255.0.0',
    'crypto isakmp keepalive 10 3 periodic', 'crypto isakmp nat keepalive 20', 'crypto ipsec transform-set TS esp-aes esp-sha-hmac',
    'crypto ipsec profile P', ' set transform-set TS', ' set security-association lifetime seconds 300',
    ' set security-association lifetime kilobytes 4096000'].join('\n');
  const r = parseStartupConfig(text);
  if (!r.ok) { t.fail(JSON.stringify(r.errors)); return; }
  t.same(r.config.crypto.isakmpKeepalive, { seconds: 10, retry: 3, periodic: true });
  t.equal(r.config.crypto.natKeepalive, 20);
  t.same(r.config.crypto.ipsecProfiles, [{ name: 'P', transformSets: ['TS'], lifetimeSeconds: 300, lifetimeKilobytes: 4096000 }]);
  t.same(r.config.inactive, []);
  const again = parseStartupConfig(renderConfig(r.config));
  t.ok(again.ok && again.config.crypto.lines.join('\n') === r.config.crypto.lines.join('\n'), 'running-config round-trips');
  const ondemand = parseStartupConfig('crypto isakmp keepalive 30');
  t.same(ondemand.ok && ondemand.config.crypto.isakmpKeepalive, { seconds: 30 }, 'IOS defaults: retry 2 s, on-demand');
});
