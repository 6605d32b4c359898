// Data-plane recovery time after a WASM trap: hub R1 + spoke R2 (seed topology, test/lab/configs),
// daemons run with DMVPN_TEST_HOOKS=1. A UDP stream h2 -> h1, one datagram every 1 ms; during it,
// `test dataplane crash` makes one router's worker trap (the supervisor detects it, restarts the
// worker on the same shared memory, wasm/assembly/worker/recover.ts). Figure per run: the outage on the
// receiver, i.e. arrival time of the first datagram after the gap minus that of the last before it
// (= trap to first forwarded packet, +-1 ms), and datagrams lost. Runs alternate the spoke (sender
// side) and the hub (transit). Prints figures, asserts nothing.
//   node bench/dataplane-recovery.mjs [runs per router, default 5]
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { root, sh, nsx, onCleanup, ctl, ctlJson, waitFor, startDmvpnd, sleep, stats } from './lib/nhrp-bench.mjs';

const RUNS = Number(process.argv[2] ?? 5);
const INTERVAL_MS = 1, COUNT = 2500;
const P = `dmvrc${process.pid % 1000}`;
const TOPO = join(root, 'test/lab/topology.sh');
const run = mkdtempSync(join(tmpdir(), 'dmvrecover-'));
const ns = (n) => `${P}-${n}`;
const probe = join(root, 'bench/lib/udp-probe.py');
process.env.DMVPN_TEST_HOOKS = '1';

onCleanup(() => { sh('bash', [TOPO, 'down', P], { allowFail: true }); rmSync(run, { recursive: true, force: true }); });

sh('bash', [TOPO, 'up', P, '1']);
const routers = {};
for (const r of ['R1', 'R2']) {
  const cfg = join(run, `${r}.cfg`);
  const text = readFileSync(join(root, 'test/lab/configs', `${r}.cfg`), 'utf8')
    .replace(/ip nhrp holdtime \d+/, 'ip nhrp holdtime 60').replace(/( ip nhrp holdtime \d+\n)/, '$1 ip nhrp registration timeout 5\n');
  writeFileSync(cfg, text);
  routers[r] = startDmvpnd(ns(r.toLowerCase()), { config: cfg, control: join(run, `${r}.sock`) });
}
const up = await waitFor(async () => ((await ctlJson(routers.R1.control, 'show dmvpn')).interfaces?.[0]?.peers ?? []).length === 1, 30000, 200);
if (!up) { console.log(`hub did not learn the spoke\n${routers.R1.log.slice(-15).join('\n')}`); process.exit(0); }
nsx(ns('h2'), ['ping', '-c', '5', '-i', '0.2', '-W', '2', '10.0.1.10'], { allowFail: true }); // ARP, warm-up

async function oneRun(router, port) {
  const rx = spawn('ip', ['netns', 'exec', ns('h1'), 'python3', probe, 'recv', String(port), '1.0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => { if (rx.exitCode === null) try { rx.kill('SIGKILL'); } catch { /* gone */ } });
  let out = '';
  rx.stdout.on('data', (d) => { out += d; });
  await new Promise((r) => rx.stderr.once('data', r)); // "ready"
  const tx = spawn('ip', ['netns', 'exec', ns('h2'), 'python3', probe, 'send', '10.0.1.10', String(port), String(INTERVAL_MS), String(COUNT)], { stdio: 'ignore' });
  await sleep(1000);
  const before = (await ctlJson(routers[router].control, 'show dataplane counters')).dataplaneRestarts;
  await ctl(routers[router].control, 'test dataplane crash');
  await waitFor(async () => (await ctlJson(routers[router].control, 'show dataplane counters')).dataplaneRestarts > before, 10000, 20);
  await new Promise((r) => tx.once('exit', r));
  await new Promise((r) => rx.once('exit', r));
  const rec = JSON.parse(out).sort((a, b) => a[2] - b[2]); // [seq, sent, recv, ttl] by arrival
  let gap = 0;
  for (let i = 1; i < rec.length; i++) gap = Math.max(gap, rec[i][2] - rec[i - 1][2]);
  return { outageMs: gap * 1000, lost: COUNT - rec.length };
}

for (const router of ['R2', 'R1']) {
  const times = [], detail = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await oneRun(router, 41000 + i + (router === 'R1' ? 100 : 0));
    times.push(r.outageMs);
    detail.push(`${r.outageMs.toFixed(1)} (lost ${r.lost})`);
    await sleep(11000); // past the crash-loop window, so every run is a first, immediate restart
  }
  const s = stats(times);
  console.log(`${router === 'R2' ? 'spoke (sender side)' : 'hub (transit)'} worker trap -> first forwarded datagram, ms: min ${s.min?.toFixed(1)}  median ${s.median?.toFixed(1)}  max ${s.max?.toFixed(1)}  (${s.n} runs)`);
  console.log(`  per run: outage ms (datagrams lost of ${COUNT}, one every ${INTERVAL_MS} ms): ${detail.join('  ')}`);
}
for (const r of Object.keys(routers)) console.log(`  ${r} ${routers[r].log.filter((l) => /forwarding resumed/.test(l)).map((l) => /resumed (\d+ ms)/.exec(l)?.[1]).join(", ")} (supervisor log: trap reported -> new worker ready)`);
for (const d of Object.values(routers)) await d.stop();
