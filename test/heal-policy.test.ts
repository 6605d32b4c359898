// The restart policies: which supervisor exits the watchdog restarts (config refusal and usage errors
// are final, crashes are not), and the data-plane worker's crash-loop backoff.
import t from 'tap';
import { restartable, EXIT } from '../appliance/entry/exit-codes.js';
import { restartDelay } from '../appliance/supervisor/dataplane-worker.js';

t.test('watchdog: final exits vs crashes', async (t) => {
  t.notOk(restartable(EXIT.STOPPED, null), 'stopped (SIGTERM handled, --help)');
  t.notOk(restartable(EXIT.REFUSED, null), 'config refused is not retried');
  t.notOk(restartable(EXIT.USAGE, null), 'usage error is not retried');
  t.ok(restartable(EXIT.SOFTWARE, null), 'uncaught exception: restarted');
  t.ok(restartable(134, null), 'any other status: restarted');
  t.ok(restartable(null, 'SIGSEGV'), 'killed by SIGSEGV: restarted');
  t.ok(restartable(null, 'SIGKILL'), 'killed by the OOM killer: restarted');
});

t.test('worker crash loop: two immediate restarts, then doubling, capped', async (t) => {
  t.same([1, 2, 3, 4, 5, 6].map(restartDelay), [0, 0, 500, 1000, 2000, 4000]);
  t.equal(restartDelay(50), 30_000, 'capped at 30 s');
});
