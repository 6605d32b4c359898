// dmvpnd exit codes, shared by the supervisor (appliance/entry/dmvpnd.ts) and its watchdog
// (appliance/entry/watchdog.ts), which restarts only what a restart can fix.
export const EXIT = {
  /** stopped on request (SIGTERM/SIGINT), or --help */
  STOPPED: 0,
  /** the startup-config (or the system it names) was refused before anything was applied: not restarted */
  REFUSED: 1,
  /** bad command line: not restarted */
  USAGE: 2,
  /** `reload` in a supervisor not running on the image: its watchdog restarts it at once from the
   *  startup-config (not counted as a crash) */
  RELOAD: 3,
  /** a factory box's enrollment stopped by its operator (`dmvpn enrollment stop`), nothing saved: not
   *  restarted; the image's init starts the factory default (docs/enrollment.md) */
  ENROLL_STOPPED: 4,
  /** a supervisor bug (uncaught exception or rejection, internal error at start): restarted */
  SOFTWARE: 70,
} as const;

/** Whether the watchdog restarts a supervisor that ended this way (and was not asked to stop). */
export const restartable = (code: number | null, signal: NodeJS.Signals | null) =>
  signal !== null || (code !== EXIT.STOPPED && code !== EXIT.REFUSED && code !== EXIT.USAGE && code !== EXIT.ENROLL_STOPPED);
