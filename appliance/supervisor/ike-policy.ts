// The crypto config as the IKE engine should see it for one protected tunnel: its own ipsec profile
// first (the engine offers the first profile's transform sets), and only transform sets the data plane
// can run (esp-aes 128/256 with esp-sha-hmac or esp-sha256-hmac; esp-gcm 128/256; esp-chacha20-poly1305),
// so IKE never agrees on an SA that could not be installed. What is left out is said, for the load-time
// log. Pure.
import type { CryptoConfig, TransformSet } from '../config/model.js';

const DATAPLANE_TRANSFORMS = /^(esp-aes( 128| 256)?|esp-sha-hmac|esp-sha256-hmac|esp-gcm( 128| 256)?|esp-chacha20-poly1305)$/;

/** Why the data plane cannot run `ts` under IKE, or undefined when it can. */
export function unsupportedTransform(ts: TransformSet): string | undefined {
  const bad = ts.transforms.filter((x) => !DATAPLANE_TRANSFORMS.test(x.trim()));
  return bad.length ? `transform-set ${ts.name}: ${bad.join(', ')} not available with IKE (the data plane runs esp-aes 128/256 with esp-sha-hmac or esp-sha256-hmac, esp-gcm 128/256, esp-chacha20-poly1305)` : undefined;
}

export function ikePolicy(crypto: CryptoConfig, profileName: string): { crypto: CryptoConfig; notes: string[] } {
  const notes: string[] = [];
  const profile = crypto.ipsecProfiles?.find((p) => p.name === profileName);
  if (!profile) return { crypto: { ...crypto, ipsecProfiles: [] }, notes: [`ipsec profile ${profileName} is not defined: IKE offers no IPsec SA`] };
  const usable = profile.transformSets.filter((name) => {
    const ts = crypto.transformSets?.find((x) => x.name === name);
    const why = ts && unsupportedTransform(ts);
    if (why) notes.push(why);
    return !why;
  });
  if (!usable.length) notes.push(`ipsec profile ${profile.name}: no transform set IKE can use: no IPsec SA will be negotiated`);
  const rest = (crypto.ipsecProfiles ?? []).filter((p) => p !== profile);
  return { crypto: { ...crypto, ipsecProfiles: [{ ...profile, transformSets: usable }, ...rest] }, notes };
}
