// Running-config text of the `crypto ikev2 ...` section (grammar-ikev2.ts parses it back).
import type { Ikev2Config } from './model-ikev2.js';

/** Running-config lines of the IKEv2 section, in IOS order (proposal, policy, keyring, profile, globals). */
export function ikev2Lines(k: Ikev2Config | undefined): string[] {
  if (!k) return [];
  const out: string[] = [];
  for (const p of k.proposals ?? []) {
    out.push(`crypto ikev2 proposal ${p.name}`);
    if (p.encryption.length) out.push(` encryption ${p.encryption.join(' ')}`);
    if (p.integrity.length) out.push(` integrity ${p.integrity.join(' ')}`);
    if (p.prf.length) out.push(` prf ${p.prf.join(' ')}`);
    if (p.group.length) out.push(` group ${p.group.join(' ')}`);
  }
  for (const p of k.policies ?? []) { out.push(`crypto ikev2 policy ${p.name}`); for (const n of p.proposals) out.push(` proposal ${n}`); }
  for (const r of k.keyrings ?? []) {
    out.push(`crypto ikev2 keyring ${r.name}`);
    for (const p of r.peers) {
      out.push(` peer ${p.name}`);
      if (p.address) out.push(`  address ${p.address}${p.mask ? ' ' + p.mask : ''}`);
      if (p.identity) out.push(`  identity ${/^\d+\.\d+\.\d+\.\d+$/.test(p.identity) ? 'address' : 'fqdn'} ${p.identity}`);
      if (p.key) out.push(`  pre-shared-key ${p.key}`);
    }
  }
  for (const p of k.profiles ?? []) {
    out.push(`crypto ikev2 profile ${p.name}`);
    if (p.matchRemote) out.push(` match identity remote address ${p.matchRemote.address} ${p.matchRemote.mask}`);
    if (p.identityLocalFqdn) out.push(` identity local fqdn ${p.identityLocalFqdn}`);
    if (p.authRemote) out.push(` authentication remote ${p.authRemote}`);
    if (p.authLocal) out.push(` authentication local ${p.authLocal}`);
    if (p.keyring) out.push(` keyring local ${p.keyring}`);
    if (p.pkiTrustpoint) out.push(` pki trustpoint ${p.pkiTrustpoint}`);
    if (p.dpd) out.push(` dpd ${p.dpd.interval} ${p.dpd.retry} ${p.dpd.mode}`);
    if (p.lifetime !== undefined) out.push(` lifetime ${p.lifetime}`);
  }
  if (k.dpd) out.push(`crypto ikev2 dpd ${k.dpd.interval} ${k.dpd.retry} ${k.dpd.mode}`);
  if (k.cookieChallenge !== undefined) out.push(`crypto ikev2 cookie-challenge ${k.cookieChallenge}`);
  if (k.fragmentationMtu !== undefined) out.push(`crypto ikev2 fragmentation${k.fragmentationMtu === 576 ? '' : ` mtu ${k.fragmentationMtu}`}`);
  return out;
}
