// ESP benchmarks over scratch memory (no real rings), like bench/gre.ts. benchEspOutbound = the real
// outbound path (FIB, peer, GRE, ESP encrypt) with an outbound SA installed for the destination's
// peer. benchEspInbound encrypts one packet that way, then runs inbound() (ESP decrypt/verify, GRE
// decap) `count` times on fresh copies of it; the inbound SA for the same SPI/keys must have flags
// NO_REPLAY, or every copy after the first is a replay. benchEspReceive runs inbound() once on a given
// encrypted packet: several workers offered the same packets show the replay window across workers
// (test/esp-workers.test.ts, bench/scaling.mjs).
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
/** The template and the bench input (behind its slot header) hold at most this many bytes. */
const BENCH_PACKET_MAX: u32 = 4096 - <u32>SLOT_DATA;
const WASM_PAGE_BYTES: u64 = 65536;

/** inbound() on a fresh copy of the template (`n` bytes, slot kind `kind`) as received from `src`. */
@inline function receiveCopy(tmpl: usize, n: u32, src: u32, kind: u32): void {
  const w = scratch + SCRATCH_BENCH_IN + SLOT_DATA; // room before it: ESP input may write up to 12 bytes back
  copyBytes(w, tmpl, n);
  const pk = packet();
  pk.kind = kind; pk.nbma = src; pk.aux = NATT_PORTS; pk.data = w; pk.len = n;
  inbound(pk);
}

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
  benchBegin();
  for (let i = 0; i < count; i++) { receiveCopy(tmpl, n, src, kind); benchSync(); }
  return <i32>benchEnd();
}

/**
 * inbound() once on a copy of the encrypted packet at `p` (`n` bytes; kind 50: the whole IPv4 packet,
 * whose outer header is rewritten to come from `src` to our source; 17: the UDP payload) as received
 * from NBMA `src`. Returns the outputs (1: authenticated, fresh and forwarded), or -1.
 */
export function benchEspReceive(p: usize, n: u32, src: u32, kind: u32): i32 {
  if (!configured || !espReady || n > BENCH_PACKET_MAX || <u64>p + <u64>n > <u64>memory.size() * WASM_PAGE_BYTES) return -1;
  const tmpl = scratch + SCRATCH_BENCH_TEMPLATE;
  copyBytes(tmpl, p, n);
  if (kind == NBMA_KIND_ESP) writeIpv4(tmpl, n, 0, 0, TTL_DEFAULT, IPPROTO_ESP, src, source);
  benchBegin();
  receiveCopy(tmpl, n, src, kind);
  benchSync();
  return <i32>benchEnd();
}
