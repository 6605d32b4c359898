// ESP (RFC 4303) and ESP-in-UDP (RFC 3948) wire constants. The SA table's layout, flags, states and
// the ESP counters are part of the shared-memory contract: core/layout.ts (SA_ENTRY_*, SA_FLAG_*...).
export const ESP_SPI: usize = 0;
export const ESP_SEQ: usize = 4;
export const ESP_IV: usize = 8; // the IV follows the sequence number
export const ESP_HDR_LEN: u32 = 8; // SPI + sequence number
/** ESP trailer after the padding: pad length (u8), next header (u8). */
export const ESP_TRAILER_LEN: u32 = 2;
export const TRAILER_PAD_LEN: usize = 0;
export const TRAILER_NEXT_HEADER: usize = 1;
/** AEAD (RFC 4106 / 7634) explicit IV = the 64-bit sequence number; nonce = salt (4) || IV (8). */
export const AEAD_IV_LEN: u32 = 8;
export const AEAD_NONCE_SALT: usize = 0;
export const AEAD_NONCE_IV: usize = 4;
/** Additional data: SPI || seq (8 bytes), or with ESN SPI || seq high || seq low (12 bytes). */
export const AAD_LEN: i32 = 8;
export const AAD_LEN_ESN: i32 = 12;
export const AAD_SPI: usize = 0;
export const AAD_SEQ_HI: usize = 4;
export const AAD_SEQ_LO: usize = 8;
/** CBC IV = AES_K(seed XOR (0^64 || seq)): the sequence number goes into the seed's second half. */
export const CBC_IV_SEQ: usize = 8;
export const CBC_BLOCK: u32 = 16;
export const NO_CIPHER_BLOCK: u32 = 4; // ESP payload alignment without a block cipher

/** SA_ADD cipher word: enc | integ << 8 | icvLen << 16. */
@inline export function cipherEnc(c: u32): u32 { return c & 0xff; }
@inline export function cipherInteg(c: u32): u32 { return (c >> 8) & 0xff; }
@inline export function cipherIcvLen(c: u32): u32 { return (c >> 16) & 0xff; }

/** RFC 3948 2.3: a NAT-keepalive is one 0xFF byte. */
export const NATT_KEEPALIVE_BYTE: u8 = 0xff;
/** RFC 3948 2.2: IKE on port 4500 starts with four zero bytes (the non-ESP marker). */
export const NON_ESP_MARKER_LEN: u32 = 4;
/** SA_ADD ports word and slot aux of udp rings: srcPort << 16 | dstPort. */
@inline export function portsSrc(ports: u32): u32 { return ports >>> 16; }

/** At most one SA_NEEDED per NBMA per second. */
export const SA_NEEDED_INTERVAL_MS: u32 = 1000;

// espInput() results
/** The packet was consumed (dropped and counted, handed to the supervisor, or written to the TUN). */
export const ESP_IN_DONE: u32 = 0;
/** pk now holds a GRE-in-IPv4 packet from pk.nbma that came out of SA pk.sa - 1: decapsulate it. */
export const ESP_IN_GRE: u32 = 1;
/** espInputCheck(): the packet passed every check before the crypto; open it (espOpen). */
export const ESP_IN_OPEN: u32 = 2;
