// Cleartext GRE benchmarks over scratch memory (no real rings): the real outbound()/inbound() path run
// `count` times on one packet, outputs to the one-slot bench rings (bench/rings.ts).
import { scratch, SCRATCH_BENCH_IN, NBMA_KIND_GRE } from '../core/layout';
import { packet } from '../core/packet';
import { source, greLen, configured } from '../core/config';
import { benchBegin, benchSync, benchEnd } from './rings';
import { writeIpv4 } from '../net/ipv4';
import { writeUdpIpv4 } from '../net/udp';
import { IPV4_HDR_LEN, IPPROTO_GRE, TTL_DEFAULT } from '../net/defs';
import { greEncap } from '../gre/gre';
import { GRE_PROTO_IPV4 } from '../gre/defs';
import { outbound } from '../forward/outbound';
import { inbound } from '../forward/inbound';

export const BENCH_SRC: u32 = 0x0aff0001; // 10.255.0.1
export const BENCH_SPORT: u32 = 4000;
export const BENCH_DPORT: u32 = 5000;

/** Runs outbound() `count` times on one UDP packet of `packetLen` bytes to `dst`; returns outputs. */
export function benchOutbound(packetLen: i32, count: i32, dst: u32): i32 {
  const p = scratch + SCRATCH_BENCH_IN;
  writeUdpIpv4(p, <u32>packetLen, BENCH_SRC, dst, BENCH_SPORT, BENCH_DPORT);
  const pk = packet();
  benchBegin();
  for (let i = 0; i < count; i++) { pk.data = p; pk.len = <u32>packetLen; outbound(pk); benchSync(); }
  return <i32>benchEnd();
}

/**
 * Runs inbound() `count` times on one GRE packet from NBMA `src` to the tunnel source carrying a
 * UDP packet of `packetLen` bytes to `innerDst`; returns outputs.
 */
export function benchInbound(packetLen: i32, count: i32, src: u32, innerDst: u32): i32 {
  if (!configured) return -1;
  const p = scratch + SCRATCH_BENCH_IN;
  const hdr: u32 = IPV4_HDR_LEN + greLen;
  writeUdpIpv4(p + hdr, <u32>packetLen, BENCH_SRC, innerDst, BENCH_SPORT, BENCH_DPORT);
  const tot = greEncap(p, <u32>packetLen, GRE_PROTO_IPV4, source, 0, false);
  // greEncap writes outer src = tunnel source; make the outer source the peer.
  writeIpv4(p, tot, 0, 0, TTL_DEFAULT, IPPROTO_GRE, src, source);
  const pk = packet();
  benchBegin();
  for (let i = 0; i < count; i++) {
    pk.kind = NBMA_KIND_GRE; pk.nbma = src; pk.aux = 0; pk.data = p; pk.len = tot;
    inbound(pk);
    benchSync();
  }
  return <i32>benchEnd();
}

