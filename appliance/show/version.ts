// `show version` formatter: firmware and runtime, uptime, and the watchdog's restarts of the supervisor.
import { iosTime } from './time.js';

export interface VersionView {
  nodeVersion: string;
  hostname: string;
  uptimeSeconds: number;
  /** supervisor restarts by its watchdog (appliance/entry/watchdog.ts), and why the last one was */
  restarts: number;
  lastCrash?: string;
}

export function formatVersion(v: VersionView): string {
  const watchdog = v.restarts ? `Supervisor restarted ${v.restarts} times by its watchdog (last: ${v.lastCrash})\n` : '';
  return `DMVPN appliance firmware, node ${v.nodeVersion}\n${v.hostname} uptime is ${iosTime(v.uptimeSeconds)}\n${watchdog}`;
}
