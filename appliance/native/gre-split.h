/* Cutting a GRE packet the receiving kernel's GRO merged back into TCP segments (gre-split.c). */
#ifndef DMVPN_GRE_SPLIT_H
#define DMVPN_GRE_SPLIT_H
#include <stdint.h>

/* Receive room per message on a raw GRE socket: a merged packet is at most 64 KiB (IPv4 total length),
 * plus room for the slot-sized head that recvmmsg puts first (see pump.c sock_rx). */
#define GRE_SPLIT_BUF (65536u + 4096u)

/* Where a merged IPv4/TCP-over-GRE packet's headers end and how it is cut. */
struct gre_super {
  uint32_t outer_hl, gre_hl, inner_hl, tcp_hl;
  uint32_t hdr;      /* all four headers: copied in front of every segment */
  uint32_t payload;  /* TCP payload bytes after them */
  uint32_t seg;      /* TCP payload bytes per segment (the last may be shorter) */
};

/* A packet of `len` bytes (outer IPv4 header first, as a raw socket gives it) longer than one segment:
 * 1 and `s` filled if it is IPv4 + GRE (no checksum, sequence or routing bits, protocol 0x0800) +
 * IPv4 + TCP, none of them fragments, and each segment (inner packet at most `inner_mtu` bytes, the
 * whole at most `max_out`) can hold payload; else 0 (the caller drops and counts it). */
int gre_super_parse(const uint8_t *d, uint32_t len, uint32_t inner_mtu, uint32_t max_out, struct gre_super *s);

/* Writes segment `k` (payload bytes `off`..`off+n` of the merged packet `d`) to `out`: the headers with
 * both IPv4 total lengths, IDs (+k) and checksums, the TCP sequence number (+off) and flags (FIN and
 * PSH only on the last segment, CWR only on the first) and a full TCP checksum. Returns its length. */
uint32_t gre_segment_write(const uint8_t *d, const struct gre_super *s, uint32_t k, uint32_t off, uint32_t n, int last, uint8_t *out);

/* A GRE packet GRO merged that still fits one segment (two short segments, say) comes with the TCP
 * checksum field holding only the pseudo-header sum, as tcp_gro_complete leaves it for a NIC to
 * finish. If `d` (IPv4 + plain GRE + IPv4 + TCP) has exactly that, the full checksum is written and 1
 * returned; otherwise (any other packet, including one whose checksum is simply wrong) 0, untouched.
 * A segment that really carries that value is rewritten with the same checksum it had. */
int gre_tcp_partial_csum_fix(uint8_t *d, uint32_t len);

#endif
