// Run in a namespace by test/tun-steering.test.ts: a multi-queue TUN with QUEUES queues, a route into
// it, UDP and ICMP flows sent by the kernel out through it; which queue each packet came out on, before
// and after the steering program (appliance/native/tun-steering.c) is attached. Prints one JSON line.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';

const args = JSON.parse(process.argv[2]);
const io = createRequire(import.meta.url)(args.native);
const QUEUES = args.queues;
const name = args.tun;
const LOCAL = '10.77.0.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function checksum(buf) {
  let s = 0;
  for (let i = 0; i < buf.length; i += 2) s += (buf[i] << 8) | (buf[i + 1] ?? 0);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}
const ipBytes = (a) => Buffer.from(a.split('.').map(Number));
/** an IPv4 UDP packet (UDP checksum 0: none) */
function udpPacket(src, dst, sport, dport, payload = Buffer.from('steer')) {
  const p = Buffer.alloc(28 + payload.length);
  p[0] = 0x45; p.writeUInt16BE(p.length, 2); p[8] = 64; p[9] = 17;
  ipBytes(src).copy(p, 12); ipBytes(dst).copy(p, 16);
  p.writeUInt16BE(checksum(p.subarray(0, 20)), 10);
  p.writeUInt16BE(sport, 20); p.writeUInt16BE(dport, 22); p.writeUInt16BE(8 + payload.length, 24);
  payload.copy(p, 28);
  return p;
}

const fds = [];
for (let q = 0; q < QUEUES; q++) fds.push(io.openTun(name, { multiQueue: true }));
io.configureInterface(name, { address: LOCAL, prefixLen: 24, mtu: 1400, up: true });
execFileSync('ip', ['route', 'add', '10.88.0.0/16', 'dev', name]);
execFileSync('ip', ['link', 'set', name, 'txqueuelen', '1000']);

const buf = Buffer.alloc(2048);
/** every packet waiting on the queues now: [{ queue, src, dst, proto, sport, dport }] */
function drain() {
  const got = [];
  for (let q = 0; q < QUEUES; q++) {
    for (;;) {
      let n;
      try { n = fs.readSync(fds[q], buf, 0, buf.length, null); } catch (e) { if (e.code === 'EAGAIN') break; throw e; }
      const p = buf.subarray(0, n);
      if (n < 20 || p[0] >> 4 !== 4) continue;
      const ihl = (p[0] & 15) * 4;
      got.push({ queue: q, src: [...p.subarray(12, 16)].join('.'), dst: [...p.subarray(16, 20)].join('.'), proto: p[9],
        ...(p[9] === 17 && n >= ihl + 4 ? { sport: p.readUInt16BE(ihl), dport: p.readUInt16BE(ihl + 2) } : {}) });
    }
  }
  return got;
}
/** The queue the flow's packet came out on (UDP from LOCAL:sport to dst:dport), or -1. */
async function sendUdp(sock, dst, dport) {
  await new Promise((res, rej) => sock.send('x', dport, dst, (e) => (e ? rej(e) : res())));
  for (let i = 0; i < 100; i++) {
    const hit = drain().find((g) => g.proto === 17 && g.dst === dst && g.dport === dport);
    if (hit) return hit.queue;
    await sleep(10);
  }
  return -1;
}
async function sendPing(dst) {
  try { execFileSync('ping', ['-c', '1', '-W', '1', dst], { stdio: 'ignore' }); } catch { /* no answer: expected */ }
  const hit = drain().find((g) => g.proto === 1 && g.dst === dst);
  return hit ? hit.queue : -1;
}

const sock = dgram.createSocket('udp4');
await new Promise((r) => sock.bind(args.sport, LOCAL, r));
const r = { flows: [], pings: [] };
await sleep(200);
drain(); // router solicitations and the like

// without the program: a flow goes out on the queue that wrote its reply (the kernel's automatic choice)
const learned = args.learned; // { dst, dport, queue }
fs.writeSync(fds[learned.queue], udpPacket(learned.dst, LOCAL, learned.dport, args.sport));
await sleep(50);
r.learnedBefore = await sendUdp(sock, learned.dst, learned.dport);

io.tunSteer(fds[0]);
r.steered = true;
r.learnedAfter = await sendUdp(sock, learned.dst, learned.dport);
for (const f of args.flows) r.flows.push({ ...f, queue: await sendUdp(sock, f.dst, f.dport) });
for (const dst of args.pings) r.pings.push({ dst, queue: await sendPing(dst) });
// the program is the TUN's (any queue fd may set it); a bad fd is refused with the reason
try { io.tunSteer(12345); r.badFd = null; } catch (e) { r.badFd = { code: e.code, message: e.message }; }
sock.close();
for (const fd of fds) io.closeFd(fd);
console.log(JSON.stringify(r));
