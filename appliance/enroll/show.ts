// `show dmvpn enrollment`: the listener (port and the pin spokes' provisioning files carry, or why it is
// not listening), counters, then the admitted device keys, the pending ones and the recent refusals
// with their reasons. Keys are shown as the first 16 hex digits of their SHA-256 (enough for `dmvpn
// enrollment approve`); never a secret.
import type { EnrollmentView } from './server.js';
import { shortKey } from './service.js';

const age = (now: number, at: number) => { const s = Math.max(0, Math.round((now - at) / 1000)); return s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`; };

export function formatEnrollment(v: EnrollmentView, json: boolean, now = Date.now()): string {
  if (json) return JSON.stringify(v, null, 1) + '\n';
  const c = v.counters;
  const out = [v.listening ? `Enrollment server: listening on ${v.listening.address} TCP ${v.listening.port}, approval ${v.approval}${v.pool ? `, pool ${v.pool.start} - ${v.pool.end}` : ''}` : `Enrollment server: not listening: ${v.notListening}`];
  if (v.listening) out.push(`  Hub key pin: ${v.listening.pin}`);
  out.push(`  Requests ${c.requests}: admitted ${c.admitted}, again ${c.readmitted}, pending ${c.pending}, refused ${c.refused} (bad request ${c.badRequest}, too large ${c.tooLarge}); dropped: rate ${c.rateLimited}, busy ${c.busy}, timeout ${c.timeouts}, TLS ${c.tlsErrors}`);
  out.push('', 'Admitted:', '  Device key        Tunnel address   Hostname                Token         Since');
  for (const b of v.admitted) out.push(`  ${shortKey(b.key).padEnd(18)}${b.address.padEnd(17)}${b.hostname.padEnd(24)}${b.token.padEnd(14)}${b.admitted}`);
  out.push('', 'Pending:', '  Device key        From             Token         Waiting  State');
  for (const p of v.pending) out.push(`  ${shortKey(p.key).padEnd(18)}${p.from.padEnd(17)}${p.token.padEnd(14)}${age(now, p.since).padEnd(9)}${p.approved ? 'approved' : 'waiting for approval'}`);
  out.push('', 'Refused (latest):', '  Age      From             Token         Device key        Reason');
  for (const r of [...v.refused].reverse()) out.push(`  ${age(now, r.at).padEnd(9)}${r.from.padEnd(17)}${(r.token ?? '-').padEnd(14)}${(r.key ? shortKey(r.key) : '-').padEnd(18)}${r.reason}${r.detail ? ` (${r.detail})` : ''}`);
  return out.join('\n') + '\n';
}
