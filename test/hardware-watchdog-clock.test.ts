// The hardware watchdog's feeder measures heartbeat silence on a monotonic clock: an enrolling factory box
// steps its wall clock by years (from 1970 to the hub's time, appliance/enroll/hub-clock.ts) while its
// supervisor keeps beating; a feeder on Date.now would call that silence a hang and stop feeding (the box
// resets). The wall clock is faked here by replacing Date.now before the feeder is made.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HardwareWatchdogFeeder } from '../appliance/entry/hardware-watchdog.js';

t.test('a wall-clock step forward is not a silent supervisor', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwd-clock-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const realNow = Date.now;
  let wall = Date.UTC(1970, 0, 2);
  Date.now = () => wall;
  t.teardown(() => { Date.now = realNow; });
  const logged: string[] = [];
  const f = new HardwareWatchdogFeeder({ device: path.join(dir, 'watchdog'), feedMs: 3_600_000, hungMs: 30_000, startGraceMs: 300_000, log: (m) => logged.push(m) });
  t.ok(f.start(), 'the device opens');
  f.heartbeat();
  wall = Date.UTC(2026, 11, 5); // the clock is stepped to the hub's time; the next tick comes before the next beat
  f.tick();
  t.equal(f.state, 'running', `still running after the step (${logged.join('; ') || 'nothing logged'})`);
  t.equal(fs.readFileSync(path.join(dir, 'watchdog')).length, 2, 'fed again after the step');
  f.close();
  t.end();
});
