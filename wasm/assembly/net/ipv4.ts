// IPv4 header helpers: validation, header writing, the Internet checksum (RFC 1071) and its
// incremental update (RFC 1624). Sums are taken over native (little-endian) words: the one's
// complement sum is byte-order independent, so storing the folded result natively gives wire bytes.
import {
  IPV4_VER_IHL, IPV4_TOS, IPV4_TOT_LEN, IPV4_ID, IPV4_FRAG, IPV4_TTL, IPV4_PROTO, IPV4_CSUM, IPV4_SRC, IPV4_DST,
  IPV4_HDR_LEN, IPV4_VERSION, IPV4_VER_IHL_20,
} from './defs';

/** One's complement sum of `n` bytes at `p`, not folded past 32 bits of carry room. */
export function csumAdd(p: usize, n: u32, acc: u64): u64 {
  let s = acc;
  let i: u32 = 0;
  while (i + 8 <= n) {
    const w = load<u64>(p + i);
    s += (w & 0xffffffff) + (w >> 32);
    i += 8;
  }
  if (i + 4 <= n) { s += <u64>load<u32>(p + i); i += 4; }
  if (i + 2 <= n) { s += <u64>load<u16>(p + i); i += 2; }
  if (i < n) s += <u64>load<u8>(p + i);
  return s;
}

@inline export function csumFold(s: u64): u32 {
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return <u32>s;
}

/** Checksum of `n` bytes as the u16 to store natively at the checksum field. */
@inline export function csum(p: usize, n: u32): u16 {
  return <u16>(~csumFold(csumAdd(p, n, 0)) & 0xffff);
}

/** 20-byte header checksum, unrolled. */
@inline export function csum20(p: usize): u16 {
  let s: u64 = <u64>load<u32>(p) + <u64>load<u32>(p, 4) + <u64>load<u32>(p, 8) + // five words of 20 bytes
    <u64>load<u32>(p, 12) + <u64>load<u32>(p, 16);
  return <u16>(~csumFold(s) & 0xffff);
}

/** Recomputes the header checksum of the IPv4 header at `p` (`hl` bytes). */
export function setHeaderChecksum(p: usize, hl: u32): void {
  store<u16>(p, 0, IPV4_CSUM);
  store<u16>(p, hl == IPV4_HDR_LEN ? csum20(p) : csum(p, hl), IPV4_CSUM);
}

/** True if the header checksum of the header at `p` verifies. */
export function headerChecksumOk(p: usize, hl: u32): bool {
  return csumFold(csumAdd(p, hl, 0)) == 0xffff;
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). All three are numeric (host) values of 16-bit wire words.
 */
@inline export function csumReplace16(hc: u32, oldv: u32, newv: u32): u32 {
  let s: u32 = (~hc & 0xffff) + (~oldv & 0xffff) + (newv & 0xffff);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

/**
 * Validates an IPv4 packet of `len` bytes at `p`. Returns the total length (<= len) or 0 if it is
 * not a well-formed IPv4 packet (version, IHL, total length). Header checksum is checked if `verify`.
 */
export function ipv4Check(p: usize, len: u32, verify: bool): u32 {
  if (len < IPV4_HDR_LEN) return 0;
  const b0 = <u32>load<u8>(p, IPV4_VER_IHL);
  if ((b0 >> 4) != IPV4_VERSION) return 0;
  const hl = (b0 & 15) << 2;
  if (hl < IPV4_HDR_LEN) return 0;
  const tot = <u32>bswap<u16>(load<u16>(p, IPV4_TOT_LEN));
  if (tot > len || tot < hl) return 0;
  if (verify && !headerChecksumOk(p, hl)) return 0;
  return tot;
}

@inline export function ipHl(p: usize): u32 { return (<u32>load<u8>(p, IPV4_VER_IHL) & 15) << 2; }
@inline export function ipTotLen(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p, IPV4_TOT_LEN)); }
@inline export function ipFragField(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p, IPV4_FRAG)); }
@inline export function ipTtl(p: usize): u32 { return <u32>load<u8>(p, IPV4_TTL); }
@inline export function ipProto(p: usize): u32 { return <u32>load<u8>(p, IPV4_PROTO); }
@inline export function ipSrc(p: usize): u32 { return bswap<u32>(load<u32>(p, IPV4_SRC)); }
@inline export function ipDst(p: usize): u32 { return bswap<u32>(load<u32>(p, IPV4_DST)); }
@inline export function ipTos(p: usize): u32 { return <u32>load<u8>(p, IPV4_TOS); }
@inline export function ipId(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p, IPV4_ID)); }
@inline export function setIpTotLen(p: usize, v: u32): void { store<u16>(p, bswap<u16>(<u16>v), IPV4_TOT_LEN); }
@inline export function setIpFragField(p: usize, v: u32): void { store<u16>(p, bswap<u16>(<u16>v), IPV4_FRAG); }
@inline export function setIpId(p: usize, v: u32): void { store<u16>(p, bswap<u16>(<u16>v), IPV4_ID); }

/** Decrements TTL with an incremental checksum update (RFC 1624). Returns the new TTL. */
export function ttlDecrement(p: usize): u32 {
  const t = ipTtl(p);
  if (t == 0) return 0;
  const oldw = <u32>bswap<u16>(load<u16>(p, IPV4_TTL)); // TTL and protocol share a checksum word
  const neww = oldw - 0x100;
  store<u8>(p, <u8>(t - 1), IPV4_TTL);
  const hc = <u32>bswap<u16>(load<u16>(p, IPV4_CSUM));
  store<u16>(p, bswap<u16>(<u16>csumReplace16(hc, oldw, neww)), IPV4_CSUM);
  return t - 1;
}

let lastIpId: u32 = 0;
export function nextIpId(): u32 { lastIpId = (lastIpId + 1) & 0xffff; return lastIpId; }
export function seedIpId(v: u32): void { lastIpId = v & 0xffff; }

/** Writes a 20-byte IPv4 header (no options) with its checksum. */
@inline export function writeIpv4(
  p: usize, totLen: u32, tos: u32, fragField: u32, ttl: u32, proto: u32, src: u32, dst: u32,
): void {
  // three little-endian words: {ver/ihl, tos, total length}, {id, frag}, {ttl, proto, checksum 0}
  store<u32>(p, IPV4_VER_IHL_20 | (tos << 8) | (<u32>bswap<u16>(<u16>totLen) << 16), IPV4_VER_IHL);
  store<u32>(p, <u32>bswap<u16>(<u16>nextIpId()) | (<u32>bswap<u16>(<u16>fragField) << 16), IPV4_ID);
  store<u32>(p, (ttl & 0xff) | (proto << 8), IPV4_TTL);
  store<u32>(p, bswap<u32>(src), IPV4_SRC);
  store<u32>(p, bswap<u32>(dst), IPV4_DST);
  store<u16>(p, csum20(p), IPV4_CSUM);
}
