// IOS interface names -> OS interfaces (config/interfaces.ts, README "Interface names"), and IOS's
// `ip address` replacing the previous one. Pure: `exists` stands for the OS interfaces present.
import t from 'tap';
import fs from 'node:fs';
import { resolveOsNames, ruleOsName } from '../appliance/config/interfaces.js';
import { parseStartupConfig, originLine } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import type { ApplianceConfig } from '../appliance/config/model.js';

const load = (text: string): ApplianceConfig => {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
};
const have = (...os: string[]) => (n: string) => os.includes(n);
const ifs = (...names: string[]) => names.map(name => ({ name }));

t.test('rule name: type letters + numbers joined by -', async t => {
  t.equal(ruleOsName('FastEthernet0/0'), 'fa0-0');
  t.equal(ruleOsName('Serial4/0'), 'se4-0');
  t.equal(ruleOsName('GigabitEthernet0/0/1'), 'gi0-0-1');
  t.equal(ruleOsName('Ethernet0/1'), 'et0-1');
  t.equal(ruleOsName('TenGigabitEthernet1/2'), 'te1-2');
});

t.test('rule 1: an OS interface with the rule name wins (seed 004 R2)', async t => {
  const r = resolveOsNames(ifs('Serial4/0', 'Serial4/1', 'Serial4/2', 'FastEthernet0/0'), have('se4-0', 'se4-1', 'se4-2', 'fa0-0', 'eth0'));
  t.ok(r.ok);
  if (r.ok) t.same([...r.names], [['Serial4/0', 'se4-0'], ['Serial4/1', 'se4-1'], ['Serial4/2', 'se4-2'], ['FastEthernet0/0', 'fa0-0']]);
});

t.test('rule 2: os-interface under the interface, when the rule name does not exist', async t => {
  const r = resolveOsNames([{ name: 'FastEthernet0/0', osInterface: 'ens3' }, { name: 'Serial4/0', osInterface: 'ens4' }], have('ens3', 'ens4'));
  t.ok(r.ok);
  if (r.ok) t.same([...r.names], [['FastEthernet0/0', 'ens3'], ['Serial4/0', 'ens4']]);
  const missing = resolveOsNames([{ name: 'FastEthernet0/0', osInterface: 'ens9' }], have('ens3'));
  t.same(!missing.ok && missing.errors, ['interface FastEthernet0/0: os-interface ens9: no such OS interface']);
});

t.test('rule 3: last number -> ethN when unambiguous (seed 003 style)', async t => {
  const r = resolveOsNames(ifs('FastEthernet0/0', 'FastEthernet0/1'), have('eth0', 'eth1'));
  t.ok(r.ok);
  if (r.ok) t.same([...r.names], [['FastEthernet0/0', 'eth0'], ['FastEthernet0/1', 'eth1']]);
  const plain = resolveOsNames(ifs('eth3'), have('eth3'));
  t.ok(plain.ok && plain.names.get('eth3') === 'eth3', 'plain OS names pass through');
});

t.test('rule 4: a collision is refused, naming both and how to map', async t => {
  const r = resolveOsNames(ifs('Serial4/0', 'FastEthernet0/0'), have('eth0'));
  t.notOk(r.ok);
  if (!r.ok) {
    t.match(r.errors[0], /Serial4\/0 maps to eth0 \(last number\), which FastEthernet0\/0 also uses: name the OS interface se4-0 or add "os-interface <OS interface>" under interface Serial4\/0/);
    t.match(r.errors[1], /FastEthernet0\/0 maps to eth0.*Serial4\/0.*fa0-0/);
  }
  // one of them resolved by rule 1 still blocks the other's ethN only if it took that name
  const mixed = resolveOsNames([{ name: 'Serial4/0', osInterface: 'eth0' }, { name: 'FastEthernet0/0' }], have('eth0'));
  t.notOk(mixed.ok);
  if (!mixed.ok) t.match(mixed.errors.join('\n'), /FastEthernet0\/0 maps to eth0 \(last number\), which Serial4\/0 also uses/);
  const none = resolveOsNames(ifs('Serial4/0'), have());
  t.same(!none.ok && none.errors, ['interface Serial4/0: no OS interface se4-0 or eth0: name the OS interface se4-0 or add "os-interface <OS interface>" under interface Serial4/0']);
});

t.test('os-interface parses, renders and round-trips; refused on a tunnel', async t => {
  const c = load('interface FastEthernet0/0\n os-interface ens3\n ip address 10.0.0.1 255.255.255.0\n');
  t.equal((c.interfaces[0] as any).osInterface, 'ens3');
  t.strictSame(load(renderConfig(c)).interfaces, c.interfaces);
  const bad = parseStartupConfig('interface Tunnel0\n os-interface ens3\n');
  t.match(!bad.ok && bad.errors[0], { line: 2, message: /IOS-named LAN\/WAN interfaces only/ });
});

t.test('no ip proxy-arp (IOS default: on) parses and renders', async t => {
  const c = load('interface FastEthernet0/0\n no ip proxy-arp\ninterface FastEthernet0/1\n ip proxy-arp\n');
  t.equal((c.interfaces[0] as any).noProxyArp, true);
  t.equal((c.interfaces[1] as any).noProxyArp, undefined);
  t.match(renderConfig(c), /interface FastEthernet0\/0\n no ip address\n no ip proxy-arp\n/);
  t.strictSame(load(renderConfig(c)).interfaces, c.interfaces);
});

t.test('a second ip address replaces the first, as on IOS', async t => {
  const c = load('interface serial 4/0\n ip address 1.1.1.1 255.0.0.0\n no shutdown\n ip address 10.1.1.1 255.0.0.0\n');
  t.strictSame(c.interfaces[0].address, { address: '10.1.1.1', mask: '255.0.0.0' });
  t.equal(originLine(c.interfaces[0].address!), 4, 'the address remembers the line that set it');
  t.match(renderConfig(c), /interface Serial4\/0\n ip address 10\.1\.1\.1 255\.0\.0\.0\n!/);
  const bad = parseStartupConfig('interface fa0/0\n ip address 10.1.1.1 255.0.255.0\n');
  t.match(!bad.ok && bad.errors[0], { line: 2, message: '% Bad mask 0xFF00FF00 for address 10.1.1.1' });
  const route = parseStartupConfig('ip route 10.1.0.0 255.0.0.0 1.1.1.1\n');
  t.match(!route.ok && route.errors[0], { line: 1, message: '% Inconsistent address and mask' });
});

t.test('seed 004 configs load verbatim: keywords in any case, interface tunnel 999 with a space', async t => {
  const dir = new URL('./lab/configs/seed004/', import.meta.url);
  const r1 = load(fs.readFileSync(new URL('R1.cfg', dir), 'utf8'));
  t.same(r1.interfaces.map(i => [i.name, i.address?.address]), [['Serial4/0', '1.1.1.1'], ['FastEthernet0/0', '10.1.1.1'], ['Tunnel999', '192.168.1.1']],
    'as R1\'s show ip interface brief shows');
  const raw = load(fs.readFileSync(new URL('R1-as-transcribed.cfg', dir), 'utf8'));
  t.same(raw.interfaces.map(i => [i.name, i.address?.address]), [['Serial4/0', '10.1.1.1'], ['Tunnel999', '192.168.1.1']]);
  for (const r of ['R2', 'R3', 'R4']) t.ok(parseStartupConfig(fs.readFileSync(new URL(`${r}.cfg`, dir), 'utf8')).ok, `${r} loads`);
});

t.test('Loopback0 drives lo0, never an ethN port', async t => {
  const cfg = parseStartupConfig('interface Loopback0\n ip address 10.255.0.1 255.255.255.255\n');
  t.ok(cfg.ok && cfg.config.interfaces.some(i => i.name === 'Loopback0' && i.address?.mask === '255.255.255.255'), 'interface Loopback0 with a /32');
  t.equal(ruleOsName('Loopback0'), 'lo0');
  const r = resolveOsNames(ifs('Loopback0', 'FastEthernet0/0'), have('lo0', 'eth0'));
  t.same(r.ok && [...r.names], [['Loopback0', 'lo0'], ['FastEthernet0/0', 'eth0']]);
  const none = resolveOsNames(ifs('Loopback0'), have('eth0'));
  t.same(none.ok && [...none.names], [['Loopback0', 'lo0']], 'no fallback to eth0: lo0 is created at apply');
  const os = resolveOsNames([{ name: 'Loopback1', osInterface: 'dum1' }], have('dum1', 'eth1'));
  t.same(os.ok && [...os.names], [['Loopback1', 'dum1']], 'os-interface still works');
});
