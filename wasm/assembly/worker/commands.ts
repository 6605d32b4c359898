// ctlTx records (docs/dataplane.md "Control messages", "Commands"): NHRP_OUT is wrapped in GRE
// 0x2001 and sent; table commands are applied in ring order. Counted in cmdApplied / cmdBad.
import {
  scratch, nbmaTx, slotDataMax, SCRATCH_PROD_NBMA_TX, SLOT_DATA, CTL_OUT_CFG_TUNNEL, CTL_OUT_FIB_ADD,
  CTL_OUT_FIB_DEL, CTL_OUT_PEER_SET, CTL_OUT_PEER_DEL, CTL_OUT_FIB_FLUSH, CTL_OUT_PEER_FLUSH, CTL_OUT_MCAST_ADD,
  CTL_OUT_MCAST_DEL, CTL_OUT_MCAST_FLUSH, CTL_OUT_TEST_TRAP, CFG_TUNNEL_SIZE, FIB_ADD_PREFIX, FIB_ADD_PREFIX_LEN,
  FIB_ADD_NEXT_HOP, FIB_ADD_SIZE, FIB_DEL_PREFIX, FIB_DEL_PREFIX_LEN, FIB_DEL_SIZE, PEER_SET_TUNNEL_IP,
  PEER_SET_NBMA, PEER_SET_FLAGS, PEER_SET_SIZE, PEER_DEL_TUNNEL_IP, PEER_DEL_SIZE, MCAST_ADD_NBMA, MCAST_ADD_SIZE,
  MCAST_DEL_NBMA, MCAST_DEL_SIZE, COUNTER_CMD_APPLIED, COUNTER_CMD_BAD, COUNTER_NHRP_OUT, COUNTER_GRE_TX_PACKETS,
  COUNTER_DROP_CTL_TOO_BIG, COUNTER_DROP_NO_TUNNEL,
} from '../core/layout';
import { count, countPkt } from '../core/counters';
import { copyBytes } from '../core/mem';
import * as cfg from '../core/config';
import { prodReserve } from '../io/ring';
import { IPV4_HDR_LEN, TOS_INTERNETWORK_CONTROL } from '../net/defs';
import { greEncap } from '../gre/gre';
import { GRE_PROTO_NHRP } from '../gre/defs';
import { isEspCommand, espCommand } from '../esp/commands';
import { saPending } from '../esp/sa';
import { tablesWriteBegin, tablesWriteEnd } from '../core/tables';
import { fibAdd, fibDel, fibFlush } from '../forward/fib';
import { peerSet, peerDel, peerFlush } from '../forward/peers';
import { mcastAdd, mcastDel, mcastFlush } from '../forward/multicast';
import { greCommit } from '../forward/xmit';
import { testTrap } from './recover';

/** Sends an NHRP packet (`len` bytes at `p`) to NBMA `dst` in GRE 0x2001; `sa` = outbound SA hint. */
export function sendNhrp(p: usize, len: u32, dst: u32, sa: u32): void {
  if (!cfg.configured) { count(COUNTER_DROP_NO_TUNNEL); return; }
  if (IPV4_HDR_LEN + cfg.greLen + len > slotDataMax(nbmaTx)) { count(COUNTER_DROP_CTL_TOO_BIG); return; }
  const st = scratch + SCRATCH_PROD_NBMA_TX;
  const slot = prodReserve(st);
  if (slot == 0) return;
  const d = slot + SLOT_DATA;
  copyBytes(d + IPV4_HDR_LEN + cfg.greLen, p, len);
  const outer = greEncap(d, len, GRE_PROTO_NHRP, dst, TOS_INTERNETWORK_CONTROL, false);
  if (!greCommit(st, slot, outer, dst, sa)) return;
  count(COUNTER_NHRP_OUT);
  countPkt(COUNTER_GRE_TX_PACKETS, outer);
}

/**
 * Runs one table command; `d` points at its record, `len` bytes. False if it must wait (an SA entry
 * another worker may still use, esp/sa.ts saRemove): the slot stays queued and is run again. With
 * several workers the tables' seqlock is odd meanwhile (core/tables.ts), but for TEST_TRAP, which
 * must not leave it odd behind.
 */
export function runCommand(kind: u32, d: usize, len: u32): bool {
  const write = kind != CTL_OUT_TEST_TRAP;
  if (write) tablesWriteBegin();
  const ok = applyCommand(kind, d, len);
  if (write) tablesWriteEnd();
  if (saPending) return false;
  count(ok ? COUNTER_CMD_APPLIED : COUNTER_CMD_BAD);
  return true;
}

/** Applies one command (a trap here is logged as worker/commands/applyCommand). */
function applyCommand(kind: u32, d: usize, len: u32): bool {
  let ok = false;
  if (kind == CTL_OUT_CFG_TUNNEL) {
    ok = len >= CFG_TUNNEL_SIZE && cfg.applyCfgTunnel(d);
  } else if (kind == CTL_OUT_FIB_ADD) {
    ok = len >= FIB_ADD_SIZE && fibAdd(load<u32>(d, FIB_ADD_PREFIX), load<u32>(d, FIB_ADD_PREFIX_LEN), load<u32>(d, FIB_ADD_NEXT_HOP), 0);
  } else if (kind == CTL_OUT_FIB_DEL) {
    // deleting an absent route is not an error (idempotent)
    if (len >= FIB_DEL_SIZE && load<u32>(d, FIB_DEL_PREFIX_LEN) <= 32) {
      fibDel(load<u32>(d, FIB_DEL_PREFIX), load<u32>(d, FIB_DEL_PREFIX_LEN)); ok = true;
    }
  } else if (kind == CTL_OUT_PEER_SET) {
    ok = len >= PEER_SET_SIZE && peerSet(load<u32>(d, PEER_SET_TUNNEL_IP), load<u32>(d, PEER_SET_NBMA), load<u32>(d, PEER_SET_FLAGS));
  } else if (kind == CTL_OUT_PEER_DEL) {
    if (len >= PEER_DEL_SIZE) { peerDel(load<u32>(d, PEER_DEL_TUNNEL_IP)); ok = true; }
  } else if (kind == CTL_OUT_FIB_FLUSH) {
    fibFlush(); ok = true;
  } else if (kind == CTL_OUT_PEER_FLUSH) {
    peerFlush(); ok = true;
  } else if (kind == CTL_OUT_MCAST_ADD) {
    ok = len >= MCAST_ADD_SIZE && mcastAdd(load<u32>(d, MCAST_ADD_NBMA));
  } else if (kind == CTL_OUT_MCAST_DEL) {
    if (len >= MCAST_DEL_SIZE) { mcastDel(load<u32>(d, MCAST_DEL_NBMA)); ok = true; }
  } else if (kind == CTL_OUT_MCAST_FLUSH) {
    mcastFlush(); ok = true;
  } else if (kind == CTL_OUT_TEST_TRAP) {
    ok = testTrap();
  } else if (isEspCommand(kind)) {
    ok = espCommand(kind, d, len);
  }
  return ok;
}
