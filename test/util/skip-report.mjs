#!/usr/bin/env node
// After `make test`: lists every skipped test with its reason from tap's saved results, in a banner
// after the summary, so a skip (a tool missing outside CI, see needs.ts) is never silent. Plain JS:
// it runs with bare node, after tap.
//   node test/util/skip-report.mjs .tap/test-results
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] ?? '.tap/test-results';
const files = [];
const walk = (d) => {
  for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p); else if (p.endsWith('.tap')) files.push(p);
  }
};
walk(dir);

const skips = [];
for (const f of files.sort()) {
  const name = path.relative(dir, f).replace(/\.tap$/, '');
  for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
    const whole = /^1\.\.0 # (.*)$/.exec(line);
    if (whole) { skips.push(`${name} (whole file): ${whole[1]}`); continue; }
    const one = /^\s*ok \d+ - (.*?) # SKIP\b:? ?(.*)$/.exec(line);
    if (one) skips.push(`${name} > ${one[1]}: ${one[2] || 'no reason given'}`);
  }
}
if (skips.length) {
  const bar = '!'.repeat(100);
  process.stdout.write(`\n${bar}\n!! ${skips.length} test(s) SKIPPED, i.e. NOT RUN (under CI=true a missing tool is a failure instead):\n` +
    skips.map((s) => `!!   SKIP ${s}`).join('\n') + `\n${bar}\n`);
}
