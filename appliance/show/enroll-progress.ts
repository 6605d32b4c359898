// `show dmvpn enrollment` on a factory box while it enrolls (enroll/enroll-progress.ts): the hub's form of
// the command (supervisor/exec-enroll.ts) lists who it admitted; this one says what this box is doing,
// what the hub said last and when it asks again, in the hub's wording of reasons (bad-token, ...).
import type { EnrollProgressView, EnrollPhase } from '../enroll/enroll-progress.js';
import { iosTime } from './time.js';

const PHASE: Record<EnrollPhase, string> = {
  starting: 'starting',
  locating: 'looking for the hub',
  requesting: 'asking the hub',
  waiting: 'waiting before the next attempt',
  admitted: 'admitted: starting from the saved startup-config',
  stopped: 'stopped by the operator',
};

const secs = (ms: number) => iosTime(Math.max(0, Math.round(ms / 1000)));

export function formatEnrollProgress(v: EnrollProgressView, json: boolean, now = Date.now()): string {
  if (json) return JSON.stringify({ ...v, now }, null, 1) + '\n';
  const next = v.phase === 'waiting' && v.nextAt !== undefined ? `, next attempt in ${secs(v.nextAt - now)}` : '';
  const out = [`Zero-touch enrollment: ${PHASE[v.phase]}${next} (attempt ${v.attempt}, for ${secs(now - v.started)})`];
  out.push(`  Token: ${v.token}   Device key: ${v.deviceKey}`);
  out.push(`  Hub: ${v.hub ? `${v.hub.hub} port ${v.hub.port} (source: ${v.hub.source})` : 'not found yet'}`);
  if (v.address) out.push(`  Tunnel address: ${v.address}`);
  if (v.last) out.push(`  Last result (${secs(now - v.last.at)} ago): ${v.last.kind}: ${v.last.text}`);
  if (v.phase !== 'admitted' && v.phase !== 'stopped') {
    out.push('', 'No startup-config yet: the box runs no tunnel until the hub admits it.',
      '  dmvpn enrollment retry   ask the hub again now', '  dmvpn enrollment stop    stop enrolling and start the factory default (configure by hand)');
  }
  return out.join('\n') + '\n';
}
