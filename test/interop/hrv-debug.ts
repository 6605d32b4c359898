// temporary debug driver (not committed)
import fs from 'node:fs';
import { sh } from '../util/lab.js';
import { Vm } from './vm.js';
const ns = 'hrvdbg-inet';
sh('ip', ['netns', 'add', ns], { allowFail: true });
sh('ip', ['-n', ns, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap'], { allowFail: true });
sh('ip', ['-n', ns, 'link', 'set', 'tap0', 'up']);
const vm = new Vm('dbg', '/tmp/hrvdbg', process.argv[2], ns, [{ tap: 'tap0', mac: '52:54:00:00:99:02' }]);
vm.start();
try {
  await vm.waitReady(120000);
  for (const f of process.argv.slice(3)) {
    const r = await vm.exec(['/bin/sh', '-s', 'Testkey123'], { input: fs.readFileSync(f, 'utf8'), timeoutMs: 120000 });
    console.log(`== ${f} rc=${r.code}\n${r.out}\n${r.err}`);
  }
} finally { await vm.stop(); sh('ip', ['netns', 'del', ns], { allowFail: true }); }
