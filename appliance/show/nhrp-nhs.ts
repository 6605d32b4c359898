// `show ip nhrp nhs` formatter: one line per NHS with its IOS flags (E expecting replies, R
// responding, W waiting), configured priority and cluster, and request/reply counts.
import type { NhsStatus } from '../nhrp/registration-client.js';
import { iosTime } from './time.js';

export interface NhsView {
  iface: string;
  nhs: NhsStatus[];
  /** the configured priority and cluster of the NHS with tunnel address `ip` */
  configOf(ip: string | undefined): { priority?: number; cluster?: number } | undefined;
  now: number;
}

export function formatNhs(v: NhsView, json: boolean): string {
  if (json) return JSON.stringify(v.nhs) + '\n';
  const out = ['Legend: E=Expecting replies, R=Responding, W=Waiting', `${v.iface}:`];
  for (const s of v.nhs) {
    const cfg = v.configOf(s.tunnelIp);
    out.push(`${s.tunnelIp ?? 'dynamic'}  ${s.flags || ' '}  priority = ${cfg?.priority ?? 0}  cluster = ${cfg?.cluster ?? 0}  req-sent ${s.requestsSent}  req-failed ${s.requestsFailed}  repl-recv ${s.repliesReceived}` +
      (s.lastReplyAt !== undefined ? ` (${iosTime(Math.floor((v.now - s.lastReplyAt) / 1000))} ago)` : ''));
  }
  return out.join('\n') + '\n';
}
