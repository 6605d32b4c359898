// A holding time must end in expiry even when the timer fires a little early, as Node's timers do
// under load (they start from the event loop's cached time, which lags Date.now()).
import t from 'tap';
import { NhrpCache } from '../appliance/nhrp/cache.js';
import type { CacheChange } from '../appliance/nhrp/cache.js';
import type { Clock, Timers } from '../appliance/nhrp/clock.js';
import { FakeClock } from './util/fake-clock.js';

/** A clock whose timers fire `earlyMs` before the delay they were given, but at least 1 ms after
 *  (Node's minimum delay). */
function earlyClock(fake: FakeClock, earlyMs: number): Clock {
  const timers: Timers = {
    setTimeout: (fn, ms) => fake.timers.setTimeout(fn, Math.max(1, ms - earlyMs)),
    clearTimeout: (h) => fake.timers.clearTimeout(h),
  };
  return { now: fake.now, timers };
}

t.test('an entry expires although its timer fired 5 ms early', async (t) => {
  const fake = new FakeClock();
  const changes: CacheChange[] = [];
  const cache = new NhrpCache(earlyClock(fake, 5), (c) => changes.push(c));
  cache.set({ tunnelIp: '192.168.0.4', prefixLen: 32, type: 'dynamic', nbma: '172.16.45.2', flags: {} }, 12);
  fake.advance(11_990);
  t.ok(cache.get('192.168.0.4'), 'still there before its holding time');
  fake.advance(9);
  t.ok(cache.get('192.168.0.4'), 'still there 1 ms before (the first timer fired early and was re-armed)');
  fake.advance(1);
  t.notOk(cache.get('192.168.0.4'), 'gone at its holding time');
  t.same(changes.flatMap((c) => (c.op === 'del' ? [c.reason] : [])), ['expired'], 'one deletion, as expired');
  t.equal(fake.pendingCount, 0, 'no timer left behind');
});

t.test('a refresh before the early timer moves the expiry; only the new time counts', async (t) => {
  const fake = new FakeClock();
  const cache = new NhrpCache(earlyClock(fake, 5), () => {});
  const e = { tunnelIp: '192.168.0.2', prefixLen: 32, type: 'dynamic' as const, nbma: '172.16.25.2', flags: {} };
  cache.set(e, 12);
  fake.advance(4_000);
  cache.set(e, 12); // the spoke re-registered
  fake.advance(11_999);
  t.ok(cache.get('192.168.0.2'), 'kept 12 s after the refresh, less 1 ms');
  fake.advance(1);
  t.notOk(cache.get('192.168.0.2'), 'gone 12 s after the refresh');
});
