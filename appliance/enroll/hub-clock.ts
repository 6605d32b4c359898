// The clock of a factory box, set from the hub's enrollment answer before the box loads the certificates
// it was given: a box fresh from the shelf may think it is 1970 (no RTC battery) and would find every
// certificate not yet valid. The answer's time is the hub's, carried inside TLS to the pinned hub key, so
// it is as trusted as the configuration it comes with. A time no sane hub sends (before this software
// existed, or absurdly far ahead) is refused: a hub whose clock is that wrong would also have issued
// certificates with such dates, and stepping a clock there would break more than it fixes.
import type { Level } from '../log/log.js';

/** the clock is stepped when it is off by more than this: the hub's time is some TLS round trips old when
 *  it arrives, with no delay correction (NTP has one, and ntp-client.ts steps beyond 128 ms) */
export const CLOCK_STEP_MS = 60_000;
/** no hub answers from before this software was written */
export const EARLIEST_HUB_TIME = Date.UTC(2026, 0, 1);
/** nor from after this */
export const LATEST_HUB_TIME = Date.UTC(2100, 0, 1);

export type ClockDecision = { step: number } | { keep: number } | { refused: string };

/** What to do with the hub's time `hubMs` when the local clock reads `localMs`. */
export function decideClock(hubMs: number, localMs: number): ClockDecision {
  if (!Number.isSafeInteger(hubMs) || hubMs < EARLIEST_HUB_TIME || hubMs >= LATEST_HUB_TIME) {
    const shown = Number.isSafeInteger(hubMs) && Math.abs(hubMs) < 8.64e15 ? new Date(hubMs).toISOString() : String(hubMs).slice(0, 24);
    return { refused: `the hub's time ${shown} is outside ${new Date(EARLIEST_HUB_TIME).toISOString().slice(0, 10)} - ${new Date(LATEST_HUB_TIME).toISOString().slice(0, 10)}` };
  }
  const offset = hubMs - localMs;
  return Math.abs(offset) > CLOCK_STEP_MS ? { step: offset } : { keep: offset };
}

export interface HubClockOptions {
  /** steps the clock by this many ms; undefined when the box may not set its clock (the host owns it) */
  setClock?: (offsetMs: number) => Promise<void>;
  now?: () => number;
  log: (level: Level, mnemonic: string, text: string) => void;
}

/** Applies the hub's time from an answer (undefined when the hub sent none: an older hub). */
export async function followHubClock(hubMs: number | undefined, o: HubClockOptions): Promise<void> {
  if (hubMs === undefined) return;
  const now = o.now ?? Date.now;
  const local = now();
  const d = decideClock(hubMs, local);
  if ('refused' in d) { o.log('error', 'CLOCK', `${d.refused}: clock not set from it`); return; }
  if ('keep' in d) return;
  const secs = Math.round(d.step / 1000);
  if (!o.setClock) { o.log('warn', 'CLOCK', `the clock is ${secs} s off the hub's; not set (this box does not own its clock)`); return; }
  await o.setClock(d.step);
  // the setter reports no failure (date -s): the clock itself says whether it moved
  const after = now();
  if (Math.abs(hubMs - after) > CLOCK_STEP_MS + Math.max(0, after - local)) { o.log('error', 'CLOCK', `the clock could not be stepped to the hub's time ${new Date(hubMs).toISOString()} (it reads ${new Date(after).toISOString()})`); return; }
  o.log('notice', 'CLOCK', `clock stepped by ${secs} s to the hub's time ${new Date(hubMs).toISOString()} (was ${new Date(local).toISOString()})`);
}
