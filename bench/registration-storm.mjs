// Registration storm: N simulated spokes register with a freshly (re)started hub at once.
// Namespaces PREFIX-hub (dmvpnd, NBMA 172.30.0.1 on eth0, tunnel 10.200.0.1/16) and PREFIX-sim
// joined by a veth; in the sim namespace 100.64.0.0/16 is a local route ("AnyIP"), so one Python
// process (bench/lib/nhrp-spokes.py) sends real NHRP Registration Requests in real GRE from spoofed
// NBMA sources 100.64.x.y (tunnel addresses 10.200.x.y), built with the appliance's own codec, and
// receives every reply. Measures: time until every spoke has a code-0 reply (sim side), the hub's
// NHRP cache size afterwards (`show dmvpn json`), dmvpnd RSS and V8 heap per entry, drop counters.
// Prints figures, asserts nothing.
//   node bench/registration-storm.mjs [N ...]        (default: 1000 10000)
//   BENCH_CPU_PROF=1 ...  also profiles the hub (node --cpu-prof) and prints the top functions
import { writeFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { root, ip, nsx, nsDown, onCleanup, ctl, ctlJson, waitFor, loadCodec, startDmvpnd, sleep, cpuProfileTop } from './lib/nhrp-bench.mjs';

const SIZES = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (!SIZES.length) SIZES.push(1000, 10000);
const P = `dmvst${process.pid % 1000}`;
const HUB = `${P}-hub`, SIM = `${P}-sim`;
const HUB_NBMA = '172.30.0.1', SIM_ADDR = '172.30.0.2';
const TIMEOUT_S = 60;
const PROF = process.env.BENCH_CPU_PROF === '1';
const run = mkdtempSync(join(tmpdir(), 'dmvstorm-'));

onCleanup(() => { nsDown(P); rmSync(run, { recursive: true, force: true }); });
nsDown(P);
ip('netns', 'add', HUB); ip('netns', 'add', SIM);
ip('link', 'add', `${P}a`, 'type', 'veth', 'peer', 'name', `${P}b`);
ip('link', 'set', `${P}a`, 'netns', HUB); ip('link', 'set', `${P}b`, 'netns', SIM);
ip('-n', HUB, 'link', 'set', `${P}a`, 'name', 'eth0'); ip('-n', SIM, 'link', 'set', `${P}b`, 'name', 'eth0');
for (const ns of [HUB, SIM]) { ip('-n', ns, 'link', 'set', 'lo', 'up'); ip('-n', ns, 'link', 'set', 'eth0', 'up'); }
ip('-n', SIM, 'addr', 'add', `${SIM_ADDR}/30`, 'dev', 'eth0');
ip('-n', SIM, 'route', 'add', 'local', '100.64.0.0/16', 'dev', 'lo');
ip('-n', SIM, 'route', 'add', 'default', 'via', HUB_NBMA);
nsx(SIM, ['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.eth0.rp_filter=0']);

const hubConfig = `hostname HUB
!
interface FastEthernet0/0
 ip address ${HUB_NBMA} 255.255.255.252
!
interface Tunnel0
 ip address 10.200.0.1 255.255.0.0
 ip mtu 1400
 ip nhrp map multicast dynamic
 ip nhrp network-id 1
 ip nhrp holdtime 600
 tunnel source FastEthernet0/0
 tunnel mode gre multipoint
!
ip route 100.64.0.0 255.255.0.0 ${SIM_ADDR}
end
`;
writeFileSync(join(run, 'hub.cfg'), hubConfig);

const codec = await loadCodec();
const { u32ToIp } = codec;
/** spoke i: tunnel 10.200.x.y, NBMA 100.64.x.y, x.y skipping .0 / .255 hosts and the hub's 10.200.0.1 */
function spokeAddr(i) {
  const h = Math.floor(i / 254) * 256 + (i % 254) + 1 + 256; // from x.y = 1.1
  return { proto: u32ToIp(((10 << 24) | (200 << 16) | h) >>> 0), nbma: u32ToIp(((100 << 24) | (64 << 16) | h) >>> 0) };
}
function packets(n, from = 0) {
  // What our NHC sends (appliance/nhrp/registration-client.ts buildRequest): unique, Cisco NAT flag, 4 extensions.
  const bufs = [];
  for (let i = from; i < from + n; i++) {
    const { proto, nbma } = spokeAddr(i);
    const b = codec.encodeNhrp({
      type: codec.NhrpType.RegistrationRequest, hopCount: 1, srcNbma: nbma, srcProto: proto, dstProto: '10.200.0.1',
      flags: codec.FLAG_REG_UNIQUE | codec.FLAG_CISCO_NAT, requestId: i - from + 1,
      cies: [{ code: 0, prefixLen: 0xff, mtu: 1400, holdingTime: 600, preference: 0 }],
      extensions: [
        { type: codec.NhrpExtType.ForwardTransitNhs, compulsory: true, cies: [] },
        { type: codec.NhrpExtType.ReverseTransitNhs, compulsory: true, cies: [] },
        { type: codec.NhrpExtType.ResponderAddress, compulsory: true, cies: [] },
        { type: codec.NhrpExtType.NatAddress, compulsory: false, cies: [{ code: 0, prefixLen: 32, mtu: 1400, holdingTime: 0, preference: 0, nbma: HUB_NBMA, proto: '10.200.0.1' }] },
      ],
    });
    const h = Buffer.alloc(10);
    codec.ipv4ToBytes(nbma).forEach((v, k) => { h[k] = v; });
    codec.ipv4ToBytes(proto).forEach((v, k) => { h[4 + k] = v; });
    h.writeUInt16BE(b.length, 8);
    bufs.push(h, Buffer.from(b));
  }
  return Buffer.concat(bufs);
}

const rawDrops = (ns) => nsx(ns, ['cat', '/proc/net/raw'], { allowFail: true }).stdout.split('\n').slice(1).filter(Boolean)
  .reduce((s, l) => s + Number(l.trim().split(/\s+/).pop()), 0);
const kb = (b) => (b / 1024).toFixed(1);

async function runSim(pktFile, paceUs = 0, repeat = 1) {
  const sim = spawn('ip', ['netns', 'exec', SIM, 'python3', join(root, 'bench/lib/nhrp-spokes.py'), pktFile, HUB_NBMA, String(TIMEOUT_S), String(paceUs), String(repeat)], { stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => { if (sim.exitCode === null) try { sim.kill('SIGKILL'); } catch { /* gone */ } });
  let out = '', err = '';
  sim.stdout.on('data', (d) => { out += d; }); sim.stderr.on('data', (d) => { err += d; });
  await new Promise((r) => sim.once('exit', r));
  try { return JSON.parse(out); } catch { throw new Error(`simulator failed: ${err || out}`); }
}

// Warm-up before the memory baseline: W spokes from the top of the range, each registering 9 times
// at 2,000/s, so code paths are compiled and every NBMA/control ring slot has been touched once.
const W = 128, WARM_FROM = 254 * 254 - W;
const warmFile = join(run, 'warm.bin');
writeFileSync(warmFile, packets(W, WARM_FROM));

const MODES = [{ label: 'burst', paceUs: 0 }, { label: 'paced', paceUs: Number(process.env.BENCH_PACE_US ?? 100) }]
  .filter((m) => !process.env.BENCH_MODE || process.env.BENCH_MODE === m.label);
for (const N of SIZES) for (const mode of MODES) {
  if (N > WARM_FROM) { console.log(`N=${N}: more than the 100.64.0.0/16 sim range holds, skipped`); continue; }
  const pktFile = join(run, `reg-${N}.bin`);
  writeFileSync(pktFile, packets(N));
  // "hub restart": a fresh dmvpnd with an empty cache
  const profDir = join(run, `prof-${N}-${mode.label}`);
  const hub = startDmvpnd(HUB, { config: join(run, 'hub.cfg'), control: join(run, `hub-${N}-${mode.label}.sock`),
    nodeFlags: PROF ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [] });
  const t0 = Date.now();
  const up = await waitFor(async () => (await ctlJson(hub.control, 'show dmvpn')).interfaces?.length === 1, 20000, 50);
  if (!up) { console.log(`N=${N}: hub did not come up\n${hub.log.slice(-20).join('\n')}`); await hub.stop(); continue; }
  const startMs = Date.now() - t0;
  const warm = await runSim(warmFile, 500, 9);
  await sleep(1000); // let start-up garbage settle before the baseline
  const before = await hub.probe();
  const c0 = JSON.parse(await ctl(hub.control, 'show dataplane counters json'));
  const rawDrop0 = rawDrops(HUB);

  // hub-side timeline: registration replies sent, sampled every 100 ms (a cheap counter query)
  const timeline = [];
  let sampling = true;
  const tSim = Date.now();
  const sampler = (async () => {
    while (sampling) {
      try { const t = await ctlJson(hub.control, 'show ip nhrp traffic', 5000); timeline.push([Date.now() - tSim, t.out?.['registration-reply'] ?? 0, t.in?.['registration-request'] ?? 0]); } catch { /* busy */ }
      await sleep(100);
    }
  })();
  const r = await runSim(pktFile, mode.paceUs);
  sampling = false; await sampler;

  const dm = await ctlJson(hub.control, 'show dmvpn', 60000);
  const peers = dm.interfaces?.[0]?.peers?.length ?? 0;
  const c1 = JSON.parse(await ctl(hub.control, 'show dataplane counters json'));
  const traffic = await ctlJson(hub.control, 'show ip nhrp traffic');
  await sleep(500);
  const after = await hub.probe();
  const rawDrop1 = rawDrops(HUB);
  const ringWarn = hub.log.filter((l) => /control ring full/.test(l)).length;
  await hub.stop();

  const d = (k) => (c1[k] ?? 0) - (c0[k] ?? 0);
  const rep0 = timeline[0]?.[1] ?? 0;
  const hubAll = timeline.find(([, rep]) => rep - rep0 >= N);
  const how = mode.paceUs ? `paced: one every ${mode.paceUs} us (${Math.round(1e6 / mode.paceUs)}/s), sent in ${r.burst_send_ms} ms` : `one burst, sent in ${r.burst_send_ms} ms`;
  console.log(`-- ${N} spokes, ${mode.label} (hub start-up ${startMs} ms, warm-up ${warm.acked}/${W} spokes; ${N} Registration Requests ${how}, then retransmits after 1, 2, 4 s ... while unanswered)`);
  console.log(`converged (all ${N} spokes got a code-0 reply): ${r.all_ms !== null ? `${(r.all_ms / 1000).toFixed(2)} s` : `NO: ${r.acked}/${N} within ${TIMEOUT_S} s`}` +
    `  first ${r.first_ms} ms, 50% ${r.p50_ms} ms, 90% ${r.p90_ms} ms, 99% ${r.p99_ms} ms`);
  console.log(`answered from the first burst: ${r.first_round_acks}/${N}; retransmission rounds ${r.rounds} (${r.retransmits} requests resent); reply codes ${JSON.stringify(r.codes)}`);
  console.log(`hub cache after the storm: ${peers - W} peers in show dmvpn besides the warm-up ones (${peers - W === N ? 'all' : 'MISSING ' + (N - peers + W)})` +
    (hubAll ? `; hub had sent ${N} registration replies by ${(hubAll[0] / 1000).toFixed(2)} s` : ''));
  const E = Math.max(1, peers - W); // entries the storm added
  console.log(`hub memory (${E} entries added): RSS ${kb(before.rss)} -> ${kb(after.rss)} KiB = ${((after.rss - before.rss) / E).toFixed(0)} B/entry; ` +
    `V8 heap used ${kb(before.heapUsed)} -> ${kb(after.heapUsed)} KiB = ${((after.heapUsed - before.heapUsed) / E).toFixed(0)} B/entry after GC ` +
    `(heap total ${kb(before.heapTotal)} -> ${kb(after.heapTotal)} KiB, external+arrayBuffers ${kb(before.external)} -> ${kb(after.external)} KiB)`);
  console.log(`hub drops: dataplane dropRingFull ${d('dropRingFull')}, nhrpIn ${d('nhrpIn')} / nhrpOut ${d('nhrpOut')} (of ${r.sends} requests sent), ` +
    `cmdApplied ${d('cmdApplied')}, raw socket drops (kernel, /proc/net/raw) ${rawDrop1 - rawDrop0}, "control ring full" NHRP sends dropped ${ringWarn}, ` +
    `NHRP engine drops ${JSON.stringify(traffic.drops ?? {})}`);
  if (PROF) {
    await sleep(300);
    const all = readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile'));
    for (const x of all) {
      const p = cpuProfileTop(join(profDir, x), 12);
      console.log(`cpu profile ${x} (${p.totalMs.toFixed(0)} ms sampled): ` + p.top.map((t) => `${t.fn} ${t.pct.toFixed(1)}%`).join('; '));
    }
  }
}
