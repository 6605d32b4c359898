// ESP benchmarks over scratch memory (no rings), like bench/gre.ts. benchEspOutbound = the real
// outbound path (FIB, peer, GRE, ESP encrypt) with an outbound SA installed for the destination's
// peer. benchEspInbound encrypts one packet that way, then runs espInput() + GRE decap (inbound())
// `count` times on fresh copies of it; the inbound SA for the same SPI/keys must have flags
// NO_REPLAY, or every copy after the first is a replay.
import { scratch, SCRATCH_BENCH_IN, SCRATCH_BENCH_OUT, SCRATCH_BENCH_TMPL, SLOT_DATA, NBMA_KIND_ESP } from '../core/layout';
import { packet } from '../core/packet';
import { source, configured } from '../core/config';
import { copyBytes } from '../core/mem';
import { setBenchMode, benchCommitCount } from '../io/ring';
import { writeIpv4, ipTotLen } from '../net/ipv4';
import { writeUdpIpv4 } from '../net/udp';
import { IPPROTO_ESP, TTL_DEFAULT } from '../net/defs';
import { espReady } from '../esp/sa';
import { lastEspLen } from '../esp/output';
import { outbound } from '../forward/outbound';
import { inbound } from '../forward/inbound';
import { BENCH_SRC, BENCH_SPORT, BENCH_DPORT, benchOutbound } from './gre';

const NATT_PORTS: u32 = (4500 << 16) | 4500;

export function benchEspOutbound(packetLen: i32, count: i32, dst: u32): i32 {
  return benchOutbound(packetLen, count, dst);
}

/** `kind` 50 (raw) or 17 (UDP); `src` = the peer NBMA the outbound SA for `innerDst` points at. */
export function benchEspInbound(packetLen: i32, count: i32, src: u32, innerDst: u32, kind: u32): i32 {
  if (!configured || !espReady) return -1;
  const p = scratch + SCRATCH_BENCH_IN;
  writeUdpIpv4(p, <u32>packetLen, BENCH_SRC, innerDst, BENCH_SPORT, BENCH_DPORT);
  const pk = packet();
  setBenchMode(true);
  pk.data = p; pk.len = <u32>packetLen;
  outbound(pk);
  const made = benchCommitCount();
  setBenchMode(false);
  if (made != 1) return -2;
  const out = scratch + SCRATCH_BENCH_OUT + SLOT_DATA;
  const tmpl = scratch + SCRATCH_BENCH_TMPL;
  let n: u32;
  if (kind == NBMA_KIND_ESP) {
    n = ipTotLen(out);
    copyBytes(tmpl, out, n);
    writeIpv4(tmpl, n, 0, 0, TTL_DEFAULT, IPPROTO_ESP, src, source);
  } else {
    n = lastEspLen; // bench mode skips prodCommit, so the slot header has no length
    copyBytes(tmpl, out, n);
  }
  const w = scratch + SCRATCH_BENCH_IN + SLOT_DATA;
  setBenchMode(true);
  for (let i = 0; i < count; i++) {
    copyBytes(w, tmpl, n);
    pk.kind = kind; pk.nbma = src; pk.aux = NATT_PORTS; pk.data = w; pk.len = n;
    inbound(pk);
  }
  const r = benchCommitCount();
  setBenchMode(false);
  return <i32>r;
}
