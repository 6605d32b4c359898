// The EIGRP transport's raw socket (native addon, appliance/native/mcast-raw.c) between two namespaces
// over three veth pairs: multicast to 224.0.0.10 and unicast both ways, each packet reported with the
// interface it came in on, out of the interface it was sent on, with TTL 2 and TOS 0xC0 on the wire;
// our own multicasts not heard back; a packet on an interface the socket did not join dropped and
// counted; bad sends named and counted without stopping the socket; an interface deleted under it
// reported once as a failure, on which the supervisor's EIGRP service restarts the process and the
// adjacency comes back. Each side runs in a child inside its namespace (test/routing/eigrp-socket-child.ts,
// eigrp-service-child.ts): the addon cannot setns().
//
//   her-eraw-a: a0 10.9.0.1 ─ b0 10.9.0.2 :her-eraw-b
//   (joins a0, a1) a1 10.9.1.1 ─ b1 10.9.1.2 (joins b0, b1, b2)
//                  a2 10.9.2.1 ─ b2 10.9.2.2
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { RawSocketTransport } from '../appliance/routing/eigrp/raw-socket.js';
import { ROOT, sh, waitFor } from './util/lab.js';
import { requireTools } from './util/needs.js';
import { tsharkFields } from './util/tshark.js';

requireTools(t, ['root', 'ip', 'tshark']);

const A = 'her-eraw-a', B = 'her-eraw-b';
const cleanup = () => { for (const ns of [A, B]) sh('ip', ['netns', 'del', ns], { allowFail: true }); };

interface Line { ready?: true; openError?: string; packet?: [string, string, string, string]; sent?: true; sendError?: string; failure?: string; stats?: { transport: { sent: number; received: number; errors: number }; socket?: Record<string, number> } }

/** One side: the transport in a child inside `ns`, its output lines kept. */
class Side {
  readonly lines: Line[] = [];
  private readonly child: ChildProcess;
  stderr = '';
  constructor(ns: string, interfaces: string[]) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv.filter((a) => a.includes('typescript')),
      path.join(ROOT, 'test/routing/eigrp-socket-child.ts'), ...interfaces], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.lines.push(JSON.parse(l) as Line));
    this.child.stderr!.on('data', (x) => { this.stderr += String(x); });
  }
  packets(): Array<[string, string, string, string]> { return this.lines.flatMap((l) => (l.packet ? [l.packet] : [])); }
  /** Sends and waits for the child's answer to it. */
  async send(iface: string, dst: string, hex: string): Promise<Line | undefined> {
    const n = this.lines.length;
    this.child.stdin!.write(`${JSON.stringify({ send: [iface, dst, hex] })}\n`);
    return waitFor(() => this.lines.slice(n).find((l) => l.sent || l.sendError), 20000, 50);
  }
  async stats(): Promise<Line['stats']> {
    const n = this.lines.length;
    this.child.stdin!.write('{"stats":true}\n');
    return (await waitFor(() => this.lines.slice(n).find((l) => l.stats), 20000, 50))?.stats;
  }
  stop(): void { this.child.stdin!.end(); setTimeout(() => this.child.kill(), 2000).unref(); }
}

t.test('opening names the problem: ready rejects, nothing thrown', async (t) => {
  const missing = new RawSocketTransport(['her-nope0']);
  await t.rejects(missing.ready, /EIGRP socket not opened: no interface 'her-nope0' in this network namespace/);
  missing.send('her-nope0', '224.0.0.10', new Uint8Array(4));
  t.equal(missing.stats.errors, 1, 'a send on a transport that never opened is counted, not thrown');
  missing.close();
  const long = new RawSocketTransport(['x'.repeat(40)]);
  await t.rejects(long.ready, /interface 0 is not an interface name \(a string of 1\.\.15 bytes\)/);
});

t.test('packets both ways between two namespaces', async (t) => {
  cleanup();
  t.teardown(cleanup);
  for (const ns of [A, B]) { sh('ip', ['netns', 'add', ns]); sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']); }
  for (const i of [0, 1, 2]) {
    sh('ip', ['link', 'add', `a${i}`, 'netns', A, 'type', 'veth', 'peer', 'name', `b${i}`, 'netns', B]);
    for (const [ns, side, host] of [[A, 'a', 1], [B, 'b', 2]] as const) {
      sh('ip', ['-n', ns, 'addr', 'add', `10.9.${i}.${host}/24`, 'dev', `${side}${i}`]);
      sh('ip', ['-n', ns, 'link', 'set', `${side}${i}`, 'up']);
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'her-eraw-'));
  const pcap = path.join(dir, 'b0.pcap');
  const cap = spawn('ip', ['netns', 'exec', B, 'tshark', '-q', '-i', 'b0', '-w', pcap, '-F', 'pcap', '-f', 'ip proto 88']);
  let capturing = false;
  cap.stderr.on('data', (x) => { if (/Capturing on/.test(String(x))) capturing = true; });
  t.teardown(() => { cap.kill(); fs.rmSync(dir, { recursive: true, force: true }); });
  t.ok(await waitFor(() => capturing, 30000), 'tshark capturing on b0');

  const a = new Side(A, ['a0', 'a1']), b = new Side(B, ['b0', 'b1', 'b2']);
  t.teardown(() => { a.stop(); b.stop(); });
  for (const [name, s] of [['A', a], ['B', b]] as const) {
    t.ok(await waitFor(() => s.lines.some((l) => l.ready || l.openError), 60000), `${name}'s child answered`);
    t.same(s.lines[0], { ready: true }, `${name}'s socket open (${JSON.stringify(s.lines[0])} ${s.stderr.slice(-300)})`);
  }

  // multicast, by interface: what B sends out of b1 comes in on a1, out of b0 on a0
  t.same(await b.send('b1', '224.0.0.10', '0205eeee01'), { sent: true }, 'B multicasts out of b1');
  t.same(await waitFor(() => a.packets()[0], 10000), ['a1', '10.9.1.2', '224.0.0.10', '0205eeee01'], 'A hears it on a1, from b1\'s address, to the group, payload intact (IP header stripped)');
  t.same(await b.send('b0', '224.0.0.10', '0205eeee02'), { sent: true }, 'B multicasts out of b0');
  t.same(await waitFor(() => a.packets()[1], 10000), ['a0', '10.9.0.2', '224.0.0.10', '0205eeee02'], 'A hears that one on a0');

  // unicast and multicast from A: B hears both on b0; A hears neither of its own
  t.same(await a.send('a0', '10.9.0.2', '0201aaaa'), { sent: true }, 'A unicasts to 10.9.0.2 out of a0');
  t.same(await waitFor(() => b.packets().find((p) => p[3] === '0201aaaa'), 10000), ['b0', '10.9.0.1', '10.9.0.2', '0201aaaa'], 'B hears the unicast on b0, to its own address');
  t.same(await a.send('a0', '224.0.0.10', '0205aaaa'), { sent: true }, 'A multicasts out of a0');
  t.same(await waitFor(() => b.packets().find((p) => p[3] === '0205aaaa'), 10000), ['b0', '10.9.0.1', '224.0.0.10', '0205aaaa'], 'B hears the multicast on b0');

  // an interface A did not join: the kernel does not take B's multicast out of b2 in on a2 (no member
  // there); a unicast to a2's address reaches the raw socket, which drops it
  t.same(await b.send('b2', '224.0.0.10', '0205eeee03'), { sent: true }, 'B multicasts out of b2');
  t.same(await b.send('b2', '10.9.2.1', '0201eeee04'), { sent: true }, 'B unicasts to a2\'s address out of b2');
  t.ok(await waitFor(async () => ((await a.stats())?.socket?.foreign ?? 0) === 1, 10000, 200), 'A\'s socket counts the unicast as foreign (came in on a2, not one of its interfaces)');
  t.notOk(a.packets().some((p) => p[3].startsWith('0205eeee03') || p[3] === '0201eeee04'), 'and delivers neither');
  t.notOk(a.packets().some((p) => p[1].endsWith('.1')), `A never heard its own packets (${JSON.stringify(a.packets())})`);

  // on the wire (captured on b0): TTL 2 and precedence 6 (TOS 0xc0), multicast and unicast alike
  // the capture is stopped once both are in its file: a SIGINT right after the send could stop it
  // before it took the last packet from the kernel (the CI run lost the multicast that way)
  const fromA = () => { try { return tsharkFields(pcap, 'ip.src == 10.9.0.1', ['ip.dst', 'ip.ttl', 'ip.dsfield', 'ip.proto']); } catch { return []; } };
  await waitFor(() => fromA().length >= 2, 15000, 250);
  cap.kill('SIGINT');
  await waitFor(() => cap.exitCode !== null, 10000);
  const wire = fromA();
  t.same(wire.map((w) => w['ip.dst']).sort(), ['10.9.0.2', '224.0.0.10'], 'both of A\'s packets captured on b0');
  t.ok(wire.every((w) => w['ip.ttl'] === '2' && Number(w['ip.dsfield']) === 0xc0 && w['ip.proto'] === '88'), `TTL 2, TOS 0xc0, protocol 88: ${JSON.stringify(wire)}`);

  // bad sends: named, counted, the socket goes on
  t.match(await a.send('nope0', '224.0.0.10', '00'), { sendError: /'nope0' is not an interface of this socket/ }, 'an interface the socket does not have');
  t.match(await a.send('a0', '10.9.0.300', '00'), { sendError: /destination '10\.9\.0\.300' is not a dotted IPv4 address/ }, 'a bad destination');
  t.match(await a.send('a0', '10.9.0.2', '00'.repeat(70000)), { sendError: /send to 10\.9\.0\.2 on a0 \(70000 bytes\): Message too long/ }, 'a payload larger than an IPv4 datagram');
  sh('ip', ['-n', A, 'link', 'set', 'a1', 'down']);
  t.match(await a.send('a1', '224.0.0.10', '00'), { sendError: /send to 224\.0\.0\.10 on a1 \(1 bytes\): Network is unreachable/ }, 'an interface down');
  sh('ip', ['-n', A, 'link', 'set', 'a1', 'up']);
  t.same(await a.send('a0', '10.9.0.2', '0201aaab'), { sent: true }, 'the socket still sends after them');
  t.ok(await waitFor(() => b.packets().some((p) => p[3] === '0201aaab'), 10000), 'and B hears it');
  const st = await a.stats();
  t.match(st, { transport: { sent: 3, errors: 4 }, socket: { sent: 3, sendErrors: 4 } }, `A's counters: 3 sent, 4 errors (${JSON.stringify(st)})`);
  t.equal(a.lines.filter((l) => l.failure).length, 0, 'none of them stopped the socket');

  // an interface deleted under the socket (a TUN recreated gets a new index): reported once, the socket stops
  sh('ip', ['-n', B, 'link', 'del', 'b1']);
  t.match(await b.send('b1', '224.0.0.10', '00'), { sendError: /send to 224\.0\.0\.10 on b1 \(1 bytes\): No such device/ }, 'the send out of the deleted interface fails');
  t.match(await waitFor(() => b.lines.find((l) => l.failure), 10000), { failure: /No such device/ }, 'the transport reports its failure (the supervisor restarts the process on it)');
  t.match(await b.send('b0', '224.0.0.10', '00'), { sendError: /No such device/ }, 'later sends are refused, counted (the last error kept)');
  t.equal(b.lines.filter((l) => l.failure).length, 1, 'the failure is reported once');
  t.match(await b.stats(), { socket: undefined }, 'the socket is closed');
});

// The supervisor's EIGRP service in a namespace (test/routing/eigrp-service-child.ts), FastEthernet0/0 on e0.
const serviceConfig = (host: number) => `interface FastEthernet0/0\n ip address 10.9.0.${host} 255.255.255.0\n ip hello-interval eigrp 100 1\n ip hold-time eigrp 100 4\n!\nrouter eigrp 100\n network 10.9.0.0 0.0.0.255\n`;
function startService(t: Test, ns: string, host: number, ...extra: string[]) {
  const side = { logs: [] as string[], neighbors: [] as string[], since: [] as number[], stderr: '', child: spawn('ip', ['netns', 'exec', ns, process.execPath,
    ...process.execArgv.filter((a) => a.includes('typescript')), path.join(ROOT, 'test/routing/eigrp-service-child.ts'), serviceConfig(host), 'e0', ...extra], { stdio: ['pipe', 'pipe', 'pipe'] }),
    apply: (config: string) => { side.child.stdin!.write(`${JSON.stringify({ config })}\n`); } };
  createInterface({ input: side.child.stdout! }).on('line', (l) => {
    const o = JSON.parse(l) as { log?: string; neighbors?: string[]; since?: number[] };
    if (o.log) side.logs.push(o.log);
    if (o.neighbors) { side.neighbors = o.neighbors; side.since = o.since ?? []; }
  });
  side.child.stderr!.on('data', (x) => { side.stderr += String(x); });
  t.teardown(() => { side.child.stdin!.end(); setTimeout(() => side.child.kill(), 2000).unref(); });
  return side;
}
/** Two namespaces; link() makes e0 between them (10.9.0.1 and .2). */
function twoNamespaces(t: Test, SA: string, SB: string) {
  const down = () => { for (const ns of [SA, SB]) sh('ip', ['netns', 'del', ns], { allowFail: true }); };
  down();
  t.teardown(down);
  for (const ns of [SA, SB]) { sh('ip', ['netns', 'add', ns]); sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']); }
  return () => {
    sh('ip', ['link', 'add', 'e0', 'netns', SA, 'type', 'veth', 'peer', 'name', 'e0', 'netns', SB]);
    for (const [ns, host] of [[SA, 1], [SB, 2]] as const) {
      sh('ip', ['-n', ns, 'addr', 'add', `10.9.0.${host}/24`, 'dev', 'e0']);
      sh('ip', ['-n', ns, 'link', 'set', 'e0', 'up']);
    }
  };
}

// The supervisor's side of a failure: both ends of the link deleted and made again (as a TUN recreated by a
// tunnel restart: same name, new index). The process restarts on the new interface (on the link events
// the kernel table reports, or on its next send failing with ENODEV, whichever comes first), and the
// adjacency comes back.
t.test('the supervisor restarts the process when an interface of its socket is deleted', async (t) => {
  const link = twoNamespaces(t, 'her-ersv-a', 'her-ersv-b');
  link();
  const a = startService(t, 'her-ersv-a', 1), b = startService(t, 'her-ersv-b', 2);
  const adjacent = () => a.neighbors.join() === '10.9.0.2 up' && b.neighbors.join() === '10.9.0.1 up';
  t.ok(await waitFor(adjacent, 60000), `adjacent over e0 (A: ${a.neighbors.join()} ${a.logs.join(' | ')} ${a.stderr.slice(-300)}; B: ${b.neighbors.join()})`);

  sh('ip', ['-n', 'her-ersv-a', 'link', 'del', 'e0']);
  link();
  for (const [name, s] of [['A', a], ['B', b]] as const) {
    // restarted on its socket's failure, or kept with that interface reset on the link events (whichever came first)
    t.ok(await waitFor(() => s.logs.filter((l) => /^notice EIGRP AS 100 (running|now) on FastEthernet0\/0/.test(l)).length >= 2, 20000), `${name}'s process runs again on the new e0 (${s.logs.join(' | ')})`);
  }
  t.ok(await waitFor(adjacent, 60000), `adjacent again (A: ${a.neighbors.join()}; B: ${b.neighbors.join()})`);
  t.notOk([...a.logs, ...b.logs].some((l) => /not running/.test(l)), 'no start failed');
});

// An interface that is not there when the process starts (a USB modem plugged in later, a TUN not yet
// made): the start fails with the reason, and the process starts by itself when the interface appears.
t.test('a process whose interface is missing at start runs once the interface appears', async (t) => {
  const link = twoNamespaces(t, 'her-ermi-a', 'her-ermi-b');
  const a = startService(t, 'her-ermi-a', 1);
  t.ok(await waitFor(() => a.logs.some((l) => /EIGRP not running: AS 100: .*tried again when an interface appears/.test(l)) || a.logs.some((l) => /running on no interface/.test(l)), 30000),
    `no e0 yet: not running, or running on no interface (${a.logs.join(' | ')} ${a.stderr.slice(-300)})`);
  link();
  const b = startService(t, 'her-ermi-b', 2);
  t.ok(await waitFor(() => a.neighbors.join() === '10.9.0.2 up' && b.neighbors.join() === '10.9.0.1 up', 60000),
    `e0 made: A runs on it and is adjacent (A: ${a.neighbors.join()} ${a.logs.join(' | ')}; B: ${b.neighbors.join()})`);
});

// A `network` statement added on a running process (a second interface, FastEthernet0/1 on d1, into
// EIGRP) and removed again: B learns the new network in its kernel table and loses it again, and the
// adjacency over e0 is never reset (same up-since at both ends, no goodbye, one process start).
// Before: any change of the process's networks restarted it, a goodbye to every neighbor.
t.test('a network added and removed on a running process: routes follow, the adjacency stays', async (t) => {
  const [SA, SB] = ['her-ernw-a', 'her-ernw-b'];
  twoNamespaces(t, SA, SB)();
  sh('ip', ['-n', SA, 'link', 'add', 'd1', 'type', 'veth', 'peer', 'name', 'd1p']);
  sh('ip', ['-n', SA, 'addr', 'add', '10.9.5.1/24', 'dev', 'd1']);
  for (const d of ['d1', 'd1p']) sh('ip', ['-n', SA, 'link', 'set', d, 'up']);
  const a = startService(t, SA, 1, 'd1'), b = startService(t, SB, 2);
  const adjacent = () => a.neighbors.join() === '10.9.0.2 up' && b.neighbors.join() === '10.9.0.1 up';
  t.ok(await waitFor(adjacent, 60000), `adjacent over e0 (A: ${a.neighbors.join()} ${a.logs.join(' | ')} ${a.stderr.slice(-300)}; B: ${b.neighbors.join()})`);
  const since = [a.since.join(), b.since.join()];
  const route = () => sh('ip', ['-n', SB, 'route', 'show', '10.9.5.0/24'], { allowFail: true }).stdout.trim();

  const withLan = `${serviceConfig(1)}!\ninterface FastEthernet0/1\n ip address 10.9.5.1 255.255.255.0\n!\nrouter eigrp 100\n network 10.9.5.0 0.0.0.255\n`;
  a.apply(withLan);
  t.ok(await waitFor(() => /via 10\.9\.0\.1 dev e0 proto (192|eigrp)/.test(route()), 30000), `B learned 10.9.5.0/24 from A (${route()}; A: ${a.logs.join(' | ')})`);
  t.ok(await waitFor(() => a.logs.some((l) => l === 'notice EIGRP AS 100 now on FastEthernet0/0, FastEthernet0/1'), 10000), `A runs on both interfaces now (${a.logs.filter((l) => /^notice/.test(l)).join(' | ')})`);
  t.same([a.since.join(), b.since.join()], since, 'the adjacency was not reset at either end');
  t.same(a.neighbors, ['10.9.0.2 up']);
  t.notOk(a.logs.some((l) => /router-id 10\.9\.5\.1/.test(l)), 'A kept its router-id 10.9.0.1 (chosen at start) though 10.9.5.1 is higher');

  a.apply(serviceConfig(1));
  t.ok(await waitFor(() => route() === '', 30000), `B withdrew 10.9.5.0/24 (${route()})`);
  t.same([a.since.join(), b.since.join()], since, 'still the same adjacency');
  t.equal(a.logs.filter((l) => /running on/.test(l)).length, 1, 'the process started once');
  t.notOk([...a.logs, ...b.logs].some((l) => /not running|stopped|restarting/.test(l)), `nothing stopped (${a.logs.join(' | ')})`);
});
