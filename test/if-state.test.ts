// LineProtocol (supervisor/if-state.ts) without a kernel: with `if-state nhrp` the carrier follows
// "any NHS up", one log line per change, the sysctl is set at start; without it (or without an NHS)
// nothing is touched; a carrier call that fails leaves the state as it was so the next update retries.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LineProtocol } from '../appliance/supervisor/if-state.js';

function host(followsNhs: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mi-ifstate-'));
  fs.mkdirSync(path.join(dir, 'Tunnel0'));
  const h = { up: false, carrier: [] as boolean[], notices: [] as string[], warns: [] as string[], fail: false };
  const lp = new LineProtocol({
    name: 'Tunnel0', followsNhs, anyNhsUp: () => h.up,
    setCarrier: (on) => { if (h.fail) throw new Error('EBADF'); h.carrier.push(on); },
    notice: (m) => h.notices.push(m), warn: (m) => h.warns.push(m),
  }, dir);
  const sysctl = () => { try { return fs.readFileSync(path.join(dir, 'Tunnel0/ignore_routes_with_linkdown'), 'utf8'); } catch { return undefined; } };
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { h, lp, sysctl };
}

t.test('if-state nhrp: down until an NHS answers, then follows it', async (t) => {
  const { h, lp, sysctl } = host(true);
  lp.start();
  t.equal(sysctl(), '1', 'ignore_routes_with_linkdown set on the tunnel');
  t.equal(lp.up, false);
  t.same(h.carrier, [false]);
  t.same(h.notices, ['Line protocol on Interface Tunnel0, changed state to down']);
  lp.update();
  t.same(h.carrier, [false], 'no change, no call');
  h.up = true; lp.update();
  t.equal(lp.up, true);
  h.up = false; h.fail = true; lp.update();
  t.equal(lp.up, true, 'carrier off failed: state unchanged');
  t.match(h.warns, [/carrier off failed: EBADF/]);
  h.fail = false; lp.update();
  t.equal(lp.up, false, 'retried on the next update');
  t.same(h.carrier, [false, true, false]);
  t.same(h.notices.map((n) => n.split(' ').pop()), ['down', 'up', 'down']);
});

t.test('without if-state nhrp: always up, nothing touched', async (t) => {
  const { h, lp, sysctl } = host(false);
  lp.start(); lp.update();
  t.equal(lp.up, true);
  t.same(h.carrier, []);
  t.same(h.notices, []);
  t.equal(sysctl(), undefined);
});
