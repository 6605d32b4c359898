// EIGRP metric vectors from Cisco's documentation: classic composite 256 x (10^7/bw + delay/10us) for
// T1, Ethernet, FastEthernet, GigabitEthernet and 10GE; wide metrics (throughput and latency scaled by
// 65536, RIB scale 128) for GigabitEthernet; K-value effects; and the wire forms round-trip.
import t from 'tap';
import {
  classicComposite, connectedVector, extend, fromClassicWire, fromWideWire, ribMetric, toClassicWire, toWideWire,
  UNREACHABLE, wideComposite, INFINITE_METRIC, PS_PER_TEN_US,
} from '../appliance/routing/eigrp/metric.js';
import type { PathVector } from '../appliance/routing/eigrp/metric.js';

const v = (bandwidth: number, delayTensUs: number): PathVector => ({ bandwidth, delay: delayTensUs * PS_PER_TEN_US, mtu: 1500, hopCount: 0, reliability: 255, load: 1 });

t.test('classic composite: Cisco worked examples', async (t) => {
  t.equal(classicComposite(v(1544, 2000)), 2169856, 'T1 serial: 256 x (6476 + 2000)');
  t.equal(classicComposite(v(10_000, 100)), 281600, 'Ethernet: 256 x (1000 + 100)');
  t.equal(classicComposite(v(100_000, 10)), 28160, 'FastEthernet: 256 x (100 + 10)');
  t.equal(classicComposite(v(1_000_000, 1)), 2816, 'GigabitEthernet: 256 x (10 + 1)');
  t.equal(classicComposite(v(10_000_000, 1)), 512, '10GE: 256 x (1 + 1)');
  t.equal(classicComposite(v(11_000_000, 1)), 256, 'classic cannot tell 11G from 10G+: bw term rounds to 0');
  t.equal(classicComposite(v(1_000_000, 501)), 256 * 511, '1G with 5010us total delay');
  t.equal(classicComposite(v(100, 5000)), 256 * (100_000 + 5000), 'Tunnel defaults (100 kbit/s, 50 ms)');
  t.equal(classicComposite(UNREACHABLE), INFINITE_METRIC);
});

t.test('classic composite: K values', async (t) => {
  t.equal(classicComposite(v(10_000, 100), [0, 0, 1, 0, 0, 0]), 25600, 'K1=0: delay only');
  t.equal(classicComposite(v(10_000, 100), [1, 0, 0, 0, 0, 0]), 256000, 'K3=0: bandwidth only');
  const loaded = { ...v(10_000, 100), load: 128 };
  t.equal(classicComposite(loaded, [1, 1, 1, 0, 0, 0]), 256 * (1000 + Math.floor(1000 / 128) + 100), 'K2 adds bw/(256-load)');
  const rel = { ...v(10_000, 100), reliability: 200 };
  t.equal(classicComposite(rel, [1, 0, 1, 0, 1, 0]), 256 * Math.floor(1100 / 200), 'K5 scales by K5/(rel+K4)');
});

t.test('wide metrics: GigabitEthernet 1310720, RIB 10240', async (t) => {
  const ge = connectedVector({ bandwidth: 1_000_000, delay: 1, mtu: 1500, wide: true });
  t.equal(ge.delay, 10_000_000, 'GE delay 10 us = 10^7 ps');
  t.equal(wideComposite(ge), 1310720, '655360 throughput + 655360 latency');
  t.equal(ribMetric(wideComposite(ge)), 10240);
  const tenG = connectedVector({ bandwidth: 10_000_000, delay: 1, mtu: 1500, wide: true });
  t.equal(tenG.delay, 1_000_000, 'above 1G the delay comes from bandwidth (10^13 / kbit/s ps)');
  t.equal(wideComposite(tenG), 65536 + 65536, '10GE: 65536 + 65536');
  t.ok(wideComposite(connectedVector({ bandwidth: 40_000_000, delay: 1, mtu: 1500, wide: true })) < wideComposite(tenG), 'wide metrics still tell 40G from 10G');
  t.equal(ribMetric(INFINITE_METRIC), 0xffffffff);
});

t.test('a path accumulates delay and keeps the minimum bandwidth', async (t) => {
  const lan = connectedVector({ bandwidth: 1_000_000, delay: 1, mtu: 1500, wide: false });
  const over = extend(lan, { bandwidth: 1544, delay: 2000, mtu: 1400, wide: false });
  t.same([over.bandwidth, over.delay / PS_PER_TEN_US, over.mtu, over.hopCount], [1544, 2001, 1400, 1]);
  t.equal(classicComposite(over), 256 * (6476 + 2001));
  t.same(extend(UNREACHABLE, { bandwidth: 1, delay: 1, mtu: 1, wide: false }), UNREACHABLE, 'unreachable stays unreachable');
});

t.test('wire forms round-trip', async (t) => {
  const p = v(100_000, 10);
  const w = toClassicWire(p);
  t.same([w.delay, w.bandwidth], [2560, 25600], 'FRR sends 100 Mbit/s, 100 us as delay 2560, bandwidth 25600');
  t.same(fromClassicWire(w), p);
  t.same(fromWideWire(toWideWire(p)), p);
  t.equal(classicComposite(fromClassicWire(toClassicWire(UNREACHABLE))), INFINITE_METRIC);
  t.equal(wideComposite(fromWideWire(toWideWire(UNREACHABLE))), INFINITE_METRIC);
});
