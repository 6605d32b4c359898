// EIGRP hub-scale benchmark (issue 13): bundles bench/eigrp.ts with esbuild and runs it with gc()
// exposed (the memory figures collect garbage around building). Prints figures, asserts nothing.
//   node bench/eigrp.mjs [spokes, default 100] [LANs per spoke, default 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { buildSync } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'eigrp-bench-'));
try {
  const out = join(tmp, 'eigrp.mjs');
  buildSync({ entryPoints: [join(here, 'eigrp.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'warning' });
  const r = spawnSync(process.execPath, ['--expose-gc', out, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
