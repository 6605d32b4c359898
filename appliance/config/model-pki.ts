// The PKI part of the crypto config as IOS keeps it in the running-config: `crypto pki trustpoint NAME`
// (enrollment, revocation check, subject name, key pair label, ip-address) and `crypto pki certificate
// chain NAME` with each certificate's DER in hex. Private keys are not config: they live in the key store
// (supervisor/key-store.ts) under the trustpoint's key label. ike/config-v2.ts turns both into credentials.

export type KeyKind = 'rsa' | 'ec' | 'ed25519';

export interface Trustpoint {
  name: string;
  /** `enrollment terminal` (certificates pasted) or `enrollment url https://A:P`: the hub's enrollment
   *  server (docs/enrollment.md), which renews the certificate when `auto-enroll` says */
  enrollment?: 'terminal' | `url ${string}`;
  /** `auto-enroll [PERCENT]` (IOS): renew our certificate once this share of its lifetime has passed */
  autoEnroll?: number;
  /** `auto-enroll [PERCENT] regenerate` (IOS): each renewal generates a new key pair of the same kind
   *  (enroll/key-rollover.ts) instead of certifying the same key again */
  autoEnrollRegenerate?: boolean;
  /** `revocation-check none` (the only form: no CRL/OCSP fetching here) */
  revocationNone?: boolean;
  subjectName?: string;
  /** `rsakeypair|eckeypair|ed25519keypair LABEL`: the key store entry our certificate must match */
  keyPair?: { kind: KeyKind; label: string; bits?: number };
  /** `ip-address A`: the address IOS puts in an enrollment request's subjectAltName */
  ipAddress?: string;
}

/** One certificate of a chain: `certificate ca SERIAL` (a CA) or `certificate SERIAL` (ours). */
export interface ChainCert { serial: string; ca: boolean; der: string /* lower-case hex */ }

export interface CertificateChain { name: string; certs: ChainCert[] }

export interface PkiConfig {
  trustpoints?: Trustpoint[];
  chains?: CertificateChain[];
}

/** The enrollment server of `enrollment url https://A:P`, or undefined. */
export function enrollmentUrlOf(t: Trustpoint | undefined): { host: string; port: number } | undefined {
  const m = t?.enrollment?.match(/^url https:\/\/(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\/?$/);
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

/** IOS's `auto-enroll` without a percent renews at 80 % of the lifetime. */
export const AUTO_ENROLL_DEFAULT = 80;

/** The certificates of trustpoint `name`'s chain (none when it has no chain). */
export const chainCerts = (p: PkiConfig | undefined, name: string): ChainCert[] => p?.chains?.find((c) => c.name === name)?.certs ?? [];

/** Trustpoint `name` of a crypto config (the grammar, IKE and the exec commands look it up alike). */
export const trustpointOf = (c: { pki?: PkiConfig }, name: string | undefined): Trustpoint | undefined => c.pki?.trustpoints?.find((t) => t.name === name);
