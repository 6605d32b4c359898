// Loads the data-plane WebAssembly module (wasm/build/dataplane.wasm) and instantiates it over a
// shared memory. The file is found by walking up from this module's URL, so it works from the source
// tree and from an esbuild bundle in dist/.
import { readFileSync, existsSync } from 'node:fs';
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

/** Compiles (once per thread) the module; a Module can be posted to workers. */
export function compileDataplane(path = findDataplaneWasm()): WebAssembly.Module {
  if (!cached) cached = new WebAssembly.Module(readFileSync(path));
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
