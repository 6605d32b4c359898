// A one-name DNS server for the discovery tests: answers A queries for NAME with ADDRESS, NXDOMAIN for
// any other name, and counts what it was asked. Run as `node dns-responder.mjs BIND PORT NAME ADDRESS`
// (PORT 0: a free one); prints "listening PORT" once bound, then one "query NAME TYPE" line per question.
// Hand-built with node:dgram so the test needs no DNS daemon; queries are bounds-checked and junk dropped.
import dgram from 'node:dgram';

const [bind, port, name, address] = process.argv.slice(2);
const sock = dgram.createSocket('udp4');

/** the question's name (lowercase) and where it ends, or undefined when malformed */
function question(msg) {
  const labels = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i];
    if (len > 63 || i + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1').toLowerCase());
    i += 1 + len;
  }
  if (i + 5 > msg.length) return undefined;
  return { name: labels.join('.'), type: msg.readUInt16BE(i + 1), end: i + 5 };
}

sock.on('message', (msg, from) => {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return;
  const q = question(msg);
  if (!q) return;
  process.stdout.write(`query ${q.name} ${q.type}\n`);
  const hit = q.name === name.toLowerCase() && q.type === 1;
  const head = Buffer.alloc(12);
  head.writeUInt16BE(msg.readUInt16BE(0), 0); // the query's id
  head.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | (hit ? 0 : 3), 2); // response, authoritative, RD copied, NXDOMAIN on a miss
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(hit ? 1 : 0, 6);
  const parts = [head, msg.subarray(12, q.end)];
  if (hit) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(1, 2); rr.writeUInt16BE(1, 4); rr.writeUInt32BE(60, 6); rr.writeUInt16BE(4, 10);
    Buffer.from(address.split('.').map(Number)).copy(rr, 12);
    parts.push(rr);
  }
  sock.send(Buffer.concat(parts), from.port, from.address);
});
sock.bind(Number(port), bind, () => process.stdout.write(`listening ${sock.address().port}\n`));
