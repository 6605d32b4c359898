// The shared-memory contract, AssemblyScript side: every offset, size, kind and index the supervisor
// (appliance/dataplane/layout.ts, commands.ts, sa.ts) and the C pumps share with the worker, named
// <STRUCT>_<FIELD> after the TypeScript names, and nowhere else in wasm/assembly/. Also reads the
// layout block once at setup() into the pointer globals below (nothing about the memory map is
// hard-coded: where the rings and tables are comes from the layout block).

// ---- layout block (u32 fields; docs/dataplane.md "Layout block") ----
export const LAYOUT_MAGIC: u32 = 0x444d5631; // "DMV1"
export const LAYOUT_VERSION: u32 = 1;
export const LB_MAGIC: usize = 0;
export const LB_VERSION: usize = 4;
export const LB_TUN_RX: usize = 8;
export const LB_TUN_TX: usize = 12;
export const LB_NBMA_RX: usize = 16;
export const LB_NBMA_TX: usize = 20;
export const LB_CTL_RX: usize = 24;
export const LB_CTL_TX: usize = 28;
export const LB_WORKER_DOORBELL: usize = 32;
export const LB_COUNTERS: usize = 36;
export const LB_PEER_TABLE: usize = 40;
export const LB_PEER_CAPACITY: usize = 44;
export const LB_FIB: usize = 48;
export const LB_FIB_CAPACITY: usize = 52;
export const LB_SCRATCH: usize = 56;
export const LB_SCRATCH_SIZE: usize = 60;
export const LB_TUNNEL_STATE: usize = 64;
export const LB_NBMA_INDEX: usize = 68;
// IPsec ESP; 0 = absent (ESP off)
export const LB_SA_TABLE: usize = 160;
export const LB_SA_CAPACITY: usize = 164;
export const LB_SPI_INDEX: usize = 168;
export const LB_OUT_INDEX: usize = 172;
export const LB_UDP_TX: usize = 176;
export const LB_ESP_RX: usize = 180;
export const LB_UDP_RX: usize = 184;
/** 1 = the worker honours TEST_TRAP (the supervisor sets it only when test hooks are enabled). */
export const LB_TEST_HOOKS: usize = 248;

// ---- ring header, slot header, doorbell ----
export const RING_HEAD: usize = 0;
export const RING_TAIL: usize = 64;
export const RING_SLOT_COUNT: usize = 128;
export const RING_SLOT_SIZE: usize = 132;
export const RING_CONSUMER_DOORBELL: usize = 136;
export const RING_PRODUCER_DOORBELL: usize = 140;
export const RING_FULL_DROPS: usize = 144;
/** bit0 VNET (tunTx): the TUN consumer takes kind-1 slots (set by the tun-tx pump). */
export const RING_FLAGS: usize = 148;
export const RING_HEADER_SIZE: usize = 256;
export const RING_FLAG_VNET: u32 = 1;

export const SLOT_LEN: usize = 0;
export const SLOT_KIND: usize = 4;
export const SLOT_ADDR: usize = 8;
export const SLOT_AUX: usize = 12;
export const SLOT_DATA: usize = 16;

export const DOORBELL_SEQ: usize = 0;
export const DOORBELL_SLEEPING: usize = 4;

// ---- slot kinds ----
/** tunRx/tunTx: 0 = bare IPv4 packet; 1 = 10-byte virtio_net_hdr, then the packet. */
export const TUN_KIND_PLAIN: u32 = 0;
export const TUN_KIND_VNET: u32 = 1;
/** nbma rings (nbmaRx/nbmaTx, espRx, udpRx/udpTx). */
export const NBMA_KIND_GRE: u32 = 47;
export const NBMA_KIND_ESP: u32 = 50;
export const NBMA_KIND_UDP: u32 = 17;

/** ctlRx kinds (worker -> supervisor). */
export const CTL_IN_NHRP_IN: u32 = 1;
export const CTL_IN_NO_ENTRY: u32 = 2;
export const CTL_IN_TRAFFIC_INDICATION: u32 = 3;
export const CTL_IN_SA_EVENT: u32 = 4;
export const CTL_IN_SA_NEEDED: u32 = 5;
export const CTL_IN_IKE_IN: u32 = 6;
/** NHRP_IN through ESP: kind bits 16.. = the inbound SA index + 1. */
export const CTL_IN_SA_SHIFT: u32 = 16;

/** ctlTx kinds (supervisor -> worker). */
export const CTL_OUT_NHRP_OUT: u32 = 1;
export const CTL_OUT_CFG_TUNNEL: u32 = 16;
export const CTL_OUT_FIB_ADD: u32 = 17;
export const CTL_OUT_FIB_DEL: u32 = 18;
export const CTL_OUT_PEER_SET: u32 = 19;
export const CTL_OUT_PEER_DEL: u32 = 20;
export const CTL_OUT_FIB_FLUSH: u32 = 21;
export const CTL_OUT_PEER_FLUSH: u32 = 22;
export const CTL_OUT_MCAST_ADD: u32 = 23;
export const CTL_OUT_MCAST_DEL: u32 = 24;
export const CTL_OUT_MCAST_FLUSH: u32 = 25;
export const CTL_OUT_SA_ADD: u32 = 26;
export const CTL_OUT_SA_DEL: u32 = 27;
export const CTL_OUT_KEEPALIVE: u32 = 28;
export const CTL_OUT_IKE_OUT: u32 = 29;
export const CTL_OUT_SA_PAIR: u32 = 30;
export const CTL_OUT_SA_LIMIT: u32 = 31;
export const CTL_OUT_TEST_TRAP: u32 = 32;

// ---- ctlTx record fields (slot data; appliance/dataplane/commands.ts, sa.ts) ----
export const CFG_TUNNEL_SOURCE: usize = 0;
export const CFG_TUNNEL_TUNNEL_IP: usize = 4;
export const CFG_TUNNEL_TUNNEL_PREFIX_LEN: usize = 8;
export const CFG_TUNNEL_FLAGS: usize = 12;
export const CFG_TUNNEL_KEY: usize = 16;
export const CFG_TUNNEL_IP_MTU: usize = 20;
export const CFG_TUNNEL_TCP_MSS: usize = 24;
export const CFG_TUNNEL_TTL: usize = 28;
export const CFG_TUNNEL_P2P_DESTINATION: usize = 32;
export const CFG_TUNNEL_NHS_FALLBACK: usize = 36;
export const CFG_TUNNEL_SIZE: u32 = 40;
export const FIB_ADD_PREFIX: usize = 0;
export const FIB_ADD_PREFIX_LEN: usize = 4;
export const FIB_ADD_NEXT_HOP: usize = 8;
export const FIB_ADD_SIZE: u32 = 12;
export const FIB_DEL_PREFIX: usize = 0;
export const FIB_DEL_PREFIX_LEN: usize = 4;
export const FIB_DEL_SIZE: u32 = 8;
export const PEER_SET_TUNNEL_IP: usize = 0;
export const PEER_SET_NBMA: usize = 4;
export const PEER_SET_FLAGS: usize = 8;
export const PEER_SET_SIZE: u32 = 12;
export const PEER_DEL_TUNNEL_IP: usize = 0;
export const PEER_DEL_SIZE: u32 = 4;
export const MCAST_ADD_NBMA: usize = 0;
export const MCAST_ADD_SIZE: u32 = 4;
export const MCAST_DEL_NBMA: usize = 0;
export const MCAST_DEL_SIZE: u32 = 4;
export const SA_ADD_INDEX: usize = 0;
export const SA_ADD_DIR: usize = 4;
export const SA_ADD_SPI: usize = 8;
export const SA_ADD_PEER: usize = 12;
/** enc | integ << 8 | icvLen << 16 (espCipher in appliance/dataplane/sa.ts). */
export const SA_ADD_CIPHER: usize = 16;
export const SA_ADD_FLAGS: usize = 20;
export const SA_ADD_PORTS: usize = 24;
export const SA_ADD_REPLAY_WINDOW: usize = 28;
export const SA_ADD_SOFT_BYTES: usize = 32;
export const SA_ADD_HARD_BYTES: usize = 40;
export const SA_ADD_SOFT_PACKETS: usize = 48;
export const SA_ADD_HARD_PACKETS: usize = 56;
export const SA_ADD_KEY_LEN: usize = 64;
export const SA_ADD_AUTH_KEY_LEN: usize = 68;
export const SA_ADD_INITIAL_SEQ: usize = 72;
export const SA_ADD_IV_SEED: usize = 80;
/** key, then authKey */
export const SA_ADD_KEYS: usize = 96;
export const SA_DEL_INDEX: usize = 0;
export const SA_DEL_SIZE: u32 = 4;
export const SA_PAIR_IN_INDEX: usize = 0;
export const SA_PAIR_OUT_INDEX: usize = 4;
export const SA_PAIR_SIZE: u32 = 8;
export const SA_LIMIT_INDEX: usize = 0;
export const SA_LIMIT_LIMIT: usize = 8;
export const SA_LIMIT_WARN: usize = 16;
export const SA_LIMIT_SIZE: u32 = 24;
export const KEEPALIVE_NBMA: usize = 0;
export const KEEPALIVE_PORTS: usize = 4;
export const KEEPALIVE_SIZE: u32 = 8;
export const IKE_OUT_DST: usize = 0;
export const IKE_OUT_PORTS: usize = 4;
export const IKE_OUT_MESSAGE: usize = 8;

// ---- ctlRx record fields ----
export const SA_EVENT_INDEX: usize = 0;
export const SA_EVENT_REASON: usize = 4;
export const SA_EVENT_SPI: usize = 8;
export const SA_EVENT_DIR: usize = 12;
export const SA_EVENT_SIZE: u32 = 16;
export const SA_NEEDED_NBMA: usize = 0;
export const SA_NEEDED_SIZE: u32 = 4;
/** NO_ENTRY and TRAFFIC_INDICATION quote at most this many bytes of the packet. */
export const NOTICE_QUOTE_MAX: u32 = 64;

// ---- tunnel flags and tunnel state block ----
export const TUNNEL_FLAG_KEY: u32 = 1;
export const TUNNEL_FLAG_P2P: u32 = 2;
export const TUNNEL_FLAG_STRICT: u32 = 4;
/** Phase 3 hub (`ip nhrp redirect`): report hairpinned traffic for Traffic Indications. */
export const TUNNEL_FLAG_REDIRECT: u32 = 8;
/** tunnel protection ipsec profile: GRE only through ESP. */
export const TUNNEL_FLAG_PROTECTED: u32 = 16;

export const TUNNEL_STATE_SOURCE: usize = 0;
export const TUNNEL_STATE_TUNNEL_IP: usize = 4;
export const TUNNEL_STATE_TUNNEL_PREFIX_LEN: usize = 8;
export const TUNNEL_STATE_FLAGS: usize = 12;
export const TUNNEL_STATE_KEY: usize = 16;
export const TUNNEL_STATE_IP_MTU: usize = 20;
export const TUNNEL_STATE_TCP_MSS: usize = 24;
export const TUNNEL_STATE_TTL: usize = 28;
export const TUNNEL_STATE_P2P_DESTINATION: usize = 32;
export const TUNNEL_STATE_NHS_FALLBACK: usize = 36;
export const TUNNEL_STATE_CONFIG_GEN: usize = 40;
export const TUNNEL_STATE_PEER_COUNT: usize = 44;
export const TUNNEL_STATE_ROUTE_COUNT: usize = 48;
/** u32 x 33: routes per prefix length 0..32. */
export const TUNNEL_STATE_ROUTES_PER_LEN: usize = 64;

// ---- peer table, nbma index, FIB ----
export const PEER_ENTRY_SIZE: usize = 48;
export const PEER_ENTRY_TUNNEL_IP: usize = 0;
export const PEER_ENTRY_NBMA: usize = 4;
export const PEER_ENTRY_FLAGS: usize = 8;
export const PEER_ENTRY_GEN: usize = 12;
export const PEER_ENTRY_TX_PACKETS: usize = 16;
export const PEER_ENTRY_TX_BYTES: usize = 24;
export const PEER_ENTRY_RX_PACKETS: usize = 32;
export const PEER_ENTRY_RX_BYTES: usize = 40;
export const PEER_EMPTY: u32 = 0;
export const PEER_DELETED: u32 = 0xffffffff;
export const PEER_HASH_MUL: u32 = 0x9e3779b1;
/** PEER_SET flags bits 16..31: outbound SA index + 1 for this tunnel peer (0 = newest SA for its NBMA). */
export const PEER_SA_SHIFT: u32 = 16;
export const NBMA_INDEX_ENTRY: usize = 8;
export const NBMA_INDEX_NBMA: usize = 0;
export const NBMA_INDEX_PEER: usize = 4;

export const FIB_BITMAP_BYTES: usize = 64;
export const FIB_ENTRY_SIZE: usize = 16;
export const FIB_ENTRY_PREFIX: usize = 0;
export const FIB_ENTRY_LEN: usize = 4;
export const FIB_ENTRY_NEXT_HOP: usize = 8;
export const FIB_ENTRY_FLAGS: usize = 12;
export const FIB_EMPTY_LEN: u32 = 255;

// ---- SA table (appliance/dataplane/sa.ts SA_ENTRY) ----
export const SA_ENTRY_SIZE: usize = 4096;
export const SA_ENTRY_STATE: usize = 0;
export const SA_ENTRY_GEN: usize = 4;
export const SA_ENTRY_DIR: usize = 8;
export const SA_ENTRY_SPI: usize = 12;
export const SA_ENTRY_PEER: usize = 16;
export const SA_ENTRY_CIPHER: usize = 20;
export const SA_ENTRY_FLAGS: usize = 24;
export const SA_ENTRY_PORTS: usize = 28;
export const SA_ENTRY_WINDOW: usize = 32;
export const SA_ENTRY_ENC: usize = 36;
export const SA_ENTRY_INTEG: usize = 40;
export const SA_ENTRY_IV_LEN: usize = 44;
export const SA_ENTRY_ICV_LEN: usize = 48;
export const SA_ENTRY_BLOCK: usize = 52;
export const SA_ENTRY_SALT: usize = 56; // 4 bytes, wire order
export const SA_ENTRY_EVENTS: usize = 60; // bit (reason - 1) set: that SA_EVENT was sent
export const SA_ENTRY_SEQ: usize = 64; // u64: out = last sent; in = highest authenticated (T)
export const SA_ENTRY_SOFT_BYTES: usize = 72;
export const SA_ENTRY_HARD_BYTES: usize = 80;
export const SA_ENTRY_SOFT_PACKETS: usize = 88;
export const SA_ENTRY_HARD_PACKETS: usize = 96;
export const SA_ENTRY_SERIAL: usize = 104; // SA_ADD serial number (newest outbound SA wins)
export const SA_ENTRY_ADDED_MS: usize = 112;
export const SA_ENTRY_LAST_MS: usize = 116;
export const SA_ENTRY_PAIR: usize = 120; // inbound: paired outbound SA index + 1 (SA_PAIR), 0 = none
export const SA_ENTRY_PACKETS: usize = 128; // u64 counters from here
export const SA_ENTRY_BYTES: usize = 136;
export const SA_ENTRY_DROP_REPLAY: usize = 144;
export const SA_ENTRY_DROP_TOO_OLD: usize = 152;
export const SA_ENTRY_DROP_AUTH: usize = 160;
export const SA_ENTRY_DROP_BAD_PAD: usize = 168;
export const SA_ENTRY_DROP_BAD_NEXT_HEADER: usize = 176;
export const SA_ENTRY_DROP_LIFETIME: usize = 184;
export const SA_ENTRY_DROP_MALFORMED: usize = 192;
export const SA_ENTRY_DROP_POLICY: usize = 200;
export const SA_ENTRY_DROP_SEQ_LIMIT: usize = 208;
export const SA_ENTRY_SEQ_LIMIT: usize = 216; // u64 outbound: highest sequence number that may be sent
export const SA_ENTRY_SEQ_WARN: usize = 224; // u64 outbound: from here on, ask for the next reservation
export const SA_ENTRY_BITMAP: usize = 256; // replay window, up to SA_WINDOW_MAX bits
export const SA_ENTRY_SECRETS: usize = 1024; // secrets: iv seed (16) then contexts
export const SA_ENTRY_IV_SEED: usize = 1024;
export const SA_ENTRY_CIPHER_CTX: usize = 1040; // GCM 2720 / AES 1936 / ChaCha 32 bytes
export const SA_ENTRY_HMAC_CTX: usize = 3776; // <= 64 bytes
export const SA_ENTRY_SECRETS_END: usize = 3840;
export const SA_WINDOW_MAX: u32 = 4096;
export const SA_WINDOW_DEFAULT: u32 = 2048;

export const SA_STATE_FREE: u32 = 0;
export const SA_STATE_ACTIVE: u32 = 1;
export const SA_STATE_EXPIRED: u32 = 2;
export const SA_DIR_IN: u32 = 1;
export const SA_DIR_OUT: u32 = 2;
export const SA_FLAG_UDP: u32 = 1;
export const SA_FLAG_ESN: u32 = 2;
export const SA_FLAG_TUNNEL: u32 = 4;
export const SA_FLAG_NO_REPLAY: u32 = 8;
/** sequence numbers only up to SA_ENTRY_SEQ_LIMIT, raised by SA_LIMIT after the supervisor persisted it. */
export const SA_FLAG_SEQ_LIMIT: u32 = 16;
/** selectors = GRE between the SA's peer and our tunnel source; anything else is a policy drop. */
export const SA_FLAG_GRE_ONLY: u32 = 32;
export const SA_EVENT_REASON_SOFT_LIFETIME: u32 = 1;
export const SA_EVENT_REASON_HARD_LIFETIME: u32 = 2;
export const SA_EVENT_REASON_SEQ_EXHAUSTED: u32 = 3;
export const SA_EVENT_REASON_SEQ_LOW: u32 = 4;
export const ESP_ENC_AES_GCM_128: u32 = 1;
export const ESP_ENC_AES_GCM_256: u32 = 2;
export const ESP_ENC_CHACHA20_POLY1305: u32 = 3;
export const ESP_ENC_AES_CBC_128: u32 = 4;
export const ESP_ENC_AES_CBC_256: u32 = 5;
export const ESP_ENC_NULL: u32 = 6;
export const ESP_INTEG_NONE: u32 = 0;
export const ESP_INTEG_HMAC_SHA1_96: u32 = 1;
export const ESP_INTEG_HMAC_SHA256_128: u32 = 2;
/** SPI index and outbound (peer) index: 2 x saCapacity entries of {key u32, SA index + 1 u32}. */
export const SA_INDEX_ENTRY: usize = 8;

// ---- global counters (u64 each; names in appliance/dataplane/layout.ts COUNTER_NAMES) ----
export const COUNTER_TUN_RX_PACKETS: u32 = 0;
export const COUNTER_TUN_RX_BYTES: u32 = 1;
export const COUNTER_GRE_TX_PACKETS: u32 = 2;
export const COUNTER_GRE_TX_BYTES: u32 = 3;
export const COUNTER_GRE_RX_PACKETS: u32 = 4;
export const COUNTER_GRE_RX_BYTES: u32 = 5;
export const COUNTER_TUN_TX_PACKETS: u32 = 6;
export const COUNTER_TUN_TX_BYTES: u32 = 7;
export const COUNTER_NHRP_IN: u32 = 8;
export const COUNTER_NHRP_OUT: u32 = 9;
export const COUNTER_NO_ENTRY: u32 = 10;
export const COUNTER_DROP_NO_ROUTE: u32 = 11;
export const COUNTER_DROP_NO_ENTRY: u32 = 12;
export const COUNTER_DROP_TTL: u32 = 13;
export const COUNTER_DROP_BAD_IP: u32 = 14;
export const COUNTER_DROP_GRE_TRUNCATED: u32 = 15;
export const COUNTER_DROP_GRE_VERSION: u32 = 16;
export const COUNTER_DROP_GRE_FLAGS: u32 = 17;
export const COUNTER_DROP_GRE_KEY: u32 = 18;
export const COUNTER_DROP_GRE_PROTO: u32 = 19;
export const COUNTER_DROP_TOO_BIG: u32 = 20;
export const COUNTER_ICMP_FRAG_NEEDED_SENT: u32 = 21;
export const COUNTER_MSS_CLAMPED: u32 = 22;
export const COUNTER_DROP_RING_FULL: u32 = 23;
export const COUNTER_DROP_OUTER_FRAGMENT: u32 = 24;
export const COUNTER_DROP_NOT_FOR_US: u32 = 25;
export const COUNTER_DROP_UNKNOWN_PEER: u32 = 26;
export const COUNTER_CMD_APPLIED: u32 = 27;
export const COUNTER_CMD_BAD: u32 = 28;
export const COUNTER_DROP_CTL_TOO_BIG: u32 = 29;
export const COUNTER_DROP_LOCAL: u32 = 30;
export const COUNTER_FRAG_TX: u32 = 31;
export const COUNTER_ICMP_RATE_LIMITED: u32 = 32;
export const COUNTER_DROP_NO_TUNNEL: u32 = 33;
export const COUNTER_DROP_BAD_KIND: u32 = 34;
export const COUNTER_REDIRECT_NOTICE: u32 = 35;
export const COUNTER_MCAST_TX: u32 = 36;
export const COUNTER_DROP_MCAST_NO_LIST: u32 = 37;
export const COUNTER_SLOTS: u32 = 256;
// TSO/GRO offload block (OFFLOAD_COUNTER_NAMES)
export const OFFLOAD_COUNTER_BASE: u32 = 64;
export const COUNTER_TSO_SUPER: u32 = 64;      // GSO super-packets read from TUN and segmented
export const COUNTER_TSO_SEGMENTS: u32 = 65;   // segments they produced
export const COUNTER_CSUM_COMPLETED: u32 = 66; // non-GSO packets whose NEEDS_CSUM checksum we finished
export const COUNTER_GRO_SUPER: u32 = 67;      // coalesced super-packets written to TUN (2+ segments)
export const COUNTER_GRO_MERGED: u32 = 68;     // segments appended to another one
export const COUNTER_DROP_BAD_VNET: u32 = 69;  // malformed virtio_net_hdr or super-packet
// ESP block (ESP_COUNTER_NAMES in appliance/dataplane/sa.ts)
export const ESP_COUNTER_BASE: u32 = 96;
export const COUNTER_ESP_TX_PACKETS: u32 = 96;
export const COUNTER_ESP_TX_BYTES: u32 = 97;
export const COUNTER_ESP_RX_PACKETS: u32 = 98;
export const COUNTER_ESP_RX_BYTES: u32 = 99;
export const COUNTER_DROP_NO_SA: u32 = 100;
export const COUNTER_SA_NEEDED_SENT: u32 = 101;
export const COUNTER_DROP_CLEARTEXT: u32 = 102;
export const COUNTER_DROP_UNKNOWN_SPI: u32 = 103;
export const COUNTER_DROP_ESP_MALFORMED: u32 = 104;
export const COUNTER_DROP_ESP_AUTH: u32 = 105;
export const COUNTER_DROP_ESP_REPLAY: u32 = 106;
export const COUNTER_DROP_ESP_INVALID: u32 = 107; // bad pad / bad next header after authentication
export const COUNTER_DROP_SA_EXPIRED: u32 = 108;
export const COUNTER_NATT_KEEPALIVE_RX: u32 = 109;
export const COUNTER_NATT_KEEPALIVE_TX: u32 = 110;
export const COUNTER_IKE_IN: u32 = 111;
export const COUNTER_IKE_OUT: u32 = 112;
export const COUNTER_DROP_ESP_TOO_BIG: u32 = 113;
export const COUNTER_SA_EVENTS_SENT: u32 = 114;
export const COUNTER_DROP_SEQ_LIMIT: u32 = 115;
export const COUNTER_DROP_ESP_POLICY: u32 = 116;
// Not counters: the NBMA source of the last packet dropped for that reason (LAST_DROP_SOURCE_SLOT).
export const LAST_DROP_SOURCE_SLOT_UNKNOWN_PEER: u32 = 120;
export const LAST_DROP_SOURCE_SLOT_CLEARTEXT: u32 = 121;
export const LAST_DROP_SOURCE_SLOT_ESP_POLICY: u32 = 122;
// worker-restart block (HEAL_COUNTER_NAMES)
export const HEAL_COUNTER_BASE: u32 = 160;
export const COUNTER_RESTART_SLOT_SKIPPED: u32 = 160; // input slots a dead worker was processing, skipped
export const COUNTER_RESTART_TORN_PEERS: u32 = 161;   // peer entries found mid-write (gen odd)
export const COUNTER_RESTART_TORN_SAS: u32 = 162;     // SA entries found mid-write, wiped
export const COUNTER_RESTART_SETUPS: u32 = 163;       // setup() calls that found an earlier instance's work

// ---- per-worker scratch (docs/dataplane.md "Per-worker scratch"); SCRATCH_IN_FLIGHT is shared ----
export const SCRATCH_PROD_TUN_TX: usize = 0; // producer states, 32 bytes each (io/ring.ts)
export const SCRATCH_PROD_NBMA_TX: usize = 32;
export const SCRATCH_PROD_CTL_RX: usize = 64;
export const SCRATCH_FRAG_HDR: usize = 128; // 64 bytes: header template of non-first fragments
/** {ring u32, slot u32} of the input slot being processed (read by the supervisor after a death). */
export const SCRATCH_IN_FLIGHT: usize = 256;
export const SCRATCH_PACKET: usize = 512; // the per-packet context (core/packet.ts), <= 256 bytes
export const SCRATCH_BENCH_IN: usize = 4096; // 4 KiB: benchmark input packet
export const SCRATCH_BENCH_SAVED: usize = 8192; // 4 x 32 B: the real producer states during a benchmark
export const SCRATCH_BENCH_TMPL: usize = 12288; // 4 KiB: benchmark encrypted packet
export const SCRATCH_NO_ENTRY: usize = 16384; // notice limiter (core/notify.ts), 4 KiB
export const SCRATCH_ESP_NEEDED: usize = 20480; // notice limiter for SA_NEEDED, 4 KiB
export const SCRATCH_NEEDED: u32 = 24576;
/** 4 x 8 KiB: one-slot rings the benchmarks point the producers at (bench/rings.ts). */
export const SCRATCH_BENCH_RINGS: usize = 32768;
export const SCRATCH_BENCH_RING_BYTES: usize = 8192;
export const SCRATCH_REDIRECT: usize = 131072; // notice limiter for TRAFFIC_INDICATION, 4 KiB
export const SCRATCH_REDIRECT_END: usize = SCRATCH_REDIRECT + 256 * 16;
export const SCRATCH_MCAST: usize = 139264; // u32 count, then up to MCAST_MAX u32 NBMA addresses
export const MCAST_MAX: u32 = 8192;
export const SCRATCH_MCAST_END: usize = SCRATCH_MCAST + 4 + <usize>MCAST_MAX * 4;
export const SCRATCH_TSO_HDR: usize = 196608; // 128 B: IPv4+TCP header template while segmenting
export const SCRATCH_GRO_TABLE: usize = 196608 + 256; // GRO_FLOWS x 32 B: open coalescing items
export const GRO_FLOWS: u32 = 64;
export const SCRATCH_OFFLOAD_END: usize = SCRATCH_GRO_TABLE + <usize>GRO_FLOWS * 32;
export const SCRATCH_ESP: usize = 233472;
export const SCRATCH_ESP_PROD_UDP_TX: usize = SCRATCH_ESP; // 32 B producer state
export const SCRATCH_ESP_NONCE: usize = SCRATCH_ESP + 64; // 16
export const SCRATCH_ESP_AAD: usize = SCRATCH_ESP + 80; // 16
export const SCRATCH_ESP_IV: usize = SCRATCH_ESP + 96; // 16
export const SCRATCH_ESP_ICV: usize = SCRATCH_ESP + 128; // 32: the ICV we compute
export const SCRATCH_ESP_ICV_RX: usize = SCRATCH_ESP + 160; // 32: the received ICV (verified in place of it)
export const SCRATCH_ESP_CRYPTO: usize = SCRATCH_ESP + 4096; // CRYPTO_SCRATCH_SIZE
export const SCRATCH_ESP_END: usize = SCRATCH_ESP + 8192;

// ---- the layout block as read by setup() ----
export let layoutBlock: usize = 0;
export let tunRx: usize = 0;
export let tunTx: usize = 0;
export let nbmaRx: usize = 0;
export let nbmaTx: usize = 0;
export let ctlRx: usize = 0;
export let ctlTx: usize = 0;
export let workerDoorbell: usize = 0;
export let counters: usize = 0;
export let peerTable: usize = 0;
export let peerCapacity: u32 = 0;
export let fib: usize = 0;
export let fibCapacity: u32 = 0;
export let scratch: usize = 0;
export let scratchSize: u32 = 0;
export let tunnelState: usize = 0;
export let nbmaIndex: usize = 0;

/** Returns 0, or -1 (bad magic/version), -2 (capacity not a power of two). */
export function readLayout(base: usize): i32 {
  if (load<u32>(base, LB_MAGIC) != LAYOUT_MAGIC || load<u32>(base, LB_VERSION) != LAYOUT_VERSION) return -1;
  layoutBlock = base;
  tunRx = load<u32>(base, LB_TUN_RX);
  tunTx = load<u32>(base, LB_TUN_TX);
  nbmaRx = load<u32>(base, LB_NBMA_RX);
  nbmaTx = load<u32>(base, LB_NBMA_TX);
  ctlRx = load<u32>(base, LB_CTL_RX);
  ctlTx = load<u32>(base, LB_CTL_TX);
  workerDoorbell = load<u32>(base, LB_WORKER_DOORBELL);
  counters = load<u32>(base, LB_COUNTERS);
  peerTable = load<u32>(base, LB_PEER_TABLE);
  peerCapacity = load<u32>(base, LB_PEER_CAPACITY);
  fib = load<u32>(base, LB_FIB);
  fibCapacity = load<u32>(base, LB_FIB_CAPACITY);
  scratch = load<u32>(base, LB_SCRATCH);
  scratchSize = load<u32>(base, LB_SCRATCH_SIZE);
  tunnelState = load<u32>(base, LB_TUNNEL_STATE);
  nbmaIndex = load<u32>(base, LB_NBMA_INDEX);
  if (peerCapacity < 2 || (peerCapacity & (peerCapacity - 1)) != 0) return -2;
  if (fibCapacity < 2 || (fibCapacity & (fibCapacity - 1)) != 0) return -2;
  return 0;
}

/** A u32 field of the layout block (for the ESP fields, read by esp/sa.ts and worker/recover.ts). */
@inline export function layoutField(off: usize): usize { return <usize>load<u32>(layoutBlock + off); }

/** Data bytes a slot of ring `r` can hold. */
@inline export function slotDataMax(r: usize): u32 {
  return load<u32>(r, RING_SLOT_SIZE) - <u32>SLOT_DATA;
}
