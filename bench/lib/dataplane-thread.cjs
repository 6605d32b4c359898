// The data plane as worker `index` in a worker_thread, for the in-memory multi-worker runs
// (bench/scaling.mjs, test/esp-workers.test.ts): instantiates the module on the shared memory and runs
// setup(base, index), which gives the thread its own scratch and counter array. No rings, so `wake`
// has nothing to do. workerData: { module, memory, base, index, sync (SharedArrayBuffer) }.
'use strict';
const { workerData } = require('node:worker_threads');

/** The instance's exports, set up as worker workerData.index. */
exports.dataplaneInThread = () => {
  const d = workerData;
  const env = { memory: d.memory, wake() {}, abort() { throw new Error('dataplane abort'); } };
  const dp = new WebAssembly.Instance(d.module, { env }).exports;
  const rc = dp.setup(d.base, d.index);
  if (rc !== 0) throw new Error(`dataplane setup as worker ${d.index}: ${rc}`);
  return dp;
};
