// ICMP destination unreachable / fragmentation needed (type 3 code 4, RFC 1191 next-hop MTU) toward
// the source of a DF packet that does not fit the tunnel, written into tunTx with source = the tunnel
// address. Rate-limited per worker by a token bucket: burst 10, one token per 10 ms (100/s).
// Never sent about ICMP errors, non-first fragments, or from/to unusable addresses (RFC 1812 4.3.2.7).
import { copyBytes } from '../core/mem';
import { writeIpv4, csum, ipSrc, ipProto, ipFragField, IP_OFFMASK } from './ipv4';
import { prodReserve, prodCommit } from '../io/ring';
import { scratch, SCR_PROD_TUNTX } from '../core/layout';
import { tunnelIp } from '../core/config';
import { count, countPkt, ICMP_FRAG_NEEDED_SENT, ICMP_RATE_LIMITED, TUN_TX_PACKETS } from '../core/counters';

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
  return a == 0 || a == 0xffffffff || top == 127 || (top >= 224);
}

/** Sends frag-needed about the packet at `p` (`hl`, `tot`) advertising `mtu`. Returns true if sent. */
export function sendFragNeeded(p: usize, hl: u32, tot: u32, mtu: u32, now: u32): bool {
  const src = ipSrc(p);
  if (unusableSource(src) || tunnelIp == 0) return false;
  if ((ipFragField(p) & IP_OFFMASK) != 0) return false;
  if (ipProto(p) == 1) {
    if (tot < hl + 1) return false;
    const t = <u32>load<u8>(p + hl);
    if (t != 0 && t != 8 && t != 13 && t != 14 && t != 15 && t != 16 && t != 17 && t != 18) return false;
  }
  if (!takeToken(now)) { count(ICMP_RATE_LIMITED); return false; }
  const st = scratch + SCR_PROD_TUNTX;
  const slot = prodReserve(st);
  if (slot == 0) return false;
  const d = slot + 16;
  const quote = tot < 576 - 28 ? tot : 576 - 28; // RFC 1812 4.3.2.3: as much as fits in 576
  const ic = d + 20;
  copyBytes(ic + 8, p, quote);
  store<u32>(ic, 3 | (4 << 8));
  store<u32>(ic, <u32>bswap<u16>(<u16>mtu) << 16, 4);
  store<u16>(ic, csum(ic, 8 + quote), 2);
  const total = 28 + quote;
  writeIpv4(d, total, 0xc0, 0, 64, 1, tunnelIp, src);
  prodCommit(st, slot, total, 0, src, 0);
  count(ICMP_FRAG_NEEDED_SENT);
  countPkt(TUN_TX_PACKETS, total);
  return true;
}
