// The appliance's configuration as data. The CLI grammar (appliance/cli/) parses startup-config and
// interactive config mode into this; the supervisor applies it; running-config is rendered from it.
// Addresses are dotted-quad strings here (the wire/data-plane layers convert to u32).
import type { Ikev2Config } from './model-ikev2.js';
import type { PkiConfig } from './model-pki.js';
import type { EnrollmentConfig } from './model-enroll.js';
import type { InterfaceOspf, OspfConfig, BgpConfig } from './model-routing.js';
import type { EigrpConfig } from './model-eigrp.js';

export interface InterfaceAddress { address: string; mask: string } // "192.168.0.1", "255.255.255.0"

export interface NhrpStaticMap { tunnelIp: string; nbma: string }

export interface NhsEntry {
  /** tunnel address of the NHS; "dynamic" (IOS `ip nhrp nhs dynamic nbma X`) is resolved via nbma. */
  tunnelIp: string | 'dynamic';
  /** NBMA address if given inline (`ip nhrp nhs <ip> nbma <nbma>`). */
  nbma?: string;
  priority?: number;
  cluster?: number;
}

export interface TunnelNhrp {
  networkId?: number;
  holdtime: number; // seconds, IOS default 7200; DMVPN guides set 300-600
  registrationTimeout?: number; // seconds; default holdtime/3
  authentication?: string; // plaintext, at most 8 chars (IOS)
  nhs: NhsEntry[];
  maps: NhrpStaticMap[];
  /** `ip nhrp map multicast dynamic` -> 'dynamic'; `ip nhrp map multicast <nbma>` -> the address. */
  multicast: Array<'dynamic' | string>;
  redirect: boolean; // Phase 3 hub
  shortcut: boolean; // Phase 3 spoke
  registrationNoUnique: boolean;
}

export interface TunnelConfig {
  kind: 'tunnel';
  name: string; // IOS name, "Tunnel0"
  number: number;
  description?: string;
  address?: InterfaceAddress;
  shutdown: boolean;
  mtu: number; // `ip mtu`, default 1400 (DMVPN guides); IOS default 1476
  tcpAdjustMss?: number; // `ip tcp adjust-mss`
  /** `if-state nhrp`: line protocol down while no NHS answers our registrations (supervisor/if-state.ts) */
  ifStateNhrp?: boolean;
  /** `tunnel source` as written: an interface name or an address. */
  source?: string;
  destination?: string; // `tunnel destination` (point-to-point GRE, Phase 1 spoke)
  mode: 'gre-multipoint' | 'gre-ip';
  key?: number;
  protection?: { profile: string; shared: boolean };
  nhrp: TunnelNhrp;
  ospf?: InterfaceOspf; // `ip ospf ...` (model-routing.ts)
}

export interface EthernetConfig {
  kind: 'ethernet';
  name: string; // canonical IOS name ("FastEthernet0/0") or a plain OS name ("eth0"); its OS
  // interface is chosen at apply time (config/interfaces.ts resolveOsNames)
  /** `os-interface <name>`: the OS interface to drive when no OS interface has the rule name. */
  osInterface?: string;
  /** `no ip proxy-arp` (IOS answers proxy ARP by default) */
  noProxyArp?: boolean;
  description?: string;
  address?: InterfaceAddress;
  shutdown: boolean;
  ospf?: InterfaceOspf; // `ip ospf ...` (model-routing.ts)
}

export type InterfaceConfig = TunnelConfig | EthernetConfig;

export interface StaticRoute { prefix: string; mask: string; nextHop?: string; iface?: string; distance?: number }

/** Crypto lines are parsed and kept (round-trip in running-config) but are applied by later work.
 *  `lines` is the canonical running-config text of the crypto section (sub-lines start with one
 *  space); the optional structured fields below (added by the CLI work, present only when non-empty)
 *  carry the same content parsed, for the IPsec work to consume. grammar.ts keeps both in sync. */
export interface CryptoConfig {
  lines: string[];
  isakmpPolicies?: IsakmpPolicy[];
  isakmpKeys?: IsakmpKey[];
  transformSets?: TransformSet[];
  ipsecProfiles?: IpsecProfile[];
  manualSas?: ManualSa[];
  /** `crypto isakmp keepalive S [R] [periodic|on-demand]`: DPD (RFC 3706); retry defaults to 2 s, on-demand. */
  isakmpKeepalive?: { seconds: number; retry?: number; periodic?: boolean };
  /** `crypto isakmp nat keepalive S`: NAT keepalives every S seconds to peers behind a NAT (IOS: off). */
  natKeepalive?: number;
  /** `crypto ikev2 ...` (model-ikev2.ts); absent when the config has none. */
  ikev2?: Ikev2Config;
  /** `crypto pki trustpoint` / `crypto pki certificate chain` (model-pki.ts); absent when the config has none. */
  pki?: PkiConfig;
}

export interface IsakmpPolicy {
  priority: number;
  encryption?: string; // "aes 256", "3des" ... as written after `encryption`
  hash?: string; // "sha", "sha256", "md5"
  authentication?: string; // "pre-share"
  group?: number;
  lifetime?: number;
}
export interface IsakmpKey { key: string; address: string; mask?: string }
export interface TransformSet {
  name: string;
  transforms: string[]; // ["esp-aes 256", "esp-sha-hmac"], ["esp-gcm 256"], ["esp-null", "esp-sha256-hmac"]
  mode?: 'tunnel' | 'transport'; // IOS default tunnel
}
export interface IpsecProfile { name: string; transformSets: string[]; pfs?: string; lifetimeSeconds?: number; lifetimeKilobytes?: number; ikev2Profile?: string }
export interface ManualSaKey { spi: number; cipher: string; authenticator?: string } // hex strings
export interface ManualSa {
  name: string;
  peer?: string;
  transformSet?: string;
  inbound?: ManualSaKey;
  outbound?: ManualSaKey;
  udpEncapsulation: boolean;
  /** `set sequence-persistence DIR|default [block N]`: persisted sequence high-water marks (docs/security.md). */
  sequencePersistence?: { dir: string; block?: number };
}

/** A line or user password as IOS keeps it: clear (type 0) or the reversible type 7. */
export interface LinePassword { type: 0 | 7; text: string }
export interface LocalUser { name: string; privilege?: number; secret?: string; password?: LinePassword }
/** Login and privilege (`enable`, `username`, `line con 0`, `service password-encryption`). Secrets
 *  are stored hashed as IOS prints them ("$9$salt$hash", "$8$...", "$1$..."), never in clear. */
export interface AuthConfig {
  enableSecret?: string;
  enablePassword?: LinePassword;
  users: LocalUser[];
  /** execTimeout: `exec-timeout M S` in seconds when not IOS's default 600 (0: never) */
  console: { login?: 'line' | 'local'; password?: LinePassword; execTimeout?: number };
  passwordEncryption: boolean;
}

/** `ntp server A [prefer]` */
export interface NtpConfig { servers: Array<{ address: string; prefer?: boolean }> }
/** `logging host A [transport udp port N]`, `logging trap N` (default 6), `logging facility localN` (default local7) */
export interface LoggingConfig { hosts: Array<{ address: string; port?: number }>; trap?: number; facility?: string }

export interface ApplianceConfig {
  hostname: string;
  /** absent in the factory default (no login, no enable secret). */
  auth?: AuthConfig;
  /** absent without `ntp server` / `logging host|trap|facility` lines */
  ntp?: NtpConfig;
  logging?: LoggingConfig;
  interfaces: InterfaceConfig[];
  routes: StaticRoute[];
  crypto: CryptoConfig;
  /** `router ospf N` / `router bgp N` (model-routing.ts); absent when not configured */
  ospf?: OspfConfig;
  bgp?: BgpConfig;
  /** `router eigrp`, `ip ... eigrp N` interface lines, `key chain` (model-eigrp.ts); absent without them */
  eigrp?: EigrpConfig;
  /** `dataplane workers N` (grammar-dataplane.ts); absent = automatic (autoDataplaneWorkers) */
  dataplaneWorkers?: number;
  /** `dmvpn enrollment` (model-enroll.ts): the hub's zero-touch enrollment server; absent when not configured */
  enrollment?: EnrollmentConfig;
  /** lines accepted but not (yet) acted on, with the reason, reported at load. */
  inactive: Array<{ line: number; text: string; reason: string }>;
}
