// Data-plane worker thread: runs the WASM pipeline over the shared memory. It never touches packets
// in JS: it calls poll() (which drains and fills the rings inside WASM) and, when there is nothing
// to do, sleeps on its doorbell through the addon's futex wait (JS Atomics.wait cannot be woken by
// the C pump threads).
import { workerData, parentPort } from 'node:worker_threads';
import { loadNative } from '../io/native.js';
import { instantiateDataplane } from '../dataplane/wasm.js';

interface WorkerInit {
  memory: WebAssembly.Memory; layoutBase: number; doorbell: number; stopFlag: number;
  /** this worker's index (0 applies the commands); layoutBase is its own layout block */
  workerIndex?: number;
  /** compiled once by the supervisor, so a restarted worker only instantiates (faster recovery) */
  module?: WebAssembly.Module;
  standby?: boolean;
}

const { memory, layoutBase, doorbell, stopFlag, module, standby, workerIndex = 0 } = workerData as WorkerInit;
// A standby worker (appliance/supervisor/dataplane-worker.ts) is booted ahead of need and must not
// touch the shared memory until the worker it replaces is dead: it waits for `go`.
if (standby) await new Promise((go) => parentPort!.once('message', go));
const io = loadNative();
const view = new Uint8Array(memory.buffer);
const i32 = new Int32Array(memory.buffer);
const dp = instantiateDataplane(memory, (bell: number) => io.wake(view, bell), module, layoutBase, workerIndex);
parentPort?.postMessage({ ready: true });

const BUDGET = 256;
const IDLE_WAIT_MS = 200; // bounded so the stop flag is noticed even with no traffic
const start = Date.now();
try {
  for (;;) {
    if (Atomics.load(i32, stopFlag >>> 2) !== 0) break;
    const now = (Date.now() - start) >>> 0;
    if (dp.poll(BUDGET, now) > 0) continue;
    const seq = dp.prepareSleep();
    if ((seq >>> 0) === 0xffffffff) continue; // work arrived while preparing to sleep
    io.wait(view, doorbell, seq, IDLE_WAIT_MS);
    dp.finishSleep();
  }
} catch (e) {
  // A trap: say so at once (the thread's teardown takes tens of ms) and touch nothing after it, so
  // the supervisor may start the next worker on this memory as soon as the message arrives.
  const err = e as Error;
  parentPort?.postMessage({ trap: { name: err.name, message: err.message, stack: err.stack } });
  throw e;
}
parentPort?.postMessage({ stopped: true });
