// The supervisor's TypeScript helpers (layout, rings, commands, SA commands, IPv4) for the .mjs
// benchmarks: bundled on the fly with esbuild (a devDependency) and imported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

const MODULES = ['appliance/net/ipv4.ts', 'appliance/dataplane/layout.ts', 'appliance/dataplane/ring.ts', 'appliance/dataplane/commands.ts', 'appliance/dataplane/sa.ts'];

/** The helpers' exports; `root` = the repository. */
export async function dataplaneHelpers(root) {
  const tmp = mkdtempSync(join(tmpdir(), 'dp-helpers-'));
  try {
    const out = join(tmp, 'helpers.mjs');
    buildSync({
      stdin: { contents: MODULES.map((m) => `export * from './${m}';`).join(' '), resolveDir: root, loader: 'ts' },
      bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'warning',
    });
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
