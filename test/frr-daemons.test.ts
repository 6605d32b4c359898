// FRR daemon supervision without FRR's binaries: a daemon that cannot be spawned (no binary) is
// logged, shown down with the reason, and tried again with backoff like one that exits, not left
// shown "running" without a pid (the 'error' event comes without an 'exit').
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './util/lab.js';

process.env.DMVPN_FRR_SBIN = '/nonexistent/frr-sbin';
const { FrrDaemons } = await import('../appliance/routing/frr/daemons.js');

t.test('a daemon whose binary is missing is logged, shown down and retried', async (t) => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rb-frr-daemons-')), 'frr');
  const logs: string[] = [];
  const d = new FrrDaemons(dir, (level, msg) => { logs.push(`${level} ${msg}`); }, { uid: process.getuid!(), gid: process.getgid!() });
  t.teardown(async () => { await d.stop(); fs.rmSync(path.dirname(dir), { recursive: true, force: true }); });
  await d.apply({ zebra: 'hostname x\n' });
  const down = await waitFor(() => d.status().find((s) => s.daemon === 'zebra' && s.lastExit), 10000, 100);
  t.match(down, { daemon: 'zebra', running: false, lastExit: /ENOENT/ }, 'zebra down, the spawn error kept');
  t.ok(await waitFor(() => logs.some((l) => /^error zebra spawn .*ENOENT; restart 1 in 1 s$/.test(l)), 10000, 100), `the failure is logged: ${logs.join(' / ')}`);
  t.ok(await waitFor(() => d.status().find((s) => s.restarts >= 1), 15000, 200), 'and zebra is tried again');
  t.notOk(logs.some((l) => /started \(pid undefined\)/.test(l)), 'no "started" line for a spawn that failed');
});
