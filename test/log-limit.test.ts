// The IKE service logs through limitedLog: a flood of hostile datagrams, each dropped with a reason,
// gives a bounded number of log lines per window and then one line saying how many were held back.
import t from 'tap';
import { limitedLog } from '../appliance/supervisor/log-limit.js';

t.test('at most `burst` lines per window, then a count of the rest', async (t) => {
  const lines: string[] = [];
  let now = 0;
  const log = limitedLog((level, msg) => lines.push(`${level} ${msg}`), 3, 10_000, () => now);
  for (let i = 0; i < 50; i++) log('warn', `dropped ${i}`);
  log('debug', 'debug passes');
  t.same(lines, ['warn dropped 0', 'warn dropped 1', 'warn dropped 2', 'debug debug passes']);
  now = 10_000;
  log('notice', 'next window');
  t.same(lines.slice(4), ['warn 47 more lines like these were not logged in the last 10 s', 'notice next window']);
});
