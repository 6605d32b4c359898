// The supervisor's folders are layers (README "Layout"): a module imports only from its own folder or
// from a folder in a lower layer, so there is no cycle between folders and each can be read, tested
// and replaced from the bottom up. A new folder under appliance/ must be given its layer here.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './util/lab.js';

/** Layer of each folder under appliance/: imports go to strictly lower numbers (or the same folder). */
const LAYERS: Record<string, number> = {
  net: 0, log: 0, auth: 0, // addresses and prefixes; the one log; password hashing (IOS secret types)
  dataplane: 1, io: 1, // shared-memory layout, rings, commands; the C addon's binding
  firmware: 1, // firmware bundles, slots, boot selector, commit (node built-ins only)
  cli: 2, // command-tree engine
  config: 3, // IOS config grammar, modes, loader, model
  nhrp: 4, ike: 4, routing: 4, // NHRP protocol engine; IKE (encoding, keymat, tasks, manager); routing (kernel table, FRR, EIGRP)
  enroll: 4.5, // zero-touch enrollment: token, pool, template, certificate issue, TLS server and client, CRLs (below show: show crypto pki crls formats its view)
  show: 5, console: 5, // show formatters; the CLI session
  supervisor: 6, // lifecycle, control socket, system config, exec commands
  entry: 7, // processes
};

const APP = path.join(ROOT, 'appliance');
function* sources(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== 'node_modules' && e.name !== 'build') yield* sources(p); }
    else if (e.name.endsWith('.ts')) yield p;
  }
}
const folderOf = (file: string) => path.relative(APP, file).split(path.sep)[0];

t.test('every appliance/ folder has a layer and imports only from lower layers', async (t) => {
  const wrong: string[] = [];
  let imports = 0;
  for (const file of sources(APP)) {
    const from = folderOf(file);
    if (!(from in LAYERS)) { wrong.push(`${path.relative(ROOT, file)}: folder appliance/${from}/ has no layer in test/layers.test.ts`); continue; }
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
      imports++;
      const target = path.resolve(path.dirname(file), m[1]);
      if (!target.startsWith(APP + path.sep)) continue;
      const to = folderOf(target);
      if (to === from) continue;
      if (!(to in LAYERS) || LAYERS[to] >= LAYERS[from]) wrong.push(`${path.relative(ROOT, file)} (${from}, layer ${LAYERS[from]}) imports ${m[1]} (${to}, layer ${LAYERS[to] ?? '?'})`);
    }
  }
  t.ok(imports > 100, `read the imports (${imports})`);
  t.same(wrong, [], 'imports point down the layers');
});
