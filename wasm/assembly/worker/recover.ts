// Worker restart (docs/dataplane.md "A data plane that heals itself"). Everything the data plane
// keeps between packets lives in the shared memory (tables, SAs with their sequence numbers, the
// tunnel state block, ring heads/tails, counters); a new instance of this module on the same memory
// only has to rebuild what is derived or private, and repair what a dead worker may have left half
// done:
//   - the input slot it was working on when it died (markInFlight) is skipped, not replayed: it may
//     be the packet or command that killed it, and a replayed SA_ADD would find its keys zeroed;
//   - a peer or SA entry whose seqlock `gen` is odd was being written: its gen is made even (readers
//     would spin on it), a torn SA is wiped (it can only be mid SA_ADD/SA_DEL, state still free);
//   - the nbma -> peer index and the peer count are rebuilt from the peer table.
// Module globals (layout pointers, config copy, hash shifts, rate limiters) are set again by setup().
import {
  scratch, ctlTx, tunRx, nbmaRx, peerTable, peerCapacity, tunnelState, counters, layoutBlock,
  RING_HEAD, RING_TAIL,
} from '../core/layout';
import { ringRelease } from '../io/ring';
import { TS_PEER_COUNT } from '../core/config';
import { peerIndexRebuild, PEER_SIZE } from '../forward/peers';
import { LB_SA_TABLE, LB_SA_CAPACITY, LB_ESP_RX, LB_UDP_RX, SA_SIZE, SA_GEN } from '../esp/defs';

/** Worker scratch: {ring u32, slot u32} of the input slot being processed (0 ring = none yet). */
export const SCR_INFLIGHT: usize = 256;

/** Global counters of this file (block from 160; HEAL_COUNTER_NAMES in appliance/dataplane/layout.ts). */
export const RESTART_SLOT_SKIPPED: u32 = 160; // input slots a dead worker was processing, skipped
export const RESTART_TORN_PEERS: u32 = 161;   // peer entries found mid-write (gen odd) at restart
export const RESTART_TORN_SAS: u32 = 162;     // SA entries found mid-write, wiped
export const RESTART_SETUPS: u32 = 163;       // setup() calls that found an earlier instance's work

/** Layout field (u32) the supervisor sets to 1 only when test hooks are enabled (TEST_TRAP). */
export const LB_TEST_HOOKS: usize = 248;

@inline function add(i: u32, n: u64): void {
  const a = counters + (<usize>i << 3);
  store<u64>(a, load<u64>(a) + n);
}

/** Records that slot `t` of input ring `r` is being processed (two plain stores per packet). */
@inline export function markInFlight(r: usize, t: u32): void {
  store<u32>(scratch + SCR_INFLIGHT, <u32>r);
  store<u32>(scratch + SCR_INFLIGHT, t, 4);
}

/** Called by setup() after the layout is read and the tables' hash parameters are set. */
export function recoverState(): void {
  const layoutBase = layoutBlock;
  const r = <usize>load<u32>(scratch + SCR_INFLIGHT);
  if (r == 0) return; // first start on this memory: nothing to repair
  add(RESTART_SETUPS, 1);
  skipInFlight(r, load<u32>(scratch + SCR_INFLIGHT, 4), layoutBase);
  repairPeers();
  repairSas(layoutBase);
}

function skipInFlight(r: usize, t: u32, base: usize): void {
  const known = r == ctlTx || r == tunRx || r == nbmaRx ||
    r == <usize>load<u32>(base + LB_ESP_RX) || r == <usize>load<u32>(base + LB_UDP_RX);
  if (!known) return;
  const tail = load<u32>(r, RING_TAIL);
  // Slot t is still unreleased (tail <= t < head): everything before it in the batch was done.
  if (t - tail < atomic.load<u32>(r, RING_HEAD) - tail) {
    ringRelease(r, t + 1);
    add(RESTART_SLOT_SKIPPED, 1);
  }
}

function repairPeers(): void {
  let live: u32 = 0;
  let torn: u64 = 0;
  for (let i: u32 = 0; i < peerCapacity; i++) {
    const e = peerTable + <usize>i * PEER_SIZE;
    const g = load<u32>(e, 12);
    if ((g & 1) != 0) { atomic.store<u32>(e, g + 1, 12); torn++; }
    const k = load<u32>(e);
    if (k != 0 && k != 0xffffffff) live++;
  }
  store<u32>(tunnelState, live, TS_PEER_COUNT);
  peerIndexRebuild();
  if (torn > 0) add(RESTART_TORN_PEERS, torn);
}

function repairSas(base: usize): void {
  const table = <usize>load<u32>(base + LB_SA_TABLE);
  const cap = load<u32>(base + LB_SA_CAPACITY);
  if (table == 0) return;
  let torn: u64 = 0;
  for (let i: u32 = 0; i < cap; i++) {
    const e = table + <usize>i * SA_SIZE;
    const g = load<u32>(e, SA_GEN);
    if ((g & 1) == 0) continue;
    // SA_ADD sets the state active last and SA_DEL sets it free first: a torn entry is free; wipe
    // the half-written secrets and close the seqlock.
    store<u32>(e, 0, 0);
    memory.fill(e + 8, 0, SA_SIZE - 8);
    atomic.store<u32>(e, g + 1, SA_GEN);
    torn++;
  }
  if (torn > 0) add(RESTART_TORN_SAS, torn);
}

/** TEST_TRAP (ctlTx kind 32): honoured only when the supervisor enabled test hooks in the layout. */
export function testTrap(): bool {
  if (load<u32>(layoutBlock + LB_TEST_HOOKS) != 1) return false;
  unreachable();
  return true;
}
