// How NHRP reads a CIE's prefix length (the address arithmetic itself is in net/ipv4.ts).

/** CIE prefix length as a real length: 0 and 0xff (RFC 2332 "the whole address") mean /32. */
export function cieLen(len: number): number {
  return len === 0 || len >= 32 ? 32 : len;
}
