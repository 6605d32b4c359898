// `show ip ospf neighbor`, `show ip bgp summary` and `show ip route` ask FRR through vtysh
// (supervisor/routing.ts). The answer is awaited, not waited for: while vtysh runs (up to its 5 s
// timeout when FRR hangs) the event loop keeps running NHRP, IKE and the console. A stand-in vtysh
// on PATH sleeps before it answers.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RoutingService } from '../appliance/supervisor/routing.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rvt-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const vtysh = (body: string) => fs.writeFileSync(path.join(dir, 'vtysh'), `#!/bin/sh\nsleep 0.5\n${body}\n`, { mode: 0o755 });
const PATH = process.env.PATH;
process.env.PATH = `${dir}:${PATH}`;
t.teardown(() => { process.env.PATH = PATH; });

// FRR "running": what apply() would have started (the daemons' directory is all vtyshJson needs)
const service = new RoutingService(dir, () => undefined);
(service as unknown as { daemons: { dir: string } }).daemons = { dir };

t.test('FRR answering slowly: a timer runs meanwhile, then the JSON arrives', async (t) => {
  vtysh(`echo '{"neighbors":{"10.0.0.1":[{"nbrState":"Full/DR"}]}}'`);
  let ticks = 0;
  const tick = setInterval(() => { ticks++; }, 50);
  const answer = await service.vtyshJson('show ip ospf neighbor json');
  clearInterval(tick);
  t.same(answer, { neighbors: { '10.0.0.1': [{ nbrState: 'Full/DR' }] } }, 'the JSON vtysh printed');
  t.ok(ticks >= 2, `the event loop ran ${ticks} timer ticks while vtysh ran`);
});

t.test('FRR failing or printing no JSON: no answer, no exception', async (t) => {
  vtysh('echo "% Unknown command"; exit 1');
  t.equal(await service.vtyshJson('show ip bgp summary json'), undefined, 'vtysh exit 1: undefined');
  vtysh('echo "not json"');
  t.equal(await service.vtyshJson('show ip route json'), undefined, 'not JSON: undefined');
});

t.test('FRR not running: no vtysh at all', async (t) => {
  t.equal(await new RoutingService(dir, () => undefined).vtyshJson('show ip route json'), undefined);
});
