// EIGRP wire vocabulary (RFC 7868 section 6; TLV layouts as Wireshark's packet-eigrp.c dissects them):
// opcodes, header flags, TLV codes and the decoded shapes the codec produces and consumes.

export const EIGRP_VERSION = 2;
export const EIGRP_HEADER_LEN = 20;
/** The all-EIGRP-routers group. */
export const EIGRP_MULTICAST = '224.0.0.10';

export const Opcode = { Update: 1, Request: 2, Query: 3, Reply: 4, Hello: 5, SiaQuery: 10, SiaReply: 11 } as const;
export const OPCODE_NAMES: Record<number, string> = {
  1: 'Update', 2: 'Request', 3: 'Query', 4: 'Reply', 5: 'Hello', 10: 'SIA-Query', 11: 'SIA-Reply',
};

/** Header flag bits: Init (first update to a new peer), Conditional Receive, Restart, End of Table. */
export const Flag = { Init: 0x1, CR: 0x2, RS: 0x4, EOT: 0x8 } as const;

export const Tlv = {
  Parameters: 0x0001, Auth: 0x0002, Sequence: 0x0003, SoftwareVersion: 0x0004, NextMcastSeq: 0x0005,
  Stub: 0x0006, PeerTermination: 0x0007,
  Ipv4Internal: 0x0102, Ipv4External: 0x0103,
  WideInternal: 0x0602, WideExternal: 0x0603,
} as const;

export const AuthType = { Md5: 2, Sha256: 3 } as const;
export const AFI_IPV4 = 1;

/** Stub TLV flag bits (what a stub router lets its neighbors learn from it). */
export const StubFlag = { Connected: 0x01, Static: 0x02, Summary: 0x04, Redistributed: 0x08, Leak: 0x10, ReceiveOnly: 0x20 } as const;

/** External route TLV protocol ids (where a redistributed route came from), as Wireshark names them. */
export const ExternalProtocol = { Static: 3, Connected: 11 } as const;

/** Route flags byte (classic) / word (wide): the route is being withdrawn, is active, is a candidate default. */
export const RouteFlag = { SourceWithdraw: 0x01, CandidateDefault: 0x02, Active: 0x04 } as const;

/** Scaled delay value meaning "unreachable" in the classic metric. */
export const CLASSIC_DELAY_INFINITY = 0xffffffff;
/** Wide metric delay/bandwidth of all ones (48 bits) means unreachable. */
export const WIDE_INFINITY = 0xffff_ffff_ffff;

export interface EigrpHeader {
  version: number; opcode: number; checksum: number; flags: number;
  seq: number; ack: number; vrid: number; as: number;
}

export interface Ipv4Prefix { prefix: string; len: number }

/** The classic (TLV 1.2) metric block: scaled delay (tens of microseconds x 256) and bandwidth. */
export interface ClassicMetric {
  delay: number; bandwidth: number; mtu: number; hopCount: number; reliability: number; load: number;
  tag: number; flags: number;
}

/** The wide (TLV 2.0) metric: delay in picoseconds, bandwidth in kbit/s, 48-bit each. */
export interface WideMetric {
  offset: number; priority: number; reliability: number; load: number; mtu: number; hopCount: number;
  delay: number; bandwidth: number; flags: number; attributes: Uint8Array;
}

/** External route data (redistributed routes). */
export interface ExternalData {
  originRouter: string; originAs: number; tag: number; externalMetric: number; protocol: number; flags: number;
}

export type EigrpTlv =
  | { type: 'parameters'; k: [number, number, number, number, number, number]; holdTime: number }
  | { type: 'auth'; authType: number; keyId: number; keySeq: number; digest: Uint8Array }
  | { type: 'sequence'; addresses: string[] }
  | { type: 'software-version'; os: [number, number]; tlv: [number, number] }
  | { type: 'next-multicast-seq'; seq: number }
  | { type: 'stub'; flags: number }
  | { type: 'peer-termination'; data: Uint8Array }
  | { type: 'ipv4-route'; external?: ExternalData; nextHop: string; metric: ClassicMetric; destinations: Ipv4Prefix[] }
  | { type: 'wide-route'; external?: ExternalData; topologyId: number; routerId: string; nextHop: string; metric: WideMetric; destinations: Ipv4Prefix[] }
  | { type: 'unknown'; code: number; data: Uint8Array };

export interface EigrpPacket { header: EigrpHeader; tlvs: EigrpTlv[] }

/** Why a packet was dropped; each has a counter (counters.ts). */
export type EigrpDropReason =
  | 'short' | 'version' | 'checksum' | 'tlv-length' | 'tlv-body' | 'prefix-length' | 'too-many-tlvs'
  | 'wrong-as' | 'auth-missing' | 'auth-failed' | 'auth-unexpected' | 'k-mismatch' | 'not-neighbor'
  | 'cr-not-expected' | 'unknown-opcode' | 'not-on-subnet';

export type DecodeResult = { ok: true; packet: EigrpPacket } | { ok: false; reason: EigrpDropReason; error: string };
