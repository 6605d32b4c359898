// The interactive engine: abbreviations, ambiguity, caret column, incomplete, `?` help, Tab,
// modes/prompts, `no` forms and atomic apply through the supervisor callback.
import t from 'tap';
import { CliSession } from '../appliance/console/session.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import type { ApplianceConfig } from '../appliance/config/model.js';

function mk(reject?: (c: ApplianceConfig) => string | undefined) {
  const r = parseStartupConfig('hostname R1\ninterface FastEthernet0/0\n ip address 172.16.15.2 255.255.255.252\n');
  if (!r.ok) throw new Error('fixture');
  const st = { cfg: r.config, applied: 0, calls: [] as string[] };
  const s = new CliSession({
    hostname: () => st.cfg.hostname,
    getConfig: () => st.cfg,
    applyConfig: next => {
      const why = reject?.(next);
      if (why) return { ok: false, message: why };
      st.cfg = next; st.applied++; return { ok: true };
    },
    exec: {
      'show dmvpn': () => 'DMVPN-OUT\n',
      'show dmvpn detail': () => 'DMVPN-DETAIL\n',
      'show ip nhrp': () => 'NHRP-OUT\n',
      'show ip nhrp brief': () => 'NHRP-BRIEF\n',
      'show ip nhrp {addr:ipv4}': a => `NHRP-FOR ${a.p.addr}\n`,
      'clear ip nhrp': () => { st.calls.push('clear'); return ''; },
    },
  });
  return { s, st };
}

t.test('abbreviations and modes', async t => {
  const { s, st } = mk();
  t.equal(s.prompt, 'R1>');
  t.equal(s.feed('sh dmv'), 'DMVPN-OUT\n');
  t.equal(s.feed('sh ip nh'), 'NHRP-OUT\n');
  t.equal(s.feed('sh ip nh br'), 'NHRP-BRIEF\n');
  t.equal(s.feed('SH IP NHRP 10.0.0.1'), 'NHRP-FOR 10.0.0.1\n');
  t.match(s.feed('clear ip nhrp'), /Invalid input/, 'clear needs enable');
  t.equal(s.feed('en'), '');
  t.equal(s.prompt, 'R1#');
  t.equal(s.feed('clear ip nhrp'), '');
  t.same(st.calls, ['clear']);
  t.match(s.feed('conf t'), /Enter configuration commands/);
  t.equal(s.prompt, 'R1(config)#');
  t.equal(s.feed('int tu0'), '');
  t.equal(s.prompt, 'R1(config-if)#');
  t.ok(st.cfg.interfaces.some(i => i.name === 'Tunnel0'), 'interface created and applied');
  t.equal(s.feed('do sh dmv'), 'DMVPN-OUT\n');
  t.equal(s.feed('exit'), '');
  t.equal(s.prompt, 'R1(config)#');
  t.equal(s.feed('crypto ipsec profile P'), '', 'IPsec profiles are active (manual SAs)');
  t.equal(s.prompt, 'R1(ipsec-profile)#');
  t.equal(s.feed('crypto ipsec transform-set T esp-gcm 256'), '', 'global command from sub-mode');
  t.equal(s.prompt, 'R1(cfg-crypto-trans)#');
  s.feed('mode transport');
  t.equal(st.cfg.crypto.transformSets?.[0].mode, 'transport');
  s.feed('crypto isakmp policy 10');
  t.equal(s.prompt, 'R1(config-isakmp)#');
  s.feed('crypto ipsec manual-sa M');
  t.equal(s.prompt, 'R1(config-manual-sa)#');
  s.feed('interface Tunnel0');
  t.equal(s.prompt, 'R1(config-if)#', 'interface from a crypto sub-mode switches to config-if');
  t.equal(s.feed('end'), '');
  t.equal(s.prompt, 'R1#');
  s.feed('disable');
  t.equal(s.prompt, 'R1>');
  s.feed('exit');
  t.equal(s.closed, true);
});

t.test('ambiguous, invalid with caret column, incomplete', async t => {
  const { s } = mk();
  s.feed('enable');
  t.equal(s.feed('c'), '% Ambiguous command:  "c"\n', 'clear/configure');
  // caret sits under the first wrong character, offset by the prompt "R1#"
  t.equal(s.feed('sh dmvx'), '         ^\n% Invalid input detected at \'^\' marker.\n');
  t.equal(s.feed('show ipx'), '          ^\n% Invalid input detected at \'^\' marker.\n');
  t.equal(s.feed('sh ip nhrp 1.2.3.400'), `${' '.repeat(14)}^\n% Invalid input detected at '^' marker.\n`);
  t.equal(s.feed('show'), '% Incomplete command.\n');
  t.equal(s.feed('sh ip'), '% Incomplete command.\n');
  s.feed('conf t');
  t.equal(s.feed('interface Tunnel0'), '');
  t.equal(s.feed('ip mtu 99999'), `${' '.repeat('R1(config-if)#ip mtu '.length)}^\n% Invalid input detected at '^' marker.\n`);
  t.equal(s.feed('ip nhrp'), '% Incomplete command.\n');
  t.equal(s.feed('no ip nhrp'), '% Incomplete command.\n');
  t.equal(s.feed('ip nhrp re'), '% Ambiguous command:  "ip nhrp re"\n', 'redirect/registration');
  t.equal(s.feed('tunnel mode gre mult'), '');
});

t.test('no forms and atomic apply', async t => {
  const { s, st } = mk(c => (c.interfaces.some(i => i.kind === 'tunnel' && i.number === 13) ? 'Tunnel13 is reserved' : undefined));
  s.feed('enable'); s.feed('conf t');
  s.feed('int tu0');
  s.feed('ip addr 10.0.0.1 255.255.255.0');
  s.feed('ip nhrp nhs 10.0.0.254 nbma 1.1.1.1 priority 2');
  const tun = () => st.cfg.interfaces.find(i => i.name === 'Tunnel0') as any;
  t.same(tun().nhrp.nhs, [{ tunnelIp: '10.0.0.254', nbma: '1.1.1.1', priority: 2 }]);
  s.feed('no ip nhrp nhs 10.0.0.254');
  t.same(tun().nhrp.nhs, []);
  s.feed('no ip address');
  t.notOk('address' in tun());
  s.feed('shut');
  t.equal(tun().shutdown, true);
  s.feed('no shut');
  t.equal(tun().shutdown, false);
  s.feed('exit');
  const before = st.cfg;
  const n = st.applied;
  t.equal(s.feed('interface Tunnel13'), '% Tunnel13 is reserved\n');
  t.equal(s.prompt, 'R1(config)#', 'rejected command does not change mode');
  t.equal(st.cfg, before, 'config untouched');
  t.equal(st.applied, n);
  t.equal(s.feed('hostname Edge-1'), '');
  t.equal(s.prompt, 'Edge-1(config)#');
  s.feed('no hostname');
  t.equal(st.cfg.hostname, 'Router');
  t.equal(s.feed('exit'), '');
  t.equal(s.prompt, 'Router#');
  t.match(s.feed('sh run'), /Building configuration\.\.\.\n\nCurrent configuration : \d+ bytes\n!\nhostname Router\n/);
});

t.test('? help and Tab completion', async t => {
  const { s } = mk();
  t.equal(s.feed('sh?'), 'show  \n');
  t.equal(s.feed('show ?'), '  dmvpn  DMVPN information\n  ip     Interface Internet Protocol config commands\n');
  s.feed('enable');
  t.equal(s.feed('show ?'), [
    '  dmvpn           DMVPN information',
    '  ip              Interface Internet Protocol config commands',
    '  running-config  Current operating configuration', ''].join('\n'));
  t.equal(s.feed('sh dmvpn ?'), '  detail  Detailed information\n  <cr>\n');
  t.equal(s.complete('sh'), 'show ');
  t.equal(s.complete('sh dm'), 'sh dmvpn ');
  t.equal(s.complete('c'), 'c', 'ambiguous: unchanged');
  t.equal(s.complete('conf'), 'configure ');
  t.equal(s.complete('show ip nhrp 1'), 'show ip nhrp 1', 'parameters are not completed');
  s.feed('conf t'); s.feed('int tu0');
  t.equal(s.feed('ip nhrp nhs ?'), '  dynamic  Learn mappings from registration requests\n  A.B.C.D  Next hop server address\n');
  t.equal(s.feed('tunnel mode gre ?'), '  ip          over IP\n  multipoint  over IP (multipoint)\n');
  t.equal(s.feed('ip mtu ?'), '  <68-9216>  MTU (bytes)\n');
  t.equal(s.complete('tunnel mo'), 'tunnel mode ');
  t.equal(s.complete('no ip nhrp net'), 'no ip nhrp network-id ');
  t.match(s.feed('interface ?'), /Tunnel +Tunnel interface/, 'global help from a sub-mode');
  t.match(s.feed('ip xyz ?'), /\^\n% Invalid input/);
});
