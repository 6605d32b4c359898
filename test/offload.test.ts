// TUN offloads in the WASM data plane (docs/dataplane.md "TUN offloads"):
//   TSO: a kind-1 tunRx slot (virtio_net_hdr + TCP super-packet) is cut into gso_size segments, each
//        GRE-encapsulated into its own nbmaTx slot; checksums verified by tshark.
//   GRO: in-order TCP segments of one flow from one nbmaRx batch become one kind-1 tunTx slot with a
//        GSO_TCPV4 vnet header; anything that must not merge stays alone, in arrival order.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  computeLayout, writeLayout, pagesFor, RING, TUN_KIND, RING_FLAG, VNET_HDR_LEN,
} from '../appliance/dataplane/layout.js';
import { ipToU32 as ip } from '../appliance/net/ipv4.js';
import { Ring } from '../appliance/dataplane/ring.js';
import { Commands, readCounters } from '../appliance/dataplane/commands.js';
import { instantiateDataplane } from '../appliance/dataplane/wasm.js';
import { writePcap } from './util/pcap.js';
import { ipv4, gre, udp } from './util/packets.js';
import { needs } from './util/needs.js';

const SOURCE = ip('198.51.100.1');
const TUN_IP = ip('10.0.0.1');
const PEER_A = ip('10.0.0.2'), NBMA_A = ip('203.0.113.2');
const HOST = ip('192.168.1.10');   // behind us
const REMOTE = ip('172.16.1.5');   // behind PEER_A
const MSS = 1348;                  // 1400 - 20 - 32 (TCP with timestamps)
const TS_OPT = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78]; // NOP NOP TS(val, ecr)

const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 };
const V = { NEEDS_CSUM: 1, GSO_NONE: 0, GSO_TCPV4: 1, GSO_UDP: 3 };

function mk(vnetTunTx = true, nbmaSlots = 128) {
  const l = computeLayout({ tunSlots: 64, nbmaSlots, ctlSlots: 64, peerCapacity: 1024, fibCapacity: 256 });
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
  const buf = memory.buffer;
  writeLayout(buf, l);
  // What the tun-tx pump does when its TUN fd has IFF_VNET_HDR.
  if (vnetTunTx) new Uint32Array(buf)[(l.tunTx + RING.flags) >>> 2] = RING_FLAG.VNET;
  const dp = instantiateDataplane(memory, () => {});
  const r = {
    tunRx: new Ring(buf, l.tunRx), tunTx: new Ring(buf, l.tunTx), nbmaRx: new Ring(buf, l.nbmaRx),
    nbmaTx: new Ring(buf, l.nbmaTx), ctlRx: new Ring(buf, l.ctlRx), ctlTx: new Ring(buf, l.ctlTx),
  };
  const cmd = new Commands(r.ctlTx);
  cmd.cfgTunnel({ source: SOURCE, tunnelIp: TUN_IP, tunnelPrefixLen: 24 });
  cmd.fibAdd(ip('10.0.0.0'), 24, 0);
  cmd.peerSet(PEER_A, NBMA_A);
  cmd.fibAdd(ip('172.16.1.0'), 24, PEER_A);
  cmd.publish();
  dp.poll(256, 0);
  const take = (ring: Ring) => {
    const out: { kind: number; addr: number; data: Uint8Array }[] = [];
    ring.drain((kind, addr, _aux, data) => out.push({ kind, addr, data: data.slice() }));
    return out;
  };
  return {
    l, buf, dp, r, take,
    counters: () => readCounters(buf, l),
    /** one poll over everything pushed: the GRO batch */
    nbmaBatch(pkts: Uint8Array[]) {
      for (const p of pkts) if (!r.nbmaRx.fill(47, NBMA_A, 0, greIn(p))) throw new Error('nbmaRx full');
      r.nbmaRx.publish();
      dp.poll(256, 0);
      return take(r.tunTx);
    },
    tunVnet(data: Uint8Array) { r.tunRx.pushSlot(TUN_KIND.VNET, 0, 0, data); dp.poll(256, 0); return take(r.nbmaTx); },
  };
}

// ---------- packet helpers ----------

function sum16(b: Uint8Array, start: number, end: number, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
const pseudo = (src: number, dst: number, proto: number, len: number) =>
  sum16(new Uint8Array([src >>> 24, (src >>> 16) & 255, (src >>> 8) & 255, src & 255,
    dst >>> 24, (dst >>> 16) & 255, (dst >>> 8) & 255, dst & 255, 0, proto, len >> 8, len & 255]), 0, 12);

interface SegOpts {
  seq: number; len: number; flags?: number; ack?: number; sport?: number; dport?: number; opts?: number[];
  src?: number; dst?: number; id?: number; window?: number; badCsum?: boolean; partial?: boolean;
  fill?: (i: number) => number;
}
/** IPv4 (DF) + TCP segment; `partial`: TCP checksum field = pseudo-header sum, as the kernel leaves it. */
function seg(o: SegOpts): Uint8Array {
  const opts = o.opts ?? TS_OPT;
  const src = o.src ?? REMOTE, dst = o.dst ?? HOST;
  const hl = 20 + opts.length;
  const tcpb = new Uint8Array(hl + o.len);
  const v = new DataView(tcpb.buffer);
  v.setUint16(0, o.sport ?? 40000); v.setUint16(2, o.dport ?? 5201);
  v.setUint32(4, o.seq >>> 0); v.setUint32(8, o.ack ?? 77777);
  tcpb[12] = (hl / 4) << 4; tcpb[13] = o.flags ?? F.ACK; v.setUint16(14, o.window ?? 502);
  tcpb.set(opts, 20);
  const fill = o.fill ?? ((i: number) => ((o.seq + i) * 13) & 255);
  for (let i = 0; i < o.len; i++) tcpb[hl + i] = fill(i);
  const ps = pseudo(src, dst, 6, tcpb.length);
  v.setUint16(16, o.partial ? ps : (~sum16(tcpb, 0, tcpb.length, ps) & 0xffff) ^ (o.badCsum ? 0x0f0f : 0));
  return ipv4({ src, dst, proto: 6, payload: tcpb, df: true, id: o.id ?? 0x1000 });
}

function vnetHdr(flags: number, gsoType: number, hdrLen: number, gsoSize: number, csumStart: number, csumOffset: number) {
  const h = new Uint8Array(VNET_HDR_LEN);
  const v = new DataView(h.buffer);
  h[0] = flags; h[1] = gsoType;
  v.setUint16(2, hdrLen, true); v.setUint16(4, gsoSize, true);
  v.setUint16(6, csumStart, true); v.setUint16(8, csumOffset, true);
  return h;
}
const cat = (...a: Uint8Array[]) => { const o = new Uint8Array(a.reduce((n, x) => n + x.length, 0)); let i = 0; for (const x of a) { o.set(x, i); i += x.length; } return o; };
const greIn = (inner: Uint8Array) => ipv4({ src: NBMA_A, dst: SOURCE, proto: 47, payload: gre({ proto: 0x0800, payload: inner }) });
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Finishes a NEEDS_CSUM TCP checksum the way the kernel would (sum from csum_start, complement). */
function completeTcp(pkt: Uint8Array): Uint8Array {
  const p = pkt.slice();
  const hl = (p[0] & 15) * 4;
  dv(p).setUint16(hl + 16, ~sum16(p, hl, p.length) & 0xffff);
  return p;
}

// ---------- tshark ----------
const dir = mkdtempSync(join(tmpdir(), 'offload-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let pcapN = 0;
/** Per packet: every occurrence of each field (outer and inner IP), checksums verified. */
function tshark(packets: Uint8Array[], fields: string[]): Record<string, string[]>[] {
  const f = join(dir, `p${pcapN++}.pcap`);
  writePcap(f, packets);
  const args = ['-r', f, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,',
    '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
  for (const x of fields) args.push('-e', x);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((line) => {
    const vals = line.split('\t');
    return Object.fromEntries(fields.map((x, i) => [x, (vals[i] ?? '').split(',').filter(Boolean)]));
  });
}
const GOOD = '1'; // Wireshark checksum status: 0 bad, 1 good, 2 unverified

// ---------- TSO ----------

t.test('TSO: a TCPv4 super-packet becomes gso_size segments, each GRE-encapsulated, checksums good', needs(t, 'tshark'), async (t) => {
  const e = mk();
  const total = 10000, seq0 = 0xfffff000; // crosses the 2^32 wrap
  const sp = seg({ src: HOST, dst: REMOTE, seq: seq0, len: total, flags: F.ACK | F.PSH | F.CWR, id: 0xfffe, partial: true });
  const outs = e.tunVnet(cat(vnetHdr(V.NEEDS_CSUM, V.GSO_TCPV4, 52, MSS, 20, 16), sp));
  const n = Math.ceil(total / MSS);
  t.equal(outs.length, n, `${n} segments`);
  const payload = sp.subarray(52);
  outs.forEach((o, i) => {
    t.equal(o.kind, 47); t.equal(o.addr, NBMA_A);
    const inner = o.data.subarray(24);
    const chunk = Math.min(MSS, total - i * MSS);
    const v = dv(inner);
    t.equal(v.getUint16(2), 52 + chunk, `segment ${i} length`);
    t.equal(inner.length, 52 + chunk);
    t.equal(v.getUint16(4), (0xfffe + i) & 0xffff, `segment ${i} IP id`);
    t.equal(v.getUint32(24), (seq0 + i * MSS) >>> 0, `segment ${i} seq`);
    const fl = inner[33];
    t.equal(!!(fl & F.PSH), i === n - 1, `PSH only on the last (${i})`);
    t.equal(!!(fl & F.CWR), i === 0, `CWR only on the first (${i})`);
    t.ok(fl & F.ACK);
    t.same(inner.subarray(52), payload.subarray(i * MSS, i * MSS + chunk), `segment ${i} payload`);
    t.same(inner.subarray(40, 52), new Uint8Array(TS_OPT), 'options copied');
  });
  const ts = tshark(outs.map((o) => o.data), ['ip.checksum.status', 'tcp.checksum.status', 'tcp.len', 'tcp.seq_raw', 'ip.id']);
  t.equal(ts.length, n);
  ts.forEach((r, i) => {
    t.same(r['ip.checksum.status'], [GOOD, GOOD], `segment ${i}: outer and inner IP checksums good (tshark)`);
    t.same(r['tcp.checksum.status'], [GOOD], `segment ${i}: TCP checksum good (tshark)`);
    t.same(r['tcp.len'], [String(Math.min(MSS, total - i * MSS))]);
    t.same(r['tcp.seq_raw'], [String((seq0 + i * MSS) >>> 0)]);
  });
  const c = e.counters();
  t.equal(c.tsoSuper, 1); t.equal(c.tsoSegments, n); t.equal(c.greTxPackets, n); t.equal(c.dropBadVnet, 0);
});

t.test('TSO: FIN only on the last segment; a super-packet within gso_size only gets its checksum', needs(t, 'tshark'), async (t) => {
  const e = mk();
  const sp = seg({ src: HOST, dst: REMOTE, seq: 5000, len: 3 * MSS, flags: F.ACK | F.FIN, partial: true });
  const outs = e.tunVnet(cat(vnetHdr(V.NEEDS_CSUM, V.GSO_TCPV4, 52, MSS, 20, 16), sp));
  t.same(outs.map((o) => o.data[24 + 33] & F.FIN), [0, 0, F.FIN]);
  const one = seg({ src: HOST, dst: REMOTE, seq: 9, len: 500, partial: true });
  const o1 = e.tunVnet(cat(vnetHdr(V.NEEDS_CSUM, V.GSO_TCPV4, 52, MSS, 20, 16), one));
  t.equal(o1.length, 1);
  const ts = tshark([...outs, ...o1].map((o) => o.data), ['ip.checksum.status', 'tcp.checksum.status']);
  for (const r of ts) { t.same(r['ip.checksum.status'], [GOOD, GOOD]); t.same(r['tcp.checksum.status'], [GOOD]); }
});

t.test('TSO back-pressure: a super-packet waits in tunRx until nbmaTx has room for all its segments', async (t) => {
  const e = mk(true, 16);
  const sp = (seq: number) => cat(vnetHdr(V.NEEDS_CSUM, V.GSO_TCPV4, 52, MSS, 20, 16),
    seg({ src: HOST, dst: REMOTE, seq, len: 8 * MSS, partial: true }));
  for (let i = 0; i < 3; i++) e.r.tunRx.fill(TUN_KIND.VNET, 0, 0, sp(i * 8 * MSS));
  e.r.tunRx.publish();
  t.equal(e.dp.poll(256, 0), 2, 'two super-packets fit the 16-slot nbmaTx, the third waits');
  t.equal(e.r.tunRx.pending, 1);
  t.not(e.dp.prepareSleep() >>> 0, 0xffffffff, 'the worker may sleep: nothing it can do until nbmaTx drains');
  e.dp.finishSleep();
  t.equal(e.take(e.r.nbmaTx).length, 16);
  t.equal(e.dp.poll(256, 0), 1, 'taken once there is room');
  t.equal(e.take(e.r.nbmaTx).length, 8);
  const c = e.counters();
  t.equal(c.dropRingFull, 0); t.equal(c.tsoSegments, 24);
});

t.test('vnet NEEDS_CSUM without GSO: TCP and UDP checksums are completed', needs(t, 'tshark'), async (t) => {
  const e = mk();
  const tc = seg({ src: HOST, dst: REMOTE, seq: 1, len: 333, partial: true });
  const u = udp(1111, 2222, 201);
  dv(u).setUint16(6, pseudo(HOST, REMOTE, 17, u.length));
  const up = ipv4({ src: HOST, dst: REMOTE, proto: 17, payload: u });
  const outs = [
    ...e.tunVnet(cat(vnetHdr(V.NEEDS_CSUM, V.GSO_NONE, 0, 0, 20, 16), tc)),
    ...e.tunVnet(cat(vnetHdr(V.NEEDS_CSUM, V.GSO_NONE, 0, 0, 20, 6), up)),
    ...e.tunVnet(cat(vnetHdr(0, V.GSO_NONE, 0, 0, 0, 0), seg({ src: HOST, dst: REMOTE, seq: 2, len: 10 }))),
  ];
  t.equal(outs.length, 3);
  const ts = tshark(outs.map((o) => o.data), ['ip.checksum.status', 'tcp.checksum.status', 'udp.checksum.status']);
  t.same(ts[0]['tcp.checksum.status'], [GOOD]);
  t.same(ts[1]['udp.checksum.status'], [GOOD]);
  t.same(ts[2]['tcp.checksum.status'], [GOOD]);
  t.equal(e.counters().csumCompleted, 2);
});

t.test('malformed vnet headers and super-packets are counted and dropped', async (t) => {
  const e = mk();
  const sp = seg({ src: HOST, dst: REMOTE, seq: 1, len: 4000, partial: true });
  const cases: [string, Uint8Array][] = [
    ['shorter than a vnet header', new Uint8Array(6)],
    ['gso_size 0', cat(vnetHdr(V.NEEDS_CSUM, V.GSO_TCPV4, 52, 0, 20, 16), sp)],
    ['GSO type UDP', cat(vnetHdr(V.NEEDS_CSUM, V.GSO_UDP, 28, 1000, 20, 6), sp)],
    ['TCPV4 on a UDP packet', cat(vnetHdr(V.NEEDS_CSUM, V.GSO_TCPV4, 28, 100, 20, 16),
      ipv4({ src: HOST, dst: REMOTE, proto: 17, payload: udp(1, 2, 3000) }))],
    ['TCP header past the end', cat(vnetHdr(V.NEEDS_CSUM, V.GSO_TCPV4, 52, MSS, 20, 16), sp.slice(0, 40))],
    ['csum offset past the end', cat(vnetHdr(V.NEEDS_CSUM, V.GSO_NONE, 0, 0, 20, 4000), seg({ src: HOST, dst: REMOTE, seq: 1, len: 10 }))],
    ['csum start past the end', cat(vnetHdr(V.NEEDS_CSUM, V.GSO_NONE, 0, 0, 60000, 16), seg({ src: HOST, dst: REMOTE, seq: 1, len: 10 }))],
  ];
  for (const [what, d] of cases) {
    const before = e.counters();
    const outs = e.tunVnet(d);
    const after = e.counters();
    t.equal(outs.length, 0, `${what}: nothing sent`);
    t.equal(after.dropBadVnet + after.dropBadIp - before.dropBadVnet - before.dropBadIp, 1, `${what}: counted once`);
  }
  // a TCP header that says it is longer than the IPv4 packet (IP length truncated to 30 bytes)
  const short = sp.slice(0, 60); dv(short).setUint16(2, 30);
  t.equal(e.tunVnet(cat(vnetHdr(V.NEEDS_CSUM, V.GSO_TCPV4, 52, MSS, 20, 16), short)).length, 0);
  t.equal(e.counters().greTxPackets, 0);
});

// ---------- GRO ----------

const flow = (i: number, o: Partial<SegOpts> = {}) => seg({ seq: 1_000_000 + i * MSS, len: MSS, id: 100 + i, ...o });

t.test('GRO: in-order segments of one flow become one super-packet with a GSO_TCPV4 vnet header', async (t) => {
  const e = mk();
  const segs = [0, 1, 2, 3, 4].map((i) => flow(i, i === 4 ? { flags: F.ACK | F.PSH, len: 700 } : {}));
  const outs = e.nbmaBatch(segs);
  t.equal(outs.length, 1, 'one tunTx slot');
  const o = outs[0];
  t.equal(o.kind, TUN_KIND.VNET);
  const h = dv(o.data);
  t.equal(o.data[0], V.NEEDS_CSUM, 'flags NEEDS_CSUM');
  t.equal(o.data[1], V.GSO_TCPV4, 'gso_type TCPV4');
  t.equal(h.getUint16(2, true), 52, 'hdr_len');
  t.equal(h.getUint16(4, true), MSS, 'gso_size');
  t.equal(h.getUint16(6, true), 20, 'csum_start');
  t.equal(h.getUint16(8, true), 16, 'csum_offset');
  const pkt = o.data.subarray(VNET_HDR_LEN);
  const tot = 52 + 4 * MSS + 700;
  t.equal(pkt.length, tot);
  t.equal(dv(pkt).getUint16(2), tot, 'IP total length');
  t.equal(dv(pkt).getUint16(4), 100, 'IP id of the first segment');
  t.equal(dv(pkt).getUint32(24), 1_000_000, 'seq of the first segment');
  t.equal(pkt[33], F.ACK | F.PSH, 'PSH of the last segment kept');
  t.equal(dv(pkt).getUint16(36), pseudo(REMOTE, HOST, 6, tot - 20), 'TCP checksum field = pseudo-header sum');
  t.same(pkt.subarray(52), cat(...segs.map((s) => s.subarray(52))), 'payloads concatenated in order');
  const ts = tshark([completeTcp(pkt)], ['ip.checksum.status', 'tcp.checksum.status', 'tcp.len']);
  t.same(ts[0]['ip.checksum.status'], [GOOD], 'IP header checksum good (tshark)');
  t.same(ts[0]['tcp.checksum.status'], [GOOD], 'TCP checksum good once completed as the kernel does (tshark)');
  t.same(ts[0]['tcp.len'], [String(4 * MSS + 700)]);
  const c = e.counters();
  t.equal(c.groSuper, 1); t.equal(c.groMerged, 4); t.equal(c.tunTxPackets, 5);
});

t.test('GRO: a super-packet stops at 64 KiB and a short segment ends it', async (t) => {
  const e = mk();
  const outs = e.nbmaBatch(Array.from({ length: 60 }, (_, i) => flow(i)));
  const maxSegs = Math.floor((65535 - 52) / MSS);
  t.same(outs.map((o) => (o.data.length - VNET_HDR_LEN - 52) / MSS), [maxSegs, 60 - maxSegs]);
  for (const o of outs) t.ok(o.data.length - VNET_HDR_LEN <= 65535);
  const e2 = mk();
  const o2 = e2.nbmaBatch([flow(0), flow(1, { len: 100 }), seg({ seq: 1_000_000 + MSS + 100, len: MSS, id: 102 })]);
  t.equal(o2.length, 2, 'nothing after a short segment');
  t.equal(o2[0].data.length, VNET_HDR_LEN + 52 + MSS + 100);
  t.equal(o2[1].data[1], V.GSO_NONE, 'a lone packet has a zero vnet header');
});

t.test('GRO: out-of-order, other-flow and flagged segments are not merged; order is kept', async (t) => {
  const e = mk();
  const ids = (outs: { data: Uint8Array; kind: number }[]) =>
    outs.map((o) => { const p = o.kind === TUN_KIND.VNET ? o.data.subarray(VNET_HDR_LEN) : o.data; return dv(p).getUint16(4); });

  let outs = e.nbmaBatch([flow(0), flow(2), flow(1)]);
  t.same(ids(outs), [100, 102, 101], 'out of order: three packets, arrival order');
  for (const o of outs) { t.equal(o.kind, TUN_KIND.VNET); t.equal(o.data[1], V.GSO_NONE); t.equal(o.data.length, VNET_HDR_LEN + 52 + MSS); }

  outs = e.nbmaBatch([flow(0), flow(0, { sport: 40001, id: 200 }), flow(1), flow(1, { sport: 40001, id: 201 })]);
  t.equal(outs.length, 2, 'two flows: one super-packet each');
  for (const o of outs) {
    t.equal(o.data[1], V.GSO_TCPV4);
    t.equal(o.data.length, VNET_HDR_LEN + 52 + 2 * MSS);
  }
  t.same(outs.map((o) => dv(o.data.subarray(VNET_HDR_LEN)).getUint16(20)), [40000, 40001]);
  t.same(outs[1].data.subarray(VNET_HDR_LEN + 52), cat(flow(0).subarray(52), flow(1).subarray(52)), 'flow 2 payload');

  for (const [name, fl] of [['SYN', F.SYN | F.ACK], ['FIN', F.FIN | F.ACK], ['RST', F.RST | F.ACK], ['URG', F.URG | F.ACK],
    ['ECE', F.ECE | F.ACK], ['no ACK', 0]] as const) {
    outs = e.nbmaBatch([flow(0), flow(1, { flags: fl }), flow(2)]);
    t.same(ids(outs), [100, 101, 102], `${name}: not merged, order kept`);
    t.equal(outs[1].kind, TUN_KIND.PLAIN, `${name}: goes out as a plain packet`);
    t.equal(outs[0].data[1], V.GSO_NONE);
  }
  for (const [name, o] of [['other ACK number', { ack: 5 }], ['other TS value', { opts: [1, 1, 8, 10, 0, 0, 0x12, 0x35, 0, 0, 0x56, 0x78] }],
    ['other window', { window: 1000 }], ['bad TCP checksum', { badCsum: true }], ['no options', { opts: [] }]] as const) {
    outs = e.nbmaBatch([flow(0), flow(1, o as Partial<SegOpts>)]);
    t.equal(outs.length, 2, `${name}: not merged`);
  }
  outs = e.nbmaBatch([flow(0, { flags: F.ACK | F.PSH }), flow(1)]);
  t.equal(outs.length, 2, 'nothing is appended after PSH');
  outs = e.nbmaBatch([seg({ seq: 1, len: 0 }), seg({ seq: 1, len: 0 })]);
  t.same(outs.map((o) => o.kind), [TUN_KIND.PLAIN, TUN_KIND.PLAIN], 'pure ACKs are not candidates');
});

t.test('GRO is off when the TUN consumer does not take vnet headers', async (t) => {
  const e = mk(false);
  const outs = e.nbmaBatch([flow(0), flow(1), flow(2)]);
  t.same(outs.map((o) => o.kind), [0, 0, 0]);
  t.same(outs.map((o) => o.data.length), [52 + MSS, 52 + MSS, 52 + MSS]);
  t.equal(e.counters().groSuper, 0);
});
