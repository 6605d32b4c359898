// OverlayFib on a fake kernel table and a fake FIB sink: which kernel routes reach the FIB (through the
// tunnel: gateway or on-link; ECMP: the next hop through the tunnel), shortcut precedence, and a
// command the full control ring refused being tried again until it is in.
import t from 'tap';
import { OverlayFib, type FibSink } from '../appliance/routing/overlay-fib.js';
import type { KernelTable, Route, TableEvent } from '../appliance/routing/kernel-table.js';
import { u32ToIp } from '../appliance/net/ipv4.js';

const route = (prefix: string, len: number, o: Partial<Route>): Route => ({ prefix, len, tos: 0, metric: 0, protocol: 3, scope: 0, type: 1, flags: 0, nexthops: [], ...o });

function fakeTable(routes: Route[]) {
  let fn: ((e: TableEvent) => void) | undefined;
  const table = {
    routes: () => routes,
    routesFor: (p: string, l: number) => routes.filter((r) => r.prefix === p && r.len === l),
    subscribe: (f: (e: TableEvent) => void) => { fn = f; return () => { fn = undefined; }; },
  } as unknown as KernelTable;
  return { table, emit: (e: TableEvent) => fn?.(e), routes };
}

function sink(refuse = 0) {
  const fib = new Map<string, string>();
  let left = refuse;
  const s: FibSink & { fib: Map<string, string> } = {
    fib,
    fibAdd: (p, l, nh = 0) => { if (left > 0) { left--; return false; } fib.set(`${u32ToIp(p)}/${l}`, nh ? u32ToIp(nh) : 'on-link'); return true; },
    fibDel: (p, l) => { fib.delete(`${u32ToIp(p)}/${l}`); return true; },
  };
  return s;
}

t.test('kernel routes out of the tunnel, and only those, reach the FIB', async (t) => {
  const { table, emit, routes } = fakeTable([
    route('192.168.0.0', 24, { dev: 'Tunnel0', protocol: 2, scope: 253 }),
    route('10.0.0.0', 8, { dev: 'Tunnel0', gateway: '192.168.0.1' }),
    route('10.1.0.0', 16, { dev: 'eth1', gateway: '10.0.1.2' }),
    route('10.2.0.0', 16, { nexthops: [{ dev: 'eth1', gateway: '10.0.1.2' }, { dev: 'Tunnel0', gateway: '192.168.0.3' }] }),
  ]);
  const s = sink();
  const fib = new OverlayFib(table, 'Tunnel0', s);
  fib.start();
  t.same(Object.fromEntries(s.fib), { '192.168.0.0/24': 'on-link', '10.0.0.0/8': '192.168.0.1', '10.2.0.0/16': '192.168.0.3' });
  fib.installShortcut('10.0.0.0', 8, '192.168.0.9');
  routes[1] = route('10.0.0.0', 8, { dev: 'Tunnel0', gateway: '192.168.0.5' });
  emit({ kind: 'route', op: 'add', route: routes[1] });
  t.equal(s.fib.get('10.0.0.0/8'), '192.168.0.9', 'the shortcut keeps precedence over a kernel change');
  fib.removeShortcut('10.0.0.0', 8);
  t.equal(s.fib.get('10.0.0.0/8'), '192.168.0.5', 'and the kernel route comes back when it goes');
  const gone = routes.splice(1, 1)[0];
  emit({ kind: 'route', op: 'del', route: gone });
  t.notOk(s.fib.has('10.0.0.0/8'), 'a deleted kernel route leaves the FIB');
  fib.stop();
});

t.test('a command the full control ring refused is tried again', async (t) => {
  const { table } = fakeTable([route('10.0.0.0', 8, { dev: 'Tunnel0', gateway: '192.168.0.1' })]);
  const s = sink(3);
  const logs: string[] = [];
  const fib = new OverlayFib(table, 'Tunnel0', s, (_l, m) => logs.push(m));
  fib.start();
  t.notOk(s.fib.has('10.0.0.0/8'), 'refused at first');
  const deadline = Date.now() + 5000;
  while (!s.fib.has('10.0.0.0/8') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(s.fib.get('10.0.0.0/8'), '192.168.0.1', 'in after the retries');
  t.equal(fib.refused, 3, 'three refusals counted');
  t.match(logs[0], /command ring full; retrying/);
  fib.stop();
});
