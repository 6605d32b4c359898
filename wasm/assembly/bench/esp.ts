// ESP benchmarks over scratch memory (no rings), like benchOutbound/benchInbound in dataplane.ts.
// benchEspOutbound = the real outbound path (FIB, peer, GRE, ESP encrypt) with an outbound SA
// installed for the destination's peer. benchEspInbound encrypts one packet that way, then runs
// espInput() (decrypt, verify, GRE decap) `count` times on fresh copies of it; the inbound SA for
// the same SPI/keys must have flags NO_REPLAY (8), or every copy after the first is a replay.
import { scratch, SCR_BENCH_IN, SCR_BENCH_OUT } from '../core/layout';
import { setBenchMode, benchCommitCount } from '../io/ring';
import { writeIpv4 } from '../net/ipv4';
import { copyBytes } from '../core/mem';
import { outbound } from '../forward/outbound';
import { source, configured } from '../core/config';
import { espInput, lastEspLen } from '../esp/input';
import { espReady } from '../esp/sa';

const SCR_BENCH_TMPL: usize = 12288; // 4 KiB: the encrypted packet

function buildUdp(p: usize, len: u32, dst: u32): void {
  memory.fill(p + 20, 0x61, len - 20);
  writeIpv4(p, len, 0, 0, 64, 17, 0x0aff0001, dst);
  store<u32>(p + 20, <u32>bswap<u16>(4000) | (<u32>bswap<u16>(5000) << 16));
  store<u32>(p + 24, <u32>bswap<u16>(<u16>(len - 20)));
}

export function benchEspOutbound(packetLen: i32, count: i32, dst: u32): i32 {
  const p = scratch + SCR_BENCH_IN;
  buildUdp(p, <u32>packetLen, dst);
  setBenchMode(true);
  for (let i = 0; i < count; i++) outbound(p, <u32>packetLen);
  const n = benchCommitCount();
  setBenchMode(false);
  return <i32>n;
}

/** `kind` 50 (raw) or 17 (UDP); `src` = the peer NBMA the outbound SA for `innerDst` points at. */
export function benchEspInbound(packetLen: i32, count: i32, src: u32, innerDst: u32, kind: u32): i32 {
  if (!configured || !espReady) return -1;
  const p = scratch + SCR_BENCH_IN;
  buildUdp(p, <u32>packetLen, innerDst);
  setBenchMode(true);
  outbound(p, <u32>packetLen);
  const made = benchCommitCount();
  setBenchMode(false);
  if (made != 1) return -2;
  const out = scratch + SCR_BENCH_OUT + 16;
  const tmpl = scratch + SCR_BENCH_TMPL;
  let n: u32;
  if (kind == 50) {
    n = <u32>bswap<u16>(load<u16>(out, 2));
    copyBytes(tmpl, out, n);
    writeIpv4(tmpl, n, 0, 0, 64, 50, src, source);
  } else {
    n = lastEspLen; // bench mode skips prodCommit, so the slot header has no length
    copyBytes(tmpl, out, n);
  }
  const w = scratch + SCR_BENCH_IN + 16;
  setBenchMode(true);
  for (let i = 0; i < count; i++) {
    copyBytes(w, tmpl, n);
    espInput(kind, src, (4500 << 16) | 4500, w, n);
  }
  const r = benchCommitCount();
  setBenchMode(false);
  return <i32>r;
}
