// Exec commands of the hub's enrollment server (appliance/enroll/, docs/enrollment.md):
// `show dmvpn enrollment [json]`, `dmvpn enrollment approve KEY` (manual approval) and
// `clear dmvpn enrollment binding KEY` (frees a device key's address: it may then enroll under another token).
import type { Args } from '../cli/tree.js';
import type { EnrollmentServer } from '../enroll/server.js';
import { formatEnrollment } from '../enroll/show.js';

export function enrollmentCommands(s: EnrollmentServer): Record<string, (a: Args) => string> {
  return {
    'show dmvpn enrollment': () => formatEnrollment(s.view(), false),
    'show dmvpn enrollment json': () => formatEnrollment(s.view(), true),
    'dmvpn enrollment approve {key:word}': (a) => s.approve(a.p.key),
    'clear dmvpn enrollment binding {key:word}': (a) => s.service.unbind(a.p.key),
  };
}
