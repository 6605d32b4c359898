// Child of test/eigrp-raw-socket.test.ts, run inside one namespace: the supervisor's EIGRP service
// (supervisor/eigrp.ts) on the IOS config in argv[2], with FastEthernet0/0 on the OS interface argv[3]
// (and FastEthernet0/1 on argv[4] if given), over the kernel table's netlink socket, as dmvpnd runs it.
// Reports JSON lines on stdout: each log line ({"log"}) and the neighbor list whenever it changes
// ({"neighbors"}, with each one's up-since time in "since"). A line {"config": TEXT} on stdin applies
// that config instead, as a configuration change does in dmvpnd. Ends when stdin closes.
import { loadNative } from '../../appliance/io/native.js';
import { KernelTable } from '../../appliance/routing/kernel-table.js';
import { parseStartupConfig } from '../../appliance/config/load.js';
import { EigrpService } from '../../appliance/supervisor/eigrp.js';
import { createInterface } from 'node:readline';

const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const parsed = parseStartupConfig(process.argv[2]);
if (!parsed.ok) { out({ log: `config: ${JSON.stringify(parsed.errors)}` }); process.exit(1); }
const table = new KernelTable(loadNative());
await table.start();
const service = new EigrpService(table, (level, msg) => out({ log: `${level} ${msg}` }));
const osName = (ios: string) => ({ 'FastEthernet0/0': process.argv[3], 'FastEthernet0/1': process.argv[4] } as Record<string, string | undefined>)[ios];
await service.apply(parsed.config, osName).catch((e: Error) => out({ log: `error EIGRP not running: ${e.message}` }));

let last = '';
const timer = setInterval(() => {
  const list = service.speakers().flatMap((s) => s.neighbors.list());
  const n = JSON.stringify(list.map((x) => `${x.address} ${x.state}`));
  if (n !== last) out({ neighbors: JSON.parse(last = n) as string[], since: list.map((x) => x.upSince) });
}, 100);
createInterface({ input: process.stdin }).on('line', (l) => {
  const p = parseStartupConfig((JSON.parse(l) as { config: string }).config);
  if (!p.ok) { out({ log: `config: ${JSON.stringify(p.errors)}` }); return; }
  void service.apply(p.config, osName).then(() => out({ log: 'applied' }), (e: Error) => out({ log: `error EIGRP not running: ${e.message}` }));
});
process.stdin.on('end', () => { clearInterval(timer); void service.stop().then(() => { table.stop(); process.exit(0); }); });
