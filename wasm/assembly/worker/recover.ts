// Worker restart (docs/dataplane.md "A data plane that heals itself"). Everything the data plane
// keeps between packets lives in the shared memory (tables, SAs with their sequence numbers, the
// tunnel state block, ring heads/tails, counters); a new instance of this module on the same memory
// only has to rebuild what is derived or private, and repair what a dead worker may have left half
// done:
//   - the input slot it was working on when it died (markInFlight) is skipped, not replayed: it may
//     be the packet or command that killed it, and a replayed SA_ADD would find its keys zeroed;
//   - a peer or SA entry whose seqlock `gen` is odd was being written: its gen is made even (readers
//     would spin on it), a torn SA is wiped (it can only be mid SA_ADD/SA_DEL, state still free);
//   - the nbma -> peer index and the peer count are rebuilt from the peer table;
//   - an SA replay lock it held (it died inside the window update) is released.
// Module globals (layout pointers, config copy, hash shifts, rate limiters) are set again by setup().
import {
  scratch, ctlTx, tunRx, nbmaRx, nhrpRx, layoutField, RING_HEAD, RING_TAIL, SCRATCH_IN_FLIGHT, LB_SA_TABLE,
  LB_SA_CAPACITY, LB_ESP_RX, LB_UDP_RX, LB_IKE_RX, LB_TEST_HOOKS, TEST_HOOK_TRAP_COMMAND, TEST_HOOK_TRAP_NOW, SA_ENTRY_SIZE, SA_ENTRY_STATE, SA_ENTRY_GEN,
  SA_STATE_FREE, SA_ENTRY_DIR, COUNTER_RESTART_SLOT_SKIPPED, COUNTER_RESTART_TORN_PEERS, COUNTER_RESTART_TORN_SAS,
  COUNTER_RESTART_SETUPS,
} from '../core/layout';
import { count } from '../core/counters';
import { ringRelease } from '../io/ring';
import { saWipe } from '../esp/sa';
import { releaseReplayLock } from '../esp/replay';
import { peerRepair } from '../forward/peers';
import { tablesRepair } from '../core/tables';

const IN_FLIGHT_RING: usize = 0;
const IN_FLIGHT_SLOT: usize = 4;

/** Records that slot `t` of input ring `r` is being processed (two plain stores per packet). */
@inline export function markInFlight(r: usize, t: u32): void {
  store<u32>(scratch + SCRATCH_IN_FLIGHT, <u32>r, IN_FLIGHT_RING);
  store<u32>(scratch + SCRATCH_IN_FLIGHT, t, IN_FLIGHT_SLOT);
}

/**
 * Called by setup() after the layout is read and the tables' hash parameters are set. A worker > 0
 * (`owner` false) writes no table: it skips its own slot and releases the replay locks it held.
 */
export function recoverState(owner: bool): void {
  const r = <usize>load<u32>(scratch + SCRATCH_IN_FLIGHT, IN_FLIGHT_RING);
  if (r == 0) return; // first start on this memory: nothing to repair
  count(COUNTER_RESTART_SETUPS);
  skipInFlight(r, load<u32>(scratch + SCRATCH_IN_FLIGHT, IN_FLIGHT_SLOT));
  if (!owner) { releaseLocks(); return; }
  tablesRepair(); // it died inside a command: the other workers' lookups would wait on the seqlock
  const torn = peerRepair();
  if (torn > 0) count(COUNTER_RESTART_TORN_PEERS, torn);
  repairSas();
}

function skipInFlight(r: usize, t: u32): void {
  const known = r == ctlTx || r == tunRx || r == nbmaRx || (nhrpRx != 0 && r == nhrpRx) || r == layoutField(LB_ESP_RX) ||
    r == layoutField(LB_UDP_RX) || (layoutField(LB_IKE_RX) != 0 && r == layoutField(LB_IKE_RX));
  if (!known) return;
  const tail = load<u32>(r, RING_TAIL);
  // Slot t is still unreleased (tail <= t < head): everything before it in the batch was done.
  if (t - tail < atomic.load<u32>(r, RING_HEAD) - tail) {
    ringRelease(r, t + 1);
    count(COUNTER_RESTART_SLOT_SKIPPED);
  }
}

function releaseLocks(): void {
  const table = layoutField(LB_SA_TABLE);
  const cap = <u32>layoutField(LB_SA_CAPACITY);
  for (let i: u32 = 0; table != 0 && i < cap; i++) releaseReplayLock(table + <usize>i * SA_ENTRY_SIZE);
}

function repairSas(): void {
  const table = layoutField(LB_SA_TABLE);
  const cap = <u32>layoutField(LB_SA_CAPACITY);
  if (table == 0) return;
  let torn: u64 = 0;
  for (let i: u32 = 0; i < cap; i++) {
    const e = table + <usize>i * SA_ENTRY_SIZE;
    releaseReplayLock(e); // it died inside a replay window update: other workers would spin forever
    const g = load<u32>(e, SA_ENTRY_GEN);
    if ((g & 1) == 0) {
      // unlinked by an SA_DEL that was waiting for the other workers (esp/sa.ts saRemove) when this
      // worker's predecessor died: the wait is over (a restart takes far longer than a poll batch)
      if (load<u32>(e, SA_ENTRY_STATE) == SA_STATE_FREE && load<u32>(e, SA_ENTRY_DIR) != 0) saWipe(e);
      continue;
    }
    // SA_ADD sets the state active last and SA_DEL sets it free first: a torn entry is free; wipe
    // the half-written secrets and close the seqlock.
    store<u32>(e, SA_STATE_FREE, SA_ENTRY_STATE);
    saWipe(e);
    atomic.store<u32>(e, g + 1, SA_ENTRY_GEN);
    torn++;
  }
  if (torn > 0) count(COUNTER_RESTART_TORN_SAS, torn);
}

/** TEST_TRAP: honoured only when the supervisor enabled test hooks in the layout. */
export function testTrap(): bool {
  if ((layoutField(LB_TEST_HOOKS) & TEST_HOOK_TRAP_COMMAND) == 0) return false;
  unreachable();
  return true;
}

/**
 * A worker > 0 has no ctlTx for TEST_TRAP: with test hooks on, the supervisor asks it through its own
 * layout block (`test dataplane crash worker N`); it traps at its next poll as a bug would.
 */
export function testTrapRequested(): void {
  const h = layoutField(LB_TEST_HOOKS);
  if ((h & TEST_HOOK_TRAP_COMMAND) != 0 && (h & TEST_HOOK_TRAP_NOW) != 0) unreachable();
}
