// The IKEv2 part of the crypto config as IOS writes it (`crypto ikev2 proposal|policy|keyring|profile`,
// `crypto ikev2 dpd`, `crypto ikev2 cookie-challenge`, `crypto ikev2 fragmentation`). Kept apart from
// model.ts so the IKEv1 and IKEv2 work edit different files; ike/config-v2.ts turns it into a policy.

export interface Ikev2Proposal { name: string; encryption: string[]; integrity: string[]; prf: string[]; group: number[] }
export interface Ikev2Policy { name: string; proposals: string[] }
export interface Ikev2KeyringPeer { name: string; address?: string; mask?: string; identity?: string; key?: string }
export interface Ikev2Keyring { name: string; peers: Ikev2KeyringPeer[] }
export interface Ikev2Dpd { interval: number; retry: number; mode: 'on-demand' | 'periodic' }
export interface Ikev2Profile {
  name: string;
  matchRemote?: { address: string; mask: string };
  authLocal?: string; // pre-share | rsa-sig | ecdsa-sig | ed25519-sig
  authRemote?: string;
  /** `identity local fqdn NAME`: our IKE identity is ID_FQDN NAME (RFC 7296 3.5) instead of our address;
   *  with certificates, the certificate must carry NAME as a subjectAltName dNSName (an enrolled spoke's
   *  device name: docs/enrollment.md) */
  identityLocalFqdn?: string;
  /** `pki trustpoint NAME`: our certificate and key, and the CAs peers' certificates must chain to */
  pkiTrustpoint?: string;
  keyring?: string;
  dpd?: Ikev2Dpd;
  lifetime?: number;
}

export interface Ikev2Config {
  proposals?: Ikev2Proposal[];
  policies?: Ikev2Policy[];
  keyrings?: Ikev2Keyring[];
  profiles?: Ikev2Profile[];
  dpd?: Ikev2Dpd;
  cookieChallenge?: number;
  fragmentationMtu?: number; // `crypto ikev2 fragmentation [mtu N]` (IOS default mtu 576)
}
