// WASM data plane (cleartext mGRE): drives the real module through its rings from TypeScript and
// checks outputs with our decoders and with tshark (wire format against a real dissector).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  computeLayout, writeLayout, pagesFor, COUNTER_NAMES, TUNNEL_FLAG, DOORBELL,
  type CounterName,
} from '../appliance/dataplane/layout.js';
import { ipToU32 as ip, u32ToIp } from '../appliance/net/ipv4.js';
import { Ring } from '../appliance/dataplane/ring.js';
import { Commands, readCounters, readPeers, readFib, readTunnelState, type TunnelConfig } from '../appliance/dataplane/commands.js';
import { instantiateDataplane, findDataplaneWasm } from '../appliance/dataplane/wasm.js';
import { writePcap } from './util/pcap.js';
import { ipv4, udp, tcp, gre, csum, tcpChecksum } from './util/packets.js';
import { needs } from './util/needs.js';

const SOURCE = ip('198.51.100.1'); // our NBMA address
const TUN_IP = ip('10.0.0.1');
const PEER_A = ip('10.0.0.2'), NBMA_A = ip('203.0.113.2');
const PEER_B = ip('10.0.0.3'), NBMA_B = ip('203.0.113.3');
const HOST = ip('192.168.1.10'); // a host behind us (inner source)
const KEY = 0x1234abcd;

interface Out { kind: number; addr: number; aux: number; data: Uint8Array }

function mk(tunnel: Partial<TunnelConfig> | null = {}) {
  const l = computeLayout({ tunSlots: 64, nbmaSlots: 64, ctlSlots: 64, peerCapacity: 1024, fibCapacity: 256 });
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
  const buf = memory.buffer;
  writeLayout(buf, l);
  const wakes: number[] = [];
  const dp = instantiateDataplane(memory, (d) => wakes.push(d));
  const r = {
    tunRx: new Ring(buf, l.tunRx), tunTx: new Ring(buf, l.tunTx), nbmaRx: new Ring(buf, l.nbmaRx),
    nbmaTx: new Ring(buf, l.nbmaTx), ctlRx: new Ring(buf, l.ctlRx), ctlTx: new Ring(buf, l.ctlTx),
    nhrpRx: new Ring(buf, l.nhrpRx),
  };
  const cmd = new Commands(r.ctlTx);
  let now = 1000;
  const env = {
    l, memory, buf, dp, r, cmd, wakes,
    get now() { return now; }, set now(v: number) { now = v; },
    poll: () => dp.poll(256, now),
    counters: () => readCounters(buf, l),
    tun(pkt: Uint8Array) { r.tunRx.pushSlot(0, 0, 0, pkt); return dp.poll(256, now); },
    nbma(pkt: Uint8Array, src = NBMA_A, kind = 47) { r.nbmaRx.pushSlot(kind, src, 0, pkt); return dp.poll(256, now); },
    take(ring: Ring): Out[] {
      const out: Out[] = [];
      ring.drain((kind, addr, aux, data) => out.push({ kind, addr, aux, data: data.slice() }));
      return out;
    },
    /** counter deltas across fn() */
    delta(fn: () => void): Partial<Record<CounterName, number>> {
      const a = readCounters(buf, l); fn(); const b = readCounters(buf, l);
      const d: Partial<Record<CounterName, number>> = {};
      for (const n of COUNTER_NAMES) if (b[n] !== a[n]) d[n] = b[n] - a[n];
      return d;
    },
  };
  if (tunnel) {
    cmd.cfgTunnel({ source: SOURCE, tunnelIp: TUN_IP, tunnelPrefixLen: 24, ...tunnel });
    cmd.fibAdd(ip('10.0.0.0'), 24, 0); // tunnel subnet, on-link
    cmd.peerSet(PEER_A, NBMA_A);
    cmd.peerSet(PEER_B, NBMA_B);
    cmd.fibAdd(ip('172.16.1.0'), 24, PEER_A);
    cmd.fibAdd(ip('172.16.2.0'), 24, PEER_B);
    cmd.publish();
    env.poll();
  }
  return env;
}

type Env = ReturnType<typeof mk>;

const innerUdp = (dst: number, dataLen = 100, o: Partial<Parameters<typeof ipv4>[0]> = {}) =>
  ipv4({ src: HOST, dst, proto: 17, payload: udp(1111, 2222, dataLen), ...o });

/** outer IPv4 + GRE packet as the raw socket delivers it */
function greIn(o: { inner: Uint8Array; proto?: number; key?: number; src?: number; dst?: number; version?: number; flags?: number; mf?: boolean }) {
  return ipv4({
    src: o.src ?? NBMA_A, dst: o.dst ?? SOURCE, proto: 47, mf: o.mf,
    payload: gre({ proto: o.proto ?? 0x0800, payload: o.inner, key: o.key, version: o.version, flags: o.flags }),
  });
}

// ---------- tshark ----------
const dir = mkdtempSync(join(tmpdir(), 'dp-test-'));
let pcapN = 0;
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
type Layers = Record<string, any>;
function tshark(packets: Uint8Array[], extra: string[] = []): Layers[] {
  const f = join(dir, `out${pcapN++}.pcap`);
  writePcap(f, packets);
  const json = execFileSync('tshark', ['-r', f, '-V', '-T', 'json', '--no-duplicate-keys',
    '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', ...extra],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(json).map((p: any) => p._source.layers);
}
const arr = (x: any) => (Array.isArray(x) ? x : [x]);

// ---------- tests ----------

t.test('module loads and sets up; layout and tunnel state', async (t) => {
  t.match(findDataplaneWasm(), /wasm\/build\/dataplane\.wasm$/);
  const e = mk({ key: KEY, tcpMss: 1360 });
  const c = e.counters();
  t.equal(c.cmdApplied, 6);
  t.equal(c.cmdBad, 0);
  const s = readTunnelState(e.buf, e.l);
  t.equal(s.source, SOURCE);
  t.equal(s.tunnelIp, TUN_IP);
  t.equal(s.flags, TUNNEL_FLAG.KEY);
  t.equal(s.key, KEY);
  t.equal(s.ipMtu, 1400);
  t.equal(s.ttl, 255);
  t.equal(s.tcpMss, 1360);
  t.equal(s.configGen, 1);
  t.equal(s.peerCount, 2);
  t.equal(s.routeCount, 3);
  t.equal(s.routesPerLen[24], 3);
});

t.test('outbound encap: GRE+key, outer IPv4, verified by tshark', needs(t, 'tshark'), async (t) => {
  const e = mk({ key: KEY, ttl: 200 });
  const inner = innerUdp(ip('172.16.1.5'), 200, { df: true, tos: 0xb8 });
  const d = e.delta(() => e.tun(inner));
  t.same(d, { tunRxPackets: 1, tunRxBytes: inner.length, greTxPackets: 1, greTxBytes: inner.length + 28 });
  const out = e.take(e.r.nbmaTx);
  t.equal(out.length, 1);
  t.equal(out[0].kind, 47);
  t.equal(out[0].addr, NBMA_A);
  const pkt = out[0].data;
  t.equal(pkt.length, inner.length + 28);
  t.same(pkt.subarray(28), inner, 'inner intact');
  const [L] = tshark([pkt]);
  const ips = arr(L.ip);
  t.equal(ips.length, 2);
  const o = ips[0];
  t.equal(o['ip.src'], '198.51.100.1');
  t.equal(o['ip.dst'], '203.0.113.2');
  t.equal(o['ip.proto'], '47');
  t.equal(o['ip.ttl'], '200');
  t.equal(o['ip.checksum.status'], '1', 'outer checksum good');
  t.equal(o['ip.flags_tree']['ip.flags.df'], '1', 'DF copied from inner');
  t.equal(o['ip.dsfield'], '0xb8', 'TOS copied');
  t.equal(L.gre['gre.proto'], '0x0800');
  t.equal(L.gre['gre.flags_and_version_tree']['gre.flags.key'], '1');
  t.equal(L.gre['gre.flags_and_version_tree']['gre.flags.version'], '0');
  t.equal(L.gre['gre.flags_and_version_tree']['gre.flags.checksum'], '0');
  t.equal(parseInt(L.gre['gre.key'], 16), KEY);
  t.equal(ips[1]['ip.dst'], '172.16.1.5');
  t.equal(ips[1]['ip.checksum.status'], '1');
  t.equal(L.udp['udp.length'], '208');
  // peer tx counters
  const a = readPeers(e.buf, e.l).find((p) => p.tunnelIp === PEER_A)!;
  t.equal(a.txPackets, 1);
  t.equal(a.txBytes, inner.length);
  // consumer doorbell rung once for the batch (tunTx pump's doorbell seq)
  const u32 = new Uint32Array(e.buf);
  t.equal(u32[(e.l.nbmaTxDoorbell + DOORBELL.seq) >>> 2], 1);
});

t.test('outbound without key; DF clear stays clear; IP ids differ', needs(t, 'tshark'), async (t) => {
  const e = mk({});
  e.r.tunRx.fill(0, 0, 0, innerUdp(ip('172.16.2.9')));
  e.r.tunRx.fill(0, 0, 0, innerUdp(ip('172.16.2.9')));
  e.r.tunRx.publish();
  e.poll();
  const out = e.take(e.r.nbmaTx);
  t.equal(out.length, 2);
  t.equal(out[0].addr, NBMA_B);
  const L = tshark(out.map((o) => o.data));
  t.equal(L[0].gre['gre.flags_and_version_tree']['gre.flags.key'], '0');
  t.notOk('gre.key' in L[0].gre);
  t.equal(arr(L[0].ip)[0]['ip.flags_tree']['ip.flags.df'], '0');
  t.equal(arr(L[0].ip)[0]['ip.checksum.status'], '1');
  t.not(arr(L[0].ip)[0]['ip.id'], arr(L[1].ip)[0]['ip.id']);
});

t.test('inbound decap -> tunTx, per-peer rx counters; NHRP in -> ctlRx', needs(t, 'tshark'), async (t) => {
  const e = mk({ key: KEY });
  const inner = innerUdp(ip('192.168.1.20'), 300);
  const d = e.delta(() => e.nbma(greIn({ inner, key: KEY })));
  t.equal(d.tunTxPackets, 1);
  t.equal(d.greRxPackets, 1);
  const out = e.take(e.r.tunTx);
  t.equal(out.length, 1);
  t.same(out[0].data, inner);
  const [L] = tshark([out[0].data]);
  t.equal(L.ip['ip.checksum.status'], '1');
  t.equal(L.udp['udp.dstport'], '2222');
  const a = readPeers(e.buf, e.l).find((p) => p.tunnelIp === PEER_A)!;
  t.equal(a.rxPackets, 1);
  t.equal(a.rxBytes, inner.length);
  // NHRP
  const nhrp = Uint8Array.from({ length: 40 }, (_, i) => i);
  const d2 = e.delta(() => e.nbma(greIn({ inner: nhrp, proto: 0x2001, key: KEY, src: ip('203.0.113.77') })));
  t.same(d2, { greRxPackets: 1, greRxBytes: 20 + 8 + 40, nhrpIn: 1 });
  const c = e.take(e.r.ctlRx);
  t.equal(c.length, 1);
  t.equal(c[0].kind, 1);
  t.equal(c[0].addr, ip('203.0.113.77'));
  t.equal(c[0].aux, SOURCE);
  t.same(c[0].data, nhrp);
  t.equal(e.take(e.r.tunTx).length, 0);
});

t.test('NHRP_OUT is sent in GRE 0x2001 (+key), checked by tshark', needs(t, 'tshark'), async (t) => {
  const e = mk({ key: 7 });
  // a minimal NHRP registration request fixed header (RFC 2332): afn=1, proto 0x0800, hop 255, ...
  const nhrp = new Uint8Array(20 + 8);
  const v = new DataView(nhrp.buffer);
  v.setUint16(0, 1); v.setUint16(2, 0x0800); nhrp[10] = 255; v.setUint16(12, nhrp.length);
  nhrp[16] = 1; nhrp[17] = 3; // version 1, type 3 (registration request)
  v.setUint16(14, csum(nhrp));
  const d = e.delta(() => { e.cmd.nhrpOut(NBMA_B, nhrp); e.cmd.publish(); e.poll(); });
  t.equal(d.nhrpOut, 1);
  const out = e.take(e.r.nbmaTx);
  t.equal(out.length, 1);
  t.equal(out[0].addr, NBMA_B);
  const [L] = tshark([out[0].data]);
  t.equal(L.gre['gre.proto'], '0x2001');
  t.equal(parseInt(L.gre['gre.key'], 16), 7);
  t.equal(L.ip['ip.checksum.status'], '1');
  t.equal(L.ip['ip.dst'], '203.0.113.3');
  t.ok(L.nhrp, 'dissected as NHRP');
  t.same(out[0].data.subarray(28), nhrp);
});

t.test('inbound drop reasons: each counted, no output', async (t) => {
  const e = mk({ key: KEY });
  const inner = innerUdp(ip('192.168.1.20'));
  const goodGre = greIn({ inner, key: KEY });
  const cases: [string, Uint8Array, CounterName][] = [
    ['truncated GRE', ipv4({ src: NBMA_A, dst: SOURCE, proto: 47, payload: new Uint8Array([0x20, 0]) }), 'dropGreTruncated'],
    ['truncated key', ipv4({ src: NBMA_A, dst: SOURCE, proto: 47, payload: new Uint8Array([0x20, 0, 8, 0, 1, 2]) }), 'dropGreTruncated'],
    ['wrong version', greIn({ inner, key: KEY, version: 1 }), 'dropGreVersion'],
    ['checksum bit', greIn({ inner, key: KEY, flags: 0x8000 }), 'dropGreFlags'],
    ['sequence bit', greIn({ inner, key: KEY, flags: 0x1000 }), 'dropGreFlags'],
    ['routing bit', greIn({ inner, key: KEY, flags: 0x4000 }), 'dropGreFlags'],
    ['recursion', greIn({ inner, key: KEY, flags: 0x0100 }), 'dropGreFlags'],
    ['wrong key', greIn({ inner, key: KEY + 1 }), 'dropGreKey'],
    ['missing key', greIn({ inner }), 'dropGreKey'],
    ['unknown protocol', greIn({ inner, key: KEY, proto: 0x86dd }), 'dropGreProto'],
    ['outer fragment', greIn({ inner, key: KEY, mf: true }), 'dropOuterFragment'],
    ['not for us', greIn({ inner, key: KEY, dst: ip('198.51.100.99') }), 'dropNotForUs'],
    ['bad inner checksum', greIn({ inner: innerUdp(ip('192.168.1.20'), 100, { badChecksum: true }), key: KEY }), 'dropBadIp'],
    ['inner not IPv4', greIn({ inner: innerUdp(ip('192.168.1.20'), 100, { version: 6 }), key: KEY }), 'dropBadIp'],
    ['inner truncated', greIn({ inner: inner.subarray(0, 60), key: KEY }), 'dropBadIp'],
    ['outer truncated', goodGre.subarray(0, goodGre.length - 10), 'dropBadIp'],
    ['outer not GRE', ipv4({ src: NBMA_A, dst: SOURCE, proto: 50, payload: new Uint8Array(40) }), 'dropBadIp'],
  ];
  for (const [name, pkt, counter] of cases) {
    const d = e.delta(() => e.nbma(pkt));
    t.equal(d[counter], 1, `${name}: ${counter}`);
    t.equal(e.r.tunTx.pending + e.r.ctlRx.pending + e.r.nbmaTx.pending, 0, `${name}: no output`);
  }
  // and the good one still passes
  t.equal(e.delta(() => e.nbma(goodGre)).tunTxPackets, 1);
  t.equal(e.delta(() => e.nbma(new Uint8Array(30), NBMA_A, 99)).dropBadKind, 1); // 50 and 17 are ESP now (esp.test.ts)
});

t.test('strict mode drops IPv4 from unknown NBMA but accepts NHRP', async (t) => {
  const e = mk({ strict: true });
  const inner = innerUdp(ip('192.168.1.20'));
  t.equal(e.delta(() => e.nbma(greIn({ inner, src: ip('203.0.113.200') }), ip('203.0.113.200'))).dropUnknownPeer, 1);
  t.equal(e.r.tunTx.pending, 0);
  t.equal(e.delta(() => e.nbma(greIn({ inner }))).tunTxPackets, 1);
  t.equal(e.delta(() => e.nbma(greIn({ inner: new Uint8Array(30), proto: 0x2001, src: ip('203.0.113.200') }))).nhrpIn, 1);
});

t.test('outbound drop reasons', async (t) => {
  const e = mk({});
  const cases: [string, Uint8Array, CounterName][] = [
    ['no route', innerUdp(ip('8.8.8.8')), 'dropNoRoute'],
    ['no entry', innerUdp(ip('10.0.0.99')), 'dropNoEntry'],
    ['to tunnel address', innerUdp(TUN_IP), 'dropLocal'],
    ['ttl 0', innerUdp(ip('172.16.1.1'), 100, { ttl: 0 }), 'dropTtl'],
    ['not IPv4', innerUdp(ip('172.16.1.1'), 100, { version: 6 }), 'dropBadIp'],
    ['runt', new Uint8Array(12).fill(0x45), 'dropBadIp'],
    ['total length > read', innerUdp(ip('172.16.1.1')).subarray(0, 50), 'dropBadIp'],
  ];
  for (const [name, pkt, counter] of cases) {
    const d = e.delta(() => e.tun(pkt));
    t.equal(d[counter], 1, `${name}: ${counter}`);
    t.equal(e.r.nbmaTx.pending + e.r.tunTx.pending, 0, `${name}: no packet output`);
    e.take(e.r.ctlRx);
  }
  const u = mk(null);
  t.equal(u.delta(() => u.tun(innerUdp(ip('172.16.1.1')))).dropNoTunnel, 1);
});

t.test('NO_ENTRY: control message rate-limited per next hop; nhsFallback', async (t) => {
  const e = mk({});
  const pkt = innerUdp(ip('10.0.0.50'), 200);
  e.tun(pkt);
  let c = e.take(e.r.ctlRx);
  t.equal(c.length, 1);
  t.equal(c[0].kind, 2);
  t.equal(c[0].addr, ip('10.0.0.50'));
  t.equal(c[0].aux, ip('10.0.0.50'));
  t.same(c[0].data, pkt.subarray(0, 64));
  e.now += 50; e.tun(pkt);
  t.equal(e.take(e.r.ctlRx).length, 0, 'suppressed within 100 ms');
  e.tun(innerUdp(ip('10.0.0.51')));
  t.equal(e.take(e.r.ctlRx).length, 1, 'other next hop not suppressed');
  e.now += 60; e.tun(pkt);
  t.equal(e.take(e.r.ctlRx).length, 1, 'again after 100 ms');
  // route via a next hop without entry: addr = next hop, aux = destination
  e.cmd.fibAdd(ip('172.16.9.0'), 24, ip('10.0.0.9')); e.cmd.publish(); e.poll();
  e.tun(innerUdp(ip('172.16.9.1')));
  c = e.take(e.r.ctlRx);
  t.equal(c[0].addr, ip('10.0.0.9'));
  t.equal(c[0].aux, ip('172.16.9.1'));
  t.equal(e.counters().dropNoEntry, 5);

  const f = mk({ nhsFallback: ip('203.0.113.100') });
  const d = f.delta(() => f.tun(pkt));
  t.same(d.noEntry, 1);
  t.notOk(d.dropNoEntry);
  const out = f.take(f.r.nbmaTx);
  t.equal(out.length, 1);
  t.equal(out[0].addr, ip('203.0.113.100'));
  t.equal(f.take(f.r.ctlRx).length, 1);
});

t.test('FIB longest-prefix match: /0 default, /24 vs /32, on-link, delete, flush', async (t) => {
  const e = mk({});
  const peers: [number, number][] = [[ip('10.0.0.10'), ip('203.0.113.10')], [ip('10.0.0.11'), ip('203.0.113.11')],
    [ip('10.0.0.12'), ip('203.0.113.12')], [ip('10.0.0.13'), ip('203.0.113.13')]];
  for (const [tip, nbma] of peers) e.cmd.peerSet(tip, nbma);
  e.cmd.fibAdd(0, 0, ip('10.0.0.10'));
  e.cmd.fibAdd(ip('10.1.0.0'), 16, ip('10.0.0.11'));
  e.cmd.fibAdd(ip('10.1.2.77'), 24, ip('10.0.0.12')); // host bits are masked off
  e.cmd.fibAdd(ip('10.1.2.3'), 32, ip('10.0.0.13'));
  e.cmd.publish(); e.poll();
  const via = (dst: string) => {
    e.tun(innerUdp(ip(dst)));
    const o = e.take(e.r.nbmaTx);
    e.take(e.r.ctlRx);
    return o.length ? u32ToIp(o[0].addr) : 'none';
  };
  t.equal(via('10.1.2.3'), '203.0.113.13', '/32');
  t.equal(via('10.1.2.4'), '203.0.113.12', '/24');
  t.equal(via('10.1.3.4'), '203.0.113.11', '/16');
  t.equal(via('8.8.8.8'), '203.0.113.10', '/0');
  t.equal(via('10.0.0.3'), '203.0.113.3', 'on-link tunnel subnet: next hop = destination');
  t.equal(via('172.16.2.1'), '203.0.113.3');
  const routes = readFib(e.buf, e.l);
  t.same(routes.filter((r) => r.prefixLen === 24 && r.nextHop === ip('10.0.0.12')), [{ prefix: ip('10.1.2.0'), prefixLen: 24, nextHop: ip('10.0.0.12') }]);
  e.cmd.fibDel(ip('10.1.2.3'), 32); e.cmd.publish(); e.poll();
  t.equal(via('10.1.2.3'), '203.0.113.12', '/32 deleted -> /24');
  e.cmd.fibDel(ip('10.1.2.0'), 24); e.cmd.publish(); e.poll();
  t.equal(via('10.1.2.3'), '203.0.113.11', '/24 deleted -> /16');
  e.cmd.fibDel(0, 0); e.cmd.publish(); e.poll();
  t.equal(via('8.8.8.8'), 'none', 'default deleted');
  t.equal(readTunnelState(e.buf, e.l).routesPerLen[32], 0);
  // replace changes the next hop
  e.cmd.fibAdd(ip('10.1.0.0'), 16, ip('10.0.0.10')); e.cmd.publish(); e.poll();
  t.equal(via('10.1.9.9'), '203.0.113.10', 'replace');
  // bad commands
  const d = e.delta(() => { e.cmd.fibAdd(1, 33, 0); e.cmd.peerSet(0, 1); e.r.ctlTx.pushSlot(99, 0, 0); e.poll(); });
  t.equal(d.cmdBad, 3);
  e.cmd.fibFlush(); e.cmd.publish(); e.poll();
  t.equal(via('10.1.9.9'), 'none', 'flushed');
  t.equal(readFib(e.buf, e.l).length, 0);
});

t.test('FIB: many routes, churn, backward-shift deletion keeps every lookup right', async (t) => {
  const e = mk({});
  const live = new Map<number, number>();
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 150; i++) {
      const p = (ip('100.64.0.0') + ((rnd() >>> 8) & 0x3ff) * 256) >>> 0;
      if (live.has(p) && rnd() & 1) { e.cmd.fibDel(p, 24); live.delete(p); } else if (live.size < 200) { e.cmd.fibAdd(p, 24, PEER_A); live.set(p, 1); }
      if (e.r.ctlTx.free < 2) { e.cmd.publish(); e.poll(); }
    }
    e.cmd.publish(); e.poll();
  }
  t.equal(e.counters().cmdBad, 0);
  const routes = readFib(e.buf, e.l).filter((r) => r.prefixLen === 24 && r.prefix >= ip('100.64.0.0') && r.prefix < ip('100.68.0.0'));
  t.equal(routes.length, live.size);
  let wrong = 0;
  for (let k = 0; k < 1024; k++) {
    const p = (ip('100.64.0.0') + k * 256) >>> 0;
    e.tun(innerUdp(p + 5));
    const n = e.take(e.r.nbmaTx).length;
    if (n !== (live.has(p) ? 1 : 0)) wrong++;
  }
  t.equal(wrong, 0);
});

t.test('peer table: set, update, delete, flush, readPeers', async (t) => {
  const e = mk({});
  e.cmd.peerSet(PEER_A, ip('203.0.113.50'), 1); e.cmd.publish(); e.poll();
  let a = readPeers(e.buf, e.l).find((p) => p.tunnelIp === PEER_A)!;
  t.equal(a.nbma, ip('203.0.113.50'));
  t.equal(a.flags, 1);
  e.tun(innerUdp(ip('172.16.1.1')));
  t.equal(e.take(e.r.nbmaTx)[0].addr, ip('203.0.113.50'));
  // rx attribution follows the new NBMA
  e.nbma(greIn({ inner: innerUdp(HOST), src: ip('203.0.113.50') }), ip('203.0.113.50'));
  e.nbma(greIn({ inner: innerUdp(HOST), src: NBMA_A }));
  a = readPeers(e.buf, e.l).find((p) => p.tunnelIp === PEER_A)!;
  t.equal(a.rxPackets, 1);
  e.cmd.peerDel(PEER_A); e.cmd.publish(); e.poll();
  t.equal(readPeers(e.buf, e.l).length, 1);
  t.equal(e.delta(() => e.tun(innerUdp(ip('172.16.1.1')))).dropNoEntry, 1);
  // many peers with deletes
  for (let i = 0; i < 500; i++) { e.cmd.peerSet(ip('10.0.1.0') + i, ip('203.0.114.0') + i); if (e.r.ctlTx.free < 2) { e.cmd.publish(); e.poll(); } }
  e.cmd.publish(); e.poll();
  for (let i = 0; i < 500; i += 2) { e.cmd.peerDel(ip('10.0.1.0') + i); if (e.r.ctlTx.free < 2) { e.cmd.publish(); e.poll(); } }
  e.cmd.publish(); e.poll();
  t.equal(readPeers(e.buf, e.l).length, 251);
  t.equal(readTunnelState(e.buf, e.l).peerCount, 251);
  e.cmd.fibAdd(ip('10.0.0.0'), 16, 0); e.cmd.publish(); e.poll();
  let bad = 0;
  for (let i = 0; i < 500; i++) {
    e.tun(innerUdp(ip('10.0.1.0') + i));
    const o = e.take(e.r.nbmaTx); e.take(e.r.ctlRx);
    if (i % 2 ? o.length !== 1 || o[0].addr !== ip('203.0.114.0') + i : o.length !== 0) bad++;
  }
  t.equal(bad, 0);
  e.cmd.peerFlush(); e.cmd.publish(); e.poll();
  t.equal(readPeers(e.buf, e.l).length, 0);
  t.equal(e.counters().cmdBad, 0);
});

t.test('point-to-point tunnel sends everything to the tunnel destination', async (t) => {
  const e = mk({ pointToPoint: true, p2pDestination: ip('203.0.113.9') });
  e.tun(innerUdp(ip('8.8.8.8')));
  const o = e.take(e.r.nbmaTx);
  t.equal(o.length, 1);
  t.equal(o[0].addr, ip('203.0.113.9'));
  t.equal(e.delta(() => e.nbma(greIn({ inner: innerUdp(HOST) }))).dropNotForUs, 1, 'p2p: only from the destination');
  t.equal(e.delta(() => e.nbma(greIn({ inner: innerUdp(HOST), src: ip('203.0.113.9') }))).tunTxPackets, 1);
});

t.test('ip mtu: DF set -> ICMP frag-needed toward the source (tshark), rate limited', needs(t, 'tshark'), async (t) => {
  const e = mk({ ipMtu: 1400 });
  const big = innerUdp(ip('172.16.1.5'), 1472, { df: true }); // 1500 bytes
  const d = e.delta(() => e.tun(big));
  t.equal(d.dropTooBig, 1);
  t.equal(d.icmpFragNeededSent, 1);
  t.equal(e.r.nbmaTx.pending, 0);
  const o = e.take(e.r.tunTx);
  t.equal(o.length, 1);
  const [L] = tshark([o[0].data]);
  const ips = arr(L.ip);
  t.equal(ips[0]['ip.src'], '10.0.0.1', 'from the tunnel address');
  t.equal(ips[0]['ip.dst'], '192.168.1.10', 'to the source');
  t.equal(ips[0]['ip.checksum.status'], '1');
  t.equal(L.icmp['icmp.type'], '3');
  t.equal(L.icmp['icmp.code'], '4');
  t.equal(L.icmp['icmp.mtu'], '1400');
  t.equal(L.icmp['icmp.checksum.status'], '1');
  t.same(o[0].data.subarray(28, 28 + 28), big.subarray(0, 28), 'quotes the original header');
  // rate limit: burst of 10, then 1 per 10 ms
  const d2 = e.delta(() => { for (let i = 0; i < 15; i++) e.r.tunRx.fill(0, 0, 0, big); e.r.tunRx.publish(); e.poll(); });
  t.equal(d2.icmpFragNeededSent, 9);
  t.equal(d2.icmpRateLimited, 6);
  t.equal(d2.dropTooBig, 15);
  e.take(e.r.tunTx);
  e.now += 20;
  t.equal(e.delta(() => e.tun(big)).icmpFragNeededSent, 1);
  // no ICMP about ICMP errors
  const icmpErr = ipv4({ src: HOST, dst: ip('172.16.1.5'), proto: 1, df: true, payload: new Uint8Array(1480).fill(3, 0, 1) });
  e.now += 1000;
  const d3 = e.delta(() => e.tun(icmpErr));
  t.equal(d3.dropTooBig, 1);
  t.notOk(d3.icmpFragNeededSent);
  // exactly ip mtu passes
  t.equal(e.delta(() => e.tun(innerUdp(ip('172.16.1.5'), 1372, { df: true }))).greTxPackets, 1);
});

t.test('ip mtu: DF clear -> RFC 791 fragments, each encapsulated, reassemble (tshark)', needs(t, 'tshark'), async (t) => {
  const e = mk({ ipMtu: 1400, key: 5 });
  // options: Router Alert (copied) + Record Route (not copied, 7 bytes) + EOL padding
  const options = [0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0];
  const big = ipv4({ src: HOST, dst: ip('172.16.2.5'), proto: 17, payload: udp(1, 2, 1950), options, id: 0x4242 });
  const d = e.delta(() => e.tun(big));
  const o = e.take(e.r.nbmaTx);
  t.equal(o.length, 2);
  t.equal(d.fragTx, 2);
  t.equal(d.greTxPackets, 2);
  const frags = o.map((x) => x.data.subarray(28));
  t.ok(frags.every((f) => f.length <= 1400));
  const v0 = new DataView(frags[0].buffer, frags[0].byteOffset), v1 = new DataView(frags[1].buffer, frags[1].byteOffset);
  t.equal(frags[0][0] & 15, 8, 'first fragment keeps all options');
  t.equal(frags[1][0] & 15, 6, 'later fragment: only copied options');
  t.equal(v0.getUint16(6), 0x2000, 'MF, offset 0');
  const firstData = v0.getUint16(2) - 32;
  t.equal(firstData % 8, 0);
  t.equal(v1.getUint16(6), firstData / 8, 'offset, MF clear');
  t.equal(v0.getUint16(4), 0x4242); t.equal(v1.getUint16(4), 0x4242);
  // reassemble by hand
  const payload = new Uint8Array(big.length - 32);
  payload.set(frags[0].subarray(32), 0);
  payload.set(frags[1].subarray(24, v1.getUint16(2)), firstData);
  t.same(payload, big.subarray(32));
  const L = tshark(o.map((x) => x.data));
  for (const l of L) for (const h of arr(l.ip)) t.equal(h['ip.checksum.status'], '1');
  t.ok(L[1].udp, 'tshark reassembled the UDP datagram');
  t.equal(L[1].udp['udp.length'], String(8 + 1950));
});

t.test('MSS clamp on TCP SYN both directions, checksum fixed (tshark)', needs(t, 'tshark'), async (t) => {
  const e = mk({ tcpMss: 1360 });
  const src = HOST, dst = ip('172.16.1.5');
  const mss = (v: number) => [2, 4, v >> 8, v & 255];
  const synEven = ipv4({ src, dst, proto: 6, payload: tcp(src, dst, 0x02, [...mss(1460), 1, 1, 4, 2]) });
  const synOdd = ipv4({ src, dst, proto: 6, payload: tcp(src, dst, 0x12, [1, ...mss(1460), 1, 1, 1]) }); // SYN-ACK, MSS at odd offset
  const synSmall = ipv4({ src, dst, proto: 6, payload: tcp(src, dst, 0x02, [...mss(1200)]) });
  const ack = ipv4({ src, dst, proto: 6, payload: tcp(src, dst, 0x10, [...mss(1460)]) });
  const d = e.delta(() => { for (const p of [synEven, synOdd, synSmall, ack]) e.r.tunRx.fill(0, 0, 0, p); e.r.tunRx.publish(); e.poll(); });
  t.equal(d.mssClamped, 2);
  const o = e.take(e.r.nbmaTx).map((x) => x.data);
  t.equal(o.length, 4);
  const L = tshark(o);
  const mssOf = (l: Layers) => Number(JSON.stringify(l.tcp).match(/"tcp\.options\.mss_val":"(\d+)"/)![1]);
  t.equal(mssOf(L[0]), 1360);
  t.equal(mssOf(L[1]), 1360);
  t.equal(mssOf(L[2]), 1200, 'smaller MSS untouched');
  t.equal(mssOf(L[3]), 1460, 'not a SYN');
  for (const l of L) t.equal(l.tcp['tcp.checksum.status'], '1', 'TCP checksum good');
  for (const x of o) {
    const seg = x.subarray(44); // outer 20 + GRE 4 + inner 20
    t.equal(new DataView(seg.buffer, seg.byteOffset).getUint16(16), tcpChecksum(src, dst, seg));
  }
  // inbound direction
  const d2 = e.delta(() => e.nbma(greIn({ inner: synOdd })));
  t.equal(d2.mssClamped, 1);
  const i = e.take(e.r.tunTx)[0].data;
  const [Li] = tshark([i]);
  t.equal(mssOf(Li), 1360);
  t.equal(Li.tcp['tcp.checksum.status'], '1');
  t.equal(Li.ip['ip.checksum.status'], '1');
});

t.test('back-pressure: a full nbmaTx holds tunRx packets queued (counted per ring), then sends them in order', async (t) => {
  const e = mk({});
  const p = innerUdp(ip('172.16.1.5'));
  for (let i = 0; i < 64; i++) e.r.tunRx.fill(0, 0, 0, p);
  e.r.tunRx.publish(); e.poll();
  t.equal(e.r.nbmaTx.pending, 64, 'nbmaTx full; its consumer (the raw-tx pump) is paused');
  // ten more, told apart by their length
  for (let i = 0; i < 10; i++) e.r.tunRx.fill(0, 0, 0, innerUdp(ip('172.16.1.5'), 100 + i));
  e.r.tunRx.publish();
  let d = e.delta(() => { t.equal(e.poll(), 0, 'nothing taken'); e.poll(); });
  t.same(d, {}, 'no counter moved: nothing dropped, nothing sent');
  t.equal(e.r.tunRx.pending, 10, 'the packets stay in tunRx');
  t.equal(e.r.nbmaTx.fullWaits, 1, 'one wait counted in nbmaTx, the ring that was full');
  t.equal(e.r.nbmaTx.fullDrops, 0);
  const u32 = new Uint32Array(e.buf);
  t.equal(e.dp.prepareSleep() >>> 0, u32[(e.l.workerDoorbell + DOORBELL.seq) >>> 2], 'held-back input is no work: the worker sleeps');
  e.dp.finishSleep();
  t.equal(e.take(e.r.nbmaTx).length, 64, 'the pump drains nbmaTx');
  d = e.delta(() => e.poll());
  t.equal(d.greTxPackets, 10, 'the held packets go out');
  t.same(e.take(e.r.nbmaTx).map((o) => o.data.length - 24), Array.from({ length: 10 }, (_, i) => 20 + 8 + 100 + i), 'in the order they came');
  t.equal(e.r.nbmaTx.fullWaits, 1);
});

t.test('back-pressure: a full tunTx holds nbmaRx packets; the wait is bounded, then drops are counted', async (t) => {
  const e = mk({});
  const g = (i: number) => greIn({ inner: innerUdp(HOST, 100 + i, { src: ip('172.16.1.5') }) });
  for (let i = 0; i < 64; i++) e.r.nbmaRx.fill(47, NBMA_A, 0, g(0));
  e.r.nbmaRx.publish(); e.poll();
  t.equal(e.r.tunTx.pending, 64, 'tunTx full; its consumer (the tun-tx pump) is paused');
  for (let i = 0; i < 5; i++) e.r.nbmaRx.fill(47, NBMA_A, 0, g(i));
  e.r.nbmaRx.publish();
  let d = e.delta(() => e.poll());
  t.same(d, {}, 'held, not dropped');
  t.equal(e.r.nbmaRx.pending, 5);
  t.equal(e.r.tunTx.fullWaits, 1, 'counted in tunTx');
  // a consumer that frees nothing for longer than the bound (150 ms) no longer holds its inputs back
  e.now += 100;
  t.same(e.delta(() => e.poll()), {}, 'within the bound: still held');
  e.now += 60;
  d = e.delta(() => e.poll());
  t.equal(d.dropRingFull, 5, 'past the bound: processed, and the drops counted');
  t.equal(e.r.tunTx.fullDrops, 5, 'in the ring that was full');
  t.equal(e.r.nbmaRx.pending, 0);
  e.take(e.r.tunTx);
  for (let i = 0; i < 3; i++) e.r.nbmaRx.fill(47, NBMA_A, 0, g(i));
  e.r.nbmaRx.publish();
  d = e.delta(() => e.poll());
  t.equal(d.tunTxPackets, 3, 'room again: delivered');
  t.same(e.take(e.r.tunTx).map((o) => o.data.length), [0, 1, 2].map((i) => 20 + 8 + 100 + i), 'in order');
});

t.test('control lane: NHRP on nhrpRx reaches ctlRx while a full tunTx holds the data on nbmaRx', async (t) => {
  const e = mk({});
  const g = greIn({ inner: innerUdp(HOST, 100, { src: ip('172.16.1.5') }) });
  for (let i = 0; i < 64; i++) e.r.nbmaRx.fill(47, NBMA_A, 0, g);
  e.r.nbmaRx.publish(); e.poll();
  t.equal(e.r.tunTx.pending, 64, 'tunTx full; its consumer (the tun-tx pump) is paused');
  for (let i = 0; i < 5; i++) e.r.nbmaRx.fill(47, NBMA_A, 0, g);
  e.r.nbmaRx.publish();
  t.equal(e.poll(), 0, 'the data is held back');
  const u32 = new Uint32Array(e.buf);
  const seq = () => u32[(e.l.workerDoorbell + DOORBELL.seq) >>> 2];
  t.equal(e.dp.prepareSleep() >>> 0, seq(), 'held-back data is no work: the worker would sleep');
  e.dp.finishSleep();
  const nhrp = Uint8Array.from({ length: 40 }, (_, i) => i);
  e.r.nhrpRx.pushSlot(47, ip('203.0.113.77'), 0, greIn({ inner: nhrp, proto: 0x2001, src: ip('203.0.113.77') }));
  t.equal(e.dp.prepareSleep() >>> 0, 0xffffffff, 'NHRP on the control lane is work, tunTx full or not');
  const d = e.delta(() => t.equal(e.poll(), 1, 'only the NHRP slot is taken'));
  t.same(d, { greRxPackets: 1, greRxBytes: 20 + 4 + 40, nhrpIn: 1 }, 'handed up, nothing dropped');
  const c = e.take(e.r.ctlRx);
  t.same(c.map((m) => [m.kind, m.addr]), [[1, ip('203.0.113.77')]], 'NHRP_IN from its sender');
  t.same(c[0].data, nhrp);
  t.equal(e.r.nbmaRx.pending, 5, 'the data still waits for tunTx');
  t.equal(e.r.tunTx.fullDrops, 0);
});

t.test('NHRP_OUT waits for a full nbmaTx instead of being dropped, and goes before the data held in tunRx', async (t) => {
  const e = mk({});
  const p = innerUdp(ip('172.16.1.5'));
  for (let i = 0; i < 64; i++) e.r.tunRx.fill(0, 0, 0, p);
  e.r.tunRx.publish(); e.poll();
  t.equal(e.r.nbmaTx.pending, 64, 'nbmaTx full of data; its pump paused');
  for (let i = 0; i < 3; i++) e.r.tunRx.fill(0, 0, 0, p);
  e.r.tunRx.publish();
  const nhrp = Uint8Array.from({ length: 40 }, (_, i) => i);
  e.cmd.nhrpOut(NBMA_B, nhrp); e.cmd.peerSet(ip('10.0.0.9'), ip('203.0.113.9')); e.cmd.publish();
  const u32 = new Uint32Array(e.buf);
  t.same(e.delta(() => e.poll()), {}, 'nothing sent, nothing dropped, and the command behind it waits too (ring order)');
  t.equal(e.r.ctlTx.pending, 2);
  t.equal(e.dp.prepareSleep() >>> 0, u32[(e.l.workerDoorbell + DOORBELL.seq) >>> 2], 'held NHRP_OUT is no work: the worker sleeps');
  e.dp.finishSleep();
  e.take(e.r.nbmaTx);
  const d = e.delta(() => e.poll());
  t.equal(d.nhrpOut, 1, 'room again: NHRP goes out');
  t.equal(d.cmdApplied, 1, 'the command behind it is applied');
  const out = e.take(e.r.nbmaTx);
  t.equal(out[0].addr, NBMA_B, 'NHRP first');
  t.same(out.slice(1).map((o) => o.addr), [NBMA_A, NBMA_A, NBMA_A], 'then the held data');
  t.equal(e.r.nbmaTx.fullDrops, 0);
});

t.test('a full ctlRx: the control lane waits for it, NHRP on nbmaRx is counted (nhrpInDropped); notices leave its last quarter to NHRP', async (t) => {
  const e = mk({});
  const nhrp = (i: number) => greIn({ inner: new Uint8Array(40).fill(i), proto: 0x2001 });
  const nhrpIn = (n: number) => { for (let i = 0; i < n; i++) e.r.nhrpRx.fill(47, NBMA_A, 0, nhrp(i)); e.r.nhrpRx.publish(); e.poll(); };
  nhrpIn(49); // 15 of ctlRx's 64 slots left: below a quarter
  const toNoEntry = innerUdp(ip('10.0.0.50'));
  let d = readCounters(e.buf, e.l);
  e.tun(toNoEntry);
  let after = readCounters(e.buf, e.l);
  t.equal(after.noticeShed - d.noticeShed, 1, 'the NO_ENTRY notice is shed, counted');
  t.equal(after.dropNoEntry - d.dropNoEntry, 1, 'its packet is dropped as before');
  nhrpIn(15);
  t.equal(e.r.ctlRx.pending, 64, 'the reserve took the NHRP');
  d = readCounters(e.buf, e.l);
  nhrpIn(2);
  t.same(e.delta(() => e.poll()), {}, 'NHRP on the control lane waits for a full ctlRx: nothing taken, nothing dropped');
  t.equal(e.r.nhrpRx.pending, 2);
  t.equal(e.r.ctlRx.fullWaits, 1, 'the wait is counted in ctlRx');
  t.equal(e.r.ctlRx.fullDrops, 0);
  t.equal(e.dp.prepareSleep() >>> 0, new Uint32Array(e.buf)[(e.l.workerDoorbell + DOORBELL.seq) >>> 2], 'and is no work until the supervisor frees ctlRx');
  e.dp.finishSleep();
  e.nbma(nhrp(99)); // no control lane (its filters refused): NHRP on nbmaRx
  after = readCounters(e.buf, e.l);
  t.equal(after.nhrpInDropped - d.nhrpInDropped, 1, 'NHRP on nbmaRx beyond a full ctlRx: nhrpInDropped');
  t.equal(after.nhrpIn - d.nhrpIn, 0);
  t.equal(e.r.ctlRx.fullDrops, 1, 'and the ring\'s own fullDrops');
  const got = e.take(e.r.ctlRx);
  t.ok(got.length === 64 && got.every((m) => m.kind === 1), 'ctlRx held NHRP only');
  e.poll();
  t.equal(e.take(e.r.ctlRx).length, 2, 'room again: the waiting NHRP is handed up');
  e.tun(toNoEntry);
  t.same(e.take(e.r.ctlRx).map((m) => m.kind), [2], 'room again: the shed notice is posted at the next packet (its limiter was not stamped)');
});

t.test('rings: doorbells and sleep protocol', async (t) => {
  const e = mk({});
  const p = innerUdp(ip('172.16.1.5'));
  // sleep protocol
  const u32 = new Uint32Array(e.buf);
  const seq = u32[(e.l.workerDoorbell + DOORBELL.seq) >>> 2];
  t.equal(e.dp.prepareSleep() >>> 0, seq, 'idle: returns seq');
  t.equal(u32[(e.l.workerDoorbell + DOORBELL.sleeping) >>> 2], 1);
  e.dp.finishSleep();
  t.equal(u32[(e.l.workerDoorbell + DOORBELL.sleeping) >>> 2], 0);
  e.r.tunRx.pushSlot(0, 0, 0, p);
  t.equal(e.dp.prepareSleep() >>> 0, 0xffffffff, 'work pending');
  t.equal(u32[(e.l.workerDoorbell + DOORBELL.sleeping) >>> 2], 0);
  // wake is called only for a sleeping consumer
  e.wakes.length = 0;
  e.poll();
  t.same(e.wakes, []);
  u32[(e.l.nbmaTxDoorbell + DOORBELL.sleeping) >>> 2] = 1;
  e.tun(p);
  t.same(e.wakes, [e.l.nbmaTxDoorbell]);
  // the worker's producer-doorbell for tunRx was rung when it freed slots
  t.ok(u32[(e.l.tunRxProducerDoorbell + DOORBELL.seq) >>> 2] > 0);
});

t.test('benchmark exports run the real encap/decap', async (t) => {
  const e = mk({ key: KEY });
  t.equal(e.dp.benchOutbound(64, 100, ip('172.16.1.5')), 100);
  t.equal(e.dp.benchInbound(64, 100, NBMA_A, HOST), 100);
  const c = e.counters();
  t.equal(c.greTxPackets, 100);
  t.equal(c.tunTxPackets, 100);
  t.equal(e.r.nbmaTx.pending + e.r.tunTx.pending, 0);
});
