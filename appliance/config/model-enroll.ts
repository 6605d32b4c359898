// The hub's zero-touch enrollment server as configured (`dmvpn enrollment` sub-mode, grammar-enroll.ts):
// who may enroll (tokens), what they get (a tunnel address from the pool, a config from the template,
// a certificate from the CA key) and how (automatically or after `dmvpn enrollment approve`). The
// running state (bindings, used tokens, pending and refused requests) is not config: appliance/enroll/.

export interface EnrollmentToken {
  name: string;
  /** SHA-256 of the secret, lower-case hex: the secret itself is never kept (as IOS keeps `secret 9`) */
  sha256: string;
  /** `one-time`: admits one device key (that key may enroll again with it; no other may) */
  oneTime?: boolean;
  /** `expires YYYY-MM-DD`: refused from that day on (UTC) */
  expires?: string;
}

export interface EnrollmentConfig {
  /** `trustpoint NAME`: the hub's TLS identity (its key pair and certificate) and the CA it issues under */
  trustpoint?: string;
  /** `ca-keypair LABEL`: the key-store label of the CA's private key (must match the trustpoint's CA certificate) */
  caKeypair?: string;
  tokens: EnrollmentToken[];
  /** `pool START END`: tunnel addresses given to new device keys, lowest free first */
  pool?: { start: string; end: string };
  /** `template FILE`: the spoke config template, relative to the startup-config's directory */
  template?: string;
  /** `approval manual`: a request waits for `dmvpn enrollment approve` (default auto) */
  manual?: boolean;
  /** `listen port N` (default ENROLL_PORT) */
  port?: number;
  /** `lifetime certificate DAYS [MINUTES]`: device certificates' lifetime (default CERT_LIFETIME_DAYS);
   *  short lifetimes bound how long a revoked device's certificate stays usable where the hub is not asked */
  lifetime?: { days: number; minutes?: number };
  /** `renewal grace DAYS`: how long after its end an expired device certificate may still renew (a box
   *  powered off past its certificate's end); default RENEWAL_GRACE_DAYS, 0: none */
  renewalGraceDays?: number;
  /** `renewal regenerate`: the spokes it enrolls from then on get `auto-enroll ... regenerate` (a new
   *  device key at each renewal) */
  renewalRegenerate?: boolean;
}

/** a token name: what the config accepts, the provisioning file holds and the request carries */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** device certificates' lifetime when `lifetime certificate` is not given */
export const CERT_LIFETIME_DAYS = 365;

/** A device certificate's lifetime in ms. */
export const certLifetimeMs = (e: EnrollmentConfig) => e.lifetime ? (e.lifetime.days * 1440 + (e.lifetime.minutes ?? 0)) * 60_000 : CERT_LIFETIME_DAYS * 86_400_000;

/** the renewal grace when `renewal grace` is not given: a month covers a box left switched off over a
 *  holiday or a shipment, while a box gone for longer (lost, stolen, scrapped) must be enrolled again */
export const RENEWAL_GRACE_DAYS = 30;

/** How long after its end an expired device certificate may still renew, in ms. */
export const renewalGraceMs = (e: EnrollmentConfig) => (e.renewalGraceDays ?? RENEWAL_GRACE_DAYS) * 86_400_000;

/** the TCP port of the enrollment listener when `listen port` is not given */
export const ENROLL_PORT = 4430;
