// ctlTx messages (docs/dataplane.md "Control messages", "Commands"): NHRP_OUT is wrapped in GRE
// 0x2001 and sent; table commands are applied in ring order. Counted in cmdApplied / cmdBad.
import { mcastAdd, mcastDel, mcastFlush } from '../forward/multicast';
import { copyBytes } from '../core/mem';
import { scratch, SCR_PROD_NBMATX, nbmaTx, slotDataMax } from '../core/layout';
import { prodReserve, prodCommit, SLOT_HEADER } from '../io/ring';
import { greEncap, GRE_PROTO_NHRP } from '../gre/gre';
import { fibAdd, fibDel, fibFlush } from '../forward/fib';
import { peerSet, peerDel, peerFlush } from '../forward/peers';
import * as cfg from '../core/config';
import { testTrap } from './recover';
import { greCommit, espCommand } from '../esp/input';
import {
  count, countPkt, CMD_APPLIED, CMD_BAD, NHRP_OUT, GRE_TX_PACKETS, DROP_CTL_TOO_BIG, DROP_NO_TUNNEL,
} from '../core/counters';

export const K_NHRP_OUT: u32 = 1;
export const K_CFG_TUNNEL: u32 = 16;
export const K_FIB_ADD: u32 = 17;
export const K_FIB_DEL: u32 = 18;
export const K_PEER_SET: u32 = 19;
export const K_PEER_DEL: u32 = 20;
export const K_FIB_FLUSH: u32 = 21;
export const K_PEER_FLUSH: u32 = 22;
export const K_MCAST_ADD: u32 = 23;
export const K_MCAST_DEL: u32 = 24;
export const K_MCAST_FLUSH: u32 = 25;
/** Test hook: trap the worker (refused unless the supervisor enabled test hooks; recover.ts). */
export const K_TEST_TRAP: u32 = 32;

/** Sends an NHRP packet (`len` bytes at `p`) to NBMA `dst` in GRE 0x2001. */
export function sendNhrp(p: usize, len: u32, dst: u32, sa: u32 = 0): void {
  if (!cfg.configured) { count(DROP_NO_TUNNEL); return; }
  if (<u32>20 + cfg.greLen + len > slotDataMax(nbmaTx)) { count(DROP_CTL_TOO_BIG); return; }
  const st = scratch + SCR_PROD_NBMATX;
  const slot = prodReserve(st);
  if (slot == 0) return;
  const d = slot + SLOT_HEADER;
  copyBytes(d + 20 + cfg.greLen, p, len);
  const outer = greEncap(d, len, GRE_PROTO_NHRP, dst, 0xc0, false);
  if (!greCommit(st, slot, outer, dst, sa)) return;
  count(NHRP_OUT);
  countPkt(GRE_TX_PACKETS, outer);
}

/** Applies one table command; `d` points at its u32 fields, `len` bytes. */
export function applyCommand(kind: u32, d: usize, len: u32): void {
  let ok = false;
  if (kind == K_CFG_TUNNEL) {
    ok = len >= 40 && cfg.applyCfgTunnel(d);
  } else if (kind == K_FIB_ADD) {
    ok = len >= 12 && fibAdd(load<u32>(d), load<u32>(d, 4), load<u32>(d, 8), 0);
  } else if (kind == K_FIB_DEL) {
    // deleting an absent route is not an error (idempotent)
    if (len >= 8 && load<u32>(d, 4) <= 32) { fibDel(load<u32>(d), load<u32>(d, 4)); ok = true; }
  } else if (kind == K_PEER_SET) {
    ok = len >= 12 && peerSet(load<u32>(d), load<u32>(d, 4), load<u32>(d, 8));
  } else if (kind == K_PEER_DEL) {
    if (len >= 4) { peerDel(load<u32>(d)); ok = true; }
  } else if (kind == K_FIB_FLUSH) {
    fibFlush(); ok = true;
  } else if (kind == K_PEER_FLUSH) {
    peerFlush(); ok = true;
  } else if (kind == K_MCAST_ADD) {
    ok = len >= 4 && mcastAdd(load<u32>(d));
  } else if (kind == K_MCAST_DEL) {
    if (len >= 4) { mcastDel(load<u32>(d)); ok = true; }
  } else if (kind == K_MCAST_FLUSH) {
    mcastFlush(); ok = true;
  } else if (kind == K_TEST_TRAP) {
    ok = testTrap();
  } else if (kind >= 26 && kind <= 31) {
    ok = espCommand(kind, d, len); // SA_ADD, SA_DEL, KEEPALIVE, IKE_OUT, SA_PAIR, SA_LIMIT (esp/esp.ts)
  }
  count(ok ? CMD_APPLIED : CMD_BAD);
}
