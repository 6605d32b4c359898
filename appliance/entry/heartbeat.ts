// The supervisor's side of the hardware-watchdog liveness check (appliance/entry/hardware-watchdog.ts):
// when started by dmvpnd's watchdog with an IPC channel, send it a heartbeat from the event loop every
// second. The beat comes from a timer on the main loop on purpose: a loop that hangs sends nothing.
// The channel does not keep the process alive (unref), and a watchdog that went away is its own check
// (dmvpnd.ts stops when its parent changes).
export const HEARTBEAT = 'heartbeat';
const EVERY_MS = 1000;

/** Starts the beat; called once (dmvpnd.ts). */
export function startHeartbeat(): void {
  if (!process.send || !process.channel) return;
  const beat = () => { if (process.connected) process.send!(HEARTBEAT, undefined, undefined, () => undefined); };
  beat();
  setInterval(beat, EVERY_MS).unref();
  process.channel.unref();
}
