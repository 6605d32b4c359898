// Exec commands that exist only for fault-injection tests, and only when dmvpnd runs with
// DMVPN_TEST_HOOKS=1 in its environment (they are not registered otherwise, so `?` does not list
// them and the control socket refuses them like any unknown command). Nothing here is reachable from
// the network: the control socket is a local UNIX socket.
import { testHooksEnabled } from './dataplane-host.js';

type Handler = () => string;

type Args = { p: Record<string, string> };

export function testHookCommands(dataplane: () => { crashWorkerForTest(worker?: number): boolean } | undefined): Record<string, Handler | ((a: Args) => string)> {
  if (!testHooksEnabled()) return {};
  return {
    'test dataplane crash': () => {
      const dp = dataplane();
      if (!dp) return '% no data plane is running\n';
      return dp.crashWorkerForTest() ? 'data-plane worker told to trap\n' : '% control ring full\n';
    },
    'test dataplane crash worker {n:range:0-63}': (a: Args) => {
      const dp = dataplane();
      if (!dp) return '% no data plane is running\n';
      const n = Number(a.p.n);
      return dp.crashWorkerForTest(n) ? `data-plane worker ${n} told to trap\n` : `% worker ${n} does not run (or control ring full)\n`;
    },
    'test supervisor crash': () => {
      // an exception outside any handler's try: what a supervisor bug looks like (dmvpnd must exit non-zero)
      setImmediate(() => { throw new Error('test supervisor crash (DMVPN_TEST_HOOKS)'); });
      return 'supervisor will throw\n';
    },
    'test supervisor hang': () => {
      // an event loop that never returns (not a crash): only the hardware watchdog's feeder notices
      // (appliance/entry/hardware-watchdog.ts); the answer goes out before the loop stops
      setTimeout(() => { for (;;) { /* hung on purpose */ } }, 200);
      return 'supervisor will hang\n';
    },
  };
}
