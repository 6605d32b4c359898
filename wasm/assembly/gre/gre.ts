// GRE (RFC 2784) with the key extension (RFC 2890): encapsulation and header checks.
// We send version 0 with only K (when a key is configured). We accept version 0 with K; C, R, S, s and
// the recursion-control bits are rejected (dropGreFlags), bits 8-12 are ignored per RFC 2784.
import { writeIpv4, IP_DF } from '../net/ipv4';
import { source, ttl, greLen, flags, key, FLAG_KEY } from '../core/config';

export const GRE_PROTO_IPV4: u32 = 0x0800;
export const GRE_PROTO_NHRP: u32 = 0x2001;
const GRE_K: u32 = 0x2000;
/** C | R | S | s | recursion control. */
const GRE_REJECT: u32 = 0x8000 | 0x4000 | 0x1000 | 0x0800 | 0x0700;

/** Length of the outer IPv4 + GRE headers we write. */
@inline export function encapHeaderLen(): u32 { return <u32>20 + greLen; }

/**
 * Writes outer IPv4 + GRE at `out`; the payload (`payloadLen` bytes) must already be at
 * out + encapHeaderLen(). Returns the outer total length.
 */
export function greEncap(out: usize, payloadLen: u32, proto: u32, dst: u32, tos: u32, df: bool): u32 {
  const tot: u32 = 20 + greLen + payloadLen;
  const g = out + 20;
  if ((flags & FLAG_KEY) != 0) {
    store<u32>(g, <u32>bswap<u16>(<u16>GRE_K) | (<u32>bswap<u16>(<u16>proto) << 16));
    store<u32>(g, bswap<u32>(key), 4);
  } else {
    store<u32>(g, <u32>bswap<u16>(<u16>proto) << 16);
  }
  writeIpv4(out, tot, tos, df ? IP_DF : 0, ttl, 47, source, dst);
  return tot;
}

// greDecap results: > 0 is the GRE header length; the protocol type is left in greProto.
export const GRE_E_TRUNCATED: i32 = -1;
export const GRE_E_VERSION: i32 = -2;
export const GRE_E_FLAGS: i32 = -3;
export const GRE_E_KEY: i32 = -4;

export let greProto: u32 = 0;

/** Checks the GRE header of `len` bytes at `g`. Returns the header length or a GRE_E_* code. */
export function greDecap(g: usize, len: u32): i32 {
  if (len < 4) return GRE_E_TRUNCATED;
  const w = load<u32>(g);
  const f = <u32>bswap<u16>(<u16>w);
  if ((f & 7) != 0) return GRE_E_VERSION;
  if ((f & GRE_REJECT) != 0) return GRE_E_FLAGS;
  greProto = <u32>bswap<u16>(<u16>(w >> 16));
  const wantKey = (flags & FLAG_KEY) != 0;
  if ((f & GRE_K) != 0) {
    if (len < 8) return GRE_E_TRUNCATED;
    if (!wantKey || bswap<u32>(load<u32>(g, 4)) != key) return GRE_E_KEY;
    return 8;
  }
  if (wantKey) return GRE_E_KEY;
  return 4;
}
