// EIGRP configuration: classic `router eigrp 100` as seed 003's readers wrote it on a DMVPN hub (split
// horizon and next-hop-self off on the tunnel), a spoke stub, named mode with af-interface and topology
// base, key chains and MD5; each loads, renders back in IOS form, and loads again to the same model.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { configTrees, emptyConfig } from '../appliance/config/grammar.js';
import { runConfigLine } from '../appliance/config/modes.js';

const HUB = `hostname HUB
key chain EIGRP-KEYS
 key 1
  key-string s3cret
!
interface Tunnel0
 ip address 10.0.0.1 255.255.255.0
 ip nhrp network-id 1
 ip nhrp map multicast dynamic
 tunnel source 192.0.2.1
 tunnel mode gre multipoint
 no ip split-horizon eigrp 100
 no ip next-hop-self eigrp 100
 ip hello-interval eigrp 100 10
 ip hold-time eigrp 100 30
 ip summary-address eigrp 100 192.168.0.0 255.255.0.0
 ip authentication mode eigrp 100 md5
 ip authentication key-chain eigrp 100 EIGRP-KEYS
!
router eigrp 100
 network 10.0.0.0 0.0.0.255
 network 192.168.10.0
 redistribute static metric 10000 100 255 1 1500
 redistribute connected
 variance 2
 maximum-paths 6
 distance eigrp 90 170
 eigrp router-id 1.1.1.1
 passive-interface Ethernet0
 no auto-summary
end
`;

function load(text: string) {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** The model without line numbers: a rendered config puts the same lines elsewhere. */
const noLines = (x: ReturnType<typeof load>) => ({ ...x, inactive: x.inactive.map(({ text, reason }) => ({ text, reason })) });

t.test('classic DMVPN hub config loads into the model', async (t) => {
  const c = load(HUB);
  const p = c.eigrp!.processes[0];
  t.same(p.networks, [{ address: '10.0.0.0', wildcard: '0.0.0.255' }, { address: '192.168.10.0' }]);
  t.same(p.redistribute, [{ source: 'static', metric: [10000, 100, 255, 1, 1500] }, { source: 'connected' }]);
  t.same([p.variance, p.maximumPaths, p.distance, p.routerId, p.passive, p.autoSummary], [2, 6, { internal: 90, external: 170 }, '1.1.1.1', ['Ethernet0'], undefined]);
  t.same(c.eigrp!.interfaces, [{ iface: 'Tunnel0', asn: 100, splitHorizon: false, nextHopSelf: false, helloInterval: 10, holdTime: 30,
    summaries: [{ prefix: '192.168.0.0', mask: '255.255.0.0' }], authMode: 'md5', keyChain: 'EIGRP-KEYS' }]);
  t.same(c.eigrp!.keyChains, [{ name: 'EIGRP-KEYS', keys: [{ id: 1, keyString: 's3cret' }] }]);
  // the supervisor runs the speaker (supervisor/eigrp.ts): no EIGRP or key chain line is reported inactive
  t.same(c.inactive.filter((x) => /eigrp|key/.test(x.text)).map((x) => x.text), [], 'no EIGRP line is reported inactive');
});

t.test('show running-config renders it back; the rendering loads to the same model', async (t) => {
  const c = load(HUB);
  const text = renderConfig(c);
  for (const l of [' no ip split-horizon eigrp 100', ' no ip next-hop-self eigrp 100', ' ip hello-interval eigrp 100 10', 'router eigrp 100',
    ' network 10.0.0.0 0.0.0.255', ' redistribute static metric 10000 100 255 1 1500', ' eigrp router-id 1.1.1.1', 'key chain EIGRP-KEYS', '  key-string s3cret',
    ' ip authentication mode eigrp 100 md5', ' ip summary-address eigrp 100 192.168.0.0 255.255.0.0']) {
    t.ok(text.split('\n').includes(l), `renders "${l}"`);
  }
  t.same(noLines(load(text)), noLines(c), 'round trip');
  t.ok(text.indexOf('interface Tunnel0') < text.indexOf('router eigrp 100'), 'router section after the interfaces, as IOS orders it');
});

t.test('split horizon back on: the no-form record goes away', async (t) => {
  const c = load(HUB.replace(' no ip split-horizon eigrp 100\n', ' no ip split-horizon eigrp 100\n ip split-horizon eigrp 100\n'));
  t.equal(c.eigrp!.interfaces[0].splitHorizon, undefined);
});

t.test('spoke: eigrp stub variants', async (t) => {
  const stub = (line: string) => load(`router eigrp 100\n network 10.0.0.0 0.0.0.255\n ${line}\n`).eigrp!.processes[0].stub;
  t.same(stub('eigrp stub'), { connected: true, summary: true }, 'IOS default: connected summary');
  t.same(stub('eigrp stub connected'), { connected: true });
  t.same(stub('eigrp stub receive-only'), { receiveOnly: true });
  t.same(stub('eigrp stub connected summary'), { connected: true, summary: true });
  const bad = parseStartupConfig('router eigrp 100\n eigrp stub bogus\n');
  t.notOk(bad.ok, 'an unknown stub option is an error');
  const r = parseStartupConfig('router eigrp 100\n eigrp stub connected\n');
  t.ok(r.ok && renderConfig(r.config).includes(' eigrp stub connected\n'));
});

t.test('named mode: address-family, af-interface, topology base', async (t) => {
  const text = `router eigrp DMVPN
 address-family ipv4 unicast autonomous-system 100
  af-interface Tunnel0
   no split-horizon
   no next-hop-self
   hello-interval 10
   authentication mode hmac-sha-256 Secret1
  exit-af-interface
  topology base
   redistribute connected
   variance 3
  exit-af-topology
  network 10.0.0.0 0.0.0.255
  eigrp router-id 2.2.2.2
  eigrp stub connected
 exit-address-family
`;
  const c = load(text);
  const p = c.eigrp!.processes[0];
  t.same([p.name, p.asn, p.routerId, p.variance], ['DMVPN', 100, '2.2.2.2', 3]);
  t.same(p.afInterfaces, [{ iface: 'Tunnel0', splitHorizon: false, nextHopSelf: false, helloInterval: 10, authMode: 'hmac-sha-256', authPassword: 'Secret1' }]);
  t.same(p.stub, { connected: true });
  const out = renderConfig(c);
  t.match(out, /router eigrp DMVPN\n !\n address-family ipv4 unicast autonomous-system 100\n !\n  af-interface Tunnel0\n   hello-interval 10\n   no split-horizon\n   no next-hop-self\n   authentication mode hmac-sha-256 Secret1\n  exit-af-interface/);
  t.same(noLines(load(out)), noLines(c), 'round trip');
});

t.test('interactive: prompts, no router eigrp, bad input', async (t) => {
  const trees = configTrees();
  const cfg = emptyConfig();
  let mode: any = { id: 'config' };
  const run = (l: string) => { const r = runConfigLine(trees, mode, cfg, l); if (r.ok) mode = r.mode; return r; };
  t.ok(run('router eigrp 100').ok);
  t.equal(mode.id, 'config-router-eigrp');
  t.ok(run('network 10.0.0.0 0.0.0.255').ok);
  t.notOk(run('variance 0').ok, 'variance 0 rejected');
  t.notOk(run('router eigrp 70000').ok, 'AS out of range');
  t.ok(run('exit').ok);
  t.ok(run('no router eigrp 100').ok);
  t.equal(cfg.eigrp, undefined, 'no router eigrp leaves no trace');
  t.ok(run('router rip').ok, 'other routers still reach the catch-all');
  t.equal(mode.id, 'config-router');
});

t.test('from configuration to a speaker: interfaces by network/wildcard, rules, timers, keys, stub', async (t) => {
  const { speakerOptions, networkCovers } = await import('../appliance/routing/eigrp/from-config.js');
  const text = HUB.replace('interface Tunnel0', 'interface Ethernet0\n ip address 192.168.10.1 255.255.255.0\n!\ninterface Ethernet1\n ip address 172.16.0.1 255.255.0.0\n!\ninterface Tunnel0');
  const c = load(text);
  const o = speakerOptions(c, c.eigrp!.processes[0]);
  t.same(o.interfaces.map((i) => [i.name, i.passive]), [['Ethernet0', true], ['Tunnel0', false]], 'Ethernet1 (172.16/16) matches no network; Ethernet0 passive');
  const tu = o.interfaces.find((i) => i.name === 'Tunnel0')!;
  t.same(tu.rules, { splitHorizon: false, nextHopSelf: false }, 'the hub\'s no split-horizon / no next-hop-self reach the speaker');
  t.same([tu.helloInterval, tu.holdTime, tu.bandwidth, tu.delay], [10, 30, 100, 5000]);
  t.same(tu.auth, [{ mode: 'md5', keyId: 1, secret: 's3cret' }]);
  t.same(tu.summaries, [{ prefix: '192.168.0.0', len: 16 }], 'ip summary-address eigrp 100 192.168.0.0 255.255.0.0');
  t.same(o.originate.filter((r) => !r.external), [{ prefix: '192.168.10.0', len: 24, iface: 'Ethernet0' }, { prefix: '10.0.0.0', len: 24, iface: 'Tunnel0' }], 'networks matched by network statements: internal');
  t.same(o.originate.filter((r) => r.external).map((r) => [`${r.prefix}/${r.len}`, r.iface, r.external!.protocol, r.vector!.bandwidth, r.vector!.delay / 1e7]),
    [['172.16.0.0/16', 'Ethernet1', 11, 1_000_000, 1]], 'redistribute connected: Ethernet1\'s network, external (protocol connected), Ethernet1\'s metric; no static route to redistribute');
  t.same([o.routerId, o.variance, o.maxPaths, o.wide], ['1.1.1.1', 2, 6, false]);
  t.ok(networkCovers({ address: '10.0.0.0' }, '10.200.1.1'), 'no wildcard: classful (10/8)');
  t.notOk(networkCovers({ address: '10.0.0.0', wildcard: '0.0.0.255' }, '10.0.1.1'));
  const spoke = load('interface Tunnel0\n ip address 10.0.0.11 255.255.255.0\n!\nrouter eigrp 100\n network 10.0.0.0 0.0.0.255\n eigrp stub connected\n');
  t.same(speakerOptions(spoke, spoke.eigrp!.processes[0]).stub, 1, 'stub connected -> flag 0x01');
  t.same(speakerOptions(spoke, spoke.eigrp!.processes[0]).interfaces[0].rules, { splitHorizon: true, nextHopSelf: true }, 'IOS defaults');
});

t.test('named mode: af-interface default applies to every interface, a named af-interface overrides it setting by setting', async (t) => {
  const { speakerOptions } = await import('../appliance/routing/eigrp/from-config.js');
  const text = `interface Ethernet0
 ip address 192.168.10.1 255.255.255.0
!
interface Tunnel0
 ip address 10.0.0.1 255.255.255.0
!
router eigrp DMVPN
 address-family ipv4 unicast autonomous-system 100
  af-interface default
   passive-interface
   no split-horizon
   hello-interval 2
  exit-af-interface
  af-interface Tunnel0
   no passive-interface
   split-horizon
   hold-time 9
  exit-af-interface
  network 10.0.0.0 0.0.0.255
  network 192.168.10.0 0.0.0.255
 exit-address-family
`;
  const c = load(text);
  t.same(c.eigrp!.processes[0].afInterfaces, [{ iface: 'default', passive: true, splitHorizon: false, helloInterval: 2 }, { iface: 'Tunnel0', passive: false, splitHorizon: true, holdTime: 9 }],
    'explicit on/off kept under the named af-interface');
  const o = speakerOptions(c, c.eigrp!.processes[0]);
  const by = Object.fromEntries(o.interfaces.map((i) => [i.name, [i.passive, i.rules.splitHorizon, i.helloInterval, i.holdTime]]));
  t.same(by, { Ethernet0: [true, false, 2, 15], Tunnel0: [false, true, 2, 9] }, 'Ethernet0 takes the defaults; Tunnel0 is active, split horizon on, hello 2 inherited, hold 9 its own');
  const out = renderConfig(c);
  t.match(out, /  af-interface Tunnel0\n   hold-time 9\n   split-horizon\n   no passive-interface\n  exit-af-interface/);
  t.same(noLines(load(out)), noLines(c), 'round trip');
  const dflt = load(text.replace('   no split-horizon\n', '   no split-horizon\n   split-horizon\n')).eigrp!.processes[0].afInterfaces![0];
  t.equal(dflt.splitHorizon, undefined, 'under af-interface default, split-horizon back on is the IOS default again');
});
