// Exec commands of the hub's enrollment server (appliance/enroll/, docs/enrollment.md):
// `show dmvpn enrollment [json]`, `dmvpn enrollment approve KEY` (manual approval) and
// `clear dmvpn enrollment binding KEY` (frees a device key's address: it may then enroll under another
// token; and its IKE SAs are taken down, as the key's certificate is refused from then on: revocation.ts),
// `dmvpn enrollment revoke KEY` (the same, and the key is never admitted again, whatever token: a stolen
// box keeps its provisioning file) and `clear dmvpn enrollment revoked KEY` (undoes that).
import type { Args } from '../cli/tree.js';
import type { EnrollmentServer, EnrollmentView } from '../enroll/server.js';
import { shortKey } from '../enroll/service.js';
import { iosTime } from '../show/time.js';
import type { ExecIke } from './exec-context.js';

export function enrollmentCommands(s: EnrollmentServer, ike: () => ExecIke | undefined): Record<string, (a: Args) => string> {
  return {
    'show dmvpn enrollment': () => formatEnrollment(s.view(), false),
    'show dmvpn enrollment json': () => formatEnrollment(s.view(), true),
    'dmvpn enrollment approve {key:word}': (a) => s.approve(a.p.key),
    'clear dmvpn enrollment binding {key:word}': (a) => s.service.unbind(a.p.key) + cutOff(s, ike()),
    // revoke: as clear binding, and the key is refused from then on whatever token it brings
    'dmvpn enrollment revoke {key:word}': (a) => s.service.revoke(a.p.key) + cutOff(s, ike()),
    'clear dmvpn enrollment revoked {key:word}': (a) => s.service.revoke(a.p.key, true),
  };
}

/** After a binding went: every IKE SA whose certificate the enrollment server now refuses is taken down
 *  (with its NHRP registrations), so the device is cut off at once, not when its certificate expires.
 *  Asked of all SAs, not only the key just unbound: it costs one check per SA and leaves nothing behind. */
export function cutOff(s: EnrollmentServer, ike: ExecIke | undefined): string {
  const gone = ike?.clearRefused?.(s.refusal) ?? [];
  s.tornDown(gone.length);
  return gone.map((g) => `% IKE SA with ${g.remote} (${g.peerId ?? 'no identity'}) taken down: ${g.reason}${g.registrations.length ? `; NHRP registration ${g.registrations.join(', ')} withdrawn` : ''}\n`).join('');
}

// The show: the listener (port and the pin spokes' provisioning files carry, or why it is not
// listening), counters, then the admitted device keys, the pending ones and the recent refusals with
// their reasons. Keys are shown as the first 16 hex digits of their SHA-256 (enough for `dmvpn
// enrollment approve`); never a secret.

/** how long ago, as IOS's show commands print it (show/time.ts) */
const age = (now: number, at: number) => iosTime(Math.round((now - at) / 1000));

export function formatEnrollment(v: EnrollmentView, json: boolean, now = Date.now()): string {
  if (json) return JSON.stringify(v, null, 1) + '\n';
  const c = v.counters;
  const out = [v.listening ? `Enrollment server: listening on ${v.listening.address} TCP ${v.listening.port}, approval ${v.approval}${v.pool ? `, pool ${v.pool.start} - ${v.pool.end}` : ''}, renewal grace ${v.renewalGraceDays} days${v.renewalRegenerate ? ', regenerate' : ''}` : `Enrollment server: not listening: ${v.notListening}`];
  if (v.listening) out.push(`  Hub key pin: ${v.listening.pin}`);
  out.push(`  IKE: refused ${v.ike.refused} (device key not enrolled), SAs taken down ${v.ike.tornDown} (binding cleared)`);
  out.push(`  Requests ${c.requests}: admitted ${c.admitted}, again ${c.readmitted}, renewed ${c.renewed} (${c.recovered} expired, ${c.rekeyed} new key), pending ${c.pending}, refused ${c.refused} (bad request ${c.badRequest}, too large ${c.tooLarge}, expired beyond grace ${c.beyondGrace}); dropped: rate ${c.rateLimited}, busy ${c.busy}, timeout ${c.timeouts}, TLS ${c.tlsErrors}`);
  out.push('', 'Admitted:', '  Device key        Tunnel address   Hostname                Token         Since');
  for (const b of v.admitted) out.push(`  ${shortKey(b.key).padEnd(18)}${b.address.padEnd(17)}${b.hostname.padEnd(24)}${b.token.padEnd(14)}${b.admitted}`);
  out.push('', 'Pending:', '  Device key        From             Token         Waiting  State');
  for (const p of v.pending) out.push(`  ${shortKey(p.key).padEnd(18)}${p.from.padEnd(17)}${p.token.padEnd(14)}${age(now, p.since).padEnd(9)}${p.approved ? 'approved' : 'waiting for approval'}`);
  if (v.revoked.length) out.push('', `Revoked: ${v.revoked.map(shortKey).join(' ')}`);
  out.push('', 'Refused (latest):', '  Age      From             Token         Device key        Reason');
  for (const r of [...v.refused].reverse()) out.push(`  ${age(now, r.at).padEnd(9)}${r.from.padEnd(17)}${(r.token ?? '-').padEnd(14)}${(r.key ? shortKey(r.key) : '-').padEnd(18)}${r.reason}${r.detail ? ` (${r.detail})` : ''}`);
  return out.join('\n') + '\n';
}
