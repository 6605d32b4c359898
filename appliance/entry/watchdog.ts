// dmvpnd's watchdog (what bin/dmvpnd runs): starts the supervisor (dist/dmvpnd.mjs, same arguments,
// same stdio) and restarts it when it crashes, so a bug never leaves a branch offline until an
// operator comes: the spokes re-register on their own. Later the image's init takes this role.
//   - SIGTERM, SIGINT: forwarded; the watchdog then exits with the supervisor's status and
//     never restarts it.
//   - exit 0 / 1 (config refused) / 2 (usage): final, passed through (so `bin/dmvpnd --config ...`
//     behaves exactly as the supervisor alone).
//   - any other exit, or death by a signal we did not send (SIGSEGV, SIGKILL by the OOM killer...):
//     restarted after a backoff that doubles while it keeps crashing soon after starting (capped),
//     counted and logged; the supervisor learns its restart count from DMVPN_RESTARTS.
//   - hung (alive but its event loop stuck): with DMVPN_HARDWARE_WATCHDOG=/dev/watchdog (the image's
//     init sets it) this process feeds the hardware timer only while the supervisor's heartbeats
//     arrive over the IPC channel (hardware-watchdog.ts); without them the box resets.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { restartable, EXIT } from './exit-codes.js';
import { HardwareWatchdogFeeder, feederOptionsFromEnv } from './hardware-watchdog.js';
import { HEARTBEAT } from './heartbeat.js';

const BACKOFF_FIRST_MS = Number(process.env.DMVPN_WATCHDOG_BACKOFF_MS ?? 500);
const BACKOFF_MAX_MS = 30_000;
/** A supervisor that ran this long was healthy: its crash starts the backoff again from the first step. */
const HEALTHY_MS = 30_000;
const STOP_GRACE_MS = 10_000;

const here = path.dirname(fileURLToPath(import.meta.url));
const supervisor = path.join(here, 'dmvpnd.mjs');
const args = process.argv.slice(2);

let child: ChildProcess | undefined;
let stopping = false;
let restarts = 0;
let quickCrashes = 0;
let lastCrash = '';
let timer: NodeJS.Timeout | undefined;

const say = (msg: string, tag = 'RESTART') => process.stderr.write(`${new Date().toISOString().replace('T', ' ').replace('Z', '')} dmvpnd-watchdog: %SYS-3-${tag}: ${msg}\n`);
const feederOptions = feederOptionsFromEnv(process.env, (msg) => say(msg, 'WATCHDOG'));
const feeder = feederOptions && new HardwareWatchdogFeeder(feederOptions);
if (feeder?.start()) say(`hardware watchdog ${feederOptions!.device} fed while the supervisor's heartbeats arrive (limit ${feederOptions!.hungMs / 1000} s)`, 'WATCHDOG');

function start(): void {
  const startedAt = performance.now(); // monotonic: the box steps its wall clock (hub-clock.ts, NTP)
  const env = { ...process.env, DMVPN_WATCHDOG_PID: String(process.pid), DMVPN_RESTARTS: String(restarts), DMVPN_LAST_CRASH: lastCrash };
  // the IPC channel carries the supervisor's heartbeats (appliance/entry/heartbeat.ts)
  const c = spawn(process.execPath, [supervisor, ...args], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env });
  child = c;
  feeder?.supervisorStarted();
  c.on('message', (m) => { if (m === HEARTBEAT) feeder?.heartbeat(); });
  c.channel?.unref();
  c.once('exit', (code, signal) => {
    child = undefined;
    if (stopping || !restartable(code, signal)) {
      process.exitCode = code ?? 128;
      if (timer) clearTimeout(timer);
      feeder?.close(); // stopped on purpose: disarm the timer (init keeps the box's own protection)
      return;
    }
    feeder?.supervisorGone();
    if (code === EXIT.RELOAD) { say(`supervisor (pid ${c.pid}) reloads: starting it again from the startup-config`); start(); return; }
    lastCrash = signal ? `killed by ${signal}` : `exit code ${code}`;
    quickCrashes = performance.now() - startedAt < HEALTHY_MS ? quickCrashes + 1 : 1;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (quickCrashes - 1));
    restarts++;
    say(`supervisor (pid ${c.pid}) ${lastCrash}; restart ${restarts} in ${delay} ms${quickCrashes > 1 ? ` (${quickCrashes} crashes in a row within ${HEALTHY_MS / 1000} s of a start)` : ''}`);
    timer = setTimeout(() => { timer = undefined; if (!stopping) start(); }, delay);
  });
}

function stop(sig: NodeJS.Signals): void {
  stopping = true;
  if (timer) { clearTimeout(timer); timer = undefined; }
  if (!child) { process.exitCode = 0; feeder?.close(); return; }
  child.kill(sig);
  setTimeout(() => child?.kill('SIGKILL'), STOP_GRACE_MS).unref();
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => stop(sig));
start();
