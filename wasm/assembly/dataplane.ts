// WASM data plane for cleartext mGRE: entry point (exports only). See docs/dataplane.md.
//
//   setup(layoutBase)        read the layout block, init producers/tables/config; 0 = ok, < 0 = error
//   poll(budget, nowMs)      one batch through the pipeline (pipeline.ts); returns slots consumed
//   prepareSleep()/finishSleep()   doorbell sleep protocol for the worker loop
//   benchOutbound/benchInbound     run the real encap/decap over scratch memory, without rings
import { SCR_REDIRECT_END } from './forward/redirect';
import { SCR_MCAST_END } from './forward/multicast';
import { readLayout, scratch, scratchSize, SCR_NEEDED, SCR_NOENTRY, SCR_NOENTRY_SLOTS, SCR_PROD_TUNTX,
  SCR_PROD_NBMATX, SCR_PROD_CTLRX, SCR_BENCH_IN, tunTx, nbmaTx, ctlRx, counters } from './core/layout';
import { recoverState } from './worker/recover';
import { GRE_TX_PACKETS } from './core/counters';
import { prodInit, setBenchMode, benchCommitCount } from './io/ring';
import { loadConfig, source, greLen, configured } from './core/config';
import { peersInit } from './forward/peers';
import { fibInit } from './forward/fib';
import { icmpReset } from './net/icmp';
import { outbound } from './forward/outbound';
import { inbound } from './forward/inbound';
import { greEncap, GRE_PROTO_IPV4 } from './gre/gre';
import { writeIpv4, seedIpId } from './net/ipv4';
export { poll, prepareSleep, finishSleep } from './worker/poll';
import { espSetup } from './esp/sa';
export { benchEspOutbound, benchEspInbound } from './bench/esp';

export function setup(layoutBase: u32): i32 {
  const r = readLayout(layoutBase);
  if (r != 0) return r;
  if (scratchSize < SCR_NEEDED || <usize>scratchSize < SCR_REDIRECT_END || <usize>scratchSize < SCR_MCAST_END) return -3;
  prodInit(scratch + SCR_PROD_TUNTX, tunTx);
  prodInit(scratch + SCR_PROD_NBMATX, nbmaTx);
  prodInit(scratch + SCR_PROD_CTLRX, ctlRx);
  memory.fill(scratch + SCR_NOENTRY, 0, <usize>SCR_NOENTRY_SLOTS * 8);
  peersInit();
  fibInit();
  recoverState(); // a restarted worker: skip the slot the last one died on, repair torn entries
  loadConfig();
  icmpReset(0);
  // IP ids go on from where a dead worker left them (greTxPackets advances with them).
  seedIpId((<u32>layoutBase ^ 0x5a5a) + <u32>load<u64>(counters + (<usize>GRE_TX_PACKETS << 3)));
  espSetup(layoutBase, scratchSize); // ESP off unless the layout has an SA table; rebuilds SA indexes
  return 0;
}

/** Writes a UDP/IPv4 packet of `len` bytes (>= 28) from `src` to `dst` at `p`. */
function buildUdp(p: usize, len: u32, src: u32, dst: u32): void {
  memory.fill(p + 20, 0x61, len - 20);
  writeIpv4(p, len, 0, 0, 64, 17, src, dst);
  store<u32>(p + 20, <u32>bswap<u16>(4000) | (<u32>bswap<u16>(5000) << 16));
  store<u32>(p + 24, <u32>bswap<u16>(<u16>(len - 20)));
}

/** Runs outbound() `count` times on one UDP packet of `packetLen` bytes to `dst`; returns outputs. */
export function benchOutbound(packetLen: i32, count: i32, dst: u32): i32 {
  const p = scratch + SCR_BENCH_IN;
  buildUdp(p, <u32>packetLen, 0x0aff0001, dst);
  setBenchMode(true);
  for (let i = 0; i < count; i++) outbound(p, <u32>packetLen);
  const n = benchCommitCount();
  setBenchMode(false);
  return <i32>n;
}

/**
 * Runs inbound() `count` times on one GRE packet from NBMA `src` to the tunnel source carrying a
 * UDP packet of `packetLen` bytes to `innerDst`; returns outputs.
 */
export function benchInbound(packetLen: i32, count: i32, src: u32, innerDst: u32): i32 {
  if (!configured) return -1;
  const p = scratch + SCR_BENCH_IN;
  const hdr: u32 = 20 + greLen;
  buildUdp(p + hdr, <u32>packetLen, 0x0aff0001, innerDst);
  const tot = greEncap(p, <u32>packetLen, GRE_PROTO_IPV4, source, 0, false);
  // greEncap writes outer src = tunnel source; make the outer source the peer.
  store<u32>(p, bswap<u32>(src), 12);
  store<u16>(p, 0, 10);
  writeIpv4(p, tot, 0, 0, 64, 47, src, source);
  setBenchMode(true);
  for (let i = 0; i < count; i++) inbound(47, src, p, tot);
  const n = benchCommitCount();
  setBenchMode(false);
  return <i32>n;
}
