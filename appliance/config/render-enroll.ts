// Running-config text of `dmvpn enrollment` (grammar-enroll.ts parses it back).
import type { EnrollmentConfig } from './model-enroll.js';

export function enrollmentLines(e: EnrollmentConfig | undefined): string[] {
  if (!e) return [];
  const out = ['dmvpn enrollment'];
  if (e.trustpoint !== undefined) out.push(` trustpoint ${e.trustpoint}`);
  if (e.caKeypair !== undefined) out.push(` ca-keypair ${e.caKeypair}`);
  if (e.port !== undefined) out.push(` listen port ${e.port}`);
  if (e.pool) out.push(` pool ${e.pool.start} ${e.pool.end}`);
  if (e.lifetime) out.push(` lifetime certificate ${e.lifetime.days}${e.lifetime.minutes !== undefined ? ` ${e.lifetime.minutes}` : ''}`);
  if (e.renewalGraceDays !== undefined) out.push(` renewal grace ${e.renewalGraceDays}`);
  if (e.renewalRegenerate) out.push(' renewal regenerate');
  if (e.template !== undefined) out.push(` template ${e.template}`);
  if (e.manual) out.push(' approval manual');
  for (const t of e.tokens) out.push(` token ${t.name} sha256 ${t.sha256}${t.oneTime ? ' one-time' : ''}${t.expires ? ` expires ${t.expires}` : ''}`);
  return [...out, '!'];
}
