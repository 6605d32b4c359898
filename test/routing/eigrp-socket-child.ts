// Child of test/eigrp-raw-socket.test.ts, run inside one side's namespace (the addon cannot setns()):
// the EIGRP raw-socket transport on the interfaces named in argv[2..], driven by JSON lines on stdin
// ({"send": [iface, dst, hex]} or {"stats": true}) and reporting JSON lines on stdout: {"ready"} or
// {"openError"}, {"packet": [iface, src, dst, hex]}, {"sendError"}, {"failure"}, {"stats"}.
import { createInterface } from 'node:readline';
import { RawSocketTransport } from '../../appliance/routing/eigrp/raw-socket.js';

const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const tr = new RawSocketTransport(process.argv.slice(2));
try { await tr.ready; out({ ready: true }); } catch (e) { out({ openError: (e as Error).message }); }
tr.onReceive((iface, src, dst, p) => out({ packet: [iface, src, dst, Buffer.from(p).toString('hex')] }));
tr.onFailure((why) => out({ failure: why }));

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { send?: [string, string, string]; stats?: boolean };
  if (cmd.send) {
    const errors = tr.stats.errors;
    tr.send(cmd.send[0], cmd.send[1], Uint8Array.from(Buffer.from(cmd.send[2], 'hex')));
    out(tr.stats.errors > errors ? { sendError: tr.lastError } : { sent: true });
  }
  if (cmd.stats) out({ stats: { transport: tr.stats, socket: tr.socketStats() } });
}).on('close', () => { tr.close(); process.exit(0); });
