// The shared-memory contract is written once (wasm/layout/dataplane.layout.json) and generated for C,
// AssemblyScript and TypeScript (docs/layout-contract.md). This test proves the three generated copies
// agree on a real shared WebAssembly.Memory: the C addon writes every entry (each field gets a value
// derived from its name, at its offset, in a region of its own), TypeScript reads every entry through
// appliance/dataplane/abi.ts and AssemblyScript through wasm/assembly/core/abi.ts (wasm/build/abi-probe.wasm).
// It also fails when the committed generated files are stale, and shows that a drifted copy is caught.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as abi from '../appliance/dataplane/abi.js';
import * as layout from '../appliance/dataplane/layout.js';
import * as sa from '../appliance/dataplane/sa.js';
import { NATIVE_REL_PATH } from '../appliance/io/native.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const GENERATOR = join(repo, 'wasm/layout/generate.mjs');
const SPEC = 'wasm/layout/dataplane.layout.json';
const GENERATED = ['appliance/dataplane/abi.ts', 'wasm/assembly/core/abi.ts', 'appliance/native/abi.h', 'wasm/layout/probe.ts'];
const PROBE = join(repo, 'wasm/build/abi-probe.wasm');
const ASC = join(repo, 'node_modules/.bin/asc');
const PROBE_FLAGS = ['--runtime', 'stub', '--enable', 'threads', '--importMemory', '--sharedMemory',
  '--initialMemory', '1', '--maximumMemory', '4096', '-O1', '--noAssert'];

interface Entry {
  name: string;
  how: 'u32' | 'u64' | 'value' | 'counter';
  value: number;
  tag: number;
  ts: string[] | { names: string; base: string | null; name: string };
}

const generator = (...args: string[]) => spawnSync(process.execPath, [GENERATOR, ...args], { encoding: 'utf8' });
const entriesOf = (root = repo): Entry[] => JSON.parse(generator('--entries', '--root', root).stdout);
const entries = entriesOf();

/** What C writes for an offset: the name's tag (u32), or tag | ~tag << 32 (u64 fields and counters). */
const tag64 = (e: Entry) => (BigInt((~e.tag) >>> 0) << 32n) | BigInt(e.tag);
const expected = (e: Entry): bigint => (e.how === 'value' ? BigInt(e.value) : e.how === 'u32' ? BigInt(e.tag) : tag64(e));

/** The entry through the TypeScript constants: an offset, a counter index or a value. */
function tsConstant(e: Entry): number | undefined {
  const a = abi as unknown as Record<string, unknown>;
  if (!Array.isArray(e.ts)) {
    const i = (a[e.ts.names] as readonly string[]).indexOf(e.ts.name);
    return i < 0 ? undefined : (e.ts.base ? (a[e.ts.base] as number) : 0) + i;
  }
  let v: unknown = a;
  for (const k of e.ts) v = (v as Record<string, unknown> | undefined)?.[k];
  return typeof v === 'number' ? v : undefined;
}

// Each entry owns a region big enough for its largest offset (the scratch map reaches 236 KiB).
const STRIDE = 2 ** Math.ceil(Math.log2(Math.max(...entries.filter((e) => e.how !== 'value').map((e) => (e.how === 'counter' ? e.value * 8 : e.value))) + 8));
const BASE = 1 << 20; // above the probe's static data
const region = (k: number) => BASE + k * STRIDE;
const OUT = region(entries.length); // the probe's findings, u64 per entry
const PAGES = Math.ceil((OUT + entries.length * 8) / 65536);

const newMemory = () => new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });

type Native = { layoutContractFill(memory: Uint8Array, base: number, stride: number): number };
const loadNative = (): Native => createRequire(import.meta.url)(join(repo, NATIVE_REL_PATH)) as Native;

/** Runs an abi-probe module over the memory; returns what it read for each entry. */
function probe(wasm: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory): BigUint64Array {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm), { env: { memory, abort: () => { throw new Error('probe aborted'); } } });
  const n = (instance.exports.probe as (b: number, s: number, o: number) => number)(BASE, STRIDE, OUT);
  if (n !== entries.length) throw new Error(`probe knows ${n} entries, the spec ${entries.length}`);
  return new BigUint64Array(memory.buffer, OUT, entries.length);
}

/** Entries where what C wrote, read at the TypeScript offset (or C's value), is not what the spec says. */
function cVersusTs(buf: ArrayBufferLike, list = entries): string[] {
  const v = new DataView(buf);
  const bad: string[] = [];
  list.forEach((e, k) => {
    const r = region(k);
    if (e.how === 'value') {
      const c = v.getUint32(r, true);
      if (c !== e.value) bad.push(`${e.name}: C has ${c}, the spec ${e.value}`);
      return;
    }
    const off = tsConstant(e);
    if (off === undefined) { bad.push(`${e.name}: TypeScript has no ${JSON.stringify(e.ts)}`); return; }
    const at = r + (e.how === 'counter' ? off * 8 : off);
    const got = e.how === 'u32' ? BigInt(v.getUint32(at, true)) : v.getBigUint64(at, true);
    if (got !== expected(e)) bad.push(`${e.name}: TypeScript reads 0x${got.toString(16)} at ${off}, C wrote 0x${expected(e).toString(16)} elsewhere`);
  });
  return bad;
}

const asVersusSpec = (seen: BigUint64Array, list = entries) =>
  list.flatMap((e, k) => (seen[k] === expected(e) ? [] : [`${e.name}: AssemblyScript reads 0x${seen[k].toString(16)}, expected 0x${expected(e).toString(16)}`]));

t.test('the committed generated files are what the spec generates', async (t) => {
  const r = generator('--check');
  t.equal(r.status, 0, r.stderr || 'fresh');
});

t.test('C, TypeScript and AssemblyScript agree on every entry of the contract, on one shared memory', async (t) => {
  if (!existsSync(PROBE)) { t.fail('wasm/build/abi-probe.wasm is missing: run make wasm'); return; }
  t.ok(entries.length > 300, `${entries.length} entries`);
  const memory = newMemory();
  const u8 = new Uint8Array(memory.buffer);
  t.equal(loadNative().layoutContractFill(u8, BASE, STRIDE), entries.length, 'C wrote every entry of abi.h');
  t.same(cVersusTs(memory.buffer), [], 'TypeScript reads what C wrote, through appliance/dataplane/abi.ts');
  const tsValues = entries.filter((e) => e.how === 'value' && tsConstant(e) !== e.value).map((e) => `${e.name}: ${tsConstant(e)}`);
  t.same(tsValues, [], 'TypeScript values equal the spec');
  t.same(asVersusSpec(probe(new Uint8Array(readFileSync(PROBE)), memory)), [], 'AssemblyScript reads what C wrote, through wasm/assembly/core/abi.ts');
  // The region of an entry holds nothing but the bytes C wrote for it: no field went astray.
  const words = new Uint32Array(memory.buffer);
  const spill = entries.filter((e, k) => {
    let nonzero = 0;
    for (let i = region(k) >>> 2, end = (region(k) + STRIDE) >>> 2; i < end; i++) if (words[i] !== 0) nonzero++;
    return nonzero > (e.how === 'u32' || e.how === 'value' ? 1 : 2);
  }).map((e) => e.name);
  t.same(spill, [], 'one write per entry');
});

t.test('the supervisor modules use the generated objects, not copies', async (t) => {
  for (const k of ['L', 'RING', 'SLOT', 'DOORBELL', 'CTL_IN', 'CTL_OUT', 'TUNNEL_FLAG', 'TUNNEL_STATE', 'PEER_FLAG', 'NBMA_KIND',
    'PEER_ENTRY', 'COUNTER_NAMES', 'OFFLOAD_COUNTER_NAMES', 'HEAL_COUNTER_NAMES', 'TUN_KIND', 'RING_FLAG'] as const)
    t.equal(layout[k], abi[k], `layout.ts ${k}`);
  for (const k of ['ESP_ENC', 'ESP_INTEG', 'SA_FLAG', 'SA_DIR', 'SA_STATE', 'SA_EVENT_REASON', 'ESP_COUNTER_NAMES', 'LAST_DROP_SOURCE_SLOT'] as const)
    t.equal(sa[k], abi[k], `sa.ts ${k}`);
  t.equal(sa.SA_ENTRY, abi.SA_ENTRY, 'sa.ts SA_ENTRY');
  t.equal(layout.SA_ENTRY_SIZE, abi.SA_ENTRY.size);
  t.equal(layout.NBMA_INDEX_ENTRY, abi.NBMA_INDEX_FIELDS.size);
  t.equal(layout.FIB_ENTRY_SIZE, abi.FIB_ENTRY.size);
  t.equal(layout.SCRATCH_IN_FLIGHT, abi.SCRATCH.inFlight);
});

/** A copy of the spec and the generated files in a temporary tree the generator can work on. */
function tempTree(t: Test): string {
  const root = mkdtempSync(join(tmpdir(), 'layout-contract-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const p of [SPEC, ...GENERATED]) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    copyFileSync(join(repo, p), join(root, p));
  }
  return root;
}
const edit = (file: string, from: RegExp, to: string) => {
  const s = readFileSync(file, 'utf8');
  if (!from.test(s)) throw new Error(`${from} not in ${file}`);
  writeFileSync(file, s.replace(from, to));
};

t.test('a hand-edited generated file or a changed spec is caught as stale', async (t) => {
  const root = tempTree(t);
  t.equal(generator('--check', '--root', root).status, 0, 'the copy is fresh');
  edit(join(root, 'appliance/native/abi.h'), /#define RING_TAIL 64u/, '#define RING_TAIL 68u');
  let r = generator('--check', '--root', root);
  t.equal(r.status, 1);
  t.match(r.stderr, 'appliance/native/abi.h is not what');
  t.notMatch(r.stderr, 'appliance/dataplane/abi.ts');
  t.equal(generator('--root', root).status, 0, 'regenerated');
  edit(join(root, SPEC), /\["tail", 64, "u32"/, '["tail", 72, "u32"');
  r = generator('--check', '--root', root);
  t.equal(r.status, 1);
  // (the probe names entries, not numbers: a moved field leaves it as it is)
  for (const p of GENERATED.slice(0, 3)) t.match(r.stderr, `${p} is not what`, `${p} stale after a spec change`);
  edit(join(root, SPEC), /\["tail", 72, "u32"/, '["tail", 140, "u32"');
  r = generator('--check', '--root', root);
  t.equal(r.status, 2, 'a spec with overlapping fields is refused');
  t.match(r.stderr, 'RING_PRODUCER_DOORBELL overlaps RING_TAIL');
});

t.test('a drifted AssemblyScript or C copy is caught on the shared memory', async (t) => {
  const root = tempTree(t);
  const memory = newMemory();
  loadNative().layoutContractFill(new Uint8Array(memory.buffer), BASE, STRIDE);
  // AssemblyScript: the probe built against an abi.ts where one field moved reads the wrong word.
  edit(join(root, 'wasm/assembly/core/abi.ts'), /LB_TUN_RX: usize = 8;/, 'LB_TUN_RX: usize = 12;');
  const asc = spawnSync(ASC, [join(root, 'wasm/layout/probe.ts'), '-o', join(root, 'probe.wasm'), ...PROBE_FLAGS], { encoding: 'utf8' });
  t.equal(asc.status, 0, asc.stderr);
  const asBad = asVersusSpec(probe(new Uint8Array(readFileSync(join(root, 'probe.wasm'))), memory));
  t.equal(asBad.length, 1, asBad.join('; '));
  t.match(asBad[0], /^LB_TUN_RX: AssemblyScript reads 0x/);
  // C: the fill compiled against an abi.h where one counter moved writes it where TypeScript does not look.
  edit(join(root, 'appliance/native/abi.h'), /#define COUNTER_CMD_BAD 28u/, '#define COUNTER_CMD_BAD 29u');
  edit(join(root, 'appliance/native/abi.h'), /#define SA_ENTRY_SEQ 64u/, '#define SA_ENTRY_SEQ 72u');
  // (compiled in the temporary tree: #include "abi.h" finds the header beside the source first)
  const native = join(root, 'appliance/native');
  for (const f of ['layout-contract.c', 'errors.c', 'io.h']) copyFileSync(join(repo, 'appliance/native', f), join(native, f));
  writeFileSync(join(native, 'fill.c'), FILL_MAIN);
  const cc = spawnSync('cc', ['-O1', '-o', join(root, 'fill'), ...['fill.c', 'layout-contract.c', 'errors.c'].map((f) => join(native, f))],
    { encoding: 'utf8' });
  t.equal(cc.status, 0, cc.stderr);
  const run = spawnSync(join(root, 'fill'), [String(BASE), String(STRIDE), String(OUT)], { maxBuffer: 1 << 24 });
  t.equal(run.status, 0, String(run.stderr));
  const filled = new Uint32Array(OUT / 4);
  const pairs = new Uint32Array(run.stdout.buffer, run.stdout.byteOffset, run.stdout.length / 4);
  for (let i = 0; i < pairs.length; i += 2) filled[pairs[i]] = pairs[i + 1];
  const cBad = cVersusTs(filled.buffer);
  t.same(cBad.map((s) => s.split(':')[0]).sort(), ['COUNTER_CMD_BAD', 'SA_ENTRY_SEQ'], cBad.join('; '));
});

/** Stand-alone C fill (the addon's layout-contract.c); prints the non-zero u32 words as {index, value}. */
const FILL_MAIN = `#include <stdio.h>
#include <stdlib.h>
#include "io.h"
int main(int argc, char **argv) {
  size_t base = strtoul(argv[1], 0, 10), stride = strtoul(argv[2], 0, 10), len = strtoul(argv[3], 0, 10);
  uint32_t *mem = calloc(1, len);
  struct io_err e;
  if (!mem || layout_contract_fill((uint8_t *)mem, len, base, stride, &e) < 0) { fprintf(stderr, "%s\\n", e.msg); return 1; }
  for (uint32_t i = 0; i < len / 4; i++)
    if (mem[i]) { uint32_t pair[2] = { i, mem[i] }; fwrite(pair, 4, 2, stdout); }
  return 0;
}
`;
