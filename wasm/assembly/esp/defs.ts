// ESP shared state: layout-block fields, SA entry offsets, scratch offsets, counters, and the flag
// telling inbound() that a GRE packet came out of ESP (docs/dataplane.md "IPsec ESP").
import { counters } from '../core/layout';

// Layout block fields (u32) added for ESP; 0 = absent (ESP off).
export const LB_SA_TABLE: usize = 160;
export const LB_SA_CAPACITY: usize = 164;
export const LB_SPI_INDEX: usize = 168;
export const LB_OUT_INDEX: usize = 172;
export const LB_UDP_TX: usize = 176;
export const LB_ESP_RX: usize = 180;
export const LB_UDP_RX: usize = 184;

// SA entry (SA_SIZE bytes).
export const SA_SIZE: usize = 4096;
export const SA_STATE: usize = 0; // 0 free, 1 active, 2 expired (hard lifetime / sequence exhausted)
export const SA_GEN: usize = 4;
export const SA_DIR: usize = 8; // 1 in, 2 out
export const SA_SPI: usize = 12;
export const SA_PEER: usize = 16;
export const SA_CIPHER: usize = 20;
export const SA_FLAGS: usize = 24;
export const SA_PORTS: usize = 28;
export const SA_WINDOW: usize = 32;
export const SA_ENC: usize = 36;
export const SA_INTEG: usize = 40;
export const SA_IVLEN: usize = 44;
export const SA_ICVLEN: usize = 48;
export const SA_BLOCK: usize = 52;
export const SA_SALT: usize = 56; // 4 bytes, wire order
export const SA_EVENTS: usize = 60; // bit0 soft sent, bit1 hard sent, bit2 seq-exhausted sent
export const SA_SEQ: usize = 64; // u64: out = last sent; in = highest authenticated (T)
export const SA_SOFT_BYTES: usize = 72;
export const SA_HARD_BYTES: usize = 80;
export const SA_SOFT_PACKETS: usize = 88;
export const SA_HARD_PACKETS: usize = 96;
export const SA_SERIAL: usize = 104; // SA_ADD serial number (newest outbound SA wins)
export const SA_ADDED_MS: usize = 112;
export const SA_LAST_MS: usize = 116;
export const SA_PAIR: usize = 120; // inbound: paired outbound SA index + 1 (SA_PAIR), 0 = none
export const SA_PACKETS: usize = 128; // u64 counters from here
export const SA_BYTES: usize = 136;
export const SA_D_REPLAY: usize = 144;
export const SA_D_TOO_OLD: usize = 152;
export const SA_D_AUTH: usize = 160;
export const SA_D_BAD_PAD: usize = 168;
export const SA_D_BAD_NH: usize = 176;
export const SA_D_LIFETIME: usize = 184;
export const SA_D_MALFORMED: usize = 192;
export const SA_D_POLICY: usize = 200; // authenticated, but outside the SA's selectors (source, inner packet)
export const SA_D_SEQ_LIMIT: usize = 208; // outbound: dropped at the persisted reservation limit
export const SA_SEQ_LIMIT: usize = 216; // u64 outbound: highest sequence number that may be sent
export const SA_SEQ_WARN: usize = 224; // u64 outbound: from this number on, ask for the next reservation
export const SA_BITMAP: usize = 256; // replay window, up to 4096 bits
export const SA_SECRET: usize = 1024; // secrets: iv seed (16) then contexts
export const SA_IV_SEED: usize = 1024;
export const SA_CTX: usize = 1040; // cipher context (GCM 2720 / AES 1936 / ChaCha 32)
export const SA_HMAC: usize = 3776; // HMAC context (<= 64)
export const SA_SECRET_END: usize = 3840;
export const WINDOW_MAX: u32 = 4096;

export const ST_FREE: u32 = 0;
export const ST_ACTIVE: u32 = 1;
export const ST_EXPIRED: u32 = 2;
export const DIR_IN: u32 = 1;
export const DIR_OUT: u32 = 2;

export const SAF_UDP: u32 = 1;
export const SAF_ESN: u32 = 2;
export const SAF_TUNNEL: u32 = 4;
export const SAF_NO_REPLAY: u32 = 8;
// Sequence numbers only up to SA_SEQ_LIMIT, raised by SA_LIMIT after the supervisor has persisted
// the reservation (manual keys: a restart must never reuse a number, RFC 4106 8.1 / RFC 7634 4).
export const SAF_SEQ_LIMIT: u32 = 16;
// Selectors = GRE between the SA's peer and our tunnel source (tunnel protection SAs): any other
// inner packet is a policy drop instead of going to the TUN (tunnel mode) or being refused as bad NH.
export const SAF_GRE_ONLY: u32 = 32;

export const ENC_GCM128: u32 = 1;
export const ENC_GCM256: u32 = 2;
export const ENC_CHACHA: u32 = 3;
export const ENC_CBC128: u32 = 4;
export const ENC_CBC256: u32 = 5;
export const ENC_NULL: u32 = 6;
export const INTEG_NONE: u32 = 0;
export const INTEG_SHA1: u32 = 1;
export const INTEG_SHA256: u32 = 2;

export const EV_SOFT: u32 = 1;
export const EV_HARD: u32 = 2;
export const EV_SEQ: u32 = 3;
export const EV_SEQ_LOW: u32 = 4; // outbound reached SA_SEQ_WARN: reserve the next block (re-armed by SA_LIMIT)

// Tunnel flag bit4: protected (tunnel protection ipsec profile).
export const FLAG_PROTECTED: u32 = 16;

// ctlRx kinds.
export const CTL_SA_EVENT: u32 = 4;
export const CTL_SA_NEEDED: u32 = 5;
export const CTL_IKE_IN: u32 = 6;
// ctlTx kinds.
export const K_SA_ADD: u32 = 26;
export const K_SA_DEL: u32 = 27;
export const K_KEEPALIVE: u32 = 28;
export const K_IKE_OUT: u32 = 29;
export const K_SA_PAIR: u32 = 30;
export const K_SA_LIMIT: u32 = 31;

// Per-worker scratch (after the multicast list, which ends at 229380).
export const SCR_ESP: usize = 233472;
export const SCR_ESP_PROD_UDPTX: usize = SCR_ESP; // 32 B producer state
export const SCR_ESP_NONCE: usize = SCR_ESP + 64; // 16
export const SCR_ESP_AAD: usize = SCR_ESP + 80; // 16
export const SCR_ESP_IV: usize = SCR_ESP + 96; // 16
export const SCR_ESP_ICV: usize = SCR_ESP + 128; // 64
export const SCR_ESP_NEEDED: usize = SCR_ESP + 256; // 256 x {nbma, lastMs}
export const SCR_ESP_CRYPTO: usize = SCR_ESP + 4096; // CRYPTO_SCRATCH_SIZE
export const SCR_ESP_END: usize = SCR_ESP + 8192;

// Global counters (ESP block from 96; ESP_COUNTER_NAMES in appliance/dataplane/sa.ts).
export const ESP_TX_PACKETS: u32 = 96;
export const ESP_TX_BYTES: u32 = 97;
export const ESP_RX_PACKETS: u32 = 98;
export const ESP_RX_BYTES: u32 = 99;
export const DROP_NO_SA: u32 = 100;
export const SA_NEEDED_SENT: u32 = 101;
export const DROP_CLEARTEXT: u32 = 102;
export const DROP_UNKNOWN_SPI: u32 = 103;
export const DROP_ESP_MALFORMED: u32 = 104;
export const DROP_ESP_AUTH: u32 = 105;
export const DROP_ESP_REPLAY: u32 = 106;
export const DROP_ESP_INVALID: u32 = 107; // bad pad / bad next header after authentication
export const DROP_SA_EXPIRED: u32 = 108;
export const NATT_KEEPALIVE_RX: u32 = 109;
export const NATT_KEEPALIVE_TX: u32 = 110;
export const IKE_IN: u32 = 111;
export const IKE_OUT: u32 = 112;
export const DROP_ESP_TOO_BIG: u32 = 113;
export const SA_EVENTS_SENT: u32 = 114;
export const DROP_SEQ_LIMIT: u32 = 115;
export const DROP_ESP_POLICY: u32 = 116;
// Not counters: the NBMA source of the last packet dropped for that reason, for the supervisor's
// rate-limited log line (appliance/dataplane/sa.ts readDropSources).
export const LAST_SRC_UNKNOWN_PEER: u32 = 120;
export const LAST_SRC_CLEARTEXT: u32 = 121;
export const LAST_SRC_ESP_POLICY: u32 = 122;

@inline export function cnt(i: u32, n: u64 = 1): void {
  const a = counters + (<usize>i << 3);
  store<u64>(a, load<u64>(a) + n);
}
@inline export function lastSource(i: u32, src: u32): void { store<u64>(counters + (<usize>i << 3), <u64>src); }
@inline export function saCnt(e: usize, off: usize, n: u64 = 1): void {
  store<u64>(e + off, load<u64>(e + off) + n);
}

/** Set while a GRE packet that came out of ESP goes through inbound(). */
export let espInner: bool = false;
export function setEspInner(v: bool): void { espInner = v; }
/** Inbound SA index + 1 of the GRE packet in inbound() while espInner (stamped into NHRP_IN). */
export let espInSa: u32 = 0;
export function setEspInSa(v: u32): void { espInSa = v; }
