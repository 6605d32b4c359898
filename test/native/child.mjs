// Child process for test/native.test.ts: runs inside a network namespace (`ip netns exec NS node
// child.mjs JSON`), because Node cannot setns(). It drives the built addon directly and prints one
// JSON line with what it saw; the parent makes the assertions. The parent passes every layout number
// (computed by appliance/dataplane/layout.ts), so nothing here hard-codes the contract.
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

const args = JSON.parse(process.argv[2]);
const { RING, SLOT, DOORBELL, layout: L } = args;
const io = createRequire(import.meta.url)(args.native);
const memory = new WebAssembly.Memory({ initial: args.pages, maximum: args.pages, shared: true });
const u8 = new Uint8Array(memory.buffer);
const u32 = new Uint32Array(memory.buffer);
const dv = new DataView(memory.buffer);

const ipToU32 = (s) => s.split('.').reduce((a, b) => ((a << 8) | Number(b)) >>> 0, 0);
const u32ToIp = (n) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

function initRing(off, slotCount, slotSize, consumer, producer) {
  u8.fill(0, off, off + RING.headerSize);
  u32[(off + RING.slotCount) >>> 2] = slotCount;
  u32[(off + RING.slotSize) >>> 2] = slotSize;
  u32[(off + RING.consumerDoorbell) >>> 2] = consumer;
  u32[(off + RING.producerDoorbell) >>> 2] = producer;
}
const ringField = (ring, f) => (ring + RING[f]) >>> 2;
const slotAt = (ring, i) => {
  const count = u32[ringField(ring, 'slotCount')], size = u32[ringField(ring, 'slotSize')];
  return ring + RING.headerSize + (i & (count - 1)) * size;
};

/** Producer side (JS acting as the worker): put one slot into a ring and ring its consumer. */
function produce(ring, data, { kind = 0, addr = 0, aux = 0, len = data.length } = {}) {
  const head = Atomics.load(u32, ringField(ring, 'head'));
  const s = slotAt(ring, head);
  dv.setUint32(s + SLOT.len, len, true);
  dv.setUint32(s + SLOT.kind, kind, true);
  dv.setUint32(s + SLOT.addr, addr, true);
  dv.setUint32(s + SLOT.aux, aux, true);
  u8.set(data, s + SLOT.data);
  Atomics.store(u32, ringField(ring, 'head'), head + 1);
  io.wake(u8, u32[ringField(ring, 'consumerDoorbell')]);
}

/** Consumer side: drain `ring` until pred(slot) is true for one slot or the timeout passes. Sleeps
 * on the ring's consumer doorbell with the protocol of docs/dataplane.md (using the addon's wait). */
function consumeUntil(ring, pred, timeoutMs, seen = []) {
  const bell = u32[ringField(ring, 'consumerDoorbell')];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = Atomics.load(u32, ringField(ring, 'head'));
    let t = Atomics.load(u32, ringField(ring, 'tail'));
    let found = null;
    for (; t !== h; t = (t + 1) >>> 0) {
      const s = slotAt(ring, t);
      const len = dv.getUint32(s + SLOT.len, true);
      const slot = {
        len, kind: dv.getUint32(s + SLOT.kind, true), addr: dv.getUint32(s + SLOT.addr, true),
        aux: dv.getUint32(s + SLOT.aux, true), data: Buffer.from(u8.slice(s + SLOT.data, s + SLOT.data + len)),
      };
      seen.push(slot);
      if (!found && pred(slot)) found = slot;
    }
    Atomics.store(u32, ringField(ring, 'tail'), h);
    const pb = u32[ringField(ring, 'producerDoorbell')];
    if (pb) io.wake(u8, pb);
    if (found) return found;
    if (Date.now() > deadline) return null;
    const seqIdx = bell >>> 2, sleepIdx = (bell + DOORBELL.sleeping) >>> 2;
    const s = Atomics.load(u32, seqIdx);
    Atomics.store(u32, sleepIdx, 1);
    if (Atomics.load(u32, ringField(ring, 'head')) === h) io.wait(u8, bell, s, 100);
    Atomics.store(u32, sleepIdx, 0);
  }
}

function checksum(buf, start, end) {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (buf[i] << 8) | (i + 1 < end ? buf[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}
function ipv4(src, dst, proto, payload, ttl = 64) {
  const p = Buffer.alloc(20 + payload.length);
  p[0] = 0x45; p.writeUInt16BE(p.length, 2); p.writeUInt16BE(0x1234, 4); p[8] = ttl; p[9] = proto;
  p.writeUInt32BE(ipToU32(src), 12); p.writeUInt32BE(ipToU32(dst), 16);
  p.writeUInt16BE(checksum(p, 0, 20), 10);
  payload.copy(p, 20);
  return p;
}
function icmpEcho(id, seq, type = 8) {
  const m = Buffer.alloc(8 + 16);
  m[0] = type; m.writeUInt16BE(id, 4); m.writeUInt16BE(seq, 6); m.write('dmvpn-echo-test!', 8);
  m.writeUInt16BE(checksum(m, 0, m.length), 2);
  return m;
}
const parse = (d) => ({
  version: d[0] >> 4, proto: d[9], src: u32ToIp(d.readUInt32BE(12)), dst: u32ToIp(d.readUInt32BE(16)),
  icmpType: d[9] === 1 ? d[20] : undefined, icmpSeq: d[9] === 1 ? d.readUInt16BE(26) : undefined,
});
const errInfo = (f) => { try { f(); return null; } catch (e) { return { code: e.code, message: e.message }; } };
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

function initAll() {
  initRing(L.tunRx, 64, 2048, L.workerDoorbell, L.tunRxProducerDoorbell);
  initRing(L.tunTx, 64, 2048, L.tunTxDoorbell, L.workerDoorbell);
  initRing(L.nbmaRx, 64, 2048, L.workerDoorbell, L.nbmaRxProducerDoorbell);
  initRing(L.nbmaTx, 64, 2048, L.nbmaTxDoorbell, L.workerDoorbell);
  // a second rx/tx ring pair for UDP (one producer per ring), reusing the ctl ring areas
  initRing(L.ctlRx, 64, 2048, L.supervisorDoorbell, 0);
  initRing(L.ctlTx, 64, 2048, L.tunTxDoorbell + 32, 0);
}

async function tun() {
  initAll();
  const r = {};
  const name = args.tun;
  const fd = io.openTun(name);
  io.configureInterface(name, { address: '10.77.0.1', prefixLen: 24, mtu: 1400, up: true });
  r.secondOpen = errInfo(() => io.openTun(name));
  r.missing = errInfo(() => io.configureInterface('nosuch0', { address: '10.1.1.1', prefixLen: 24, up: true }));
  r.badAddress = errInfo(() => io.configureInterface(name, { address: '10.1.1', prefixLen: 24 }));
  const rx = io.startPump({ memory: u8, kind: 'tun-rx', fd, ring: L.tunRx });
  const tx = io.startPump({ memory: u8, kind: 'tun-tx', fd, ring: L.tunTx, batch: 8 });

  // 1. Kernel -> TUN -> tun-rx ring: an ICMP echo to an address routed into the TUN.
  const isEchoTo2 = (s) => { const p = parse(s.data); return p.version === 4 && p.proto === 1 && p.dst === '10.77.0.2'; };
  if (existsSync('/usr/bin/ping') || existsSync('/bin/ping')) {
    r.trigger = 'ping';
    spawnSync('ping', ['-c1', '-W1', '10.77.0.2']); // no reply comes: only the request matters
  } else {
    // No ping here: send the echo through a raw socket with the addon's own raw-tx pump.
    r.trigger = 'raw-tx';
    const rawFd = io.openRawIp(1);
    const p = io.startPump({ memory: u8, kind: 'raw-tx', fd: rawFd, ring: L.nbmaTx });
    produce(L.nbmaTx, ipv4('10.77.0.1', '10.77.0.2', 1, icmpEcho(7, 1)), { kind: 1, addr: ipToU32('10.77.0.2') });
    consumeUntil(L.tunRx, () => false, 300, (r.pre = []));
    r.rawTxStats = io.stopPump(p);
    io.closeFd(rawFd);
  }
  const seen = r.pre ?? [];
  let got = seen.find(isEchoTo2) ?? consumeUntil(L.tunRx, isEchoTo2, 2000, seen);
  r.ping = got ? { ...parse(got.data), len: got.len, kind: got.kind, ipTotalLength: got.data.readUInt16BE(2) } : null;
  r.ringSlotsSeen = seen.length;

  // 2. tun-tx: an echo request to the TUN's own address; the kernel answers back into the TUN.
  produce(L.tunTx, ipv4('10.77.0.2', '10.77.0.1', 1, icmpEcho(9, 42)));
  got = consumeUntil(L.tunRx, (s) => { const p = parse(s.data); return p.proto === 1 && p.icmpType === 0 && p.icmpSeq === 42; }, 2000);
  r.reply = got ? parse(got.data) : null;

  // 3. A slot whose len exceeds slotSize-16 must be dropped and counted, never written.
  // The reply can be seen before the pump adds its batch to the stats: wait for the count to settle.
  for (const t0 = Date.now(); io.pumpStats(tx).packets < 1 && Date.now() - t0 < 1000;) await new Promise((res) => setTimeout(res, 5));
  const before = io.pumpStats(tx);
  produce(L.tunTx, Buffer.alloc(8), { len: 2048 - 16 + 1 });
  const t0 = Date.now();
  while (io.pumpStats(tx).drops === before.drops && Date.now() - t0 < 1000) await new Promise((res) => setTimeout(res, 10));
  r.txBefore = before;
  r.txAfterBad = io.pumpStats(tx);

  // 4. Back-pressure: a 4-slot tun-rx ring that nobody drains fills up; the pump waits (fullWaits)
  //    instead of dropping, and every reply arrives once we drain.
  io.stopPump(rx);
  initRing(L.tunRx, 4, 2048, L.workerDoorbell, L.tunRxProducerDoorbell);
  const rx2 = io.startPump({ memory: u8, kind: 'tun-rx', fd, ring: L.tunRx, batch: 2 });
  for (let i = 0; i < 10; i++) produce(L.tunTx, ipv4('10.77.0.2', '10.77.0.1', 1, icmpEcho(9, 100 + i)));
  await new Promise((res) => setTimeout(res, 400));
  r.fullRingUsed = Atomics.load(u32, ringField(L.tunRx, 'head')) - Atomics.load(u32, ringField(L.tunRx, 'tail'));
  r.fullStats = io.pumpStats(rx2);
  const replies = new Set();
  consumeUntil(L.tunRx, (s) => {
    const p = parse(s.data);
    if (p.proto === 1 && p.icmpType === 0 && p.icmpSeq >= 100) replies.add(p.icmpSeq);
    return replies.size === 10;
  }, 3000);
  r.backPressureReplies = replies.size;
  r.rxStats = io.stopPump(rx2);
  r.txStats = io.stopPump(tx);
  r.stopUnknown = errInfo(() => io.stopPump(tx));
  io.closeFd(fd);
  r.reopenAfterClose = errInfo(() => io.closeFd(io.openTun(name)));
  out(r);
}

// TUN with IFF_VNET_HDR (docs/dataplane.md "TUN offloads"): the tun-tx pump advertises it in the ring
// flags, reads come as kind-1 slots led by a virtio_net_hdr, kind-0 writes get a zero header from the
// pump, and a kind-1 GSO_TCPV4 super-packet is taken by the kernel as one packet.
async function tunVnet() {
  initRing(L.tunRx, 16, 65600, L.workerDoorbell, L.tunRxProducerDoorbell);
  initRing(L.tunTx, 16, 65600, L.tunTxDoorbell, L.workerDoorbell);
  const r = {};
  const name = args.tun;
  const fd = io.openTun(name, { vnetHdr: true });
  io.configureInterface(name, { address: '10.78.0.1', prefixLen: 24, mtu: 1400, up: true });
  const rx = io.startPump({ memory: u8, kind: 'tun-rx', fd, ring: L.tunRx });
  const tx = io.startPump({ memory: u8, kind: 'tun-tx', fd, ring: L.tunTx });
  r.ringFlags = u32[ringField(L.tunTx, 'flags')];
  const ip = (s) => parse(s.data.subarray(10));
  // 1. kind-0 slot (bare packet): the pump prepends a zero header; the kernel's echo reply comes back.
  produce(L.tunTx, ipv4('10.78.0.2', '10.78.0.1', 1, icmpEcho(9, 1)));
  let got = consumeUntil(L.tunRx, (s) => s.kind === 1 && ip(s).icmpType === 0 && ip(s).icmpSeq === 1, 2000);
  r.reply = got ? { kind: got.kind, vnet: [...got.data.subarray(0, 10)], ...ip(got) } : null;
  // 2. kind-1 slot with an explicit zero header.
  produce(L.tunTx, Buffer.concat([Buffer.alloc(10), ipv4('10.78.0.2', '10.78.0.1', 1, icmpEcho(9, 2))]), { kind: 1 });
  got = consumeUntil(L.tunRx, (s) => s.kind === 1 && ip(s).icmpType === 0 && ip(s).icmpSeq === 2, 2000);
  r.reply2 = !!got;
  // 3. A GSO_TCPV4 super-packet (3 x 1000 bytes, no ACK flag, to a closed port): the kernel's RST
  //    acknowledges seq + 3000, so it took the whole super-packet as one segment train.
  const tcp = Buffer.alloc(20 + 3000);
  tcp.writeUInt16BE(40000, 0); tcp.writeUInt16BE(9, 2); tcp.writeUInt32BE(1000, 4);
  tcp[12] = 5 << 4; tcp[13] = 0; tcp.writeUInt16BE(1000, 14);
  const pkt = ipv4('10.78.0.2', '10.78.0.1', 6, tcp);
  pkt[6] = 0x40; pkt.writeUInt16BE(0, 10); pkt.writeUInt16BE(checksum(pkt, 0, 20), 10); // DF
  const ph = Buffer.from([10, 78, 0, 2, 10, 78, 0, 1, 0, 6, (tcp.length >> 8) & 255, tcp.length & 255]);
  pkt.writeUInt16BE(~checksum(ph, 0, 12) & 0xffff, 36); // pseudo-header sum (NEEDS_CSUM)
  const vh = Buffer.alloc(10);
  vh[0] = 1; vh[1] = 1; vh.writeUInt16LE(40, 2); vh.writeUInt16LE(1000, 4); vh.writeUInt16LE(20, 6); vh.writeUInt16LE(16, 8);
  produce(L.tunTx, Buffer.concat([vh, pkt]), { kind: 1 });
  got = consumeUntil(L.tunRx, (s) => s.kind === 1 && ip(s).proto === 6, 2000);
  r.rst = got ? { flags: got.data[10 + 33], ack: got.data.readUInt32BE(10 + 28) } : null;
  r.txStats = io.stopPump(tx);
  r.rxStats = io.stopPump(rx);
  io.closeFd(fd);
  out(r);
}

// NBMA receiver: raw GRE (47) and UDP 4500 pumps, pcap mirror; then waits for "close" on stdin so
// the parent can read the pcap while we are still running.
async function nbmaRx() {
  initAll();
  const raw = io.openRawIp(47);
  const udp = io.openUdp(args.local, 4500);
  // With SO_REUSEADDR on both, Linux lets a second UDP socket bind the same address:port (and gives
  // it the traffic). Record what happens, and close the second one so `udp` gets the datagrams.
  let second;
  const r = { udpBusy: errInfo(() => { second = io.openUdp(args.local, 4500); }) };
  if (second !== undefined) { io.closeFd(second); r.udpBusy = 'bound twice'; }
  io.pcapOpen(args.pcap);
  const p1 = io.startPump({ memory: u8, kind: 'raw-rx', fd: raw, ring: L.nbmaRx });
  const p2 = io.startPump({ memory: u8, kind: 'udp-rx', fd: udp, ring: L.ctlRx });
  out({ ready: true });
  const gre = consumeUntil(L.nbmaRx, (s) => s.data.includes('DMVPN-GRE-TEST'), 5000);
  const dgram = consumeUntil(L.ctlRx, (s) => s.data.includes('DMVPN-UDP-TEST'), 5000);
  r.gre = gre && { ...parse(gre.data), kind: gre.kind, addr: u32ToIp(gre.addr), len: gre.len };
  r.udp = dgram && { kind: dgram.kind, addr: u32ToIp(dgram.addr), aux: dgram.aux, payload: dgram.data.toString() };
  out({ got: true });
  for await (const line of createInterface({ input: process.stdin })) if (line === 'close') break;
  io.pcapClose();
  r.rawStats = io.stopPump(p1);
  r.udpStats = io.stopPump(p2);
  io.closeFd(raw); io.closeFd(udp);
  out(r);
}

async function nbmaTx() {
  initAll();
  const raw = io.openRawIp(47, args.local);
  const udp = io.openUdp(args.local, 4500);
  io.pcapOpen(args.pcap);
  const p1 = io.startPump({ memory: u8, kind: 'raw-tx', fd: raw, ring: L.nbmaTx });
  const p2 = io.startPump({ memory: u8, kind: 'udp-tx', fd: udp, ring: L.ctlTx });
  const inner = ipv4('192.168.1.1', '192.168.2.1', 17, Buffer.from('inner-payload'));
  const gre = Buffer.concat([Buffer.from([0, 0, 0x08, 0x00]), inner, Buffer.from('DMVPN-GRE-TEST')]);
  produce(L.nbmaTx, Buffer.from([1, 2, 3, 4]), { kind: 47, addr: ipToU32(args.peer) }); // not IPv4: dropped
  produce(L.nbmaTx, ipv4(args.local, args.peer, 47, gre), { kind: 47, addr: ipToU32(args.peer) });
  produce(L.ctlTx, Buffer.from('DMVPN-UDP-TEST'), { kind: 17, addr: ipToU32(args.peer), aux: (4500 << 16) | 4500 });
  const t0 = Date.now();
  while ((io.pumpStats(p1).packets < 1 || io.pumpStats(p2).packets < 1) && Date.now() - t0 < 2000)
    await new Promise((res) => setTimeout(res, 10));
  io.pcapClose();
  const r = { rawStats: io.stopPump(p1), udpStats: io.stopPump(p2) };
  io.closeFd(raw); io.closeFd(udp);
  out(r);
}

// UDP 4500 control rate limit: a paced flood from python3 in this namespace (loopback only) of
// non-ESP datagrams (IKE marker), with ESP and NAT-keepalives mixed in, then an ESP "ENDX" marker.
async function udpControlRate() {
  initAll();
  const udp = io.openUdp('127.0.0.1', 4500);
  const p = io.startPump({ memory: u8, kind: 'udp-rx', fd: udp, ring: L.ctlRx, controlRate: args.rate, controlBurst: args.burst });
  const t0 = Date.now();
  const py = spawn('python3', ['-c', `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(${args.control}):
    s.sendto(b'\\0\\0\\0\\0IKE-FLOOD-%04d' % i, ('127.0.0.1', 4500))
    if i % 10 == 0: s.sendto(b'\\0\\0\\x10\\x01ESP-%04d' % i, ('127.0.0.1', 4500))
    if i % 20 == 0: s.sendto(b'\\xff', ('127.0.0.1', 4500))
    if i % 20 == 19: time.sleep(0.001)
s.sendto(b'ENDX', ('127.0.0.1', 4500))
`], { stdio: 'ignore' });
  const seen = [];
  const end = consumeUntil(L.ctlRx, (sl) => sl.data.toString() === 'ENDX', 15000, seen);
  const elapsedMs = Date.now() - t0;
  const stats = io.stopPump(p);
  io.closeFd(udp);
  py.kill();
  const str = (sl) => sl.data.toString('latin1');
  out({
    end: !!end, elapsedMs, stats,
    control: seen.filter((sl) => sl.len >= 4 && sl.data.readUInt32BE(0) === 0).length,
    esp: seen.filter((sl) => str(sl).startsWith('\x00\x00\x10\x01ESP-')).length,
    keepalives: seen.filter((sl) => sl.len === 1 && sl.data[0] === 0xff).length,
  });
}

/* A socket rx pump whose ring is full while its consumer is paused (this thread is blocked in
 * spawnSync during the flood): the pump waits (fullWaits, in its stats and the ring header), the
 * socket buffer fills, and the kernel's drops come back through SO_RXQ_OVFL on the next datagram
 * received (kernelDrops). Then everything queued is consumed, in the order it was sent. */
async function rxRingFull() {
  initAll();
  const udp = io.openUdp('127.0.0.1', 4500);
  const ring = L.nbmaRx;
  const p = io.startPump({ memory: u8, kind: 'udp-rx', fd: udp, ring, batch: args.batch });
  spawnSync('python3', ['-c', `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(${args.flood}): s.sendto(b'SEQ-%06d' % i + bytes(1200), ('127.0.0.1', 4500))
`], { stdio: 'ignore' });
  const waitsWhileFull = u32[ringField(ring, 'fullWaits')];
  const usedWhileFull = Atomics.load(u32, ringField(ring, 'head')) - Atomics.load(u32, ringField(ring, 'tail'));
  // the end marker goes out once the queue has been drained, so it finds room and carries the drop count
  const endSender = spawn('python3', ['-c', `
import socket, time
time.sleep(0.5)
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'ENDX', ('127.0.0.1', 4500))
`], { stdio: 'ignore' });
  const seen = [];
  const end = consumeUntil(ring, (sl) => sl.data.toString() === 'ENDX', 15000, seen);
  const stats = io.stopPump(p);
  io.closeFd(udp);
  endSender.kill();
  out({
    end: !!end, stats, waitsWhileFull, usedWhileFull,
    ringFullWaits: u32[ringField(ring, 'fullWaits')], ringKernelDrops: u32[ringField(ring, 'kernelDrops')],
    seqs: seen.map((sl) => sl.data.toString()).filter((x) => x.startsWith('SEQ-')).map((x) => Number(x.slice(4, 10))),
  });
}

/* The control lane (native/control-lanes.c): two raw GRE sockets, one filtered to NHRP (GRE 0x2001) and
 * one to everything else, each with its own pump and ring (nbmaRx: data, ctlRx standing in for nhrpRx).
 * python3 sends data and NHRP interleaved on loopback, one of each with IPv4 options (IHL 6: the
 * filter finds GRE after the header's real length, not at byte 20), a GRE packet too short to carry a
 * protocol type, then an end marker on each lane. */
async function greLanes() {
  initAll();
  const data = io.openRawIp(47), nhrp = io.openRawIp(47);
  io.greLane(nhrp, true);
  io.greLane(data, false);
  const pd = io.startPump({ memory: u8, kind: 'raw-rx', fd: data, ring: L.nbmaRx });
  const pn = io.startPump({ memory: u8, kind: 'raw-rx', fd: nhrp, ring: L.ctlRx });
  spawnSync('python3', ['-c', `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
for i in range(${args.data}):
    s.sendto(b'\\0\\0\\x08\\0DATA-%03d' % i, ('127.0.0.1', 0))
    if i % 4 == 0: s.sendto(b'\\0\\0\\x20\\x01NHRP-%03d' % i, ('127.0.0.1', 0))
o = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
o.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b'\\x01\\x01\\x01\\x00')
o.sendto(b'\\0\\0\\x20\\x01NHRP-OPT', ('127.0.0.1', 0))
o.sendto(b'\\0\\0\\x08\\0DATA-OPT', ('127.0.0.1', 0))
s.sendto(b'\\0\\0', ('127.0.0.1', 0))
s.sendto(b'\\0\\0\\x08\\0ENDX', ('127.0.0.1', 0))
s.sendto(b'\\0\\0\\x20\\x01ENDN', ('127.0.0.1', 0))
`], { stdio: 'ignore' });
  const payload = (sl) => sl.data.subarray((sl.data[0] & 15) * 4);
  const text = (sl) => payload(sl).subarray(4).toString('latin1');
  const onData = [], onNhrp = [];
  const endData = consumeUntil(L.nbmaRx, (sl) => text(sl) === 'ENDX', 5000, onData);
  const endNhrp = consumeUntil(L.ctlRx, (sl) => text(sl) === 'ENDN', 5000, onNhrp);
  const stats = { data: io.stopPump(pd), nhrp: io.stopPump(pn) };
  io.closeFd(data); io.closeFd(nhrp);
  out({
    end: !!endData && !!endNhrp, stats,
    data: onData.map(text), nhrp: onNhrp.map(text),
    short: onData.filter((sl) => payload(sl).length < 4).length,
    optionsIhl: [...onNhrp, ...onData].filter((sl) => text(sl).endsWith('-OPT')).map((sl) => sl.data[0] & 15),
    refused: errInfo(() => io.greLane(999999, true)),
  });
}

/* IKE's lane on UDP 4500 (native/control-lanes.c): the ESP socket and the IKE socket in one
 * SO_REUSEPORT group whose program sends the non-ESP marker to the IKE socket. */
async function ikeLane() {
  initAll();
  const esp = io.openUdp('127.0.0.1', 4500, { reusePort: true }), ike = io.openUdp('127.0.0.1', 4500, { reusePort: true });
  io.ikeLane(esp);
  const pe = io.startPump({ memory: u8, kind: 'udp-rx', fd: esp, ring: L.nbmaRx });
  const pi = io.startPump({ memory: u8, kind: 'udp-rx', fd: ike, ring: L.ctlRx });
  spawnSync('python3', ['-c', `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(${args.esp}):
    s.sendto(b'\\0\\0\\x10\\x01ESP-%03d' % i, ('127.0.0.1', 4500))
    if i % 4 == 0: s.sendto(b'\\0\\0\\0\\0IKE-%03d' % i, ('127.0.0.1', 4500))
    if i % 8 == 0: s.sendto(b'\\xff', ('127.0.0.1', 4500))
s.sendto(b'ENDX', ('127.0.0.1', 4500))
s.sendto(b'\\0\\0\\0\\0ENDI', ('127.0.0.1', 4500))
`], { stdio: 'ignore' });
  const text = (sl) => sl.data.toString('latin1');
  const onEsp = [], onIke = [];
  const endEsp = consumeUntil(L.nbmaRx, (sl) => text(sl) === 'ENDX', 5000, onEsp);
  const endIke = consumeUntil(L.ctlRx, (sl) => text(sl).endsWith('ENDI'), 5000, onIke);
  io.stopPump(pe); io.stopPump(pi);
  io.closeFd(esp); io.closeFd(ike);
  out({ end: !!endEsp && !!endIke, esp: onEsp.map(text), ike: onIke.map((sl) => text(sl).slice(4)) });
}

/** udp-spread: a SO_REUSEPORT group on UDP 4500 of args.workers workers (worker 0, the IKE lane if
 * args.ikeLane, workers 1..N-1) with udpSpread's program; each socket pumped into a ring of its own. A
 * python3 sender interleaves ESP of args.spis SPIs (args.per datagrams each, numbered), IKE and
 * NAT-keepalives; the parent gets what each socket received, in order. */
async function udpSpread() {
  initAll();
  const rings = [L.nbmaRx, L.ctlRx, L.tunRx, L.ctlTx];
  const socks = [];
  const open = () => { const fd = io.openUdp('127.0.0.1', 4500, { reusePort: true }); socks.push(fd); return fd; };
  const group = [open()]; // worker 0
  if (args.ikeLane) { group.push(open()); io.ikeLane(group[0]); }
  for (let i = 1; i < args.workers; i++) group.push(open());
  const refused = errInfo(() => io.udpSpread(group[0], 1, false));
  io.udpSpread(group[0], args.workers, !!args.ikeLane);
  const pumps = group.map((fd, i) => io.startPump({ memory: u8, kind: 'udp-rx', fd, ring: rings[i] }));
  spawnSync('python3', ['-c', `
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
spis = ${JSON.stringify(args.spis)}
for i in range(${args.per}):
    for spi in spis:
        s.sendto(struct.pack('>I', spi) + b'ESP-%03d' % i, ('127.0.0.1', 4500))
    if i % 4 == 0: s.sendto(b'\\0\\0\\0\\0IKE-%03d' % i, ('127.0.0.1', 4500))
    if i % 8 == 0: s.sendto(b'\\xff', ('127.0.0.1', 4500))
`], { stdio: 'ignore' });
  const expected = args.spis.length * args.per + Math.ceil(args.per / 4) + Math.ceil(args.per / 8);
  const seen = group.map(() => []);
  const deadline = Date.now() + 5000;
  while (seen.reduce((a, x) => a + x.length, 0) < expected && Date.now() < deadline) {
    group.forEach((_, i) => consumeUntil(rings[i], () => false, 20, seen[i]));
  }
  pumps.forEach((p) => io.stopPump(p));
  socks.forEach((fd) => io.closeFd(fd));
  out({ refused, got: seen.map((sl) => sl.map((x) => x.data.toString('hex'))) });
}

/** udp-tx with GSO: a batch of runs (args.runs: [{port, size, count, ike}]) published at once, received by
 * plain sockets (no UDP_GRO: the kernel segments a GSO send before queueing), in order. */
async function udpGsoTx() {
  initAll();
  const dgram = await import('node:dgram');
  if (args.loMtu) spawnSync('ip', ['link', 'set', 'lo', 'mtu', String(args.loMtu)]);
  const ports = [...new Set(args.runs.map((r) => r.port))];
  const got = Object.fromEntries(ports.map((p) => [p, []]));
  const socks = await Promise.all(ports.map((port) => new Promise((res) => {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    s.on('message', (m) => got[port].push(m.toString('latin1')));
    s.bind(port, '127.0.0.1', () => res(s));
  })));
  const udp = io.openUdp('127.0.0.1', 4500);
  const ring = L.nbmaTx;
  let n = 0;
  const sent = Object.fromEntries(ports.map((p) => [p, []]));
  for (const r of args.runs) for (let i = 0; i < r.count; i++) {
    const text = `${r.ike ? '\0\0\0\0' : ''}SEQ-${String(n++).padStart(3, '0')}-`.padEnd(r.size, String.fromCharCode(97 + (n % 26)));
    sent[r.port].push(text);
    produce(ring, Buffer.from(text, 'latin1'), { kind: 17, addr: ipToU32('127.0.0.1'), aux: ((4500 << 16) | r.port) >>> 0 });
  }
  // started after every slot is published: one batch, so the runs meet the coalescing as planned
  if (args.pcap) io.pcapOpen(args.pcap);
  const p = io.startPump({ memory: u8, kind: 'udp-tx', fd: udp, ring });
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && ports.some((pt) => got[pt].length < sent[pt].length)) await new Promise((r) => setTimeout(r, 20));
  const stats = io.stopPump(p);
  if (args.pcap) io.pcapClose();
  io.closeFd(udp);
  for (const s of socks) s.close();
  out({ stats, intact: ports.map((pt) => JSON.stringify(got[pt]) === JSON.stringify(sent[pt])),
    counts: ports.map((pt) => [got[pt].length, sent[pt].length]), lens: ports.map((pt) => got[pt].map((x) => x.length)) });
}

/** udp-rx with GRO: a python sender with UDP_SEGMENT (Node cannot set it) sends GSO trains that the
 * socket takes whole (UDP_GRO); the pump splits them into slots. The ring (64 slots) is not consumed
 * until the sender is done, so a train that does not fit waits. */
async function udpGroRx() {
  initAll();
  const esp = io.openUdp('127.0.0.1', 4500, { reusePort: true });
  const ike = args.ikeLane ? io.openUdp('127.0.0.1', 4500, { reusePort: true }) : -1;
  if (ike >= 0) io.ikeLane(esp);
  const limit = { controlRate: 1000, controlBurst: 1000 };
  const pe = io.startPump({ memory: u8, kind: 'udp-rx', fd: esp, ring: L.nbmaRx, ...limit });
  const pi = ike >= 0 ? io.startPump({ memory: u8, kind: 'udp-rx', fd: ike, ring: L.ctlRx, ...limit }) : -1;
  const py = spawnSync('python3', ['-c', `
import socket, json
SOL_UDP, UDP_SEGMENT = 17, 103
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
trains = json.loads(${JSON.stringify(JSON.stringify(args.trains))})
n = 0
for seg, items in trains:
    data = b''
    for it in items:
        head = (b'\\0\\0\\0\\0' if it[0] == 'ike' else b'\\0\\0\\x10\\x01') + b'SEQ-%03d-' % n
        n += 1
        data += head + bytes([97 + n % 26]) * (it[1] - len(head))
    if seg: s.sendmsg([data], [(SOL_UDP, UDP_SEGMENT, seg.to_bytes(2, 'little'))], 0, ('127.0.0.1', 4500))
    else: s.sendto(data, ('127.0.0.1', 4500))
s.sendto(b'ENDX', ('127.0.0.1', 4500))
print(n)
`], { encoding: 'utf8' });
  const text = (sl) => sl.data.toString('latin1');
  const onEsp = [], onIke = [];
  const end = consumeUntil(L.nbmaRx, (sl) => text(sl) === 'ENDX', 5000, onEsp);
  if (pi >= 0) consumeUntil(L.ctlRx, () => false, 300, onIke);
  const stats = io.stopPump(pe), ikeStats = pi >= 0 ? io.stopPump(pi) : null;
  io.closeFd(esp); if (ike >= 0) io.closeFd(ike);
  const brief = (sl) => ({ len: sl.len, tag: text(sl).slice(0, 12), fill: sl.data.length > 13 ? sl.data.subarray(13).every((b) => b === sl.data[sl.len - 1]) : true });
  out({ end: !!end, sender: py.stdout.trim(), senderErr: py.stderr.slice(-500), stats, ikeStats, esp: onEsp.map(brief), ike: onIke.map(brief) });
}

/** UDP offloads refused: a udp pump started on a raw socket (proto 253), where the kernel refuses
 * SOL_UDP options (ENOPROTOOPT), must start anyway and receive on the plain path. */
async function udpOffloadRefused() {
  initAll();
  const fd = io.openRawIp(253);
  const rx = io.startPump({ memory: u8, kind: 'udp-rx', fd, ring: L.nbmaRx });
  const tx = io.startPump({ memory: u8, kind: 'udp-tx', fd, ring: L.nbmaTx });
  spawnSync('python3', ['-c', "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 253).sendto(b'PLAIN-PATH', ('127.0.0.1', 0))"]);
  const got = consumeUntil(L.nbmaRx, (sl) => sl.data.includes('PLAIN-PATH'), 5000);
  const rxStats = io.stopPump(rx), txStats = io.stopPump(tx);
  io.closeFd(fd);
  out({ got: !!got, rxStats, txStats });
}

await ({ tun, 'tun-vnet': tunVnet, 'nbma-rx': nbmaRx, 'nbma-tx': nbmaTx, 'udp-control-rate': udpControlRate,
  'rx-ring-full': rxRingFull, 'gre-lanes': greLanes, 'ike-lane': ikeLane, 'udp-spread': udpSpread, 'udp-gso-tx': udpGsoTx, 'udp-gro-rx': udpGroRx,
  'udp-offload-refused': udpOffloadRefused })[args.scenario]();
