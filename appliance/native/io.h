/* Shared declarations of the dmvpn_io addon. Every C helper reports failure through struct io_err so
 * the N-API glue (addon.c) can throw one Error with a stable `code` and a message that says what to do. */
#ifndef DMVPN_IO_H
#define DMVPN_IO_H
#include <stddef.h>
#include <stdint.h>
#include "abi.h"

struct io_err {
  char code[32];   /* 'ENOTUN', 'EBUSY', errno name, ... */
  char msg[320];   /* what went wrong and what to do about it */
};

/* Fills e->code with the errno name (or "E<number>") and formats the message. Returns -1. */
int io_fail(struct io_err *e, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int io_fail_code(struct io_err *e, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *errno_name(int err);

/* tun.c */
struct tun_opts { int vnet_hdr; int multi_queue; };
int tun_open(const char *name, const struct tun_opts *o, struct io_err *e);
int tun_set_carrier(int fd, int on, struct io_err *e);
struct if_conf {
  const char *address; /* NULL = leave as is */
  int prefix_len;      /* -1 = derive nothing; only used with address */
  int mtu;             /* -1 = leave */
  int up;              /* -1 = leave, 0 = down, 1 = up */
};
int if_configure(const char *name, const struct if_conf *c, struct io_err *e);

/* sockets.c */
int raw_open(int protocol, const char *bind_addr, struct io_err *e);
/* reuse_port: SO_REUSEPORT before bind (the IKE lane's pair of sockets on port 4500). */
int udp_open(const char *bind_addr, int port, int reuse_port, struct io_err *e);
int parse_ipv4(const char *s, uint32_t *out_host_order);

/* control-lanes.c: a raw GRE socket takes only NHRP (nhrp = 1) or only everything else (0); the
 * SO_REUSEPORT group of fd on UDP 4500 sends IKE to its second socket, the rest to its first. */
struct sock_filter;
int socket_filter_attach(int fd, int option, struct sock_filter *code, unsigned short n, const char *what, struct io_err *e);
int gre_lane_filter(int fd, int nhrp, struct io_err *e);
int ike_lane_filter(int fd, struct io_err *e);
/* nbma-spread.c: raw GRE / ESP socket of worker `worker` of `workers` takes only its share of the flows. */
int gre_spread_filter(int fd, unsigned worker, unsigned workers, int take_nhrp, struct io_err *e);
int esp_spread_filter(int fd, unsigned worker, unsigned workers, struct io_err *e);
int udp_spread_filter(int fd, unsigned workers, int ike_lane, struct io_err *e);
/* tun-steering.c: the multi-queue TUN picks each outbound packet's queue by its flow hash */
int tun_steer_by_flow(int tun_fd, struct io_err *e);

/* doorbell.c: the doorbell protocol of docs/dataplane.md on an 8-byte {seq, sleeping} pair (DOORBELL_*);
 * seq is the futex word. */
#define BELL_SEQ(bell) (&(bell)[DOORBELL_SEQ / 4])
#define BELL_SLEEPING(bell) (&(bell)[DOORBELL_SLEEPING / 4])
void doorbell_ring(uint32_t *bell);
/* futex wait on bell[0] while it equals seq; timeout_ms < 0 = forever.
 * Returns 0 = woken (or spurious), 1 = value was not seq, 2 = timed out. */
int doorbell_futex_wait(uint32_t *bell, uint32_t seq, int timeout_ms);
void doorbell_futex_wake(uint32_t *bell);

/* pcap.c: process-wide mirror of NBMA traffic (LINKTYPE_RAW). */
int pcap_open(const char *path, struct io_err *e);
void pcap_close(void);
int pcap_enabled(void);
/* Records one IPv4 packet. */
void pcap_write_ip(const uint8_t *pkt, uint32_t len);
/* Records a UDP datagram with a synthesized IPv4+UDP header (addresses/ports host order). */
void pcap_write_udp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, const uint8_t *payload, uint32_t len);
void pcap_flush(void);

/* udp-offload.c: UDP GSO/GRO on the ESP-in-UDP sockets. */
#define UDP_GSO_MAX_SEGS 64        /* the kernel's UDP_MAX_SEGMENTS (64 since 4.18; later kernels allow more) */
#define UDP_GSO_MAX_BYTES 65507    /* one IPv4 datagram: 65535 - 20 (IPv4) - 8 (UDP) */
#define UDP_GRO_BUF 65536          /* receive room for one super-datagram */
#define UDP_GSO_CMSG_SPACE CMSG_SPACE(sizeof(uint16_t))
#define UDP_GRO_CMSG_SPACE CMSG_SPACE(sizeof(int))
struct msghdr;
int udp_offload_wanted(int tx);    /* GSO (tx 1) or GRO (tx 0) unless DMVPN_UDP_OFFLOAD leaves it out */
int udp_gso_probe(int fd);         /* 0 or the errno of a kernel without UDP_SEGMENT */
int udp_gro_enable(int fd);        /* 0 or the errno */
void udp_gso_cmsg(struct msghdr *mh, uint8_t *buf, uint16_t gso_size); /* buf: UDP_GSO_CMSG_SPACE bytes */
uint32_t udp_gro_size(struct msghdr *mh); /* the segment size of a received super-datagram, 0 = plain */

/* pump.c */
enum pump_kind { PK_TUN_RX, PK_TUN_TX, PK_RAW_RX, PK_RAW_TX, PK_UDP_RX, PK_UDP_TX };
struct pump_stats {
  uint64_t packets, bytes, batches, errors, drops, full_waits, full_ns;
  uint64_t ctl_passed, ctl_dropped; /* udp-rx: non-ESP (control) datagrams let through / over the rate limit */
  uint64_t kernel_drops;            /* socket rx pumps: datagrams the kernel dropped (receive buffer full) */
  uint64_t gso_sends, gso_segments; /* udp-tx: sends with UDP_SEGMENT and the datagrams they carried */
  uint64_t gso_fallbacks;           /* udp-tx: GSO sends the kernel refused, resent one datagram each */
  uint64_t gro_supers, gro_segments;/* udp-rx: super-datagrams received and the datagrams split from them */
  uint64_t offload;                 /* udp pumps: 1 GSO/GRO in use, 0 off (DMVPN_UDP_OFFLOAD=off or not a udp pump), 2 refused by the kernel */
};
/* pump_stats copies it as an array of u64 (each read on its own; the pump thread writes them) */
_Static_assert(sizeof(struct pump_stats) % sizeof(uint64_t) == 0, "struct pump_stats: u64 fields only");
/* udp-rx: token bucket for non-ESP datagrams (IKE behind the non-ESP marker): they go to JS, which
 * must not be flooded. control_rate 0 = unlimited. */
struct pump_limits { uint32_t control_rate; /* per second */ uint32_t control_burst; };
struct pump;
int pump_kind_parse(const char *s);
/* Validates the ring against the memory and starts the thread. coalesce_us: socket rx pumps only
 * (0 = off), see sock_rx in pump.c. */
struct pump *pump_start(uint8_t *mem, size_t mem_len, int kind, int fd, uint32_t ring, int batch,
                        uint32_t raw_protocol, int coalesce_us, const struct pump_limits *lim, struct io_err *e);
void pump_stop(struct pump *p);      /* signals and joins; p stays readable for stats */
void pump_stats(struct pump *p, struct pump_stats *out);
void pump_free(struct pump *p);

/* layout-contract.c: writes every abi.h entry into its own region (test/layout-contract.test.ts).
 * Returns the number of entries, or -1 (e filled). */
int layout_contract_fill(uint8_t *mem, size_t len, size_t base, size_t stride, struct io_err *e);


#endif
