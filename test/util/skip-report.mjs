#!/usr/bin/env node
// After `make test`: lists every skipped test with its reason from tap's saved results, in a banner
// after the summary, so a skip (a tool missing outside CI, see needs.ts) is never silent; then the
// slowest test files and the sum of all files' times, so a CI log tells where `make test`'s hour goes
// (tap runs two files at once, Makefile TEST_JOBS, the VM boots alone: SERIAL_TESTS). Plain JS: it runs
// with bare node, after tap.
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
const times = [];
for (const f of files.sort()) {
  const name = path.relative(dir, f).replace(/\.tap$/, '');
  const text = fs.readFileSync(f, 'utf8');
  // the file's own time is its last top-level line "# time=N.Nms"
  const time = /^# time=([0-9.]+)ms\s*$/m.exec(text.slice(text.lastIndexOf('\n# time=')));
  if (time) times.push([name, Number(time[1]) / 1000]);
  for (const line of text.split('\n')) {
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

const SLOWEST = 15;
if (times.length) {
  times.sort((a, b) => b[1] - a[1]);
  const sum = times.reduce((a, [, s]) => a + s, 0);
  process.stdout.write(`\ntest files: ${times.length}, sum of their times ${sum.toFixed(0)} s; slowest:\n` +
    times.slice(0, SLOWEST).map(([n, s]) => `  ${s.toFixed(1).padStart(7)} s  ${n}`).join('\n') + '\n');
}
