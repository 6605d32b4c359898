// GRE (RFC 2784) with the key extension (RFC 2890): encapsulation and header checks.
// We send version 0 with only K (when a key is configured). We accept version 0 with K; C, R, S, s and
// the recursion-control bits are rejected (dropGreFlags), bits 8-12 are ignored per RFC 2784.
import { writeIpv4 } from '../net/ipv4';
import { IP_DF, IPV4_HDR_LEN, IPPROTO_GRE } from '../net/defs';
import { source, ttl, greLen, flags, key } from '../core/config';
import { TUNNEL_FLAG_KEY } from '../core/layout';
import { Packet } from '../core/packet';
import {
  GRE_FLAGS, GRE_PROTO, GRE_KEY, GRE_HDR_LEN, GRE_HDR_LEN_KEY, GRE_F_K, GRE_VERSION_MASK, GRE_F_REJECT,
  GRE_E_TRUNCATED, GRE_E_VERSION, GRE_E_FLAGS, GRE_E_KEY,
} from './defs';

/** Length of the outer IPv4 + GRE headers we write. */
@inline export function encapHeaderLen(): u32 { return IPV4_HDR_LEN + greLen; }

/**
 * Writes outer IPv4 + GRE at `out`; the payload (`payloadLen` bytes) must already be at
 * out + encapHeaderLen(). Returns the outer total length.
 */
export function greEncap(out: usize, payloadLen: u32, proto: u32, dst: u32, tos: u32, df: bool): u32 {
  const tot: u32 = IPV4_HDR_LEN + greLen + payloadLen;
  const g = out + IPV4_HDR_LEN;
  if ((flags & TUNNEL_FLAG_KEY) != 0) {
    store<u32>(g, <u32>bswap<u16>(<u16>GRE_F_K) | (<u32>bswap<u16>(<u16>proto) << 16), GRE_FLAGS); // + GRE_PROTO
    store<u32>(g, bswap<u32>(key), GRE_KEY);
  } else {
    store<u32>(g, <u32>bswap<u16>(<u16>proto) << 16, GRE_FLAGS); // flags 0, then the protocol
  }
  writeIpv4(out, tot, tos, df ? IP_DF : 0, ttl, IPPROTO_GRE, source, dst);
  return tot;
}

/**
 * Checks the GRE header of `len` bytes at `g`. Returns the header length (and sets pk.greProto) or a
 * GRE_E_* code.
 */
export function greDecap(pk: Packet, g: usize, len: u32): i32 {
  if (len < GRE_HDR_LEN) return GRE_E_TRUNCATED;
  const f = <u32>bswap<u16>(load<u16>(g, GRE_FLAGS));
  if ((f & GRE_VERSION_MASK) != 0) return GRE_E_VERSION;
  if ((f & GRE_F_REJECT) != 0) return GRE_E_FLAGS;
  pk.greProto = <u32>bswap<u16>(load<u16>(g, GRE_PROTO));
  const wantKey = (flags & TUNNEL_FLAG_KEY) != 0;
  if ((f & GRE_F_K) != 0) {
    if (len < GRE_HDR_LEN_KEY) return GRE_E_TRUNCATED;
    if (!wantKey || bswap<u32>(load<u32>(g, GRE_KEY)) != key) return GRE_E_KEY;
    return GRE_HDR_LEN_KEY;
  }
  if (wantKey) return GRE_E_KEY;
  return GRE_HDR_LEN;
}
