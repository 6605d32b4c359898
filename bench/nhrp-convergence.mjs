// Time to direct path: seed topology (hub R1 + spokes R2..R4, test/lab/configs), Phase 2 (spokes
// route each other's LAN to the other spoke's tunnel address; no redirect/shortcut) and Phase 3
// (lab configs as they are: hub `ip nhrp redirect`, spokes `ip nhrp shortcut`). A UDP stream h2 -> h4,
// one datagram every 1 ms carrying its sequence number and send time; h4 reads each datagram's TTL:
// via the hub it arrives one lower (R2, R1, R4 forward it) than over the direct spoke-to-spoke tunnel
// (R2, R4). Figure: send time of the first datagram that arrived directly minus that of the first
// datagram. Between runs `clear ip nhrp` on R2 and R4 (and > 2 s, the hub's redirect rate limit).
// With `ike`: Phase 3 only, every router with seed 003's crypto block (test/fixtures/cli/seed003-crypto.cfg:
// IKEv1 main mode + quick mode, IOS defaults DES/SHA-1/DH group 1, esp-aes esp-sha-hmac), so the direct
// path exists only once R2 and R4 negotiated their SAs; between runs `clear ip nhrp` also takes their SAs.
// Prints figures, asserts nothing.   node bench/nhrp-convergence.mjs [runs per phase, default 10] [ike]
// BENCH_TRACE=1: per run the paths the datagrams took in send order, and R2's and R4's last log lines
// (BENCH_TRACE_LINES, default 40).
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { root, sh, nsx, onCleanup, ctl, ctlJson, waitFor, startDmvpnd, sleep, stats } from './lib/nhrp-bench.mjs';

const RUNS = Number(process.argv[2] ?? 10);
const IKE = process.argv[3] === 'ike';
const R2_NBMA = '172.16.25.2', R4_NBMA = '172.16.45.2';
const SEED_CRYPTO = readFileSync(join(root, 'test/fixtures/cli/seed003-crypto.cfg'), 'utf8');
const INTERVAL_MS = 1, COUNT = 3000; // 3 s of probes per run, 1 ms resolution
const P = `dmvcv${process.pid % 1000}`;
const TOPO = join(root, 'test/lab/topology.sh');
const run = mkdtempSync(join(tmpdir(), 'dmvconv-'));
const ns = (n) => `${P}-${n}`;

// the same edits as test/integration-phase23.test.ts phaseConfig (and test/util/lab.ts labConfig)
function phaseConfig(name, phase) {
  let c = readFileSync(join(root, 'test/lab/configs', `${name}.cfg`), 'utf8');
  c = c.replace(/ip nhrp holdtime \d+/, 'ip nhrp holdtime 60').replace(/( ip nhrp holdtime \d+\n)/, '$1 ip nhrp registration timeout 5\n');
  if (phase === 2) {
    c = c.replace(/ ip nhrp (redirect|shortcut)\n/g, '');
    if (name !== 'R1') {
      const n = Number(name.slice(1));
      const routes = [2, 3, 4].filter((m) => m !== n).map((m) => `ip route 10.0.${m}.0 255.255.255.0 192.168.0.${m}`).join('\n');
      c = c.replace('ip route 10.0.0.0 255.0.0.0 192.168.0.1', `ip route 10.0.1.0 255.255.255.0 192.168.0.1\n${routes}`);
    }
  }
  return IKE ? c.replace(/\nend\n?$/, `\n${SEED_CRYPTO}end\n`) : c;
}

onCleanup(() => { sh('bash', [TOPO, 'down', P], { allowFail: true }); rmSync(run, { recursive: true, force: true }); });
const probe = join(root, 'bench/lib/udp-probe.py');

async function oneRun(port) {
  const rx = spawn('ip', ['netns', 'exec', ns('h4'), 'python3', probe, 'recv', String(port), '1.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => { if (rx.exitCode === null) try { rx.kill('SIGKILL'); } catch { /* gone */ } });
  let out = '';
  rx.stdout.on('data', (d) => { out += d; });
  await new Promise((r) => rx.stderr.once('data', r)); // "ready"
  nsx(ns('h2'), ['python3', probe, 'send', '10.0.4.10', String(port), String(INTERVAL_MS), String(COUNT)]);
  await new Promise((r) => rx.once('exit', r));
  return JSON.parse(out); // [seq, sent, recv, ttl]
}

const results = {};
for (const phase of IKE ? [3] : [2, 3]) {
  sh('bash', [TOPO, 'up', P, '3']);
  const routers = {};
  for (const r of ['R1', 'R2', 'R3', 'R4']) {
    const cfg = join(run, `${r}-p${phase}.cfg`);
    writeFileSync(cfg, phaseConfig(r, phase));
    routers[r] = startDmvpnd(ns(r.toLowerCase()), { config: cfg, control: join(run, `${r}-p${phase}.sock`) });
  }
  const peers = async (r) => (await ctlJson(routers[r].control, 'show dmvpn')).interfaces?.[0]?.peers ?? [];
  const up = await waitFor(async () => (await peers('R1')).filter((p) => p.state === 'UP').length === 3, IKE ? 60000 : 30000, 200);
  if (!up) { console.log(`Phase ${phase}: hub did not learn 3 spokes\n${routers.R1.log.slice(-15).join('\n')}`); for (const d of Object.values(routers)) await d.stop(); continue; }
  // warm-up: ARP everywhere, code paths compiled; then forget the spoke-to-spoke state
  nsx(ns('h2'), ['ping', '-c', '5', '-i', '0.2', '-W', '2', '10.0.4.10'], { allowFail: true });
  const times = [], detail = [];
  // no-SA / unknown-SPI drops at both spokes over all runs: an SA used before the peer installed its half shows here
  const DROPS = ['dropNoSa', 'dropUnknownSpi', 'dropEspReplay', 'dropEspAuth'];
  const drops = async () => Object.fromEntries(await Promise.all(['R2', 'R4'].map(async (r) => {
    const c = await ctlJson(routers[r].control, 'show dataplane counters');
    return [r, DROPS.map((k) => c[k] ?? 0)];
  })));
  const dropsBefore = IKE ? await drops() : undefined;
  for (let i = 0; i < RUNS; i++) {
    for (const r of ['R2', 'R4']) await ctl(routers[r].control, 'clear ip nhrp');
    await sleep(2500); // > the hub's 2 s redirect rate limit per (source, destination)
    const clean = await waitFor(async () => !(await peers('R2')).some((p) => p.tunnel === '192.168.0.4') &&
      !(await peers('R4')).some((p) => p.tunnel === '192.168.0.2') && (await peers('R2')).some((p) => p.tunnel === '192.168.0.1') &&
      (!IKE || !(await ctlJson(routers.R2.control, 'show crypto isakmp sa')).some((x) => [x.src, x.dst].includes(R4_NBMA))), 10000, 200);
    if (!clean) console.log(`  (run ${i + 1}: spoke caches not clean after clear ip nhrp)`);
    const rec = await oneRun(40000 + i);
    const maxTtl = Math.max(...rec.map((x) => x[3]));
    const ttls = [...new Set(rec.map((x) => x[3]))].sort();
    const first = rec.find((x) => x[0] === 0) ?? rec[0];
    const t0 = first ? first[1] - first[0] * INTERVAL_MS / 1000 : 0; // send time of seq 0
    const direct = ttls.length > 1 ? rec.find((x) => x[3] === maxTtl) : undefined;
    const viaHub = rec.filter((x) => x[3] < maxTtl).length;
    const lost = COUNT - rec.length;
    if (direct) times.push((direct[1] - t0) * 1000);
    if (process.env.BENCH_TRACE) { // which path each datagram took, in send order: "hub x N, direct x M, ..."
      const runs = [];
      for (const x of [...rec].sort((a, b) => a[0] - b[0])) { const k = x[3] === maxTtl ? 'direct' : 'hub'; if (runs.at(-1)?.[0] === k) runs.at(-1)[1]++; else runs.push([k, 1]); }
      console.log(`  run ${i + 1} paths: ${runs.slice(0, 12).map(([k, n]) => `${k} x ${n}`).join(', ')}${runs.length > 12 ? ', ...' : ''}`);
    }
    detail.push(`${direct ? ((direct[1] - t0) * 1000).toFixed(1) : 'none'}` + `(hub ${viaHub}, lost ${lost}, ttl ${ttls.join('/')})`);
  }
  const dropsAfter = IKE ? await drops() : undefined;
  if (process.env.BENCH_TRACE) for (const r of ['R2', 'R4']) console.log(`--- ${r}\n${routers[r].log.slice(-Number(process.env.BENCH_TRACE_LINES ?? 40)).join('\n')}`);
  const dmv = await ctl(routers.R2.control, 'show dmvpn');
  const isakmp = IKE ? (await ctlJson(routers.R2.control, 'show crypto isakmp sa')).filter((x) => [x.src, x.dst].includes(R4_NBMA)) : [];
  const espFromR2 = IKE ? (await ctlJson(routers.R4.control, 'show crypto ipsec sa')).filter((x) => x.peer === R2_NBMA && x.dir === 'in') : [];
  for (const d of Object.values(routers)) await d.stop();
  sh('bash', [TOPO, 'down', P], { allowFail: true });
  const s = stats(times);
  results[phase] = s;
  console.log(`Phase ${phase}${IKE ? ' + IKEv1 (seed 003 crypto)' : ''}: time to direct path, ms: min ${s.min?.toFixed(1)}  median ${s.median?.toFixed(1)}  max ${s.max?.toFixed(1)}  (${s.n}/${RUNS} runs went direct within ${COUNT * INTERVAL_MS} ms)`);
  if (IKE) console.log(`  after the last run R4 holds ${espFromR2.length} inbound ESP SA(s) from R2 (packets ${espFromR2.map((x) => x.packets).join('/')}): the direct path is encrypted; ` +
    `the R2-R4 ISAKMP SA was initiated by ${isakmp.map((x) => (x.src === R4_NBMA ? 'R4' : 'R2')).join(', ') || 'none'} (src = initiator)`);
  if (IKE) console.log(`  drops during the ${RUNS} setups (${DROPS.join('/')}): ` + ['R2', 'R4'].map((r) => `${r} ${dropsAfter[r].map((v, k) => v - dropsBefore[r][k]).join('/')}`).join(', '));
  console.log(`  per run: first direct datagram ms (datagrams via hub, lost, TTLs seen): ${detail.join('  ')}`);
  if (s.n === 0) console.log(dmv);
}
