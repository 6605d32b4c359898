// The kernel table against the real kernel, in a namespace made here (deleted in teardown, also on
// failure): `ip route` / `ip addr` / `ip link` changes become table events and changes of the real WASM
// FIB (test/routing/table-child.ts runs the table, the FIB and the data plane inside the namespace);
// NHRP shortcuts take precedence over the kernel route while they live; NHRP's "behind me" follows an
// address the OS puts on; route requests go through netlink with the kernel's ACK or refusal; and a
// notification overrun (the reader blocked while thousands of routes change) heals by a re-dump.
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { ROOT, waitFor } from './util/lab.js';
import { requireTools } from './util/needs.js';

requireTools(t, ['root', 'tun', 'ip']);

const NS = `kr-kt-${process.pid % 100000}`;
const ip = (...args: string[]) => {
  const r = spawnSync('ip', ['-n', NS, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ip -n ${NS} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** Python: an RTM_NEWROUTE 10.66.0.0/16 via 192.168.0.66 sent from a userspace netlink socket to port argv[1]. */
const FORGE = `
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.bind((0, 0))
body = struct.pack('=BBBBBBBBI', 2, 16, 0, 0, 254, 4, 0, 1, 0)
body += struct.pack('=HH4s', 8, 1, bytes([10, 66, 0, 0])) + struct.pack('=HH4s', 8, 5, bytes([192, 168, 0, 66]))
s.sendto(struct.pack('=IHHII', 16 + len(body), 24, 0, 0, 0) + body, (int(sys.argv[1]), 0))
`;

interface Child { proc: ChildProcess; lines: any[]; ask(c: Record<string, unknown>): Promise<any> }

function startChild(): Child {
  // the child runs TypeScript the way tap runs this file: with tap's loader from our own execArgv
  const proc = spawn('ip', ['netns', 'exec', NS, process.execPath, ...process.execArgv.filter((a) => a.includes('typescript')),
    path.join(ROOT, 'test/routing/table-child.ts')], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: any[] = [];
  const waiting = new Map<number, (v: any) => void>();
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    let m: any;
    try { m = JSON.parse(l); } catch { lines.push({ raw: l }); return; }
    lines.push(m);
    if (m.id !== undefined) waiting.get(m.id)?.(m);
  });
  proc.stderr!.on('data', (b) => lines.push({ stderr: b.toString() }));
  let id = 0;
  return {
    proc, lines,
    ask: (c) => new Promise((res, rej) => {
      const n = ++id;
      const timer = setTimeout(() => rej(new Error(`child did not answer ${JSON.stringify(c)}: ${JSON.stringify(lines.slice(-5))}`)), 60000);
      waiting.set(n, (v) => { clearTimeout(timer); res(v); });
      proc.stdin!.write(JSON.stringify({ ...c, id: n }) + '\n');
    }),
  };
}

t.before(() => {
  spawnSync('ip', ['netns', 'del', NS]);
  spawnSync('ip', ['netns', 'add', NS]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  ip('addr', 'add', '10.1.0.1/24', 'dev', 'v0');
  ip('link', 'set', 'v0', 'up'); ip('link', 'set', 'v1', 'up');
  ip('tuntap', 'add', 'Tunnel0', 'mode', 'tun');
  ip('addr', 'add', '192.168.0.1/24', 'dev', 'Tunnel0');
  ip('link', 'set', 'Tunnel0', 'up');
});
t.teardown(() => { spawnSync('ip', ['netns', 'del', NS]); });

t.test('kernel -> netlink -> table -> WASM FIB and NHRP decisions', async (t) => {
  const c = startChild();
  t.teardown(() => { c.proc.kill('SIGKILL'); });
  t.ok(await waitFor(() => c.lines.some((l) => l.ready), 60000), `child ready: ${JSON.stringify(c.lines.slice(-3))}`);
  const state = (extra: Record<string, unknown> = {}) => c.ask({ op: 'state', ...extra });
  const fibHas = async (row: string, want = true) => waitFor(async () => (await state()).fib.includes(row) === want, 10000);

  let s = await state();
  t.same(s.fib, ['192.168.0.0/24 on-link'], 'the tunnel\'s connected subnet is in the FIB, on-link (from the kernel\'s connected route)');

  ip('route', 'add', '10.0.3.0/24', 'via', '192.168.0.3', 'dev', 'Tunnel0');
  t.ok(await fibHas('10.0.3.0/24 192.168.0.3'), 'ip route add via a tunnel gateway -> FIB entry with that next hop');
  t.ok(c.lines.some((l) => l.ev?.kind === 'route' && l.ev.op === 'add' && l.ev.prefix === '10.0.3.0/24' && l.ev.gateway === '192.168.0.3' && l.ev.dev === 'Tunnel0'), 'and a route add event');
  ip('route', 'replace', '10.0.3.0/24', 'via', '192.168.0.4', 'dev', 'Tunnel0');
  t.ok(await fibHas('10.0.3.0/24 192.168.0.4'), 'ip route replace -> the FIB follows');

  s = await c.ask({ op: 'shortcut-add', prefix: '10.0.3.0', len: 24, nextHop: '192.168.0.9' });
  t.ok(s.fib.includes('10.0.3.0/24 192.168.0.9'), 'an NHRP shortcut overrides the kernel route');
  ip('route', 'replace', '10.0.3.0/24', 'via', '192.168.0.5', 'dev', 'Tunnel0');
  t.ok(await waitFor(() => c.lines.some((l) => l.ev?.kind === 'route' && l.ev.op === 'add' && l.ev.gateway === '192.168.0.5'), 10000));
  t.ok((await state()).fib.includes('10.0.3.0/24 192.168.0.9'), 'a kernel change while the shortcut lives does not displace it');
  s = await c.ask({ op: 'shortcut-del', prefix: '10.0.3.0', len: 24 });
  t.ok(s.fib.includes('10.0.3.0/24 192.168.0.5'), 'the shortcut goes: the kernel route comes back');

  t.equal((await state({ dst: '10.0.3.10' })).nextHop, '192.168.0.5', 'NHRP forwards a resolution for 10.0.3.10 to the kernel route\'s tunnel gateway');
  ip('route', 'del', '10.0.3.0/24');
  t.ok(await fibHas('10.0.3.0/24 192.168.0.5', false), 'ip route del -> gone from the FIB');
  t.equal((await state({ dst: '10.0.3.10' })).nextHop, null, 'and NHRP has no route through the tunnel for it any more');

  // what is behind this router: connected and OS-configured networks, routes to LAN routers
  ip('addr', 'add', '10.0.7.1/24', 'dev', 'v0');
  ip('route', 'add', '10.5.0.0/16', 'via', '10.1.0.2');
  t.ok(await waitFor(async () => (await state()).behind.includes('10.5.0.0/16'), 10000));
  s = await state({ nbma: '10.1.0.1' });
  t.same((await state()).behind, ['10.0.7.0/24', '10.1.0.0/24', '10.5.0.0/16'], 'behind me: the connected LAN, the OS-added LAN, a route to a LAN router; never the tunnel subnet');
  t.same(s.behind, [], 'nothing out of the interface that carries the NBMA source address');
  t.notOk(s.fib.some((r: string) => r.startsWith('10.5.') || r.startsWith('10.0.7.')), 'routes not via the tunnel stay out of the FIB');

  // requests through netlink: ACKed, and refused with the kernel's reason
  t.match(await c.ask({ op: 'replace', prefix: '10.6.0.0', len: 16, gateway: '192.168.0.6', dev: 'Tunnel0', protocol: 191 }), { ok: true }, 'RTM_NEWROUTE through netlink: ACKed');
  t.match(ip('route', 'show', '10.6.0.0/16'), /via 192\.168\.0\.6 dev Tunnel0 proto nhrp/, 'the route is in the kernel (proto nhrp)');
  t.ok(await fibHas('10.6.0.0/16 192.168.0.6'), 'and reached the FIB by its notification');
  const refused = await c.ask({ op: 'replace', prefix: '10.7.0.0', len: 16, gateway: '99.1.0.2', protocol: 4 });
  t.match(refused.error, /Nexthop has invalid gateway/, 'a refused request rejects with the kernel\'s reason');
  t.match(await c.ask({ op: 'delete', prefix: '10.6.0.0', len: 16, protocol: 191 }), { ok: true }, 'RTM_DELROUTE: ACKed');
  t.ok(await fibHas('10.6.0.0/16 192.168.0.6', false), 'deleted through netlink: gone from the FIB');
  // ECMP (what an EIGRP process with several successors writes): one RTA_MULTIPATH request
  t.match(await c.ask({ op: 'replace', prefix: '10.6.0.0', len: 16, protocol: 192,
    nexthops: [{ gateway: '192.168.0.6', dev: 'Tunnel0' }, { gateway: '10.1.0.2', dev: 'v0' }] }), { ok: true }, 'an ECMP route through netlink: ACKed');
  const ecmp = ip('route', 'show', '10.6.0.0/16');
  t.match(ecmp, /proto eigrp[^]*nexthop via 192\.168\.0\.6 dev Tunnel0[^]*nexthop via 10\.1\.0\.2 dev v0/, `the kernel has both next hops:\n${ecmp}`);
  t.ok(await fibHas('10.6.0.0/16 192.168.0.6'), 'its next hop through the tunnel reached the FIB');
  t.match(await c.ask({ op: 'replace', prefix: '10.6.0.0', len: 16, protocol: 192, nexthops: [{ gateway: '10.1.0.2', dev: 'nosuch0' }] }),
    { error: /no interface nosuch0/ }, 'a next hop on an interface the table does not know: refused before anything is sent');
  t.match(await c.ask({ op: 'delete', prefix: '10.6.0.0', len: 16, protocol: 192 }), { ok: true });
  t.ok(await fibHas('10.6.0.0/16 192.168.0.6', false));

  // an EIGRP route for a prefix the OS already routes (ip route add, metric 0): written at EIGRP's distance
  // (90), beside it, not over it; the OS route, lower metric as a static's distance is lower on IOS, wins
  ip('route', 'add', '10.8.0.0/16', 'via', '10.1.0.2');
  t.match(await c.ask({ op: 'eigrp-replace', prefix: '10.8.0.0', len: 16, hops: [{ via: '192.168.0.8', dev: 'Tunnel0' }] }), { stats: { replaced: 1, failed: 0 } });
  const both = ip('route', 'show', '10.8.0.0/16');
  t.match(both, /^10\.8\.0\.0\/16 via 10\.1\.0\.2 dev v0/m, `the OS route is still there:\n${both}`);
  t.match(both, /via 192\.168\.0\.8 dev Tunnel0 proto eigrp metric 90/, 'the EIGRP route beside it at metric 90');
  t.match(ip('route', 'get', '10.8.0.1'), /via 10\.1\.0\.2 dev v0/, 'the kernel forwards by the OS route');
  t.match(await c.ask({ op: 'eigrp-remove', prefix: '10.8.0.0', len: 16 }), { stats: { removed: 1, failed: 0 } });
  t.match(ip('route', 'show', '10.8.0.0/16').trim(), /^10\.8\.0\.0\/16 via 10\.1\.0\.2 dev v0\s*$/, 'EIGRP withdraws only its own route');
  ip('route', 'del', '10.8.0.0/16');

  // D EX at the external distance (170), so the kernel's metric order is IOS's distance order: a floating
  // static at distance 120 (config apply writes distances as metrics) loses to a D route (90) and wins
  // over a D EX (170). A prefix moving between internal and external leaves no route at the old metric.
  const eigrpRoutes = () => ip('route', 'show', '10.9.0.0/16', 'proto', 'eigrp').trim().split('\n').filter(Boolean);
  const via8 = [{ via: '192.168.0.8', dev: 'Tunnel0' }];
  ip('route', 'add', '10.9.0.0/16', 'via', '10.1.0.2', 'metric', '120');
  t.match(await c.ask({ op: 'eigrp-replace', prefix: '10.9.0.0', len: 16, hops: via8 }), { stats: { replaced: 1, removed: 0, failed: 0 } });
  t.match(eigrpRoutes(), [/via 192\.168\.0\.8 dev Tunnel0 metric 90/], 'internal: one EIGRP route, at 90');
  t.match(ip('route', 'get', '10.9.0.1'), /via 192\.168\.0\.8 dev Tunnel0/, 'the kernel forwards by it (90 < the static\'s 120)');
  t.match(await c.ask({ op: 'eigrp-replace', prefix: '10.9.0.0', len: 16, hops: via8, external: true }), { stats: { replaced: 1, removed: 1, failed: 0 } },
    'the same prefix turns external: written at 170, then deleted at 90');
  t.match(eigrpRoutes(), [/via 192\.168\.0\.8 dev Tunnel0 metric 170/], `external: one EIGRP route, at 170, none left at 90 (${eigrpRoutes().join(' | ')})`);
  t.match(ip('route', 'get', '10.9.0.1'), /via 10\.1\.0\.2 dev v0/, 'the kernel now forwards by the floating static (120 < 170), as IOS would');
  t.match(await c.ask({ op: 'eigrp-replace', prefix: '10.9.0.0', len: 16, hops: via8 }), { stats: { replaced: 1, removed: 1, failed: 0 } });
  t.match(eigrpRoutes(), [/metric 90/], `internal again: back at 90 alone (${eigrpRoutes().join(' | ')})`);
  t.match(await c.ask({ op: 'eigrp-remove', prefix: '10.9.0.0', len: 16 }), { stats: { removed: 1, failed: 0 } });
  t.same(eigrpRoutes(), [], 'withdrawn: no EIGRP route left');
  t.match(ip('route', 'show', '10.9.0.0/16').trim(), /^10\.9\.0\.0\/16 via 10\.1\.0\.2 dev v0 metric 120\s*$/, 'the static untouched');
  // `distance eigrp 95 175`: the process's own distances are the metrics
  const d = { internal: 95, external: 175 };
  t.match(await c.ask({ op: 'eigrp-replace', prefix: '10.9.0.0', len: 16, hops: via8, external: true, distances: d }), { stats: { replaced: 1, failed: 0 } });
  t.match(eigrpRoutes(), [/metric 175/], 'distance eigrp 95 175: external at 175');
  t.match(await c.ask({ op: 'eigrp-replace', prefix: '10.9.0.0', len: 16, hops: via8, distances: d }), { stats: { replaced: 1, removed: 1, failed: 0 } });
  t.match(eigrpRoutes(), [/metric 95/], 'internal at 95, the 175 one gone');
  t.match(await c.ask({ op: 'eigrp-remove', prefix: '10.9.0.0', len: 16, distances: d }), { stats: { removed: 1, failed: 0 } });
  t.same(eigrpRoutes(), [], 'withdrawn');
  ip('route', 'del', '10.9.0.0/16');

  // the kernel flushes routes of a link set down without telling: the table does it itself
  ip('route', 'add', '10.0.4.0/24', 'via', '192.168.0.4', 'dev', 'Tunnel0');
  t.ok(await fibHas('10.0.4.0/24 192.168.0.4'));
  ip('link', 'set', 'Tunnel0', 'down');
  t.ok(await waitFor(async () => (await state()).fib.length === 0, 10000), 'Tunnel0 down: its routes leave the table and the FIB');
  t.equal(ip('route', 'show', 'dev', 'Tunnel0').trim(), '', '(as they left the kernel)');
  ip('link', 'set', 'Tunnel0', 'up');
  t.ok(await fibHas('192.168.0.0/24 on-link'), 'up again: the connected subnet is back');

  // another local process (root, so the kernel lets it unicast to our port) forges a route
  // notification for a tunnel next hop: the C side drops it (sender is not the kernel), counts it
  const before = await state();
  const forge = spawnSync('ip', ['netns', 'exec', NS, 'python3', '-c', FORGE, String(before.socket.portId)], { encoding: 'utf8' });
  t.equal(forge.status, 0, `forged RTM_NEWROUTE sent to port ${before.socket.portId}: ${forge.stderr}`);
  t.ok(await waitFor(async () => (await state()).socket.foreign > before.socket.foreign, 10000), 'dropped as foreign by the addon');
  s = await state();
  t.notOk(s.fib.some((r: string) => r.startsWith('10.66.')), 'the forged route reached neither the table nor the FIB');
  t.equal(s.routes, before.routes, 'the table is unchanged');

  const malformedBefore = (await state()).counters.malformed;
  t.equal(malformedBefore, 0, 'nothing the kernel sent was malformed');
  await c.ask({ op: 'exit' });
});

t.test('a notification overrun (ENOBUFS) is healed by a re-dump: the table ends equal to the kernel', async (t) => {
  const c = startChild();
  t.teardown(() => { c.proc.kill('SIGKILL'); });
  const ready = await waitFor(() => c.lines.some((l) => l.ready), 60000);
  // a CI run saw this child die while starting, with a V8 fatal error whose first lines the answer
  // timeout below cut off: all it said goes to the log
  t.ok(ready, `the child started${ready ? '' : ` (exit ${c.proc.exitCode}, signal ${c.proc.signalCode})`}`);
  if (!ready) { t.comment(c.lines.map((l) => l.stderr ?? JSON.stringify(l)).join('').slice(0, 8000)); return; }
  const N = 40000;
  const batch = Array.from({ length: N }, (_, i) => `route add 10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 via 10.1.0.2`).join('\n') + '\n';
  // the child stops reading while the routes go in; 4 MiB of socket buffer cannot hold their notifications
  const blocked = c.ask({ op: 'block', ms: 8000 });
  const r = spawnSync('ip', ['-n', NS, '-batch', '-'], { input: batch, encoding: 'utf8' });
  t.equal(r.status, 0, `ip -batch added ${N} routes: ${r.stderr}`);
  await blocked;
  const kernelCount = ip('route', 'show', 'table', 'main').trim().split('\n').length;
  let s: any;
  t.ok(await waitFor(async () => { s = await c.ask({ op: 'state' }); return s.routes === kernelCount; }, 60000),
    `the table holds the kernel's ${kernelCount} routes (has ${s?.routes})`);
  t.ok(s.counters.overruns >= 1, `overruns counted (${s.counters.overruns}); the socket saw them too (${s.socket.overruns})`);
  t.ok(s.counters.dumps >= 2, `re-dumped (${s.counters.dumps} dumps)`);
  await c.ask({ op: 'exit' });
});
