// Tests of the C I/O addon (appliance/native/). In-process tests cover the doorbell primitives and
// argument checks; everything touching the network runs in namespaces created here (`ip netns add
// dmvtest-<random>`, veth pairs, 10.x addresses inside them only) through test/native/child.mjs,
// because Node cannot setns(). Every namespace is deleted in teardown, also on failure.
import t, { type Test } from 'tap';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { loadNative, findNativePath, NATIVE_REL_PATH } from '../appliance/io/native.js';
import { computeLayout, pagesFor, RING, SLOT, DOORBELL } from '../appliance/dataplane/layout.js';
import { needs } from './util/needs.js';
import { espSpreadWorker as spreadWorker } from './util/spread.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativePath = join(repo, NATIVE_REL_PATH);
const child = join(repo, 'test/native/child.mjs');
const layout = computeLayout({ tunSlots: 64, nbmaSlots: 64, ctlSlots: 64 });
const childArgs = { native: nativePath, RING, SLOT, DOORBELL, layout, pages: pagesFor(layout) };

if (!existsSync(nativePath)) {
  t.fail(`${NATIVE_REL_PATH} is missing — run \`make native\` first`);
  t.end();
  process.exit(1);
}
const io = loadNative();

const newMemory = () => {
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 32, shared: true });
  return { memory, u8: new Uint8Array(memory.buffer), u32: new Uint32Array(memory.buffer) };
};

t.test('loader resolves the addon from source and from a bundle in dist/', async (t) => {
  t.equal(findNativePath(join(repo, 'appliance/io/native.ts')), nativePath);
  t.equal(findNativePath(join(repo, 'dist/dmvpnd.mjs')), nativePath);
  t.throws(() => findNativePath('/nonexistent/dir/x.mjs'), { code: 'ENOENT' });
  for (const f of ['openTun', 'configureInterface', 'openRawIp', 'greLane', 'ikeLane', 'nbmaSpread', 'udpSpread', 'tunSteer', 'openUdp', 'closeFd', 'startPump', 'stopPump',
    'pumpStats', 'wake', 'wait', 'watch', 'unwatch', 'pcapOpen', 'pcapClose'] as const)
    t.type(io[f], 'function', f);
});

t.test('wake and wait follow the doorbell protocol', async (t) => {
  const { u8, u32 } = newMemory();
  const bell = 4096;
  t.equal(io.wait(u8, bell, 5, 1000), 'not-equal', 'seq is 0, not 5: returns at once');
  const t0 = Date.now();
  t.equal(io.wait(u8, bell, 0, 30), 'timed-out');
  t.ok(Date.now() - t0 >= 25, 'waited for the timeout');
  io.wake(u8, bell);
  io.wake(u8, bell);
  t.equal(u32[bell / 4], 2, 'wake increments seq');
  t.equal(u32[bell / 4 + 1], 0, 'wake does not touch sleeping');
  t.throws(() => io.wake(u8, u8.length - 4), { code: 'EINVAL' }, 'doorbell outside memory');
  t.throws(() => io.wake(u8, 6), { code: 'EINVAL' }, 'misaligned doorbell');
  // one call per assertion: `wait(...) && wake(...)` passed whenever wake threw, whatever wait did
  t.throws(() => io.wake({} as any, 0), { code: 'EINVAL', message: /Uint8Array/ }, 'wake: memory is not a typed array');
  t.throws(() => io.wait({} as any, 0, 0, 0), { code: 'EINVAL', message: /Uint8Array/ }, 'wait: memory is not a typed array');
  t.throws(() => io.wait(u8, u8.length - 4, 0, 0), { code: 'EINVAL' }, 'wait: doorbell outside memory');
  t.throws(() => io.wait(u8, bell, 0, 'soon' as any), { code: 'EINVAL', message: /timeoutMs/ }, 'wait: timeout not a number');
});

t.test('a worker thread blocked in wait() is woken by wake() on the main thread', async (t) => {
  const { memory, u8, u32 } = newMemory();
  const bell = 8192;
  const w = new Worker(`
    const { workerData, parentPort } = require('node:worker_threads');
    const io = require(workerData.native);
    const u8 = new Uint8Array(workerData.memory.buffer), u32 = new Uint32Array(workerData.memory.buffer);
    const s = Atomics.load(u32, workerData.bell / 4);
    Atomics.store(u32, workerData.bell / 4 + 1, 1);          // sleeping = 1
    parentPort.postMessage('sleeping');
    const t0 = Date.now();
    const r = io.wait(u8, workerData.bell, s, 5000);
    Atomics.store(u32, workerData.bell / 4 + 1, 0);
    parentPort.postMessage({ r, ms: Date.now() - t0 });
  `, { eval: true, workerData: { native: nativePath, memory, bell } });
  const msgs: any[] = [];
  const done = new Promise<any>((res, rej) => { w.on('message', (m) => { msgs.push(m); if (m !== 'sleeping') res(m); }); w.on('error', rej); });
  await new Promise<void>((res) => w.once('message', () => res()));
  await new Promise((res) => setTimeout(res, 50)); // let it enter the futex
  io.wake(u8, bell);
  const m = await done;
  t.equal(m.r, 'ok', 'woken, not timed out');
  t.ok(m.ms < 2000, `woken promptly (${m.ms} ms)`);
  t.equal(u32[bell / 4], 1);
  await w.terminate();
});

t.test('watch calls back on the JS thread, coalesced, and stops on unwatch', async (t) => {
  const { u8 } = newMemory();
  const bell = 12288;
  let calls = 0;
  const id = io.watch(u8, bell, () => { calls++; });
  for (let i = 0; i < 100; i++) io.wake(u8, bell); // a burst: far fewer callbacks than rings
  // wait for the callbacks (generously: a busy machine delays them), not a fixed 100 ms
  const until = async (ok: () => boolean) => { for (const end = Date.now() + 5000; !ok() && Date.now() < end;) await new Promise((res) => setTimeout(res, 10)); };
  await until(() => calls >= 1);
  await new Promise((res) => setTimeout(res, 100)); // room for any further (uncoalesced) callbacks
  t.ok(calls >= 1, `called back (${calls})`);
  t.ok(calls <= 3, `coalesced: ${calls} calls for 100 rings`);
  const before = calls;
  io.wake(u8, bell);
  await until(() => calls > before);
  t.equal(calls, before + 1, 'a later ring calls back again');
  io.unwatch(id);
  io.wake(u8, bell);
  await new Promise((res) => setTimeout(res, 100));
  t.equal(calls, before + 1, 'no calls after unwatch');
  t.throws(() => io.unwatch(id), { code: 'ENOENT' });
  t.throws(() => io.watch(u8, bell, 42 as any), { code: 'EINVAL' });
});

t.test('an active watch does not keep the process alive', async (t) => {
  const code = `const io = require(${JSON.stringify(nativePath)});
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    io.watch(new Uint8Array(m.buffer), 0, () => {}); console.log('watching');`;
  const t0 = Date.now();
  const out = execFileSync(process.execPath, ['-e', code], { timeout: 5000 }).toString();
  t.match(out, /watching/);
  t.ok(Date.now() - t0 < 3000, 'exited by itself');
});

t.test('startPump validates its arguments and the ring', async (t) => {
  const { u8, u32 } = newMemory();
  t.throws(() => io.startPump({ memory: u8, kind: 'bogus' as any, fd: 0, ring: 65536 }), { code: 'EINVAL', message: /unknown pump kind/ });
  t.throws(() => io.startPump({ memory: u8, kind: 'tun-tx', fd: 0, ring: 65536 }), { code: 'EINVAL', message: /writeLayout/ }, 'uninitialised ring');
  u32[(65536 + RING.slotCount) / 4] = 1 << 20; u32[(65536 + RING.slotSize) / 4] = 2048;
  t.throws(() => io.startPump({ memory: u8, kind: 'tun-tx', fd: 0, ring: 65536 }), { code: 'EINVAL' }, 'ring larger than memory');
  t.throws(() => io.startPump({ memory: u8, kind: 'tun-tx', fd: 0, ring: u8.length }), { code: 'EINVAL' }, 'ring outside memory');
  u32[(65536 + RING.slotCount) / 4] = 8; u32[(65536 + RING.consumerDoorbell) / 4] = u8.length;
  t.throws(() => io.startPump({ memory: u8, kind: 'tun-tx', fd: 0, ring: 65536 }), { code: 'EINVAL', message: /doorbell/ });
  t.throws(() => io.startPump({ memory: u8, kind: 'tun-tx', fd: 0, ring: 65536, batch: 0 }), { code: 'EINVAL' });
  t.throws(() => io.startPump({ memory: {} as any, kind: 'tun-tx', fd: 0, ring: 65536 }), { code: 'EINVAL', message: /Uint8Array/ });
  t.throws(() => io.pumpStats(999999), { code: 'ENOENT' });
  t.throws(() => io.openRawIp(0), { code: 'EINVAL' });
  t.throws(() => io.openUdp('not-an-ip', 1), { code: 'EINVAL' });
});

// ---------- namespaces ----------

const rnd = () => randomBytes(3).toString('hex');
function netns(t: Test, tag: string): string {
  const ns = `dmvtest-${tag}-${rnd()}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.teardown(() => { try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* already gone */ } });
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}
const inNs = (ns: string, args: object) =>
  ['netns', 'exec', ns, process.execPath, child, JSON.stringify({ ...childArgs, ...args })];
function runChild(ns: string, args: object, env: Record<string, string> = {}): Promise<any> {
  return new Promise((res, rej) => execFile('ip', inNs(ns, args), { timeout: 30000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
    if (err) return rej(new Error(`child failed: ${err.message}\n${stderr}`));
    try { res(JSON.parse(stdout.trim().split('\n').pop()!)); } catch { rej(new Error(`bad child output: ${stdout}\n${stderr}`)); }
  }));
}

t.test('TUN in a namespace: open, configure, rx, tx, errors, back-pressure', needs(t, 'root', 'tun', 'ip'), async (t) => {
  const ns = netns(t, 'tun');
  const r = await runChild(ns, { scenario: 'tun', tun: 'dmvt0' });
  t.comment(`echo trigger: ${r.trigger}`);
  t.same(r.ping && { version: r.ping.version, proto: r.ping.proto, src: r.ping.src, dst: r.ping.dst, kind: r.ping.kind, icmpType: r.ping.icmpType },
    { version: 4, proto: 1, src: '10.77.0.1', dst: '10.77.0.2', kind: 0, icmpType: 8 }, 'ICMP echo request read into tun-rx');
  // the slot's len against the packet's own IPv4 total length (comparing it with the length of the
  // bytes the child copied out using that same len could never fail)
  t.ok(r.ping?.len > 20, `slot holds a whole IPv4 packet (${r.ping?.len} bytes)`);
  t.equal(r.ping?.len, r.ping?.ipTotalLength, 'slot len = the IPv4 header\'s total length');
  t.same(r.reply && { proto: r.reply.proto, icmpType: r.reply.icmpType, src: r.reply.src, dst: r.reply.dst },
    { proto: 1, icmpType: 0, src: '10.77.0.1', dst: '10.77.0.2' }, 'tun-tx packet answered by the kernel, reply in tun-rx');
  t.equal(r.secondOpen?.code, 'EBUSY', 'second openTun of an open name');
  t.match(r.secondOpen?.message, /already in use/);
  t.equal(r.missing?.code, 'ENODEV');
  t.match(r.missing?.message, /nosuch0: no such interface/);
  t.equal(r.badAddress?.code, 'EINVAL');
  t.equal(r.txAfterBad.drops, r.txBefore.drops + 1, 'oversized slot dropped and counted');
  t.equal(r.txAfterBad.packets, r.txBefore.packets, 'oversized slot not written');
  t.equal(r.fullRingUsed, 4, 'undrained 4-slot ring is full');
  t.ok(r.fullStats.fullWaits >= 1, `producer waited on the full ring (${r.fullStats.fullWaits} waits)`);
  t.equal(r.backPressureReplies, 10, 'no reply lost while the ring was full');
  t.equal(r.rxStats.drops, 0);
  t.ok(r.txStats.packets >= 11, `tun-tx wrote ${r.txStats.packets} packets`);
  t.equal(r.stopUnknown?.code, 'ENOENT', 'stopPump twice');
  t.equal(r.reopenAfterClose, null, 'name is free again after closeFd');
});

t.test('TUN with vnet headers: ring flag, kind-1 reads, zero-header writes, a GSO super-packet', needs(t, 'root', 'tun', 'ip'), async (t) => {
  const ns = netns(t, 'vnet');
  const r = await runChild(ns, { scenario: 'tun-vnet', tun: 'dmvv0' });
  t.equal(r.ringFlags, 1, 'tun-tx pump set the VNET flag of tunTx');
  t.same(r.reply && { kind: r.reply.kind, vnet: r.reply.vnet, src: r.reply.src, icmpType: r.reply.icmpType },
    { kind: 1, vnet: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], src: '10.78.0.1', icmpType: 0 },
    'a kind-0 write got a zero header; the reply is read as kind 1 behind a 10-byte vnet header');
  t.ok(r.reply2, 'kind-1 write with an explicit zero header');
  t.same(r.rst, { flags: 0x14, ack: 4000 }, 'the kernel took the 3000-byte GSO super-packet whole (RST acks seq + 3000)');
  t.equal(r.txStats.errors, 0);
  t.equal(r.txStats.drops, 0);
});

t.test('raw GRE and UDP between two namespaces, with pcap', needs(t, 'root', 'ip', 'tshark'), async (t) => {
  const a = netns(t, 'a'), b = netns(t, 'b');
  const va = `va${rnd()}`, vb = `vb${rnd()}`;
  execFileSync('ip', ['-n', a, 'link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', b]);
  execFileSync('ip', ['-n', a, 'addr', 'add', '10.99.0.1/24', 'dev', va]);
  execFileSync('ip', ['-n', b, 'addr', 'add', '10.99.0.2/24', 'dev', vb]);
  execFileSync('ip', ['-n', a, 'link', 'set', va, 'up']);
  execFileSync('ip', ['-n', b, 'link', 'set', vb, 'up']);
  const dir = mkdtempSync(join(tmpdir(), 'dmvtest-pcap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcapA = join(dir, 'a.pcap'), pcapB = join(dir, 'b.pcap');

  const rx = spawn('ip', inNs(b, { scenario: 'nbma-rx', local: '10.99.0.2', pcap: pcapB }), { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => { if (rx.exitCode === null) rx.kill('SIGKILL'); });
  let stderr = '';
  rx.stderr.on('data', (d) => { stderr += d; });
  const lines = createInterface({ input: rx.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const timer = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`rx child silent; stderr: ${stderr}`)), 15000));
    const l = await Promise.race([lines.next(), timer]);
    if (l.done) throw new Error(`rx child ended; stderr: ${stderr}`);
    return JSON.parse(l.value);
  };
  t.same(await next(), { ready: true });
  const tx = await runChild(a, { scenario: 'nbma-tx', local: '10.99.0.1', peer: '10.99.0.2', pcap: pcapA });
  t.equal(tx.rawStats.packets, 1, 'raw-tx sent the GRE packet');
  t.equal(tx.rawStats.drops, 1, 'raw-tx dropped the non-IPv4 slot');
  t.equal(tx.udpStats.packets, 1, 'udp-tx sent the datagram');
  t.same(await next(), { got: true });

  // Read B's capture while its process still runs (the pumps flush per batch).
  const live = execFileSync('tshark', ['-r', pcapB, '-T', 'fields', '-E', 'occurrence=f', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.proto', '-e', 'udp.srcport', '-e', 'udp.dstport'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  t.match(live, /10\.99\.0\.1\t10\.99\.0\.2\t47/, 'tshark reads the GRE packet from the live capture');
  t.match(live, /10\.99\.0\.1\t10\.99\.0\.2\t17\t4500\t4500/, 'tshark reads the synthesized UDP header');
  rx.stdin.write('close\n');
  const r = await next();
  t.same(r.gre && { kind: r.gre.kind, addr: r.gre.addr, version: r.gre.version, proto: r.gre.proto, src: r.gre.src, dst: r.gre.dst },
    { kind: 47, addr: '10.99.0.1', version: 4, proto: 47, src: '10.99.0.1', dst: '10.99.0.2' }, 'raw-rx slot: kind, addr, whole IPv4 packet');
  t.same(r.udp, { kind: 17, addr: '10.99.0.1', aux: ((4500 << 16) | 4500) >>> 0, payload: 'DMVPN-UDP-TEST' }, 'udp-rx slot');
  t.comment(`second UDP bind on the same port: ${JSON.stringify(r.udpBusy)}`);

  const full = execFileSync('tshark', ['-r', pcapA, '-T', 'fields', '-e', 'frame.protocols'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split('\n');
  t.equal(full.length, 2, 'sender capture has both packets after pcapClose');
  t.match(full.join(' '), /gre/);
  t.match(full.join(' '), /udp/);
  t.ok(statSync(pcapB).size > 24, 'receiver capture has records');
});

t.test('udp-rx: non-ESP datagrams (IKE marker) are rate-limited in the pump; ESP and keepalives are not', needs(t, 'root', 'ip'), async (t) => {
  const ns = netns(t, 'ctl');
  const rate = 100, burst = 20, control = 400;
  const r = await runChild(ns, { scenario: 'udp-control-rate', rate, burst, control });
  t.ok(r.end, 'the end marker arrived');
  t.comment(`flood of ${control} in ${r.elapsedMs} ms: ${r.stats.controlPassed} passed, ${r.stats.controlDropped} dropped`);
  t.equal(r.control, r.stats.controlPassed, 'what reached the ring is what the limiter admitted');
  t.ok(r.stats.controlPassed >= burst, 'the burst is admitted');
  t.ok(r.stats.controlPassed <= burst + Math.ceil(rate * r.elapsedMs / 1000) + 1,
    `no more than burst + rate x elapsed (${r.stats.controlPassed} <= ${burst} + ${rate} x ${r.elapsedMs} ms)`);
  t.ok(r.stats.controlDropped >= control - (burst + Math.ceil(rate * r.elapsedMs / 1000) + 1), 'the rest dropped and counted');
  t.equal(r.stats.controlPassed + r.stats.controlDropped, control, 'every control datagram is accounted for');
  t.equal(r.esp, control / 10, 'every ESP datagram passed');
  t.equal(r.keepalives, control / 20, 'every NAT-keepalive passed');
});

t.test('GRE lanes: a raw GRE socket filtered to NHRP gets only NHRP, its twin everything else (native/control-lanes.c)', needs(t, 'root', 'ip', 'python3'), async (t) => {
  const ns = netns(t, 'lanes');
  const r = await runChild(ns, { scenario: 'gre-lanes', data: 40 });
  t.ok(r.end, 'both end markers arrived');
  const nhrp = Array.from({ length: 10 }, (_, i) => `NHRP-${String(i * 4).padStart(3, '0')}`);
  t.same(r.nhrp, [...nhrp, 'NHRP-OPT', 'ENDN'], 'the NHRP lane: every NHRP packet, in order, and nothing else');
  t.same(r.data.filter((x: string) => x !== ''), [...Array.from({ length: 40 }, (_, i) => `DATA-${String(i).padStart(3, '0')}`), 'DATA-OPT', 'ENDX'],
    'the data lane: every data packet, in order, no NHRP');
  t.same(r.optionsIhl, [6, 6], 'the -OPT pair came with IPv4 options (IHL 6), each on its own lane');
  t.equal(r.short, 1, 'a GRE packet too short for a protocol type stays on the data lane (the worker counts it)');
  t.equal(r.stats.data.kernelDrops + r.stats.nhrp.kernelDrops, 0, 'the filters\' rejections are not counted as kernel drops');
  t.equal(r.refused?.code, 'EBADF', 'a bad fd is refused with its errno');
});

t.test('IKE lane: on UDP 4500 the non-ESP marker goes to the second socket of the SO_REUSEPORT group, ESP and keepalives to the first', needs(t, 'root', 'ip', 'python3'), async (t) => {
  const ns = netns(t, 'ikelane');
  const r = await runChild(ns, { scenario: 'ike-lane', esp: 40 });
  t.ok(r.end, 'both end markers arrived');
  t.same(r.ike, [...Array.from({ length: 10 }, (_, i) => `IKE-${String(i * 4).padStart(3, '0')}`), 'ENDI'], 'the IKE socket: every IKE datagram, in order, nothing else');
  const esp = Array.from({ length: 40 }, (_, i) => `\x00\x00\x10\x01ESP-${String(i).padStart(3, '0')}`);
  t.same(r.esp.filter((x: string) => x !== '\xff'), [...esp, 'ENDX'], 'the ESP socket: every ESP datagram, in order');
  t.equal(r.esp.filter((x: string) => x === '\xff').length, 5, 'and the NAT-keepalives (too short for the marker)');
});

// ESP in UDP over several workers (native/nbma-spread.c udp_spread_filter, docs/dataplane.md "Every core forwards")
for (const c of [{ workers: 3, ikeLane: true }, { workers: 2, ikeLane: false }]) {
  t.test(`UDP 4500 spread over ${c.workers} workers ${c.ikeLane ? 'with' : 'without'} the IKE lane: ESP by SPI, each SPI on one socket in order; IKE ${c.ikeLane ? 'to the lane' : 'to worker 0'}; keepalives to worker 0`, needs(t, 'root', 'ip', 'python3'), async (t) => {
    const spis = Array.from({ length: 12 }, (_, i) => 0x1000 + i * 0x1111);
    const per = 24;
    const r = await runChild(netns(t, `udpsp${c.workers}`), { scenario: 'udp-spread', workers: c.workers, ikeLane: c.ikeLane, spis, per });
    t.equal(r.refused?.code, 'EINVAL', 'one worker is refused (nothing to spread)');
    // the group's sockets in bind order: worker 0, [the IKE lane], workers 1..N-1
    const socketOf = (w: number) => (w === 0 ? 0 : w + (c.ikeLane ? 1 : 0));
    const got: string[][] = r.got.map((g: string[]) => g.map((h) => Buffer.from(h, 'hex').toString('latin1')));
    const ikeSock = c.ikeLane ? 1 : 0;
    const ike = got[ikeSock].filter((x) => x.startsWith('\0\0\0\0')).map((x) => x.slice(4));
    t.same(ike, Array.from({ length: per / 4 }, (_, i) => `IKE-${String(i * 4).padStart(3, '0')}`), `IKE: every datagram on socket ${ikeSock}, in order`);
    t.notOk(got.some((g, i) => i !== ikeSock && g.some((x) => x.startsWith('\0\0\0\0'))), 'no IKE on another socket');
    t.equal(got[0].filter((x) => x === '\xff').length, per / 8, 'keepalives: all on worker 0');
    const used = new Set<number>();
    for (const spi of spis) {
      const w = spreadWorker(spi, c.workers);
      used.add(w);
      const tag = Buffer.alloc(4); tag.writeUInt32BE(spi);
      const mine = (g: string[]) => g.filter((x) => x.startsWith(tag.toString('latin1'))).map((x) => x.slice(4));
      t.same(mine(got[socketOf(w)]), Array.from({ length: per }, (_, i) => `ESP-${String(i).padStart(3, '0')}`), `SPI ${spi.toString(16)}: all on worker ${w}'s socket, in order`);
    }
    t.equal(used.size, c.workers, `the ${spis.length} SPIs reach every worker`);
    t.equal(got.reduce((a, g) => a + g.length, 0), spis.length * per + per / 4 + per / 8, 'nothing lost, nothing twice');
  });
}

// UDP GSO/GRO on the ESP-in-UDP sockets (native/udp-offload.c, docs/dataplane.md "UDP offloads")
const gsoRuns = [{ port: 4601, size: 1400, count: 50 }, { port: 4602, size: 1400, count: 1 }, { port: 4601, size: 1000, count: 10 }, { port: 4601, size: 500, count: 1 }];
const gsoLens = [[...Array(50).fill(1400), ...Array(10).fill(1000), 500], [1400]];
t.test('udp-tx GSO: runs to one destination go as one UDP_SEGMENT send each, and arrive as intact datagrams in order', needs(t, 'root', 'ip', 'tshark'), async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dmvtest-gso-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'tx.pcap');
  const r = await runChild(netns(t, 'gsotx'), { scenario: 'udp-gso-tx', runs: gsoRuns, pcap });
  t.same(r.counts, [[61, 61], [1, 1]], 'every datagram arrived');
  t.same(r.intact, [true, true], 'each datagram intact, in the order of the slots');
  t.same(r.lens, gsoLens, 'datagram lengths: the runs\' sizes, with the short last one');
  t.equal(r.stats.udpOffload, 1, 'GSO in use');
  // 50 x 1400 exceed one IPv4 datagram (65507 B): 46 + 4; the other destination breaks the run; 10 x 1000 + 500 is one
  t.same([r.stats.gsoSends, r.stats.gsoSegments, r.stats.packets, r.stats.batches], [3, 61, 62, 1], 'three GSO sends carried 61 of the 62 datagrams, in one batch');
  t.same([r.stats.gsoFallbacks, r.stats.drops, r.stats.errors], [0, 0, 0]);
  // The pump's pcap mirror has one record per datagram (a capture on lo or a veth would show each GSO
  // send as one super-frame: the taps see it before the kernel segments it).
  const rows = execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'udp.dstport', '-e', 'udp.length', '-e', 'udp.payload'], { stdio: ['ignore', 'pipe', 'ignore'] })
    .toString().trim().split('\n').map((l) => l.split('\t'));
  t.same(rows.map((x) => `${x[0]}/${Number(x[1]) - 8}`), [...Array(50).fill('4601/1400'), '4602/1400', ...Array(10).fill('4601/1000'), '4601/500'],
    'tshark: every datagram in slot order, destination port and length');
  t.same(rows.map((x) => Buffer.from(x[2], 'hex').toString('latin1').slice(0, 8)), Array.from({ length: 62 }, (_, i) => `SEQ-${String(i).padStart(3, '0')}-`),
    'tshark: each record carries its slot\'s data');
});

t.test('udp-tx GSO off (DMVPN_UDP_OFFLOAD=off), and refused by the kernel: the plain path delivers the same', needs(t, 'root', 'ip'), async (t) => {
  const off = await runChild(netns(t, 'gsooff'), { scenario: 'udp-gso-tx', runs: gsoRuns }, { DMVPN_UDP_OFFLOAD: 'off' });
  t.same([off.intact, off.lens], [[true, true], gsoLens], 'off: every datagram intact, in order');
  t.same([off.stats.udpOffload, off.stats.gsoSends, off.stats.packets], [0, 0, 62], 'off: no GSO send');
  // a 1400-byte segment does not fit lo's MTU of 1300: the kernel refuses UDP_SEGMENT (EINVAL) on first use
  const refused = await runChild(netns(t, 'gsoref'), { scenario: 'udp-gso-tx', runs: gsoRuns, loMtu: 1300 });
  t.same([refused.intact, refused.lens], [[true, true], gsoLens], 'refused: the refused run resent one datagram each (fragmented), all intact, in order');
  t.same([refused.stats.udpOffload, refused.stats.gsoFallbacks, refused.stats.gsoSends, refused.stats.packets, refused.stats.drops],
    [2, 1, 0, 62, 0], 'refused once, counted, GSO off from then on');
});

t.test('udp-tx GSO: IKE (the non-ESP marker) neither joins nor starts a run, so the peer steers it to its IKE lane', needs(t, 'root', 'ip'), async (t) => {
  const runs = [{ port: 4601, size: 1000, count: 5 }, { port: 4601, size: 300, count: 1, ike: true }, { port: 4601, size: 1000, count: 3 },
    { port: 4601, size: 1000, count: 1, ike: true }, { port: 4601, size: 1000, count: 2 }];
  const r = await runChild(netns(t, 'gsoike'), { scenario: 'udp-gso-tx', runs });
  t.same([r.intact, r.lens], [[true], [[1000, 1000, 1000, 1000, 1000, 300, 1000, 1000, 1000, 1000, 1000, 1000]]], 'all intact, in order');
  t.same([r.stats.gsoSends, r.stats.gsoSegments, r.stats.packets], [3, 10, 12], 'ESP runs of 5, 3 and 2 by GSO; each IKE datagram alone');
});

t.test('udp-rx GRO: super-datagrams are split into one slot per segment, in order, also when the ring is full', needs(t, 'root', 'ip', 'python3'), async (t) => {
  const esp = (n: number, size: number) => Array(n).fill(['esp', size]);
  const trains = [[1000, [...esp(39, 1000), ['esp', 300]]], [1000, esp(40, 1000)], [0, esp(1, 500)], [2100, esp(3, 2100)], [800, [...esp(5, 800), ['ike', 300]]]];
  const r = await runChild(netns(t, 'grorx'), { scenario: 'udp-gro-rx', trains });
  t.ok(r.end, `the end marker arrived (${r.senderErr})`);
  t.equal(r.sender, '90', 'the sender built 90 datagrams');
  const got = r.esp.filter((x: any) => x.tag !== 'ENDX');
  t.equal(got.length, 87, '40 + 40 + 1 + 6 slots (the 3 of 2100 bytes do not fit a slot)');
  const seqs = got.map((x: any) => Number(x.tag.slice(8, 11)));
  t.same(seqs, [...Array.from({ length: 81 }, (_, i) => i), ...Array.from({ length: 6 }, (_, i) => 84 + i)], 'in the order sent');
  t.same(got.map((x: any) => x.len), [...Array(39).fill(1000), 300, ...Array(40).fill(1000), 500, ...Array(5).fill(800), 300], 'each slot one segment: gso_size long but the last');
  t.ok(got.every((x: any) => x.fill), 'segment contents intact');
  t.equal(got[got.length - 1].tag.slice(0, 4), '\u0000\u0000\u0000\u0000', 'the IKE datagram behind ESP in one train arrives on the ESP socket\'s ring');
  t.same([r.stats.groSupers, r.stats.groSegments, r.stats.drops, r.stats.udpOffload], [3, 86, 3, 1], 'three super-datagrams split into 86 slots; the 3 too big for a slot dropped and counted');
  t.equal(r.stats.controlPassed, 1, 'and that IKE datagram went through the IKE rate limit of the ESP pump');
  t.ok(r.stats.fullWaits >= 1, 'the 64-slot ring filled before the consumer ran: the pump waited, nothing lost');
});

t.test('udp-rx GRO with the IKE lane: a train goes to the socket its first datagram picks; every datagram arrives once', needs(t, 'root', 'ip', 'python3'), async (t) => {
  const trains = [[800, [...Array(5).fill(['esp', 800]), ['ike', 300]]], [800, [['ike', 800], ...Array(3).fill(['esp', 800])]], [0, [['ike', 200]]]];
  const r = await runChild(netns(t, 'groike'), { scenario: 'udp-gro-rx', trains, ikeLane: true });
  t.ok(r.end, 'the end marker arrived');
  const seq = (l: any[]) => l.filter((x: any) => x.tag !== 'ENDX').map((x: any) => `${x.tag.charCodeAt(2) ? 'esp' : 'ike'}${Number(x.tag.slice(8, 11))}`);
  t.same(seq(r.esp), ['esp0', 'esp1', 'esp2', 'esp3', 'esp4', 'ike5'], 'ESP socket: the ESP-led train, with its IKE tail');
  t.same(seq(r.ike), ['ike6', 'esp7', 'esp8', 'esp9', 'ike10'], 'IKE socket: the IKE-led train (the worker handles ESP on either ring) and the lone IKE');
  t.same([r.stats.groSupers, r.ikeStats.groSupers, r.ikeStats.groSegments], [1, 1, 4]);
});

t.test('udp pumps whose offload the kernel refuses start anyway and run on the plain path', needs(t, 'root', 'ip', 'python3'), async (t) => {
  const r = await runChild(netns(t, 'offref'), { scenario: 'udp-offload-refused' });
  t.same([r.rxStats.udpOffload, r.txStats.udpOffload], [2, 2], 'GRO and GSO refused (ENOPROTOOPT on a raw socket), said as 2');
  t.ok(r.got, 'the rx pump received into its slots without GRO');
  t.same([r.rxStats.groSupers, r.rxStats.drops], [0, 0]);
});

t.test('socket rx pump: a full ring makes it wait and count; kernel drops are counted, not silent; recvmmsg batches keep the order', needs(t, 'root', 'ip'), async (t) => {
  const ns = netns(t, 'hbtfull');
  const flood = 5000, batch = 16; // 1.2 KB each: 6 MB, more than any socket buffer holds
  const r = await runChild(ns, { scenario: 'rx-ring-full', flood, batch });
  t.ok(r.end, 'the end marker arrived after the queue was drained');
  t.equal(r.usedWhileFull, 64, 'the 64-slot ring filled while its consumer was paused');
  t.ok(r.waitsWhileFull >= 1, `the pump waited on the full ring (ring header fullWaits ${r.waitsWhileFull})`);
  t.equal(r.ringFullWaits, r.stats.fullWaits, 'ring header fullWaits = the pump\'s own count');
  t.ok(r.stats.kernelDrops > 0, `the socket buffer overflowed: ${r.stats.kernelDrops} datagrams dropped by the kernel`);
  t.equal(r.ringKernelDrops, r.stats.kernelDrops, 'ring header kernelDrops = the pump\'s own count');
  t.equal(r.seqs.length + r.stats.kernelDrops, flood, `every datagram is accounted for: ${r.seqs.length} received + ${r.stats.kernelDrops} dropped by the kernel`);
  t.same(r.seqs.slice(0, 64), Array.from({ length: 64 }, (_, i) => i), 'the ring holds the first 64, in order');
  t.ok(r.seqs.every((v: number, i: number) => i === 0 || v > r.seqs[i - 1]), 'received in the order sent, across recvmmsg batches');
  t.equal(r.stats.drops, 0, 'nothing dropped by the pump itself');
});

t.test('polled sockets (native/polled-sock.c): an id names an open socket of its own thread only; closed is gone; a worker\'s are closed with it', async (t) => {
  const id = io.netlinkOpen(0, () => {});
  t.type(io.netlinkStats(id).portId, 'number', 'open: stats name its port');
  const w = new Worker(`
    const { workerData, parentPort } = require('node:worker_threads');
    const io = require(workerData.native);
    parentPort.postMessage(io.netlinkOpen(0, () => {})); // left open: the worker's env cleanup closes it
  `, { eval: true, workerData: { native: nativePath } });
  const workerId = await new Promise<number>((res, rej) => { w.once('message', res); w.once('error', rej); });
  t.not(workerId, id, 'ids are process-wide');
  t.throws(() => io.netlinkStats(workerId), { code: 'ENOENT' }, 'another thread\'s socket is not ours');
  await new Promise<void>((res) => w.once('exit', () => res()));
  const again = io.netlinkOpen(0, () => {});
  t.ok(again !== id && again !== workerId, 'a new socket gets a new id after the worker\'s went');
  io.netlinkClose(id);
  t.throws(() => io.netlinkStats(id), { code: 'ENOENT' }, 'closed: gone');
  t.throws(() => io.netlinkClose(id), { code: 'ENOENT' }, 'closing twice is an error, not a double free');
  t.type(io.netlinkStats(again).portId, 'number', 'the other socket is untouched');
  io.netlinkClose(again);
});
