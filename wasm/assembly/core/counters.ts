// Global counters (u64 each, docs/dataplane.md "Global counters"; names in appliance/dataplane/layout.ts).
// Only the worker writes them (plain stores: one writer); the supervisor reads u64s.
import { counters } from './layout';

export const TUN_RX_PACKETS: u32 = 0;
export const TUN_RX_BYTES: u32 = 1;
export const GRE_TX_PACKETS: u32 = 2;
export const GRE_TX_BYTES: u32 = 3;
export const GRE_RX_PACKETS: u32 = 4;
export const GRE_RX_BYTES: u32 = 5;
export const TUN_TX_PACKETS: u32 = 6;
export const TUN_TX_BYTES: u32 = 7;
export const NHRP_IN: u32 = 8;
export const NHRP_OUT: u32 = 9;
export const NO_ENTRY: u32 = 10;
export const DROP_NO_ROUTE: u32 = 11;
export const DROP_NO_ENTRY: u32 = 12;
export const DROP_TTL: u32 = 13;
export const DROP_BAD_IP: u32 = 14;
export const DROP_GRE_TRUNCATED: u32 = 15;
export const DROP_GRE_VERSION: u32 = 16;
export const DROP_GRE_FLAGS: u32 = 17;
export const DROP_GRE_KEY: u32 = 18;
export const DROP_GRE_PROTO: u32 = 19;
export const DROP_TOO_BIG: u32 = 20;
export const ICMP_FRAG_NEEDED_SENT: u32 = 21;
export const MSS_CLAMPED: u32 = 22;
export const DROP_RING_FULL: u32 = 23;
export const DROP_OUTER_FRAGMENT: u32 = 24;
export const DROP_NOT_FOR_US: u32 = 25;
export const DROP_UNKNOWN_PEER: u32 = 26;
export const CMD_APPLIED: u32 = 27;
export const CMD_BAD: u32 = 28;
export const DROP_CTL_TOO_BIG: u32 = 29;
export const DROP_LOCAL: u32 = 30;
export const FRAG_TX: u32 = 31;
export const ICMP_RATE_LIMITED: u32 = 32;
export const DROP_NO_TUNNEL: u32 = 33;
export const DROP_BAD_KIND: u32 = 34;
export const REDIRECT_NOTICE: u32 = 35;
export const MCAST_TX: u32 = 36;
export const DROP_MCAST_NO_LIST: u32 = 37;

@inline export function count(i: u32): void {
  const a = counters + (<usize>i << 3);
  store<u64>(a, load<u64>(a) + 1);
}

/** counts one packet of `bytes` bytes into the pair (packets at i, bytes at i+1). */
@inline export function countPkt(i: u32, bytes: u32): void {
  const a = counters + (<usize>i << 3);
  store<u64>(a, load<u64>(a) + 1);
  store<u64>(a, load<u64>(a, 8) + <u64>bytes, 8);
}
