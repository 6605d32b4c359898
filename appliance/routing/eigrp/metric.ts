// EIGRP metrics (RFC 7868 section 5.6). One path vector in natural units (bandwidth in kbit/s, delay in
// picoseconds) feeds both composites: classic (32-bit, 256 x (10^7/bw + delay/10us)) and wide (64-bit,
// scaled by 65536, picosecond delay, divided by the RIB scale of 128 for the routing table).
import { CLASSIC_DELAY_INFINITY, WIDE_INFINITY } from './types.js';
import type { ClassicMetric, WideMetric } from './types.js';

/** Metric weights K1..K6 (Parameters TLV); IOS and RFC defaults are 1 0 1 0 0 0. */
export type KValues = readonly [number, number, number, number, number, number];
export const DEFAULT_K: KValues = [1, 0, 1, 0, 0, 0];

/** What a route's metric is made of, accumulated hop by hop. */
export interface PathVector {
  bandwidth: number; // minimum along the path, kbit/s
  delay: number;     // total, picoseconds; Infinity = unreachable
  mtu: number; hopCount: number; reliability: number; load: number;
}

export const UNREACHABLE: PathVector = { bandwidth: 0, delay: Infinity, mtu: 0, hopCount: 0, reliability: 0, load: 0 };
export const isReachable = (v: PathVector): boolean => Number.isFinite(v.delay) && v.bandwidth > 0;

/** Composite metric of an unreachable route (sorts after every reachable one). */
export const INFINITE_METRIC = Number.POSITIVE_INFINITY;

/** Picoseconds per "tens of microseconds", the unit of IOS `delay` and the classic wire delay / 256. */
export const PS_PER_TEN_US = 10_000_000;

/** An interface's own contribution: `bandwidth` (kbit/s) and `delay` (tens of microseconds) as IOS
 *  configures them. Above 1 Gbit/s wide metrics derive delay from bandwidth (10^13 / kbit/s ps), so
 *  faster links keep looking faster; classic delay cannot go below 10 us. */
export interface LinkCost { bandwidth: number; delay: number; mtu: number; wide: boolean }

export function linkDelayPs(l: LinkCost): number {
  if (l.wide && l.bandwidth > 1_000_000) return Math.floor(1e13 / l.bandwidth);
  return l.delay * PS_PER_TEN_US;
}

/** The vector a neighbor advertised, extended over our link to it. */
export function extend(v: PathVector, l: LinkCost): PathVector {
  if (!isReachable(v)) return UNREACHABLE;
  return {
    bandwidth: Math.min(v.bandwidth, l.bandwidth), delay: v.delay + linkDelayPs(l), mtu: Math.min(v.mtu, l.mtu),
    hopCount: v.hopCount + 1, reliability: v.reliability, load: v.load,
  };
}

/** A directly connected network's vector (the route we originate). */
export function connectedVector(l: LinkCost): PathVector {
  return { bandwidth: l.bandwidth, delay: linkDelayPs(l), mtu: l.mtu, hopCount: 0, reliability: 255, load: 1 };
}

function applyK5(m: number, v: PathVector, k: KValues): number {
  return k[4] ? Math.floor((m * k[4]) / (v.reliability + k[3])) : m;
}

/** Classic composite: 256 x (K1 x bw + K2 x bw/(256-load) + K3 x delay) [x K5/(rel+K4)], with
 *  bw = floor(10^7 / min kbit/s) and delay in tens of microseconds; capped at 32 bits. */
export function classicComposite(v: PathVector, k: KValues = DEFAULT_K): number {
  if (!isReachable(v)) return INFINITE_METRIC;
  const bw = Math.floor(1e7 / v.bandwidth), delay = Math.floor(v.delay / PS_PER_TEN_US);
  const m = 256 * applyK5(k[0] * bw + Math.floor((k[1] * bw) / (256 - v.load)) + k[2] * delay, v, k);
  return m >= 0xffffffff ? INFINITE_METRIC : m;
}

/** Wide composite: K1 x throughput + K2 x throughput/(256-load) + K3 x latency [x K5/(rel+K4)], with
 *  throughput = 10^7 x 65536 / min kbit/s and latency = delay(ps) x 65536 / 10^6. */
export function wideComposite(v: PathVector, k: KValues = DEFAULT_K): number {
  if (!isReachable(v)) return INFINITE_METRIC;
  const thr = Math.floor((1e7 * 65536) / v.bandwidth), lat = Math.floor((v.delay * 65536) / 1e6);
  return applyK5(k[0] * thr + Math.floor((k[1] * thr) / (256 - v.load)) + k[2] * lat, v, k);
}

export const RIB_SCALE = 128;
/** What goes into the routing table for a wide composite (IOS `metric rib-scale` default 128). */
export const ribMetric = (wide: number): number => (Number.isFinite(wide) ? Math.min(0xffffffff, Math.floor(wide / RIB_SCALE)) : 0xffffffff);

// ---- wire forms ----

/** Classic TLV metric: delay = tens of microseconds x 256, bandwidth = 256 x 10^7 / kbit/s. */
export function toClassicWire(v: PathVector, flags = 0): ClassicMetric {
  if (!isReachable(v)) return { delay: CLASSIC_DELAY_INFINITY, bandwidth: 0, mtu: v.mtu, hopCount: v.hopCount, reliability: v.reliability, load: v.load, tag: 0, flags };
  return {
    delay: Math.min(0xfffffffe, Math.floor(v.delay / PS_PER_TEN_US) * 256), bandwidth: Math.min(0xffffffff, Math.floor(2_560_000_000 / v.bandwidth)),
    mtu: v.mtu, hopCount: v.hopCount, reliability: v.reliability, load: v.load, tag: 0, flags,
  };
}

export function fromClassicWire(m: ClassicMetric): PathVector {
  if (m.delay === CLASSIC_DELAY_INFINITY || m.bandwidth === 0) return { ...UNREACHABLE, mtu: m.mtu, hopCount: m.hopCount };
  return {
    bandwidth: Math.max(1, Math.round(2_560_000_000 / m.bandwidth)), delay: Math.floor(m.delay / 256) * PS_PER_TEN_US,
    mtu: m.mtu, hopCount: m.hopCount, reliability: m.reliability, load: m.load,
  };
}

export function toWideWire(v: PathVector, flags = 0): WideMetric {
  const reach = isReachable(v);
  return {
    offset: 0, priority: 0, reliability: v.reliability, load: v.load, mtu: v.mtu, hopCount: v.hopCount,
    delay: reach ? Math.min(WIDE_INFINITY - 1, v.delay) : WIDE_INFINITY, bandwidth: reach ? v.bandwidth : WIDE_INFINITY,
    flags, attributes: new Uint8Array(0),
  };
}

export function fromWideWire(m: WideMetric): PathVector {
  if (m.delay === WIDE_INFINITY || m.bandwidth === WIDE_INFINITY || m.bandwidth === 0) return { ...UNREACHABLE, mtu: m.mtu, hopCount: m.hopCount };
  return { bandwidth: m.bandwidth, delay: m.delay, mtu: m.mtu, hopCount: m.hopCount, reliability: m.reliability, load: m.load };
}
