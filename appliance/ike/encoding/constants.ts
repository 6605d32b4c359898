// Numbers from RFC 2408 (ISAKMP), RFC 2407 (IPsec DOI), RFC 2409 (IKEv1, appendix A) and RFC 3947
// (NAT-T). Only what this implementation sends or must recognise; everything else stays a number.

export const ISAKMP_HEADER_LEN = 28;
export const GENERIC_HEADER_LEN = 4;
/** Major 1, minor 0 (RFC 2408 3.1). IKEv2 is 0x20 (RFC 7296 3.1). */
export const IKEV1_VERSION = 0x10;
export const IKEV2_VERSION = 0x20;
export const COOKIE_LEN = 8;
/** Largest message we accept or build; a UDP datagram cannot carry more. */
export const MAX_MESSAGE_LEN = 65535 - 8 - 20;
/** A message with more payloads than this is refused before any work is done on it. */
export const MAX_PAYLOADS = 64;

export const enum PayloadV1 {
  None = 0, SA = 1, Proposal = 2, Transform = 3, KE = 4, ID = 5, Cert = 6, CertReq = 7, Hash = 8,
  Sig = 9, Nonce = 10, Notify = 11, Delete = 12, VendorId = 13, NatD = 20, NatOA = 21,
}

export const enum ExchangeV1 { IdentityProtection = 2, Aggressive = 4, Informational = 5, QuickMode = 32 }

export const FLAG_ENCRYPTION = 0x01;
export const FLAG_COMMIT = 0x02;
export const FLAG_AUTH_ONLY = 0x04;

export const DOI_IPSEC = 1;
export const SIT_IDENTITY_ONLY = 1;

export const enum ProtocolId { ISAKMP = 1, AH = 2, ESP = 3 }
/** Phase 1 transform id (RFC 2407 4.4.2). */
export const KEY_IKE = 1;
/** ESP transform ids (RFC 2407 4.4.4; AES from RFC 3602; AES-GCM with a 16-byte ICV from RFC 4106 8.4). */
export const enum EspTransform { DES = 2, TripleDES = 3, NULL = 11, AES = 12, AesGcm16 = 20 }

/** Phase 1 SA attributes (RFC 2409 appendix A). */
export const enum Phase1Attr { Encryption = 1, Hash = 2, AuthMethod = 3, Group = 4, LifeType = 11, LifeDuration = 12, KeyLength = 14 }
export const enum Phase1Encr { DES = 1, TripleDES = 5, AES = 7 }
export const enum Phase1Hash { MD5 = 1, SHA1 = 2, SHA256 = 4, SHA384 = 5, SHA512 = 6 }
export const AUTH_PRE_SHARED = 1;
export const LIFE_SECONDS = 1;
export const LIFE_KILOBYTES = 2;

/** IPsec DOI SA attributes (RFC 2407 4.5). */
export const enum Phase2Attr { LifeType = 1, LifeDuration = 2, Group = 3, EncapsulationMode = 4, AuthAlgorithm = 5, KeyLength = 6 }
export const enum EncapsulationMode { Tunnel = 1, Transport = 2, UdpTunnel = 3, UdpTransport = 4 }
/** NAT traversal (RFC 3947): the vendor ID announcing it is MD5("RFC 3947"); floated messages use 4500. */
export const VID_RFC3947 = new Uint8Array([0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f]);
export const NAT_T_PORT = 4500;
export const enum Phase2Auth { HmacMd5 = 1, HmacSha1 = 2, HmacSha256 = 5 }

/** Identification types (RFC 2407 4.6.2.1). */
export const enum IdType { IPv4Addr = 1, Fqdn = 2, UserFqdn = 3, IPv4Subnet = 4, IPv4Range = 7, KeyId = 11 }

/** Notify message types we send or act on (RFC 2408 3.14.1, RFC 2407 4.6.3, RFC 3706). */
export const enum NotifyV1 {
  InvalidPayloadType = 1, NoProposalChosen = 14, PayloadMalformed = 16, InvalidKeyInformation = 17,
  InvalidIdInformation = 18, AuthenticationFailed = 24, InvalidHashInformation = 23,
  Connected = 16384, InitialContact = 24578, ResponderLifetime = 24576, DpdRUThere = 36136, DpdRUThereAck = 36137,
}
