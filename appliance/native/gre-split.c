/* A NIC with generic-receive-offload on (the default on most Linux drivers) runs the kernel's GRE GRO
 * (gre_gro_receive, built in) on GRE arriving for our raw socket: consecutive GRE packets carrying
 * segments of one TCP flow become one IPv4 packet of up to 64 KiB with a single set of headers, and a
 * raw socket gets it as that (no segment size is passed up, unlike UDP_GRO's cmsg). Such a packet
 * does not fit an nbmaRx slot; dropping it lost most of a TCP transfer through a VM's tunnel (virtio
 * net, GRO on: 245 of 307 receives in one run). The raw-rx pump cuts it here back into segments that
 * each fit the tunnel: any cut is a valid TCP segmentation (TSO cuts the same way), so the segment
 * size is the tunnel's IP MTU less the inner headers, whatever the sender used.
 * Pure functions over the packet bytes; every length is checked against `len` before it is read. */
#include "gre-split.h"
#include <string.h>

#define IPV4_MIN_HL 20u
#define GRE_BASE_HL 4u
#define GRE_FIELD_HL 4u          /* optional key / checksum / sequence word */
#define GRE_FLAG_C 0x8000u
#define GRE_FLAG_R 0x4000u
#define GRE_FLAG_K 0x2000u
#define GRE_FLAG_S 0x1000u
#define GRE_FLAGS_RESERVED 0x0ff8u /* reserved0 bits other than C R K S (strict source route, recursion) */
#define GRE_VERSION_MASK 0x0007u
#define ETH_P_IPV4 0x0800u
#define IPPROTO_GRE_NUM 47u
#define IPPROTO_TCP_NUM 6u
#define IP_FRAG_MASK 0x3fffu      /* MF + fragment offset: must be 0 */
#define TCP_MIN_HL 20u
#define TCP_FLAG_FIN 0x01u
#define TCP_FLAG_PSH 0x08u
#define TCP_FLAG_CWR 0x80u
#define MIN_SEG 64u               /* below this the tunnel MTU is nonsense: do not cut into crumbs */

static inline uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static inline uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

/* RFC 1071 one's-complement sum of big-endian 16-bit words (an odd last byte padded with zero). */
static uint64_t sum16(const uint8_t *p, uint32_t n, uint64_t s) {
  for (; n >= 2; p += 2, n -= 2) s += be16(p);
  if (n) s += (uint32_t)p[0] << 8;
  return s;
}
static uint32_t fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint32_t)(~s & 0xffff);
}
static void ipv4_checksum(uint8_t *h, uint32_t hl) {
  put16(h + 10, 0);
  put16(h + 10, fold(sum16(h, hl, 0)));
}

/* The headers of IPv4 + plain GRE + IPv4/TCP (not fragments); 0 if `d` is not that or too short. */
static int headers(const uint8_t *d, uint32_t len, struct gre_super *s) {
  if (len < IPV4_MIN_HL || d[0] >> 4 != 4) return 0;
  uint32_t ohl = (d[0] & 15u) * 4;
  if (ohl < IPV4_MIN_HL || d[9] != IPPROTO_GRE_NUM || (be16(d + 6) & IP_FRAG_MASK)) return 0;
  if (len < ohl + GRE_BASE_HL) return 0;
  const uint8_t *g = d + ohl;
  uint32_t flags = be16(g);
  if (flags & (GRE_FLAG_C | GRE_FLAG_R | GRE_FLAG_S | GRE_FLAGS_RESERVED | GRE_VERSION_MASK)) return 0;
  if (be16(g + 2) != ETH_P_IPV4) return 0;
  uint32_t ghl = GRE_BASE_HL + ((flags & GRE_FLAG_K) ? GRE_FIELD_HL : 0);
  if (len < ohl + ghl + IPV4_MIN_HL) return 0;
  const uint8_t *i = g + ghl;
  uint32_t ihl = (i[0] & 15u) * 4;
  if (i[0] >> 4 != 4 || ihl < IPV4_MIN_HL || i[9] != IPPROTO_TCP_NUM || (be16(i + 6) & IP_FRAG_MASK)) return 0;
  if (len < ohl + ghl + ihl + TCP_MIN_HL) return 0;
  uint32_t thl = (uint32_t)(i[ihl + 12] >> 4) * 4;
  if (thl < TCP_MIN_HL) return 0;
  uint32_t hdr = ohl + ghl + ihl + thl;
  if (len < hdr) return 0;
  *s = (struct gre_super){ ohl, ghl, ihl, thl, hdr, len - hdr, 0 };
  return 1;
}

int gre_super_parse(const uint8_t *d, uint32_t len, uint32_t inner_mtu, uint32_t max_out, struct gre_super *s) {
  if (!headers(d, len, s) || s->payload == 0) return 0;
  /* GRO rewrote both total lengths to the merged size: anything else (trailing bytes) is not cut */
  if (be16(d + 2) != len || be16(d + s->outer_hl + s->gre_hl + 2) != len - s->outer_hl - s->gre_hl) return 0;
  uint32_t ihl = s->inner_hl, thl = s->tcp_hl, hdr = s->hdr;
  if (inner_mtu <= ihl + thl + MIN_SEG) return 0;
  uint32_t seg = inner_mtu - ihl - thl;
  if (hdr + seg > max_out) {
    if (max_out <= hdr + MIN_SEG) return 0;
    seg = max_out - hdr;
  }
  s->seg = seg;
  return 1;
}

/* The folded (not inverted) pseudo-header sum of the TCP segment in inner IPv4 header `i`. */
static uint32_t pseudo_sum(const uint8_t *i, uint32_t tcp_len) {
  uint64_t s = sum16(i + 12, 8, 0) + IPPROTO_TCP_NUM + tcp_len;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint32_t)s;
}

int gre_tcp_partial_csum_fix(uint8_t *d, uint32_t len) {
  struct gre_super s;
  if (!headers(d, len, &s)) return 0;
  uint8_t *i = d + s.outer_hl + s.gre_hl, *t = i + s.inner_hl;
  uint32_t inner_len = be16(i + 2);
  if (inner_len < s.inner_hl + s.tcp_hl || s.outer_hl + s.gre_hl + inner_len > len) return 0;
  uint32_t tcp_len = inner_len - s.inner_hl, pseudo = pseudo_sum(i, tcp_len);
  if (be16(t + 16) != pseudo) return 0;
  put16(t + 16, 0);
  put16(t + 16, fold(sum16(t, tcp_len, pseudo)));
  return 1;
}

uint32_t gre_segment_write(const uint8_t *d, const struct gre_super *s, uint32_t k, uint32_t off, uint32_t n, int last, uint8_t *out) {
  memcpy(out, d, s->hdr);
  memcpy(out + s->hdr, d + s->hdr + off, n);
  uint8_t *o = out, *i = out + s->outer_hl + s->gre_hl, *t = i + s->inner_hl;
  put16(o + 2, s->hdr + n);
  put16(o + 4, be16(d + 4) + k);
  ipv4_checksum(o, s->outer_hl);
  uint32_t inner_len = s->inner_hl + s->tcp_hl + n;
  put16(i + 2, inner_len);
  put16(i + 4, be16(d + s->outer_hl + s->gre_hl + 4) + k);
  ipv4_checksum(i, s->inner_hl);
  put32(t + 4, be32(t + 4) + off);
  uint8_t fl = t[13];
  if (!last) fl &= (uint8_t)~(TCP_FLAG_FIN | TCP_FLAG_PSH);
  if (k) fl &= (uint8_t)~TCP_FLAG_CWR;
  t[13] = fl;
  put16(t + 16, 0);
  uint32_t tcp_len = s->tcp_hl + n;
  put16(t + 16, fold(sum16(t, tcp_len, pseudo_sum(i, tcp_len))));
  return s->hdr + n;
}
