// Running-config text of `crypto pki trustpoint` and `crypto pki certificate chain` (grammar-pki.ts parses
// it back). Certificates are printed as IOS prints them: DER in upper-case hex, eight 4-byte words per
// line indented by two spaces, then a tab-indented `quit`.
import type { PkiConfig, ChainCert } from './model-pki.js';

const WORDS_PER_LINE = 8;

/** DER hex as IOS prints it: certificate lines, and `show crypto key mypubkey`'s Key Data ("  3082022B 30820194 ..."). */
export function derHexLines(der: string): string[] {
  const words = der.toUpperCase().match(/.{1,8}/g) ?? [];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += WORDS_PER_LINE) out.push(`  ${words.slice(i, i + WORDS_PER_LINE).join(' ')}`);
  return out;
}

const certLines = (c: ChainCert) => [` certificate ${c.ca ? 'ca ' : ''}${c.serial}`, ...derHexLines(c.der), '  \tquit'];

export function pkiLines(p: PkiConfig | undefined): string[] {
  if (!p) return [];
  const out: string[] = [];
  for (const t of p.trustpoints ?? []) {
    out.push(`crypto pki trustpoint ${t.name}`);
    if (t.enrollment) out.push(` enrollment ${t.enrollment}`);
    if (t.subjectName !== undefined) out.push(` subject-name ${t.subjectName}`);
    if (t.ipAddress !== undefined) out.push(` ip-address ${t.ipAddress}`);
    if (t.revocationNone) out.push(' revocation-check none');
    if (t.autoEnroll !== undefined) out.push(` auto-enroll ${t.autoEnroll}${t.autoEnrollRegenerate ? ' regenerate' : ''}`);
    if (t.keyPair) out.push(` ${t.keyPair.kind}keypair ${t.keyPair.label}${t.keyPair.bits ? ` ${t.keyPair.bits}` : ''}`);
  }
  for (const ch of p.chains ?? []) {
    out.push(`crypto pki certificate chain ${ch.name}`);
    // IOS lists our own certificate first, then the CA's
    for (const c of [...ch.certs.filter((x) => !x.ca), ...ch.certs.filter((x) => x.ca)]) out.push(...certLines(c));
  }
  return out;
}
