// A factory box enrolling until the hub admits it: find the hub, request, check, set the clock, save; on
// no hub found, a refusal, a pending approval or a network failure, wait and try again, the wait
// doubling from `baseMs` up to `capMs` (±20 % jitter, so a hub that comes back is not hit by every spoke
// in the same second). The hub is looked up again on every attempt (a DHCP lease may arrive or change).
// Nothing is saved unless the whole answer passes answerProblem(); the save is the caller's atomic write.
// An observer (enroll-progress.ts, what the console shows meanwhile) hears every step and owns the wait
// between attempts, so the operator can cut a wait short or stop the loop.
import type { KeyObject } from 'node:crypto';
import type { LoopObserver } from './enroll-progress.js';
import { requestEnrollment, answerProblem, EnrollError } from './client.js';
import type { Provisioning } from './provisioning.js';
import type { FoundHub } from './discovery.js';
import type { Level } from '../log/log.js';

export interface LoopOptions {
  log: (level: Level, mnemonic: string, text: string) => void;
  /** where the hub is (discovery.ts), or why it is not known yet */
  locate: () => Promise<FoundHub | string>;
  /** sets the clock from the hub's time in an answer that passed its checks, before it is saved */
  followClock?: (hubMs: number | undefined) => Promise<void>;
  /** writes the startup-config atomically (throws when it cannot) */
  save: (configText: string) => void;
  baseMs?: number;
  capMs?: number;
  /** hears every step, owns the waits; its signal stops the loop (without one: plain timers) */
  observer?: LoopObserver;
  /** one request's time limit */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Resolves with the admitted tunnel address once saved; undefined when the observer stopped it. */
export async function enrollUntilAdmitted(p: Provisioning, key: KeyObject, csrPem: string, o: LoopOptions): Promise<string | undefined> {
  const base = o.baseMs ?? 2000, cap = o.capMs ?? 300_000;
  const obs = o.observer;
  const pause = obs ? (ms: number) => obs.wait(ms) : sleep;
  let wait = base;
  let lastHub = '';
  for (let attempt = 1; !obs?.signal.aborted; attempt++) {
    let why: string;
    let mnemonic = 'REFUSED';
    obs?.attempt(attempt);
    const found = await o.locate();
    // stopped while the hub was looked up: no request is sent
    if (obs?.signal.aborted) break;
    if (typeof found === 'string') {
      why = found;
      mnemonic = 'NO_HUB';
    } else try {
      const where = `${found.hub} port ${found.port} (source: ${found.source})`;
      if (where !== lastHub) o.log('notice', 'HUB', `enrolling with hub ${where}`);
      lastHub = where;
      obs?.requesting(found);
      const hub = found.hub;
      const a = await requestEnrollment({ ...p, hub, port: found.port }, csrPem, o.timeoutMs);
      if (a.status === 'admitted') {
        const problem = answerProblem(a, key);
        if (!problem) {
          await o.followClock?.(a.time);
          o.save(a.config);
          o.log('notice', 'ADMITTED', `enrolled with hub ${hub}: ${a.hostname}, tunnel address ${a.address}; startup-config saved`);
          obs?.admitted(a.address);
          return a.address;
        }
        why = `answer from ${hub} refused, nothing saved: ${problem}`;
      } else if (a.status === 'pending') {
        why = `hub ${hub}: ${a.message}`;
        obs?.result('pending', why);
        if (obs?.signal.aborted) break;
        o.log('info', 'PENDING', `${why}; asking again in ${Math.round(wait / 1000)} s`);
        await pause(wait);
        wait = Math.min(cap, wait * 2);
        continue;
      } else if (a.status === 'refused') why = `hub ${hub} refused enrollment: ${a.reason}: ${a.message}`;
      else why = `hub ${hub} answered with a renewal, not an enrollment`;
    } catch (e) {
      mnemonic = 'FAILED';
      why = e instanceof EnrollError ? e.message : `save failed: ${(e as Error).message}`;
    }
    obs?.result(mnemonic === 'NO_HUB' ? 'no-hub' : mnemonic === 'FAILED' ? 'failed' : 'refused', why);
    if (obs?.signal.aborted) { o.log('error', mnemonic, `${why} (attempt ${attempt})`); break; }
    const jittered = Math.round(wait * (0.8 + Math.random() * 0.4));
    o.log('error', mnemonic, `${why} (attempt ${attempt}); retrying in ${Math.round(jittered / 1000)} s`);
    await pause(jittered);
    wait = Math.min(cap, wait * 2);
  }
  return undefined;
}
