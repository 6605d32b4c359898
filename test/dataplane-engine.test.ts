// The data plane runs on V8's optimizing WebAssembly compiler from the first call: V8's baseline
// compiler (Liftoff, Node 20) miscompiles a call in worker/parallel-rx.ts (appliance/dataplane/wasm.ts
// DATAPLANE_V8_FLAGS). Checked in a child process with V8's test natives, which say which compiler
// produced a function's code.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WASM_TS = fileURLToPath(new URL('../appliance/dataplane/wasm.ts', import.meta.url));

/** Compiles dataplane.wasm (with compileDataplane, or plainly), calls setup() once; which compiler ran it. */
function compilerOf(viaCompileDataplane: boolean): { liftoff: boolean; turbofan: boolean; setup: number } {
  const code = `
    import { readFileSync } from 'node:fs';
    import { compileDataplane, findDataplaneWasm } from ${JSON.stringify(WASM_TS)};
    const module = ${viaCompileDataplane ? 'compileDataplane()' : 'new WebAssembly.Module(readFileSync(findDataplaneWasm()))'};
    const memory = new WebAssembly.Memory({ initial: 512, maximum: 4096, shared: true });
    const x = new WebAssembly.Instance(module, { env: { memory, wake() {}, abort() { throw new Error('abort'); } } }).exports;
    const setup = x.setup(0, 0); // an empty memory: refused (bad magic), but the function ran
    console.log(JSON.stringify({ liftoff: %IsLiftoffFunction(x.setup), turbofan: %IsTurboFanFunction(x.setup), setup }));`;
  const r = spawnSync(process.execPath, [...process.execArgv, '--allow-natives-syntax', '--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

t.test('compileDataplane: the optimizing compiler from the first call, never Liftoff', async (t) => {
  const c = compilerOf(true);
  t.not(c.setup, 0, 'setup() ran (and refused the empty memory)');
  t.equal(c.liftoff, false, 'not Liftoff code');
  t.equal(c.turbofan, true, 'TurboFan code');
});

t.test('control: the same module compiled plainly starts on Liftoff (so the natives tell the two apart)', async (t) => {
  const c = compilerOf(false);
  t.not(c.setup, 0, 'setup() ran');
  t.equal(c.liftoff, true, 'Liftoff code without the flag');
});
