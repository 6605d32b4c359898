// Data-plane worker thread: runs the WASM pipeline over the shared memory. It never touches packets
// in JS: it calls poll() (which drains and fills the rings inside WASM) and, when there is nothing
// to do, sleeps on its doorbell through the addon's futex wait (JS Atomics.wait cannot be woken by
// the C pump threads).
import { workerData, parentPort } from 'node:worker_threads';
import { loadNative } from '../io/native.js';
import { instantiateDataplane } from '../dataplane/wasm.js';

interface WorkerInit { memory: WebAssembly.Memory; layoutBase: number; doorbell: number; stopFlag: number }

const { memory, layoutBase, doorbell, stopFlag } = workerData as WorkerInit;
const io = loadNative();
const view = new Uint8Array(memory.buffer);
const i32 = new Int32Array(memory.buffer);
const dp = instantiateDataplane(memory, (bell: number) => io.wake(view, bell), undefined, layoutBase);
parentPort?.postMessage({ ready: true });

const BUDGET = 256;
const IDLE_WAIT_MS = 200; // bounded so the stop flag is noticed even with no traffic
const start = Date.now();
for (;;) {
  if (Atomics.load(i32, stopFlag >>> 2) !== 0) break;
  const now = (Date.now() - start) >>> 0;
  if (dp.poll(BUDGET, now) > 0) continue;
  const seq = dp.prepareSleep();
  if ((seq >>> 0) === 0xffffffff) continue; // work arrived while preparing to sleep
  io.wait(view, doorbell, seq, IDLE_WAIT_MS);
  dp.finishSleep();
}
parentPort?.postMessage({ stopped: true });
