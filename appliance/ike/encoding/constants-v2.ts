// Numbers from RFC 7296 (IKEv2) and its IANA registries, RFC 7383 (fragmentation), RFC 7427 (signature
// auth) and RFC 8031 (Curve25519). Only what this implementation sends or must recognise.

export const IKEV2_HEADER_LEN = 28;
/** Major 2, minor 0 (RFC 7296 3.1). */
export const IKEV2_MAJOR = 2;
export const SPI_LEN = 8;

export const enum ExchangeV2 { IkeSaInit = 34, IkeAuth = 35, CreateChildSa = 36, Informational = 37 }

/** Header flags (RFC 7296 3.1): I = sent by the original initiator, R = a response. */
export const FLAG_I = 0x08;
export const FLAG_V = 0x10;
export const FLAG_R = 0x20;

export const enum PayloadV2 {
  None = 0, SA = 33, KE = 34, IDi = 35, IDr = 36, Cert = 37, CertReq = 38, Auth = 39, Nonce = 40,
  Notify = 41, Delete = 42, VendorId = 43, TSi = 44, TSr = 45, SK = 46, CP = 47, EAP = 48, SKF = 53,
}

export const enum ProtocolV2 { IKE = 1, AH = 2, ESP = 3 }

export const enum TransformType { ENCR = 1, PRF = 2, INTEG = 3, DH = 4, ESN = 5 }
export const enum EncrId { TripleDES = 3, AesCbc = 12, AesGcm16 = 20, ChaCha20Poly1305 = 28 }
export const enum PrfId { HmacSha1 = 2, HmacSha256 = 5, HmacSha384 = 6, HmacSha512 = 7 }
export const enum IntegId { None = 0, HmacSha1_96 = 2, HmacSha256_128 = 12, HmacSha384_192 = 13, HmacSha512_256 = 14 }
/** Transform attribute Key Length (RFC 7296 3.3.5), always TV. */
export const ATTR_KEY_LENGTH = 14;

export const enum IdTypeV2 { IPv4Addr = 1, Fqdn = 2, Rfc822 = 3, IPv6Addr = 5, KeyId = 11 }
export const enum AuthMethod { RsaSig = 1, SharedKeyMic = 2, DssSig = 3, DigitalSignature = 14 }
/** Traffic selector type IPv4 address range (RFC 7296 3.13.1). */
export const TS_IPV4_ADDR_RANGE = 7;

/** Notify types (RFC 7296 3.10.1 and IANA): below 16384 errors, from 16384 status. */
export const enum NotifyV2 {
  UnsupportedCriticalPayload = 1, InvalidIkeSpi = 4, InvalidMajorVersion = 5, InvalidSyntax = 7,
  InvalidMessageId = 9, InvalidSpi = 11, NoProposalChosen = 14, InvalidKePayload = 17,
  AuthenticationFailed = 24, SinglePairRequired = 34, NoAdditionalSas = 35, TsUnacceptable = 38,
  TemporaryFailure = 43, ChildSaNotFound = 44,
  InitialContact = 16384, NatDetectionSourceIp = 16388, NatDetectionDestinationIp = 16389, Cookie = 16390,
  UseTransportMode = 16391, RekeySa = 16393, EspTfcPaddingNotSupported = 16394, NonFirstFragmentsAlso = 16395,
  FragmentationSupported = 16430, SignatureHashAlgorithms = 16431,
}

export const NAT_T_PORT_V2 = 4500;
