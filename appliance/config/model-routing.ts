// Dynamic routing as IOS writes it: `router ospf N`, `router bgp N` and the interface's `ip ospf ...`
// lines. Kept apart from model.ts so the routing work edits its own file; routing/frr/translate.ts
// turns it into FRR configuration. Addresses are dotted quads as written; areas as written ("0",
// "0.0.0.1"), normalised to dotted form only when FRR needs them.

export type OspfNetworkType = 'broadcast' | 'point-to-multipoint' | 'non-broadcast' | 'point-to-point';

/** `ip ospf ...` on an interface; present only when at least one is set. */
export interface InterfaceOspf {
  network?: OspfNetworkType;
  priority?: number;
  helloInterval?: number;
  deadInterval?: number;
  cost?: number;
  mtuIgnore?: boolean;
  /** `ip ospf authentication [message-digest|null]` (RFC 2328 D: simple password, cryptographic, none) */
  authentication?: 'text' | 'message-digest' | 'null';
  /** `ip ospf authentication-key K` (simple password, at most 8 characters) */
  authKey?: string;
  /** `ip ospf message-digest-key N md5 K` */
  md5Keys?: Array<{ id: number; key: string }>;
}

export interface OspfNetwork { address: string; wildcard: string; area: string }
export type RedistributeSource = 'static' | 'connected' | 'ospf' | 'bgp';

export interface OspfConfig {
  processId: number;
  routerId?: string;
  logAdjacencyChanges?: 'on' | 'detail';
  /** `passive-interface default`: every interface passive except those in `active` (`no passive-interface X`). */
  passiveDefault?: boolean;
  passive: string[];
  active: string[];
  networks: OspfNetwork[];
  /** `redistribute static|connected [subnets]`; `subnets` kept for the round trip (FRR always carries subnets). */
  redistribute: Array<{ source: RedistributeSource; subnets?: boolean }>;
  /** `default-information originate [always]` */
  defaultOriginate?: { always?: boolean };
  /** `area X stub [no-summary]` */
  stubAreas: Array<{ area: string; noSummary?: boolean }>;
  /** `area X authentication [message-digest]`; absent when none */
  areaAuth?: Array<{ area: string; messageDigest?: boolean }>;
}

/** Settings a BGP neighbor or peer-group carries (IOS `neighbor X ...`). */
export interface BgpPeerSettings {
  remoteAs?: number;
  description?: string;
  updateSource?: string; // interface name or address
  routeReflectorClient?: boolean;
  nextHopSelf?: boolean;
  timers?: { keepalive: number; hold: number };
  shutdown?: boolean;
}
export interface BgpNeighbor extends BgpPeerSettings { address: string; peerGroup?: string }
export interface BgpPeerGroup extends BgpPeerSettings { name: string }

export interface BgpConfig {
  asn: number;
  routerId?: string;
  logNeighborChanges?: boolean;
  timers?: { keepalive: number; hold: number };
  peerGroups: BgpPeerGroup[];
  neighbors: BgpNeighbor[];
  /** `bgp listen range P/L peer-group G`: dynamic neighbors (the hub accepts any spoke in the range). */
  listenRanges: Array<{ prefix: string; len: number; peerGroup: string }>;
  listenLimit?: number;
  /** `network P [mask M]` (no mask: classful, as IOS) */
  networks: Array<{ prefix: string; mask: string }>;
  redistribute: Array<{ source: RedistributeSource }>;
  /** `aggregate-address P M [summary-only]` */
  aggregates: Array<{ prefix: string; mask: string; summaryOnly?: boolean }>;
  defaultOriginate?: boolean; // `default-information originate` (with redistribute of a default route)
}
