// Names the WASM functions in a trap's stack. The module is built without a name section (it would
// only grow the binary), so V8 prints `wasm-function[71]:0xd381`; asc writes the text form next to the
// binary (wasm/build/dataplane.wat), whose functions are listed in index order (imported functions
// first). Read lazily, only when a worker has died.
import { existsSync, readFileSync } from 'node:fs';
import { findDataplaneWasm } from './wasm.js';

let names: string[] | undefined;

/** Function names by index, from the .wat beside dataplane.wasm ([] if it is not there). */
export function dataplaneFunctionNames(watPath?: string): string[] {
  if (names && !watPath) return names;
  let path = watPath;
  if (!path) {
    try { path = findDataplaneWasm().replace(/\.wasm$/, '.wat'); } catch { path = undefined; }
  }
  const out: string[] = [];
  if (path && existsSync(path)) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const m = /^ \((?:import "[^"]*" "[^"]*" \()?func \$(\S+)/.exec(line);
      if (m) out.push(m[1]);
    }
  }
  if (!watPath) names = out;
  return out;
}

/**
 * The WASM frames of an error's stack, innermost first, as `name+0xOFFSET` (module paths shortened:
 * `wasm/assembly/commands/applyCommand` -> `commands/applyCommand`). '' if there are none.
 */
export function describeWasmStack(stack: string | undefined, fnNames = dataplaneFunctionNames()): string {
  if (!stack) return '';
  const frames: string[] = [];
  for (const m of stack.matchAll(/wasm-function\[(\d+)\]:(0x[0-9a-f]+)/g)) {
    const name = fnNames[Number(m[1])];
    frames.push(`${name ? name.replace(/^wasm\/assembly\//, '') : `wasm-function[${m[1]}]`}+${m[2]}`);
  }
  return frames.join(' < ');
}
