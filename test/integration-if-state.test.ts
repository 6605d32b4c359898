// `if-state nhrp` in namespaces: hub R1 and spoke R2 (seed-003 addressing). R2 routes the hub's LAN
// through the tunnel (distance 1) and has a floating static for it over the Internet (distance 250);
// the Internet namespace routes both LANs to the routers' WAN addresses, so the backup path works
// without the tunnel. The hub process is killed: R2's NHS goes down after the unanswered retries,
// its tunnel's line protocol goes down, the tunnel route is flagged linkdown and skipped, and h2 -> h1
// pings go over the backup. The hub comes back: R2 registers, the line protocol comes up and the
// overlay route carries the traffic again (Tunnel0's counters grow).
import t from 'tap';
import { Lab, waitFor, nsExec } from './util/lab.js';
import { routerConfig, nhsOf, diagnostics, okOr, tun, wan, lan, host } from './util/dmvpn.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, LAB_NEEDS);

const M24 = '255.255.255.0';
const HUB = 'R1', SPOKE = 'R2';

const hubConfig = routerConfig({ n: 1, holdtime: 30, registrationTimeout: 3, routes: [[lan(2), M24, tun(2)]] });
const spokeConfig = routerConfig({ n: 2, nhs: [{ n: 1 }], holdtime: 30, registrationTimeout: 3, routes: [[lan(1), M24, tun(1)]] })
  .replace(' tunnel source', ' if-state nhrp\n tunnel source')
  .replace('\nend', `\nip route ${lan(1)} ${M24} 172.16.25.1 250\nend`);

t.test('if-state nhrp: the tunnel follows its NHS and a floating static takes over', async (t) => {
  const lab = new Lab(`mi-if${process.pid % 1000}`, 1);
  t.teardown(() => lab.down());
  lab.up();
  const inet = lab.ns('inet');
  nsExec(inet, ['ip', 'route', 'add', `${lan(1)}/24`, 'via', wan(1)]);
  nsExec(inet, ['ip', 'route', 'add', `${lan(2)}/24`, 'via', wan(2)]);
  // R1's addresses as its config sets them, so the backup path works before the hub ever runs
  const r1 = lab.ns(HUB);
  nsExec(r1, ['ip', 'addr', 'add', `${wan(1)}/30`, 'dev', 'eth0']);
  nsExec(r1, ['ip', 'addr', 'add', '10.0.1.1/24', 'dev', 'eth1']);
  nsExec(r1, ['ip', 'route', 'add', 'default', 'via', '172.16.15.1']);
  const r2 = lab.ns(SPOKE);
  const routeDev = () => /dev (\S+)/.exec(nsExec(r2, ['ip', 'route', 'get', host(1)], { allowFail: true }).stdout)?.[1];
  // The kernel applies a carrier change in its link-watch work, not in TUNSETCARRIER itself: a carrier
  // off is batched up to a second after the previous link event, and only then are the routes flagged
  // linkdown. So the route follows the line protocol by up to about a second (CI once saw Tunnel0).
  const routeVia = (dev: string) => waitFor(() => routeDev() === dev, 10000, 100).then(() => routeDev());
  const tunnelTx = () => Number(nsExec(r2, ['cat', '/sys/class/net/Tunnel0/statistics/tx_packets'], { allowFail: true }).stdout.trim() || 0);
  const lineUp = () => /Tunnel0 is up, line protocol is up/.test(lab.ctl(SPOKE, 'show interfaces Tunnel0'));
  const lineDown = () => /Tunnel0 is up, line protocol is down/.test(lab.ctl(SPOKE, 'show interfaces Tunnel0'));
  const briefTunnel = () => lab.ctlJson<Array<{ name: string; protocolUp: boolean }>>(SPOKE, 'show ip interface brief').find((r) => r.name === 'Tunnel0');
  const hubCfg = lab.writeConfig(HUB, hubConfig);
  lab.start(SPOKE, lab.writeConfig(SPOKE, spokeConfig));

  t.test('no NHS has answered yet: line protocol down, the backup route carries the traffic', async (t) => {
    okOr(t, await waitFor(() => lineDown(), 20000), `R2 Tunnel0 line protocol down while the hub is not running`, () => diagnostics(lab, [SPOKE]));
    t.equal(await routeVia('eth0'), 'eth0', 'the route to h1 leaves through the WAN (floating static)');
    t.match(nsExec(r2, ['ip', 'route', 'show', `${lan(1)}/24`]).stdout, /dev Tunnel0 .*linkdown/, 'the tunnel route is kept, flagged linkdown');
    t.ok(lab.ping(lab.ns('h2'), host(1), 3), 'h2 -> h1 over the backup path');
  });

  t.test('the hub answers: line protocol up, the overlay route is used', async (t) => {
    lab.start(HUB, hubCfg);
    okOr(t, await waitFor(() => lineUp(), 90000), `R2 Tunnel0 came up`, () => diagnostics(lab, [HUB, SPOKE]));
    t.equal(nhsOf(lab, SPOKE)[0]?.up, true, 'R2 NHS up');
    t.equal(await routeVia('Tunnel0'), 'Tunnel0', 'the route to h1 goes through the tunnel again');
    const before = tunnelTx();
    t.ok(lab.ping(lab.ns('h2'), host(1), 3), 'h2 -> h1 over the tunnel');
    t.ok(tunnelTx() >= before + 3, `Tunnel0 carried the pings (tx ${before} -> ${tunnelTx()})`);
    t.match(lab.ctl(SPOKE, 'show dmvpn detail'), /Interface Tunnel0 is up\/up,/, 'show dmvpn detail: up/up');
    const brief = briefTunnel();
    t.equal(brief?.protocolUp, true, 'show ip interface brief: Tunnel0 protocol up');
  });

  t.test('the hub dies: line protocol down, the tunnel route skipped, the backup carries pings', async (t) => {
    await lab.stop(HUB, 'SIGKILL');
    okOr(t, await waitFor(() => lineDown(), 60000), `R2 Tunnel0 line protocol went down`, () => diagnostics(lab, [SPOKE]));
    t.equal(nhsOf(lab, SPOKE)[0]?.up, false, 'R2 NHS down');
    t.equal(await routeVia('eth0'), 'eth0', 'the route to h1 leaves through the WAN (floating static)');
    t.match(nsExec(r2, ['ip', 'route', 'show', `${lan(1)}/24`]).stdout, /dev Tunnel0 .*linkdown/, 'the tunnel route is kept, flagged linkdown');
    const before = tunnelTx();
    t.ok(lab.ping(lab.ns('h2'), host(1), 3), 'h2 -> h1 over the backup path');
    t.equal(tunnelTx(), before, 'nothing went into the tunnel');
    t.equal(briefTunnel()?.protocolUp, false, 'show ip interface brief: Tunnel0 protocol down');
    t.match(lab.ctl(SPOKE, 'show dmvpn detail'), /Interface Tunnel0 is up\/down,/, 'show dmvpn detail: up/down');
    // IOS takes a down interface's routes out of the table: show ip route has the floating static only
    const shown = lab.ctl(SPOKE, 'show ip route static');
    t.match(shown, new RegExp(`S\\s+${lan(1).replace(/\./g, '\\.')}/24 \\[250/0\\] via 172\\.16\\.25\\.1`), 'show ip route: the floating static [250/0]');
    t.notMatch(shown, /Tunnel0/, 'show ip route: no route through the down tunnel');
  });

  t.test('the hub comes back: line protocol up, the overlay route carries the traffic again', async (t) => {
    lab.start(HUB, hubCfg);
    okOr(t, await waitFor(() => lineUp(), 100000, 500), `R2 Tunnel0 came back up`, () => diagnostics(lab, [HUB, SPOKE]));
    t.equal(await routeVia('Tunnel0'), 'Tunnel0', 'the route to h1 goes through the tunnel again');
    const before = tunnelTx();
    t.ok(lab.ping(lab.ns('h2'), host(1), 3), 'h2 -> h1 over the tunnel');
    t.ok(tunnelTx() >= before + 3, 'Tunnel0 carried the pings');
    t.match(lab.ctl(SPOKE, 'show ip route static'), new RegExp(`S\\s+${lan(1).replace(/\./g, '\\.')}/24 \\[1/0\\] via 192\\.168`), 'show ip route: the tunnel route is back');
    const changes = lab.ctl(SPOKE, 'show logging').split('\n').filter((l) => /%LINEPROTO-5-UPDOWN: Line protocol on Interface Tunnel0, changed state to/.test(l));
    t.same(changes.map((l) => /to (\w+)$/.exec(l)?.[1]), ['down', 'up', 'down', 'up'], 'one log line per change');
  });
});
