// The PKI part of the crypto config as IOS keeps it in the running-config: `crypto pki trustpoint NAME`
// (enrollment, revocation check, subject name, key pair label, ip-address) and `crypto pki certificate
// chain NAME` with each certificate's DER in hex. Private keys are not config: they live in the key store
// (supervisor/key-store.ts) under the trustpoint's key label. ike/config-v2.ts turns both into credentials.

export type KeyKind = 'rsa' | 'ec' | 'ed25519';

export interface Trustpoint {
  name: string;
  enrollment?: 'terminal';
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

/** The certificates of trustpoint `name`'s chain (none when it has no chain). */
export const chainCerts = (p: PkiConfig | undefined, name: string): ChainCert[] => p?.chains?.find((c) => c.name === name)?.certs ?? [];

/** Trustpoint `name` of a crypto config (the grammar, IKE and the exec commands look it up alike). */
export const trustpointOf = (c: { pki?: PkiConfig }, name: string | undefined): Trustpoint | undefined => c.pki?.trustpoints?.find((t) => t.name === name);
