// Constant-time comparison for hashes and ICVs: an attacker learns nothing from how long a mismatch
// takes. Different lengths are unequal at once (the length is not secret).
import { timingSafeEqual } from 'node:crypto';

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
