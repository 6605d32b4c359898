// Time and timers are injected so the state machines run under fake clocks in tests.
export type TimerHandle = unknown;

export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

export interface Clock {
  /** milliseconds */
  now(): number;
  timers: Timers;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => {
    const h = setTimeout(fn, ms);
    h.unref?.(); // control-plane timers must not keep the process alive on their own
    return h;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export function makeClock(now?: () => number, timers?: Timers): Clock {
  return { now: now ?? (() => Date.now()), timers: timers ?? systemTimers };
}
