// A LogFn that lets at most `burst` warning-or-worse lines through per `windowMs` and then says how
// many it held back: what a protocol endpoint facing the Internet logs through, so that a flood of
// hostile datagrams (each one dropped with a reason) cannot flood the log. Debug lines are only
// produced when asked for and pass unlimited.
import type { LogFn } from '../log/log.js';

export function limitedLog(log: LogFn, burst = 20, windowMs = 10_000, now: () => number = Date.now): LogFn {
  let windowStart = -Infinity, used = 0, held = 0;
  return (level, msg) => {
    if (level === 'debug') return log(level, msg);
    const t = now();
    if (t - windowStart >= windowMs) {
      if (held) log('warn', `${held} more lines like these were not logged in the last ${Math.round((t - windowStart) / 1000)} s`);
      windowStart = t; used = 0; held = 0;
    }
    if (used++ < burst) log(level, msg); else held++;
  };
}
