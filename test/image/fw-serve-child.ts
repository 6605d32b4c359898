// Child of the kill-point tests (test/image/firmware-kill.ts), run inside their namespace (Node cannot
// setns()): the hub's own firmware server (appliance/firmware/serve.ts: ETag, Range, If-Range, a rate
// cap) on the tap's address, every client taken as a peer (the VM downloads over the underlay here,
// not through a tunnel). The rate makes the download last long enough to be cut in the middle.
// argv: address port dir rate(bytes/s). Prints {"listening":true}; a line on stdin is answered with the
// server's counters and the offsets of its ranged requests.
import { createInterface } from 'node:readline';
import { FirmwareServer } from '../../appliance/firmware/serve.js';

const [address, port, dir, rate] = process.argv.slice(2);
const server = new FirmwareServer({ address, port: Number(port), dir, rate: Number(rate), isPeer: () => true,
  onStatus: () => Promise.reject(new Error('no reports here')) });
const say = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
await server.listen();
say({ listening: true });
createInterface({ input: process.stdin })
  .on('line', () => say({ counters: server.counters, rangeStarts: server.rangeStarts }))
  .on('close', () => { server.close(); process.exit(0); });
