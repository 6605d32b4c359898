// TCP/UDP checksums for the offload paths (TSO segmentation, GRO coalescing, NEEDS_CSUM completion).
// Same convention as ipv4.ts: sums are taken over native (little-endian) 16-bit words, which is
// byte-order independent for the one's complement sum, so a folded sum stored natively is wire bytes.
// The bulk sum uses SIMD because segmentation and coalescing checksum every payload byte once.
import { csumFold } from './ipv4';
import { IPV4_SRC, IPV4_DST, IPPROTO_TCP, TCP_CSUM } from './defs';

/**
 * One's complement sum of `n` bytes at `p`, added to `acc` (unfolded). 16 bytes per step: widening
 * pairwise adds keep u32 lanes far from overflow for n <= 64 KiB (4096 steps x 2 x 0xFFFF < 2^32).
 */
export function csumAddFast(p: usize, n: u32, acc: u64): u64 {
  let s = acc;
  let i: u32 = 0;
  if (n >= 64) {
    let v = i32x4.splat(0);
    while (i + 16 <= n) {
      v = i32x4.add(v, i32x4.extadd_pairwise_i16x8_u(v128.load(p + i)));
      i += 16;
    }
    s += <u64><u32>i32x4.extract_lane(v, 0) + <u64><u32>i32x4.extract_lane(v, 1) +
      <u64><u32>i32x4.extract_lane(v, 2) + <u64><u32>i32x4.extract_lane(v, 3);
  }
  while (i + 4 <= n) { s += <u64>load<u32>(p + i); i += 4; }
  if (i + 2 <= n) { s += <u64>load<u16>(p + i); i += 2; }
  if (i < n) s += <u64>load<u8>(p + i);
  return s;
}

/** Unfolded sum of the IPv4 pseudo header (src, dst from the IPv4 header at `ip`; `proto`; `l4len`). */
@inline export function pseudoSum(ip: usize, proto: u32, l4len: u32): u64 {
  return <u64>load<u32>(ip, IPV4_SRC) + <u64>load<u32>(ip, IPV4_DST) + <u64>(proto << 8) + <u64>bswap<u16>(<u16>l4len);
}

/** Writes the full TCP checksum of the IPv4 packet at `ip` (header `hl`, total `tot`). */
export function tcpChecksumSet(ip: usize, hl: u32, tot: u32): void {
  const t = ip + hl;
  store<u16>(t, 0, TCP_CSUM);
  const s = csumAddFast(t, tot - hl, pseudoSum(ip, IPPROTO_TCP, tot - hl));
  store<u16>(t, <u16>(~csumFold(s) & 0xffff), TCP_CSUM);
}

/** True if the TCP checksum of the IPv4 packet at `ip` verifies. */
export function tcpChecksumOk(ip: usize, hl: u32, tot: u32): bool {
  return csumFold(csumAddFast(ip + hl, tot - hl, pseudoSum(ip, IPPROTO_TCP, tot - hl))) == 0xffff;
}

/**
 * Stores the pseudo-header sum (not complemented) in the TCP checksum field, as CHECKSUM_PARTIAL
 * (virtio NEEDS_CSUM) expects: the kernel adds the header and payload and complements.
 */
export function tcpChecksumPartial(ip: usize, hl: u32, tot: u32): void {
  store<u16>(ip + hl, <u16>csumFold(pseudoSum(ip, IPPROTO_TCP, tot - hl)), TCP_CSUM);
}
