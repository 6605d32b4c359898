// `show ip nhrp traffic` formatter: NHRP packets sent, received, dropped and refused, by type or
// reason, under the IOS header with the max-send budget use.
import type { NhrpCounters } from '../nhrp/engine.js';

export function formatNhrpTraffic(iface: string, sendUsagePercent: number, c: NhrpCounters, json: boolean): string {
  if (json) return JSON.stringify(c) + '\n';
  const line = (title: string, m: Record<string, number>) =>
    `${title}: ` + (Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${v} ${k}`).join(', ') : 'none');
  return [`${iface}: Max-send limit:100Pkts/10Sec, Usage:${sendUsagePercent}%`,
    '   ' + line('Sent', c.out), '   ' + line('Rcvd', c.in), '   ' + line('Dropped', c.drops),
    '   ' + line('Refused', c.refused)].join('\n') + '\n';
}
