// Loads the data-plane WebAssembly module (wasm/build/dataplane.wasm) and instantiates it over a
// shared memory. The file is found by walking up from this module's URL, so it works from the source
// tree and from an esbuild bundle in dist/.
import { readFileSync, existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAYOUT_BASE } from './layout.js';

export const DATAPLANE_WASM = 'wasm/build/dataplane.wasm';

export interface DataplaneExports {
  /**
   * Reads the layout block as worker `workerIndex` (omitted: 0, the worker that owns the rings);
   * 0 = ok, -1 bad magic/version, -2 bad capacity, -3 scratch too small, -4 no such worker.
   */
  setup(layoutBase: number, workerIndex?: number): number;
  /** One batch: up to `budget` slots from each input ring. Returns slots consumed. */
  poll(budget: number, nowMs: number): number;
  /** Sets sleeping=1 and re-checks the input rings: the doorbell seq to wait on, or 0xFFFFFFFF (as -1 >>> 0). */
  prepareSleep(): number;
  finishSleep(): void;
  benchOutbound(packetLen: number, count: number, dst: number): number;
  benchInbound(packetLen: number, count: number, src: number, innerDst: number): number;
  benchEspOutbound(packetLen: number, count: number, dst: number): number;
  benchEspInbound(packetLen: number, count: number, src: number, innerDst: number, kind: number): number;
  /** inbound() once on the encrypted packet at `p` (`n` bytes, slot kind 50 or 17) from NBMA `src`: outputs, or -1. */
  benchEspReceive(p: number, n: number, src: number, kind: number): number;
}

/** Path of dataplane.wasm: the first ancestor of `from` holding wasm/build/dataplane.wasm. */
export function findDataplaneWasm(from: string = import.meta.url): string {
  let dir = dirname(from.startsWith('file:') ? fileURLToPath(from) : from);
  for (;;) {
    const p = join(dir, DATAPLANE_WASM);
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) throw new Error(`${DATAPLANE_WASM} not found above ${from} (run make wasm)`);
    dir = up;
  }
}

let cached: WebAssembly.Module | undefined;

/**
 * The V8 flag the data plane is compiled under. V8's baseline WebAssembly compiler (Liftoff, in Node
 * 20's V8 11.3) miscompiles a call in worker/parallel-rx.ts: binaryen shares one local between the
 * received slot's record and laneAwait's spin counter (inlined into the call's last argument), which
 * is valid WebAssembly, and Liftoff sometimes passes the counter's new value (0) for the record that
 * was already on the stack. Two workers decrypting one SA then trapped in replayUpdate ("remainder by
 * zero": SA index 0) a few seconds into the traffic, before V8 had tiered the function up. Under
 * `--liftoff-only` it trapped in 2 of 3 runs of integration-workers' ESP case, under `--no-liftoff`
 * in none of 6 (docs/dataplane.md "Engine: the optimizing compiler only"). With the flag the
 * optimizing compiler (TurboFan) runs every function from its first call; the module is small, so
 * the cost is a few ms once.
 */
export const DATAPLANE_V8_FLAGS = '--no-liftoff';

/**
 * Compiles (once per thread) the module; a Module can be posted to workers. Sets DATAPLANE_V8_FLAGS
 * first: V8's flags are process-wide and read when a module is compiled.
 */
export function compileDataplane(path = findDataplaneWasm()): WebAssembly.Module {
  if (!cached) {
    setFlagsFromString(DATAPLANE_V8_FLAGS);
    cached = new WebAssembly.Module(readFileSync(path));
  }
  return cached;
}

/**
 * Instantiates the data plane over `memory` (shared, laid out with writeLayout) and runs setup().
 * `wake(doorbell)` must do the futex wake on the doorbell's seq word (the C addon's wake).
 */
export function instantiateDataplane(
  memory: WebAssembly.Memory, wake: (doorbell: number) => void,
  module: WebAssembly.Module = compileDataplane(), layoutBase = LAYOUT_BASE, workerIndex = 0,
): DataplaneExports {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory, wake,
      abort: () => { throw new Error('dataplane abort'); },
    },
  });
  const ex = instance.exports as unknown as DataplaneExports;
  const r = ex.setup(layoutBase, workerIndex);
  if (r !== 0) throw new Error(`dataplane setup failed: ${r}`);
  return ex;
}
