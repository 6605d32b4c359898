// EIGRP configuration as IOS writes it: classic `router eigrp N`, named mode `router eigrp NAME` /
// `address-family ipv4 autonomous-system N` (with af-interface and topology base), the per-interface
// `ip ... eigrp N` lines of classic mode, and `key chain` stanzas. Absent fields are IOS defaults.

export interface EigrpNetwork { address: string; wildcard?: string }
export interface EigrpRedistribute { source: 'static' | 'connected'; metric?: [number, number, number, number, number] }
export interface EigrpStub { connected?: boolean; summary?: boolean; static?: boolean; redistributed?: boolean; receiveOnly?: boolean }

/** Per-interface EIGRP settings (classic: `ip ... eigrp N` under the interface; named: `af-interface`).
 *  An absent field is the default: IOS's in classic mode and under `af-interface default`; under a named
 *  interface, what `af-interface default` says (then IOS's), so only there an explicit `split-horizon`,
 *  `next-hop-self` or `no passive-interface` is kept (as true/false) to override it. */
export interface EigrpInterfaceSettings {
  iface: string;
  splitHorizon?: boolean; // `no ip split-horizon eigrp N` (default on)
  nextHopSelf?: boolean;  // `no ip next-hop-self eigrp N` (default on)
  helloInterval?: number; // seconds, default 5
  holdTime?: number;      // seconds, default 15
  bandwidthPercent?: number;
  summaries?: Array<{ prefix: string; mask: string }>;
  authMode?: 'md5' | 'hmac-sha-256';
  /** named mode: `authentication mode hmac-sha-256 PASSWORD` */
  authPassword?: string;
  keyChain?: string;
  passive?: boolean;      // named mode `passive-interface` under af-interface
}

export interface EigrpProcess {
  asn: number;
  /** named mode: the process name (`router eigrp NAME`); classic when absent */
  name?: string;
  routerId?: string;
  networks: EigrpNetwork[];
  autoSummary?: true;     // IOS 15 default is no auto-summary
  passiveDefault?: true;
  passive: string[];      // `passive-interface X` (or, under passive-interface default, `no passive-interface X`)
  redistribute: EigrpRedistribute[];
  stub?: EigrpStub;
  variance?: number;
  maximumPaths?: number;
  distance?: { internal: number; external: number };
  /** named mode af-interface blocks */
  afInterfaces?: EigrpInterfaceSettings[];
}

export interface KeyChain { name: string; keys: Array<{ id: number; keyString?: string }> }

/** Interface `bandwidth` (kbit/s) and `delay` (tens of microseconds): IOS interface commands whose only
 *  consumer on this appliance is the EIGRP metric (an interface without them has its kind's default). */
export interface LinkCostSetting { iface: string; bandwidth?: number; delay?: number }

export interface EigrpConfig {
  processes: EigrpProcess[];
  /** interface `bandwidth` / `delay` lines; absent when none is set */
  links?: LinkCostSetting[];
  /** classic per-interface lines, keyed by AS */
  interfaces: Array<EigrpInterfaceSettings & { asn: number }>;
  keyChains: KeyChain[];
}
