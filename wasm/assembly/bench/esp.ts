// ESP benchmarks over scratch memory (no real rings), like bench/gre.ts. benchEspOutbound = the real
// outbound path (FIB, peer, GRE, ESP encrypt) with an outbound SA installed for the destination's
// peer. benchEspInbound encrypts one packet that way, then runs inbound() (ESP decrypt/verify, GRE
// decap) `count` times on fresh copies of it; the inbound SA for the same SPI/keys must have flags
// NO_REPLAY, or every copy after the first is a replay.
import { scratch, SCRATCH_BENCH_IN, SCRATCH_BENCH_TEMPLATE, SLOT_DATA, NBMA_KIND_ESP, NATT_PORT } from '../core/layout';
import { packet } from '../core/packet';
import { source, configured } from '../core/config';
import { copyBytes } from '../core/mem';
import { writeIpv4, ipTotLen } from '../net/ipv4';
import { writeUdpIpv4 } from '../net/udp';
import { IPPROTO_ESP, TTL_DEFAULT } from '../net/defs';
import { espReady } from '../esp/sa';
import { outbound } from '../forward/outbound';
import { inbound } from '../forward/inbound';
import { BENCH_SRC, BENCH_SPORT, BENCH_DPORT, benchOutbound } from './gre';
import { benchBegin, benchSync, benchEnd, benchSlotData, benchSlotLen, BENCH_NBMA_TX, BENCH_UDP_TX } from './rings';

const NATT_PORTS: u32 = (NATT_PORT << 16) | NATT_PORT;

export function benchEspOutbound(packetLen: i32, count: i32, dst: u32): i32 {
  return benchOutbound(packetLen, count, dst);
}

/** `kind` 50 (raw) or 17 (UDP); `src` = the peer NBMA the outbound SA for `innerDst` points at. */
export function benchEspInbound(packetLen: i32, count: i32, src: u32, innerDst: u32, kind: u32): i32 {
  if (!configured || !espReady) return -1;
  const p = scratch + SCRATCH_BENCH_IN;
  writeUdpIpv4(p, <u32>packetLen, BENCH_SRC, innerDst, BENCH_SPORT, BENCH_DPORT);
  const pk = packet();
  benchBegin();
  pk.data = p; pk.len = <u32>packetLen;
  outbound(pk);
  const made = benchEnd();
  if (made != 1) return -2;
  const tmpl = scratch + SCRATCH_BENCH_TEMPLATE;
  let n: u32;
  if (kind == NBMA_KIND_ESP) {
    const out = benchSlotData(BENCH_NBMA_TX);
    n = ipTotLen(out);
    copyBytes(tmpl, out, n);
    writeIpv4(tmpl, n, 0, 0, TTL_DEFAULT, IPPROTO_ESP, src, source);
  } else {
    n = benchSlotLen(BENCH_UDP_TX);
    copyBytes(tmpl, benchSlotData(BENCH_UDP_TX), n);
  }
  const w = scratch + SCRATCH_BENCH_IN + SLOT_DATA; // room before it: ESP input may write up to 12 bytes back
  benchBegin();
  for (let i = 0; i < count; i++) {
    copyBytes(w, tmpl, n);
    pk.kind = kind; pk.nbma = src; pk.aux = NATT_PORTS; pk.data = w; pk.len = n;
    inbound(pk);
    benchSync();
  }
  return <i32>benchEnd();
}
