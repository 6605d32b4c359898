// NHRP (RFC 2332 + Cisco/FRR DMVPN extensions): message model and wire constants.
// Numbers are taken from RFC 2332 and cross-checked against FRR nhrpd (nhrp_protocol.h) and the
// Wireshark NHRP dissector, so that what we put on the wire is what IOS/FRR/Wireshark expect.
// Addresses are dotted-quad strings; only IPv4 over IPv4 (the DMVPN case) is modelled.

/** GRE protocol type carrying NHRP (mGRE tunnels). */
export const GRE_PROTO_NHRP = 0x2001;
/** ar$afn: address family of the NBMA addresses (IANA "IP (IP version 4)"). */
export const AFN_IPV4 = 1;
/** ar$pro.type: protocol type of the tunnel (protocol) addresses — an Ethertype. */
export const PRO_IPV4 = 0x0800;
/** ar$op.version: 1 = RFC 2332. */
export const NHRP_VERSION = 1;
/** Fixed header is 20 bytes; the mandatory part's fixed fields are another 8. */
export const FIXED_HEADER_LEN = 20;
export const MANDATORY_FIXED_LEN = 8;
export const CIE_HEADER_LEN = 12;
export const EXT_HEADER_LEN = 4;

export enum NhrpType {
  ResolutionRequest = 1,
  ResolutionReply = 2,
  RegistrationRequest = 3,
  RegistrationReply = 4,
  PurgeRequest = 5,
  PurgeReply = 6,
  ErrorIndication = 7,
  /** Cisco "redirect" (Phase 3): layout differs, see NhrpMessage.trafficCode/payload. */
  TrafficIndication = 8,
}

export const NHRP_TYPE_NAMES: Record<number, string> = {
  1: 'resolution-request',
  2: 'resolution-reply',
  3: 'registration-request',
  4: 'registration-reply',
  5: 'purge-request',
  6: 'purge-reply',
  7: 'error-indication',
  8: 'traffic-indication',
};

/** Requests get a reply; replies are matched by request id; indications have neither. */
export function isRequest(t: number): boolean {
  return t === 1 || t === 3 || t === 5;
}
export function isReply(t: number): boolean {
  return t === 2 || t === 4 || t === 6;
}

// ar$flags, per message type (same bit means different things in different messages).
/** Registration: U, "unique" (RFC 2332 5.2.3). */
export const FLAG_REG_UNIQUE = 0x8000;
/** Resolution: Q (requester is a router), A (authoritative), D (destination stable),
 *  U (unique), S (source stable). */
export const FLAG_RES_Q = 0x8000;
export const FLAG_RES_A = 0x4000;
export const FLAG_RES_D = 0x2000;
export const FLAG_RES_U = 0x1000;
export const FLAG_RES_S = 0x0800;
/** Purge: N, "no reply expected". */
export const FLAG_PURGE_N = 0x8000;
/** Cisco: sender understands the NAT extension (set by IOS and FRR on registration/resolution). */
export const FLAG_CISCO_NAT = 0x0002;

/** Extension type field: top bit is "compulsory"; 0x4000 is reserved (the type is the low 14 bits). */
export const EXT_COMPULSORY = 0x8000;
export const EXT_TYPE_MASK = 0x3fff;
export enum NhrpExtType {
  End = 0,
  ResponderAddress = 3,
  ForwardTransitNhs = 4,
  ReverseTransitNhs = 5,
  Authentication = 7,
  VendorPrivate = 8,
  /** Cisco NAT address extension: CIE(s) carrying the NAT-ed (outside) NBMA address. */
  NatAddress = 9,
}
/** Extensions whose payload is a list of CIEs. */
export const CIE_LIST_EXTENSIONS: ReadonlySet<number> = new Set([3, 4, 5, 9]);

/** Cisco plaintext authentication: a 4-byte type (1) then the password (IOS: at most 8 bytes). */
export const AUTH_TYPE_PLAINTEXT = 1;

/**
 * CIE codes. RFC 2332 5.2.2 (resolution) uses 12/13, 5.2.4 (registration) uses 14; FRR's header
 * calls 11 "no binding exists", we follow the RFC for what we send and name both when decoding.
 */
export enum CieCode {
  Success = 0,
  AdministrativelyProhibited = 4,
  InsufficientResources = 5,
  NoBindingFrr = 11,
  NoBinding = 12,
  BindingNotUnique = 13,
  UniqueAddressRegistered = 14,
}

export function cieCodeName(code: number): string {
  switch (code) {
    case 0: return 'success';
    case 4: return 'administratively prohibited';
    case 5: return 'insufficient resources';
    case 11: case 12: return 'no interworking layer address to NBMA address binding exists';
    case 13: return 'binding exists but is not unique';
    case 14: return 'unique internetworking layer address already registered';
    default: return `unknown code ${code}`;
  }
}

/** Error Indication codes (RFC 2332 5.2.7). */
export enum ErrorCode {
  UnrecognizedExtension = 1,
  LoopDetected = 3,
  ProtocolAddressUnreachable = 6,
  ProtocolError = 7,
  SduSizeExceeded = 8,
  InvalidExtension = 9,
  InvalidResolutionReply = 10,
  AuthenticationFailure = 11,
  HopCountExceeded = 15,
}

/** Client Information Entry. Absent addresses (length 0 on the wire) are undefined. */
export interface NhrpCie {
  code: number;
  /** 0xff = "the whole address" for unique registrations (FRR/IOS put 0xff or 32). */
  prefixLen: number;
  mtu: number;
  holdingTime: number; // seconds
  nbma?: string;
  nbmaSub?: Uint8Array;
  proto?: string;
  preference: number;
}

export interface NhrpExtension {
  /** type without the compulsory bit */
  type: number;
  compulsory: boolean;
  /** types 3, 4, 5, 9 */
  cies?: NhrpCie[];
  /** type 7 (Cisco layout: u32 type, then the secret bytes) */
  auth?: { spi: number; secret: Uint8Array };
  /** type 8: 3-byte IEEE OUI, then vendor data */
  vendor?: { id: number; data: Uint8Array };
  /** anything else (kept so unknown non-compulsory extensions can be echoed) */
  raw?: Uint8Array;
}

export interface NhrpMessage {
  type: NhrpType;
  hopCount: number;
  srcNbma: string;
  srcProto: string;
  dstProto: string;
  /** types 1-6: ar$flags and request id */
  flags: number;
  requestId: number;
  /** types 1-6: CIEs in the mandatory part */
  cies: NhrpCie[];
  /** type 7: error code and offset (of the error in the offending packet) */
  errorCode?: number;
  errorOffset?: number;
  /** type 8: Cisco traffic code (0 = redirect) in the flags position; request id slot unused */
  trafficCode?: number;
  /** types 7/8: the packet in error / the data packet causing the indication */
  payload?: Uint8Array;
  /** does not include End; the encoder appends End whenever there are extensions */
  extensions: NhrpExtension[];
}

export type NhrpDecodeError =
  | 'truncated'
  | 'bad-packet-size'
  | 'bad-checksum'
  | 'unsupported-afn'
  | 'unsupported-protocol'
  | 'bad-version'
  | 'unknown-type'
  | 'bad-address-length'
  | 'bad-extoff'
  | 'bad-cie'
  | 'too-many-cies'
  | 'bad-extension';

export type NhrpDecodeResult =
  | { ok: true; msg: NhrpMessage }
  | { ok: false; error: string; code: NhrpDecodeError };

/** Guards against hostile packets: CIEs are >= 12 bytes, a legal packet could carry ~5000. */
export const MAX_CIES = 128;
export const MAX_EXTENSIONS = 32;
