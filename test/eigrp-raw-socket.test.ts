// The raw-socket helper's start-up failure: without python3 (the appliance image ships none) the
// transport's `ready` rejects with a message naming the problem, and the supervisor keeps running
// (a failed spawn is an 'error' event, fatal to the process if nobody listens).
import t from 'tap';
import { RawSocketTransport } from '../appliance/routing/eigrp/raw-socket.js';

t.test('no python3: ready rejects, nothing thrown out of band', async (t) => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  t.teardown(() => { process.env.PATH = path; });
  const tr = new RawSocketTransport(['lo']);
  await t.rejects(tr.ready, /EIGRP raw-socket helper did not start: spawn python3 ENOENT/);
  tr.close();
});
