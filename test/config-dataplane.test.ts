// `dataplane workers N` (appliance/config/grammar-dataplane.ts): parsed, rendered, the default (1)
// neither stored nor rendered, `no` back to the default, out-of-range counts refused.
import t from 'tap';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';
import { dataplaneWorkers } from '../appliance/config/grammar-dataplane.js';

const load = (text: string) => parseStartupConfig(`hostname R1\n${text}`);

t.test('dataplane workers', async (t) => {
  const two = load('dataplane workers 2\n');
  t.ok(two.ok, 'accepted');
  if (!two.ok) return;
  t.equal(two.config.dataplaneWorkers, 2, 'stored');
  t.equal(dataplaneWorkers(two.config), 2);
  const text = renderConfig(two.config);
  t.match(text, /\ndataplane workers 2\n!\n/, 'rendered');
  const again = parseStartupConfig(text);
  t.ok(again.ok && again.config.dataplaneWorkers === 2, 'the rendered config loads the same');

  const one = load('dataplane workers 1\n');
  t.ok(one.ok && one.config.dataplaneWorkers === undefined && dataplaneWorkers(one.config) === 1, 'the default is not stored');
  if (one.ok) t.notMatch(renderConfig(one.config), /dataplane/, 'nor rendered');
  const back = load('dataplane workers 3\nno dataplane workers\n');
  t.ok(back.ok && back.config.dataplaneWorkers === undefined, '`no dataplane workers`: back to the default');
  for (const bad of ['dataplane workers 0', 'dataplane workers 5', 'dataplane workers two']) {
    t.notOk(load(`${bad}\n`).ok, `refused: ${bad}`);
  }
});
