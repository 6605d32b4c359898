// The supervisor's part in the crypto lanes (docs/dataplane.md "One SA on several cores"): when a
// worker dies, the jobs it had claimed in any worker's lane (state CLAIMED | its index) will never be
// finished, and their owners wait for them before they publish. The successor's setup() fails them too
// (wasm/assembly/esp/lane.ts laneRecover), but a crash loop may delay it by up to 30 s; failing them at
// the death lets the owners go on at once (each zeroes the slot: nothing of its plaintext is sent).
// Safe because the dead worker runs no more code and its successor starts only after this returns.
import { SCRATCH, CRYPTO_LANE, CRYPTO_JOB, JOB_STATE } from './abi.js';
import type { Layout } from './layout.js';

/** Marks FAILED every job `worker` had claimed; returns how many (an exact count: one CAS each). */
export function failClaimedJobs(buffer: ArrayBufferLike, l: Pick<Layout, 'scratch' | 'scratchSize' | 'workers'>, worker: number): number {
  if (l.scratchSize < SCRATCH.cryptoLaneEnd || l.workers < 2) return 0;
  const u32 = new Uint32Array(buffer);
  const claimed = (JOB_STATE.CLAIMED | worker) >>> 0;
  let failed = 0;
  for (let w = 0; w < l.workers; w++) {
    const lane = l.scratch + w * l.scratchSize + SCRATCH.cryptoLane;
    for (let j = 0; j < CRYPTO_LANE.jobCount; j++) {
      const state = (lane + CRYPTO_LANE.jobs + j * CRYPTO_JOB.size + CRYPTO_JOB.state) >>> 2;
      if (Atomics.compareExchange(u32, state, claimed, JOB_STATE.FAILED) !== claimed) continue;
      Atomics.sub(u32, (lane + CRYPTO_LANE.pending) >>> 2, 1);
      failed++;
    }
  }
  return failed;
}
