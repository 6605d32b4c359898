// A factory box enrolling until the hub admits it: request, check, save; on a refusal, a pending
// approval or a network failure, wait and try again, the wait doubling from `baseMs` up to `capMs`
// (±20 % jitter, so a hub that comes back is not hit by every spoke in the same second). Nothing is
// saved unless the whole answer passes answerProblem(); the save is the caller's atomic write.
import type { KeyObject } from 'node:crypto';
import { requestEnrollment, answerProblem, EnrollError } from './client.js';
import type { Provisioning } from './provisioning.js';
import type { Level } from '../log/log.js';

export interface LoopOptions {
  log: (level: Level, mnemonic: string, text: string) => void;
  /** writes the startup-config atomically (throws when it cannot) */
  save: (configText: string) => void;
  baseMs?: number;
  capMs?: number;
  signal?: AbortSignal;
  /** one request's time limit */
  timeoutMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((res) => {
  const t = setTimeout(res, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); res(); }, { once: true });
});

/** Resolves with the admitted tunnel address once saved; undefined when aborted. */
export async function enrollUntilAdmitted(p: Provisioning, key: KeyObject, csrPem: string, o: LoopOptions): Promise<string | undefined> {
  const base = o.baseMs ?? 2000, cap = o.capMs ?? 300_000;
  let wait = base;
  for (let attempt = 1; !o.signal?.aborted; attempt++) {
    let why: string;
    let mnemonic = 'REFUSED';
    try {
      const a = await requestEnrollment(p, csrPem, o.timeoutMs);
      if (a.status === 'admitted') {
        const problem = answerProblem(a, key);
        if (!problem) {
          o.save(a.config);
          o.log('notice', 'ADMITTED', `enrolled with hub ${p.hub}: ${a.hostname}, tunnel address ${a.address}; startup-config saved`);
          return a.address;
        }
        why = `answer from ${p.hub} refused, nothing saved: ${problem}`;
      } else if (a.status === 'pending') {
        why = `hub ${p.hub}: ${a.message}`;
        o.log('info', 'PENDING', `${why}; asking again in ${Math.round(wait / 1000)} s`);
        await sleep(wait, o.signal);
        wait = Math.min(cap, wait * 2);
        continue;
      } else why = `hub ${p.hub} refused enrollment: ${a.reason}: ${a.message}`;
    } catch (e) {
      mnemonic = 'FAILED';
      why = e instanceof EnrollError ? e.message : `save failed: ${(e as Error).message}`;
    }
    const jittered = Math.round(wait * (0.8 + Math.random() * 0.4));
    o.log('error', mnemonic, `${why} (attempt ${attempt}); retrying in ${Math.round(jittered / 1000)} s`);
    await sleep(jittered, o.signal);
    wait = Math.min(cap, wait * 2);
  }
  return undefined;
}
