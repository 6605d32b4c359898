// Enrollment tokens (`token NAME SECRET [one-time] [expires DATE]`): the secret a request presents is
// hashed and compared with the configured SHA-256 in constant time; an unknown name costs the same
// compare against a dummy, so neither timing nor the answer says whether the name or the secret was
// wrong. Expiry is checked only for a token whose secret matched (an expired token says so only to
// its holder).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { EnrollmentToken } from '../config/model-enroll.js';

export type TokenCheck = { ok: true; token: EnrollmentToken } | { ok: false; reason: 'bad-token' | 'expired-token' };

const DUMMY = Buffer.alloc(32);

export function checkToken(tokens: EnrollmentToken[], name: string, secret: string, now: Date): TokenCheck {
  const t = tokens.find((x) => x.name === name);
  const presented = createHash('sha256').update(secret, 'utf8').digest();
  const same = timingSafeEqual(presented, t ? Buffer.from(t.sha256, 'hex') : DUMMY);
  if (!t || !same) return { ok: false, reason: 'bad-token' };
  if (t.expires && now.getTime() >= Date.parse(`${t.expires}T00:00:00Z`)) return { ok: false, reason: 'expired-token' };
  return { ok: true, token: t };
}
