// A spoke whose WAN address changes during traffic (DHCP/PPPoE-like), in namespaces: hub R1, spokes R2
// and R3 (Phase 2: each spoke routes the other's LAN to its tunnel address). R2's WAN interface is not
// in its startup-config: the OS gives eth0 its address and default route (as a DHCP client would) and
// `tunnel source FastEthernet0/0` follows it. While h3 pings h2, the test moves R2's eth0 from
// 172.16.25.2/30 to 172.16.27.2/24 (`ip addr del/add`, a new default route).
//  - `ip nhrp registration no-unique`: R2 restarts its tunnel on the new address and registers at once,
//    the hub takes the new NBMA address at once and purges R3's old binding of R2; the ping stream
//    resumes; `show dmvpn` on the hub and R3 show the new NBMA address.
//  - without it (unique, the IOS default): the hub refuses the new address with code 14 (counted,
//    R2's NHS shows the NAK) until the old entry expires (holdtime 20 s), then takes it.
import t from 'tap';
import { spawn } from 'node:child_process';
import { Lab, waitFor, nsExec, sleep } from './util/lab.js';
import { routerConfig, peersOf, nhsOf, trafficOf, diagnostics, okOr, tun, wan, lan, host } from './util/dmvpn.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, LAB_NEEDS);

const M24 = '255.255.255.0';
const HUB = 'R1', S2 = 'R2', S3 = 'R3';
const OLD = wan(2), NEW = '172.16.27.2';
const HOLD = 20;

const phase2 = (n: number) => [1, 2, 3].filter((m) => m !== n).map((m) => [lan(m), M24, tun(m)] as [string, string, string]);
/** R2 without its WAN interface in the config (the OS owns eth0) and without the default route. */
const spoke2 = (noUnique: boolean) => routerConfig({ n: 2, nhs: [{ n: 1 }], holdtime: HOLD, registrationTimeout: 3, routes: phase2(2) })
  .replace(/interface FastEthernet0\/0\n ip address \S+ \S+\n!\n/, '')
  .replace(/ip route 0\.0\.0\.0 0\.0\.0\.0 \S+\n/, '')
  .replace(' tunnel source', noUnique ? ' ip nhrp registration no-unique\n tunnel source' : ' tunnel source');

const refused = (lab: Lab, r: string, k: string) => (trafficOf(lab, r) as { refused?: Record<string, number> }).refused?.[k] ?? 0;
const nbmaOf = (lab: Lab, r: string, tunnelIp: string) => peersOf(lab, r).find((p) => p.tunnel === tunnelIp)?.nbma;

/** Moves R2's WAN address as a DHCP client given a new lease would. */
function moveWan(lab: Lab, from: { addr: string; len: number; gw: string }, to: { addr: string; len: number; gw: string }): void {
  const r2 = lab.ns(S2);
  nsExec(r2, ['ip', 'addr', 'del', `${from.addr}/${from.len}`, 'dev', 'eth0']);
  nsExec(r2, ['ip', 'addr', 'add', `${to.addr}/${to.len}`, 'dev', 'eth0']);
  nsExec(r2, ['ip', 'route', 'replace', 'default', 'via', to.gw]);
}
const OLD_LEASE = { addr: OLD, len: 30, gw: '172.16.25.1' };
const NEW_LEASE = { addr: NEW, len: 24, gw: '172.16.27.1' };

/** Background `ping -D` from h3 to h2; returns the seq numbers and times of the replies. */
function pingStream(lab: Lab, seconds: number) {
  const p = spawn('ip', ['netns', 'exec', lab.ns('h3'), 'ping', '-D', '-i', '0.1', '-w', String(seconds), host(2)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d) => { out += d; });
  const done = new Promise<void>((res) => p.once('exit', () => res()));
  return {
    stop: async () => { p.kill('SIGINT'); await Promise.race([done, sleep(3000)]); },
    replies: () => [...out.matchAll(/^\[(\d+\.\d+)\] .*icmp_seq=(\d+)/gm)].map((m) => ({ at: Number(m[1]) * 1000, seq: Number(m[2]) })),
  };
}

t.test('NBMA address change of a spoke during traffic', async (t) => {
  const lab = new Lab(`mi-nb${process.pid % 1000}`, 2);
  t.teardown(() => lab.down());
  lab.up();
  nsExec(lab.ns('inet'), ['ip', 'addr', 'add', '172.16.27.1/24', 'dev', 'r2']);
  const r2 = lab.ns(S2);
  nsExec(r2, ['ip', 'addr', 'add', `${OLD}/30`, 'dev', 'eth0']);
  nsExec(r2, ['ip', 'route', 'add', 'default', 'via', '172.16.25.1']);
  lab.start(HUB, lab.writeConfig(HUB, routerConfig({ n: 1, holdtime: HOLD, registrationTimeout: 3, routes: phase2(1) })));
  lab.start(S3, lab.writeConfig(S3, routerConfig({ n: 3, nhs: [{ n: 1 }], holdtime: HOLD, registrationTimeout: 3, routes: phase2(3) })));
  lab.start(S2, lab.writeConfig(S2, spoke2(true)));
  const all = [HUB, S2, S3];
  if (!(await waitFor(() => nbmaOf(lab, HUB, tun(2)) === OLD && nbmaOf(lab, HUB, tun(3)) === wan(3), 30000))) {
    t.fail(`spokes did not register:\n${diagnostics(lab, all)}`);
    return;
  }

  t.test('no-unique: registered at once from the new address, the hub and R3 follow, the stream resumes', async (t) => {
    t.ok(await waitFor(() => lab.ping(lab.ns('h3'), host(2), 2), 20000), 'h3 -> h2 before the change');
    t.equal(nbmaOf(lab, S3, tun(2)), OLD, 'R3 talks to R2 directly at its old address');
    const purgesBefore = trafficOf(lab, HUB).out['purge-request'] ?? 0;
    const stream = pingStream(lab, 90);
    await sleep(3000);
    const changedAt = Date.now();
    moveWan(lab, OLD_LEASE, NEW_LEASE);
    okOr(t, await waitFor(() => nbmaOf(lab, HUB, tun(2)) === NEW, 30000), `hub: R2 at ${NEW}`, () => diagnostics(lab, all));
    const resumed = await waitFor(() => stream.replies().some((r) => r.at > changedAt + 100 && nbmaOf(lab, S3, tun(2)) === NEW), 60000, 500);
    await sleep(2000);
    await stream.stop();
    const replies = stream.replies();
    const before = replies.filter((r) => r.at < changedAt), after = replies.filter((r) => r.at > changedAt);
    t.ok(before.length > 5, `replies before the change (${before.length})`);
    t.ok(resumed && after.length > 5, `the stream resumed (${after.length} replies after the change)`);
    if (before.length && after.length) {
      const gap = after[0].at - changedAt;
      t.comment(`first reply ${(gap / 1000).toFixed(2)} s after the address change`);
    }
    t.equal(nbmaOf(lab, S3, tun(2)), NEW, 'R3 sends to R2\'s new address');
    t.match(lab.ctl(HUB, 'show ip nhrp'), new RegExp(`${tun(2).replace(/\./g, '\\.')}/32 via[\\s\\S]*?NBMA address: ${NEW.replace(/\./g, '\\.')}`), 'show ip nhrp on the hub');
    t.equal(refused(lab, HUB, 'registration-unique'), 0, 'nothing refused');
    t.ok((trafficOf(lab, HUB).out['purge-request'] ?? 0) > purgesBefore, 'the hub purged R3\'s old binding');
    t.match(lab.routers.get(S2)!.log.join('\n'), /tunnel source address changed from 172\.16\.25\.2 to 172\.16\.27\.2|tunnel source 172\.16\.27\.2 is present: tunnel up/, 'R2 logged the change');
    t.equal(nhsOf(lab, S2)[0]?.up, true, 'R2 NHS up');
  });

  t.test('unique (default): refused with code 14 until the old entry expires, then taken', async (t) => {
    // R2 again, now registering uniquely (same address: accepted, the entry becomes unique)
    await lab.stop(S2);
    lab.start(S2, lab.writeConfig(S2, spoke2(false)));
    t.ok(await waitFor(() => nhsOf(lab, S2)[0]?.up === true, 30000), 'R2 registered uniquely');
    const refusedBefore = refused(lab, HUB, 'registration-unique');
    const movedAt = Date.now();
    moveWan(lab, NEW_LEASE, OLD_LEASE);
    okOr(t, await waitFor(() => refused(lab, HUB, 'registration-unique') > refusedBefore, 20000), `the hub refused the new address (counted)`, () => diagnostics(lab, [HUB, S2]));
    t.equal(nbmaOf(lab, HUB, tun(2)), NEW, 'the old binding holds');
    t.match(nhsOf(lab, S2)[0], { up: false, lastNak: { code: 14 } }, 'R2 saw code 14');
    okOr(t, await waitFor(() => nbmaOf(lab, HUB, tun(2)) === OLD, (HOLD + 64 + 40) * 1000, 1000), `taken once the old entry expired`, () => diagnostics(lab, all));
    t.ok((Date.now() - movedAt) / 1000 > HOLD - 5, 'not before the old entry could expire');
    t.ok(await waitFor(() => lab.ping(lab.ns('h3'), host(2), 2), 30000), 'h3 -> h2 again');
  });
});
