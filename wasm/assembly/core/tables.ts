// Tables written by worker 0 and read by every worker (docs/dataplane.md "Every core forwards").
//
// Worker 0 alone applies commands, so every table (FIB, peer table, the nbma -> peer and SPI/outbound
// SA indexes, the multicast list) has one writer. Its writes move entries (backward-shift deletion)
// and reuse them, which a reader on another core must not see half done:
//   - a seqlock over all of them, `tableGen` in the tunnel state block: worker 0 makes it odd for the
//     duration of each command; a reader on another worker repeats a lookup that saw it odd or saw it
//     change. Commands are rare next to packets, so a retry is rare and costs one lookup;
//   - SA entries are looked up in one place and then used for a whole packet (keys, sequence number,
//     replay window): an SA removed by worker 0 is unlinked at once (state free, out of the indexes),
//     but its keys are wiped (and the index may be given to a new SA) only after every other worker
//     has started a new poll batch since, or sleeps (quiescent-state epochs: `epoch` in the tunnel
//     state block, each worker's last seen epoch in its scratch). No worker keeps a reference to an
//     SA across batches.
// With one worker none of this runs: worker 0 never retries and never waits.
import {
  tunnelState, scratch, scratchSize, workerIndex, workerCount, TUNNEL_STATE_TABLE_GEN, TUNNEL_STATE_EPOCH,
  SCRATCH_EPOCH, EPOCH_IDLE, LB_SCRATCH, layoutField,
} from './layout';

/**
 * A reader whose lookups keep meeting a write spins READ_SPINS times, then sleeps READ_WAIT_NS at a
 * time on the seqlock word, up to READ_WAITS times (0.2 s in all). A bound in time, not in tries: on a
 * loaded machine the scheduler may take worker 0 off its core in the middle of a command for
 * milliseconds, and 65536 bare spins (about 3 ms) gave up on it: a registered peer's GRE was dropped
 * as dropUnknownPeer (test/integration-workers.test.ts found it). A worker 0 that died inside a command
 * leaves the seqlock odd until its successor's setup() closes it: the lookup then misses after the
 * bound (the packet is dropped and counted as such) rather than waiting without end.
 */
export const READ_SPINS: u32 = 1 << 12;
export const READ_WAIT_NS: i64 = 100_000;
export const READ_WAITS: u32 = 2000;

/** True on a worker that reads tables another worker writes (any but worker 0). */
@inline export function sharedReader(): bool { return workerIndex != 0; }

/** Worker 0, around each command that may change a table (only with more than one worker). */
@inline export function tablesWriteBegin(): void {
  if (workerCount > 1) atomic.add<u32>(tunnelState + TUNNEL_STATE_TABLE_GEN, 1);
}
@inline export function tablesWriteEnd(): void {
  if (workerCount > 1) atomic.add<u32>(tunnelState + TUNNEL_STATE_TABLE_GEN, 1);
}

/** A worker 0 restarted after dying inside a command: closes the seqlock it left open. */
export function tablesRepair(): void {
  const g = atomic.load<u32>(tunnelState + TUNNEL_STATE_TABLE_GEN);
  if ((g & 1) != 0) atomic.store<u32>(tunnelState + TUNNEL_STATE_TABLE_GEN, g + 1);
}

/** Reader: the seqlock's value to check with tablesStable(), odd if a write is open (retry). */
@inline export function tablesGen(): u32 { return atomic.load<u32>(tunnelState + TUNNEL_STATE_TABLE_GEN); }
/** Reader: no write opened or ran since tablesGen() returned `g` (an even value). */
@inline export function tablesStable(g: u32): bool {
  return (g & 1) == 0 && atomic.load<u32>(tunnelState + TUNNEL_STATE_TABLE_GEN) == g;
}

/**
 * `look(key)` on a consistent view of the tables: on worker 0 (the writer) a plain call; on another
 * worker repeated while a command is being applied or ran meanwhile; `miss` if that never ends
 * (the bound above). `look` must be a plain function of its key (tables and module globals only).
 */
export function tablesRead<T>(look: (key: u32) => T, key: u32, miss: T): T {
  if (!sharedReader()) return look(key);
  for (let n: u32 = 0; n < READ_SPINS + READ_WAITS; n++) {
    const g = tablesGen();
    if ((g & 1) != 0) {
      // workers > 0 run in worker threads, where a wait may block (never on Node's main thread)
      if (n >= READ_SPINS) atomic.wait<i32>(tunnelState + TUNNEL_STATE_TABLE_GEN, <i32>g, READ_WAIT_NS);
      continue;
    }
    const v = look(key);
    if (tablesStable(g)) return v;
  }
  return miss;
}

// ---- quiescent-state epochs (SA reuse) ----

@inline function epochWord(worker: u32): usize {
  return layoutField(LB_SCRATCH) + <usize>worker * <usize>scratchSize + SCRATCH_EPOCH;
}

/** A worker > 0 at the start of each poll batch: from here it may take SA references again. */
@inline export function epochEnter(): void {
  if (workerIndex != 0) atomic.store<u32>(scratch + SCRATCH_EPOCH, atomic.load<u32>(tunnelState + TUNNEL_STATE_EPOCH));
}

/** A worker > 0 going to sleep (or set up): it holds no SA reference until its next epochEnter(). */
@inline export function epochLeave(): void {
  if (workerIndex != 0) atomic.store<u32>(scratch + SCRATCH_EPOCH, EPOCH_IDLE);
}

/** Worker 0, after unlinking an SA: the epoch every other worker must reach before it is reused. */
export function epochAdvance(): u32 {
  let e = atomic.add<u32>(tunnelState + TUNNEL_STATE_EPOCH, 1) + 1;
  if (e == EPOCH_IDLE) e = atomic.add<u32>(tunnelState + TUNNEL_STATE_EPOCH, 1) + 1; // never the idle mark
  return e;
}

/** Worker 0: every other worker has begun a batch at epoch `e` or later, or holds nothing (idle). */
export function epochPassed(e: u32): bool {
  for (let i: u32 = 1; i < workerCount; i++) {
    const seen = atomic.load<u32>(epochWord(i));
    if (seen != EPOCH_IDLE && <i32>(seen - e) < 0) return false;
  }
  return true;
}
