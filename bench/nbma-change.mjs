// Time from a spoke's NBMA address change to traffic flowing again (issue 12): seed addressing, hub R1,
// spokes R2 and R3 in Phase 2 (each spoke routes the other's LAN to its tunnel address). R2's WAN
// address is the OS's (not in its startup-config; `tunnel source FastEthernet0/0` follows it) and R2
// registers with `ip nhrp registration no-unique`. h3 pings h2 every 5 ms (ping -D); the bench moves
// R2's eth0 between 172.16.25.2/30 and 172.16.27.2/24 as a new DHCP lease would (`ip addr del/add`,
// new default route). Figure: the first echo reply to a request sent after the new address and route
// are in place, minus that moment. Split
// from R2's log: tunnel restarted on the new address (netlink address events), NHS accepted it.
// Prints figures, asserts nothing.   node bench/nbma-change.mjs [runs, default 6]
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { root, sh, nsx, onCleanup, ctlJson, waitFor, startDmvpnd, sleep, stats } from './lib/nhrp-bench.mjs';

const RUNS = Number(process.argv[2] ?? 6);
const P = `minb${process.pid % 1000}`;
const TOPO = join(root, 'test/lab/topology.sh');
const run = mkdtempSync(join(tmpdir(), 'dmvnbma-'));
const ns = (n) => `${P}-${n}`;
const LEASES = [{ addr: '172.16.25.2', len: 30, gw: '172.16.25.1' }, { addr: '172.16.27.2', len: 24, gw: '172.16.27.1' }];

function config(n) {
  const others = [1, 2, 3].filter((m) => m !== n).map((m) => `ip route 10.0.${m}.0 255.255.255.0 192.168.0.${m}`);
  const spoke = n !== 1;
  return [
    `hostname R${n}`, '!',
    ...(n === 2 ? [] : ['interface FastEthernet0/0', ` ip address 172.16.${n}5.2 255.255.255.252`, '!']),
    'interface FastEthernet0/1', ` ip address 10.0.${n}.1 255.255.255.0`, '!',
    'interface Tunnel0', ` ip address 192.168.0.${n} 255.255.255.0`, ' ip mtu 1400',
    ...(spoke ? [' ip nhrp map 192.168.0.1 172.16.15.2', ' ip nhrp map multicast 172.16.15.2'] : [' ip nhrp map multicast dynamic']),
    ' ip nhrp network-id 1', ...(spoke ? [' ip nhrp nhs 192.168.0.1'] : []),
    ' ip nhrp holdtime 60', ' ip nhrp registration timeout 5',
    ...(n === 2 ? [' ip nhrp registration no-unique'] : []),
    ' tunnel source FastEthernet0/0', ' tunnel mode gre multipoint', '!',
    ...(n === 2 ? [] : [`ip route 0.0.0.0 0.0.0.0 172.16.${n}5.1`]),
    ...others, 'end', '',
  ].join('\n');
}

/** `2026-12-04 21:54:24.276 R2: %...` -> epoch ms (the appliance logs UTC). */
const logTime = (line) => Date.parse(line.slice(0, 23).replace(' ', 'T') + 'Z');

onCleanup(() => { sh('bash', [TOPO, 'down', P], { allowFail: true }); rmSync(run, { recursive: true, force: true }); });
sh('bash', [TOPO, 'up', P, '2']);
nsx(ns('inet'), ['ip', 'addr', 'add', '172.16.27.1/24', 'dev', 'r2']);
nsx(ns('r2'), ['ip', 'addr', 'add', '172.16.25.2/30', 'dev', 'eth0']);
nsx(ns('r2'), ['ip', 'route', 'add', 'default', 'via', '172.16.25.1']);
const routers = {};
for (const n of [1, 3, 2]) {
  const cfg = join(run, `R${n}.cfg`);
  writeFileSync(cfg, config(n));
  routers[n] = startDmvpnd(ns(`r${n}`), { config: cfg, control: join(run, `R${n}.sock`) });
}
const hubSees = async (addr) => ((await ctlJson(routers[1].control, 'show dmvpn')).interfaces?.[0]?.peers ?? [])
  .some((p) => p.tunnel === '192.168.0.2' && p.nbma === addr && p.state === 'UP');
if (!(await waitFor(() => hubSees(LEASES[0].addr), 30000, 200))) {
  console.log(`hub did not learn R2:\n${routers[2].log.slice(-15).join('\n')}`);
  process.exit(0);
}
nsx(ns('h3'), ['ping', '-c', '5', '-i', '0.2', '-W', '2', '10.0.2.10'], { allowFail: true }); // warm-up: resolution, ARP

const times = [], seen = [], registered = [], detail = [];
let lease = 0;
for (let i = 0; i < RUNS; i++) {
  const ping = spawn('ip', ['netns', 'exec', ns('h3'), 'ping', '-D', '-i', '0.005', '-w', '30', '10.0.2.10'], { stdio: ['ignore', 'pipe', 'ignore'] });
  onCleanup(() => { if (ping.exitCode === null) try { ping.kill('SIGKILL'); } catch { /* gone */ } });
  let out = '';
  ping.stdout.on('data', (d) => { out += d; });
  await sleep(1000);
  const from = LEASES[lease], to = LEASES[1 - lease];
  const logFrom = routers[2].log.length;
  nsx(ns('r2'), ['ip', 'addr', 'del', `${from.addr}/${from.len}`, 'dev', 'eth0']);
  nsx(ns('r2'), ['ip', 'addr', 'add', `${to.addr}/${to.len}`, 'dev', 'eth0']);
  nsx(ns('r2'), ['ip', 'route', 'replace', 'default', 'via', to.gw]);
  const t0 = Date.now(); // the new lease is in place: from here only the new address can carry traffic
  lease = 1 - lease;
  // the first reply to an echo request sent after the change (receive time minus RTT = send time)
  const replyAfter = () => [...out.matchAll(/^\[(\d+\.\d+)\] .*icmp_seq=\d+ .*time=([\d.]+) ms/gm)]
    .map((m) => ({ at: Number(m[1]) * 1000, sent: Number(m[1]) * 1000 - Number(m[2]) })).find((r) => r.sent > t0)?.at;
  const back = await waitFor(() => replyAfter(), 25000, 20);
  ping.kill('SIGINT');
  await waitFor(() => hubSees(to.addr), 10000, 200);
  const log = routers[2].log.slice(logFrom);
  // a DHCP-like change is two address events (old lease gone: tunnel down; new one added: tunnel up)
  const sawAt = log.find((l) => /tunnel source address changed|tunnel source \S+ is present: tunnel up/.test(l));
  const upAt = log.find((l) => /NHS 192\.168\.0\.1 .* up/.test(l));
  if (back) times.push(back - t0);
  if (sawAt) seen.push(logTime(sawAt) - t0);
  if (sawAt && upAt) registered.push(logTime(upAt) - t0);
  detail.push(`${to.addr}: ${back ? (back - t0).toFixed(0) : 'none'}`);
  if (!back && process.env.DMV_BENCH_DEBUG) {
    const { ctl } = await import('./lib/nhrp-bench.mjs');
    for (const n of [1, 2, 3]) console.log(`--- R${n}\n${await ctl(routers[n].control, 'show ip nhrp')}${await ctl(routers[n].control, 'show ip nhrp traffic')}${routers[n].log.slice(-12).join('\n')}`);
  }
  await sleep(1000);
}
for (const n of [2, 3, 1]) await routers[n].stop();
const f = (s) => `min ${s.min?.toFixed(0)}  median ${s.median?.toFixed(0)}  max ${s.max?.toFixed(0)}`;
const s = stats(times);
console.log(`NBMA address change of a spoke (no-unique), h3 -> h2 ping every 5 ms: traffic flows again after, ms: ${f(s)}  (${s.n}/${RUNS} runs)`);
console.log(`  of which: tunnel up on the new address (netlink address events) ${f(stats(seen))}; NHS accepted the new address ${f(stats(registered))}`);
console.log(`  per run (new address: ms): ${detail.join('  ')}`);
