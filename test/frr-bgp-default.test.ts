// IOS redistributes a default route into BGP only under `default-information originate`; FRR's bgpd
// redistributes 0.0.0.0/0 like any other prefix. The translation keeps the config's default route out
// of bgpd's static filter unless the BGP process has `default-information originate`. Proven here on
// FRR 8.4 itself: the translated bgpd.conf runs beside zebra in a namespace whose kernel table holds
// the config's static routes as dmvpnd installs them, and bgpd's own table is read back.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { translate } from '../appliance/routing/frr/translate.js';
import { loadConfig } from './util/routing-configs.js';
import { waitFor, uniquePrefix } from './util/lab.js';
import { requireTools } from './util/needs.js';
import { FrrDaemon } from './util/frr-daemon.js';

requireTools(t, ['root', 'ip', 'vtysh']);

const spokeConfig = (defaultOriginate: boolean) => `hostname R2
interface FastEthernet0/0
 ip address 172.16.25.2 255.255.255.252
router bgp 65000
 neighbor 192.168.0.1 remote-as 65000
 redistribute static
${defaultOriginate ? ' default-information originate\n' : ''}ip route 0.0.0.0 0.0.0.0 172.16.25.1
ip route 10.99.0.0 255.255.0.0 172.16.25.1
`;

const NS = `${uniquePrefix('fbd')}-ns`;
const ipn = (...args: string[]) => {
  const r = spawnSync('ip', ['-n', NS, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${NS} ${args.join(' ')}: ${r.stderr}`);
};

/** bgpd's own prefixes after it read `bgpdConf`, zebra and bgpd running in NS. */
async function bgpPrefixes(t: Test, bgpdConf: string): Promise<string[]> {
  const frr = new FrrDaemon(NS, 'bgpd', bgpdConf, ['-p', '0']);
  t.teardown(() => frr.stop());
  await frr.start();
  let prefixes: string[] = [];
  // the 10.99/16 route is redistributed in both cases: wait for it, then read the whole table
  await waitFor(() => {
    try { prefixes = Object.keys(JSON.parse(frr.vtysh('show ip bgp json')).routes ?? {}); } catch { prefixes = []; }
    return prefixes.includes('10.99.0.0/16');
  }, 30000, 250);
  return prefixes.sort();
}

t.before(() => {
  spawnSync('ip', ['netns', 'del', NS]);
  spawnSync('ip', ['netns', 'add', NS]);
  ipn('link', 'set', 'lo', 'up');
  ipn('link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wan1');
  ipn('addr', 'add', '172.16.25.2/30', 'dev', 'wan0');
  ipn('link', 'set', 'wan0', 'up');
  ipn('link', 'set', 'wan1', 'up');
  // the config's static routes as config apply installs them (protocol static, the distance as metric)
  ipn('route', 'add', '0.0.0.0/0', 'via', '172.16.25.1', 'proto', 'static', 'metric', '1');
  ipn('route', 'add', '10.99.0.0/16', 'via', '172.16.25.1', 'proto', 'static', 'metric', '1');
});
t.teardown(() => { spawnSync('ip', ['netns', 'del', NS]); });

const osName = (ios: string) => (ios === 'FastEthernet0/0' ? 'wan0' : undefined);

t.test('without default-information originate: the static default stays out of BGP', async (t) => {
  const conf = translate(loadConfig(spokeConfig(false)), osName).bgpd!;
  t.notMatch(conf, /permit 0\.0\.0\.0\/0/, 'the filter does not list the default');
  t.same(await bgpPrefixes(t, conf), ['10.99.0.0/16'], 'bgpd has the static route and not 0.0.0.0/0');
});

t.test('with default-information originate: the static default is redistributed', async (t) => {
  const conf = translate(loadConfig(spokeConfig(true)), osName).bgpd!;
  t.match(conf, /permit 0\.0\.0\.0\/0/, 'the filter lists the default');
  t.same(await bgpPrefixes(t, conf), ['0.0.0.0/0', '10.99.0.0/16'], 'bgpd has both');
});
