// `dataplane workers N` (appliance/config/grammar-dataplane.ts): parsed, rendered, the automatic default
// (one per CPU beyond the first, at most 4) neither stored nor rendered, `no` back to it, out-of-range
// counts refused.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { dataplaneWorkers, autoDataplaneWorkers } from '../appliance/config/grammar-dataplane.js';

const load = (text: string) => parseStartupConfig(`hostname R1\n${text}`);

t.test('dataplane workers', async (t) => {
  const two = load('dataplane workers 2\n');
  t.ok(two.ok, 'accepted');
  if (!two.ok) return;
  t.equal(two.config.dataplaneWorkers, 2, 'stored');
  t.equal(dataplaneWorkers(two.config, 8), 2, 'whatever the CPUs');
  const text = renderConfig(two.config);
  t.match(text, /\ndataplane workers 2\n!\n/, 'rendered');
  const again = parseStartupConfig(text);
  t.ok(again.ok && again.config.dataplaneWorkers === 2, 'the rendered config loads the same');

  const one = load('dataplane workers 1\n');
  t.ok(one.ok && one.config.dataplaneWorkers === 1 && dataplaneWorkers(one.config, 8) === 1, 'one worker pinned: stored (8 CPUs would get 4)');
  if (one.ok) t.match(renderConfig(one.config), /\ndataplane workers 1\n/, 'and rendered');
  const none = load('');
  t.ok(none.ok && none.config.dataplaneWorkers === undefined, 'automatic: nothing stored');
  if (none.ok) {
    t.notMatch(renderConfig(none.config), /dataplane/, 'nor rendered');
    t.same([1, 2, 3, 4, 5, 8, 64].map((n) => dataplaneWorkers(none.config, n)), [1, 1, 2, 3, 4, 4, 4], 'one per CPU beyond the first, at most 4');
  }
  t.same([0, 1.5, 2.9].map(autoDataplaneWorkers), [1, 1, 1], 'never below one');
  const back = load('dataplane workers 3\nno dataplane workers\n');
  t.ok(back.ok && back.config.dataplaneWorkers === undefined, '`no dataplane workers`: back to automatic');
  for (const bad of ['dataplane workers 0', 'dataplane workers 5', 'dataplane workers two']) {
    t.notOk(load(`${bad}\n`).ok, `refused: ${bad}`);
  }
});
