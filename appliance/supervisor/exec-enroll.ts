// Exec commands of the hub's enrollment server (appliance/enroll/, docs/enrollment.md):
// `show dmvpn enrollment [json]` and `dmvpn enrollment approve KEY` (manual approval).
import type { Args } from '../cli/tree.js';
import type { EnrollmentServer } from '../enroll/server.js';
import { formatEnrollment } from '../enroll/show.js';

export function enrollmentCommands(s: EnrollmentServer): Record<string, (a: Args) => string> {
  return {
    'show dmvpn enrollment': () => formatEnrollment(s.view(), false),
    'show dmvpn enrollment json': () => formatEnrollment(s.view(), true),
    'dmvpn enrollment approve {key:word}': (a) => s.approve(a.p.key),
  };
}
