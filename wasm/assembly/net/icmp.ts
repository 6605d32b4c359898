// ICMP destination unreachable / fragmentation needed (type 3 code 4, RFC 1191 next-hop MTU) toward
// the source of a DF packet that does not fit the tunnel, written into tunTx with source = the tunnel
// address. Rate-limited per worker by a token bucket: burst 10, one token per 10 ms (100/s).
// Never sent about ICMP errors, non-first fragments, or from/to unusable addresses (RFC 1812 4.3.2.7).
import { copyBytes } from '../core/mem';
import { writeIpv4, csum, ipSrc, ipProto, ipFragField } from './ipv4';
import { prodReserve, prodCommit } from '../io/ring';
import {
  scratch, SCRATCH_PROD_TUN_TX, SLOT_DATA, TUN_KIND_PLAIN, COUNTER_ICMP_FRAG_NEEDED_SENT,
  COUNTER_ICMP_RATE_LIMITED, COUNTER_TUN_TX_PACKETS,
} from '../core/layout';
import { tunnelIp } from '../core/config';
import { count, countPkt } from '../core/counters';
import {
  IP_OFFMASK, IPV4_HDR_LEN, IPPROTO_ICMP, ICMP_TYPE, ICMP_CSUM, ICMP_MTU, ICMP_HDR_LEN, ICMP_DEST_UNREACH,
  ICMP_FRAG_NEEDED, ICMP_ECHO_REPLY, ICMP_ECHO, ICMP_TIMESTAMP, ICMP_TIMESTAMP_REPLY, ICMP_INFO_REQUEST,
  ICMP_INFO_REPLY, ICMP_ADDRESS, ICMP_ADDRESS_REPLY, ICMP_ERROR_MAX, TOS_INTERNETWORK_CONTROL, TTL_DEFAULT,
} from './defs';

const BURST_X10: u32 = 100; // 10 tokens, in tenths
let tokensX10: u32 = BURST_X10;
let lastMs: u32 = 0;

export function icmpReset(now: u32): void { tokensX10 = BURST_X10; lastMs = now; }

function takeToken(now: u32): bool {
  const elapsed = now - lastMs; // one token per 10 ms = one tenth per ms
  lastMs = now;
  const t = tokensX10 + (elapsed > BURST_X10 ? BURST_X10 : elapsed);
  tokensX10 = t > BURST_X10 ? BURST_X10 : t;
  if (tokensX10 < 10) return false;
  tokensX10 -= 10;
  return true;
}

@inline function unusableSource(a: u32): bool {
  const top = a >>> 24;
  return a == 0 || a == 0xffffffff || top == 127 || (top >= 224); // RFC 1812 4.3.2.7
}

/** ICMP messages that are not errors (an error is never sent about an error, RFC 1812 4.3.2.7). */
@inline function isQuery(t: u32): bool {
  return t == ICMP_ECHO_REPLY || t == ICMP_ECHO || t == ICMP_TIMESTAMP || t == ICMP_TIMESTAMP_REPLY ||
    t == ICMP_INFO_REQUEST || t == ICMP_INFO_REPLY || t == ICMP_ADDRESS || t == ICMP_ADDRESS_REPLY;
}

/** Sends frag-needed about the packet at `p` (`hl`, `tot`) advertising `mtu`. Returns true if sent. */
export function sendFragNeeded(p: usize, hl: u32, tot: u32, mtu: u32, now: u32): bool {
  const src = ipSrc(p);
  if (unusableSource(src) || tunnelIp == 0) return false;
  if ((ipFragField(p) & IP_OFFMASK) != 0) return false;
  if (ipProto(p) == IPPROTO_ICMP) {
    if (tot < hl + 1) return false;
    if (!isQuery(<u32>load<u8>(p + hl, ICMP_TYPE))) return false;
  }
  if (!takeToken(now)) { count(COUNTER_ICMP_RATE_LIMITED); return false; }
  const st = scratch + SCRATCH_PROD_TUN_TX;
  const slot = prodReserve(st);
  if (slot == 0) return false;
  const d = slot + SLOT_DATA;
  const room = ICMP_ERROR_MAX - IPV4_HDR_LEN - ICMP_HDR_LEN;
  const quote = tot < room ? tot : room;
  const ic = d + IPV4_HDR_LEN;
  copyBytes(ic + ICMP_HDR_LEN, p, quote);
  store<u16>(ic, <u16>(ICMP_DEST_UNREACH | (ICMP_FRAG_NEEDED << 8)), ICMP_TYPE); // type, code
  store<u16>(ic, 0, ICMP_CSUM);
  store<u16>(ic, 0, ICMP_MTU - 2); // unused
  store<u16>(ic, bswap<u16>(<u16>mtu), ICMP_MTU);
  store<u16>(ic, csum(ic, ICMP_HDR_LEN + quote), ICMP_CSUM);
  const total = IPV4_HDR_LEN + ICMP_HDR_LEN + quote;
  writeIpv4(d, total, TOS_INTERNETWORK_CONTROL, 0, TTL_DEFAULT, IPPROTO_ICMP, tunnelIp, src);
  prodCommit(st, slot, total, TUN_KIND_PLAIN, src, 0);
  count(COUNTER_ICMP_FRAG_NEEDED_SENT);
  countPkt(COUNTER_TUN_TX_PACKETS, total);
  return true;
}
