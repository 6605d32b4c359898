// Seed 004 typed live: its four routers' configs (test/lab/configs/seed004, transcript prompts left
// out as an operator would type them, `configure terminal` again after each `exit` that leaves config
// mode) typed into blank appliances give the same show running-config and running state (kernel
// addresses, links, routes, sysctls, NHRP) as loading the files, and the Phase 1 overlay carries traffic.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, ROOT, sh, nsExec, waitFor } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { typedLines, typeConfig, runningState } from './util/live-config.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { callControl } from '../appliance/supervisor/control.js';

requireTools(t, LAB_NEEDS);

const CFG = path.join(ROOT, 'test/lab/configs/seed004');
const ROUTERS = ['R1', 'R2', 'R3', 'R4'];
const text = Object.fromEntries(ROUTERS.map((r) => [r, fs.readFileSync(path.join(CFG, `${r}.cfg`), 'utf8')]));
const lab = new Lab(`ikds4${process.pid % 10000}`, 0);
t.teardown(() => lab.down());
sh('bash', [path.join(ROOT, 'test/lab/seed004-topology.sh'), 'up', lab.prefix]);

const links = (r: string) => nsExec(lab.ns(r), ['ip', '-o', 'link', 'show']).stdout.split('\n')
  .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((x): x is string => !!x && x !== 'lo').sort();
const running = (r: string) => lab.ctl(r, 'show running-config').replace(/^[\s\S]*?Current configuration : \d+ bytes\n/, '');
const nhrpUp = () => waitFor(() => ['R3', 'R4'].every((r) => {
  try { return lab.ctlJson(r, 'show dmvpn').interfaces[0]?.peers.some((p: any) => p.state === 'UP'); } catch { return false; }
}), 60000, 500);
async function answering(r: string): Promise<boolean> {
  return waitFor(async () => { try { await callControl(lab.routers.get(r)!.control, 'show version', 2000); return true; } catch { return false; } }, 30000);
}

const states: Record<string, Record<string, unknown>> = {};
const capture = () => Object.fromEntries(ROUTERS.map((r) => [r, { linkNames: links(r), ...runningState(lab, r, links(r)) }]));

t.test('seed 004 typed into configure terminal on blank appliances', async (t) => {
  for (const r of ROUTERS) lab.start(r, lab.writeConfig(`${r}-blank`, '!\n'));
  for (const r of ROUTERS) t.ok(await answering(r), `${r} (blank) answers`);
  for (const r of ['R2', 'R3', 'R4']) t.same(await typeConfig(lab.routers.get(r)!.control, typedLines(text[r])), [], `${r}: every line accepted`);
  // R1's transcript gives FastEthernet0/0 10.1.1.1/8 while Serial4/0 still has 10.1.1.1/8 (it gets
  // 1.1.1.1 only later). IOS refuses that line when typed (a file is checked as a whole, so it loads);
  // the operator types it again once Serial4/0 has its final address.
  const refused = await typeConfig(lab.routers.get('R1')!.control, typedLines(text.R1));
  t.same(refused, [{ iface: 'interface fastethernet 0/0', line: 'ip address 10.1.1.1 255.0.0.0',
    message: '% interface FastEthernet0/0: 10.0.0.0 overlaps with Serial4/0' }], 'R1: only the overlapping address is refused, as on IOS');
  t.same(await typeConfig(lab.routers.get('R1')!.control, refused.flatMap((x) => [x.iface!, x.line])), [], 'R1: accepted when typed again');
  for (const r of ROUTERS) {
    const loaded = parseStartupConfig(text[r]);
    t.equal(running(r), loaded.ok ? renderConfig(loaded.config) : 'unloadable', `${r}: show running-config as if loaded from the file`);
  }
  t.ok(await nhrpUp(), 'the spokes reach the hub over NHRP');
  states.typed = capture();
  t.ok(await waitFor(() => lab.ping(lab.ns('h3'), '40.1.1.10', 2), 30000, 1000), 'h3 reaches h4');
});

t.test('the same files loaded give the same running state', async (t) => {
  for (const r of ROUTERS) await lab.stop(r);
  for (const r of ROUTERS) lab.start(r, path.join(CFG, `${r}.cfg`));
  for (const r of ROUTERS) t.ok(await answering(r), `${r} (from file) answers`);
  t.ok(await nhrpUp(), 'the spokes reach the hub over NHRP');
  states.loaded = capture();
  for (const r of ROUTERS) t.same(states.typed?.[r], states.loaded[r], `${r}: typed and loaded agree`);
});
