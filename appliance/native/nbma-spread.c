/* NBMA receive spread over the data-plane workers (docs/dataplane.md "Every core forwards").
 *
 * Each worker has raw sockets of its own (GRE, ESP). Linux hands every raw socket of a protocol its own
 * copy of each packet and runs the socket's classic BPF filter before queueing it, so a filter that
 * accepts only the packets whose flow hash modulo the worker count is this worker's index splits the
 * traffic with no pump or ring in between, and all packets of a flow reach the same worker (order kept):
 *   - GRE: the hash of the inner IPv4 source and destination, and for TCP and UDP in an unfragmented
 *     packet without IP options the ports too (so the streams between two hosts spread; the TUN's
 *     automatic queue choice follows, as it sends a flow out on the queue that wrote its last reply).
 *     Fragments and packets with options hash the addresses only: a flow whose packets are sometimes
 *     fragmented may then reach two workers. NHRP (GRE 0x2001) is rejected, or taken by worker 0 alone
 *     when there is no NHRP control lane. A packet too short for the inner addresses goes to worker 0,
 *     which counts it.
 *   - ESP: the hash of the SPI, so one inbound SA is received by one worker (its replay window is then
 *     never contended on receive); several SAs spread.
 *   - ESP in UDP (port 4500, NAT-T): one UDP socket per worker, all in one SO_REUSEPORT group with the
 *     IKE lane's socket (control-lanes.c); the group's program (udp_spread_filter) picks the socket: IKE
 *     (the non-ESP marker) the IKE lane's, a NAT-keepalive (too short for an SPI) worker 0's, ESP its
 *     worker's by the same SPI hash as raw ESP. One program per group, run once per datagram.
 * Cost: every socket of the protocol runs its filter on every packet (N short programs per packet).
 * The hash: (x * 0x9e3779b1) >> 16, modulo N (cBPF has no other mixing than its ALU); for GRE x is
 * first folded (x ^ x >> 16): the low bits of the result depend only on x's low 17 bits, and the
 * client's port is the high half of the ports word, which Linux picks even for connect() (so bit 16
 * never changed: every stream of one host pair hashed alike, seen at a hub). */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <sys/socket.h>
#include "io.h"

#define GRE_PROTO_NHRP 0x2001
#define GRE_FLAG_KEY 0x2000
#define GRE_BASE_LEN 4
#define GRE_KEY_LEN 4
#define INNER_SRC (GRE_BASE_LEN + 12) /* from the GRE header; X holds where it starts */
#define INNER_DST (GRE_BASE_LEN + 16)
#define INNER_MIN (GRE_BASE_LEN + 20)
#define INNER_VER_IHL GRE_BASE_LEN               /* version 4, header length 5: no options */
#define INNER_FRAG (GRE_BASE_LEN + 6)            /* flags and fragment offset */
#define INNER_PROTO (GRE_BASE_LEN + 9)
#define INNER_PORTS (GRE_BASE_LEN + 20)          /* TCP/UDP source and destination port */
#define IPV4_NO_OPTIONS 0x45
#define IP_MF_OFFSET 0x3fff                      /* more fragments, fragment offset */
#define IPPROTO_TCP_NUM 6
#define IPPROTO_UDP_NUM 17
#define ESP_SPI_LEN 4
#define HASH_MUL 0x9e3779b1u
#define HASH_SHIFT 16
#define ACCEPT 0xffffffffu
#define REJECT 0u

int gre_spread_filter(int fd, unsigned worker, unsigned workers, int take_nhrp, struct io_err *e) {
  if (workers < 2 || worker >= workers) return io_fail_code(e, "EINVAL", "GRE spread: worker %u of %u", worker, workers);
  const uint32_t short_verdict = worker == 0 ? ACCEPT : REJECT, nhrp_verdict = take_nhrp ? ACCEPT : REJECT;
  /* jump offsets count from the next instruction; the comments give each target's index. X holds
   * where the GRE header starts minus nothing (or plus the 4 key bytes) from instruction 11 on. */
  struct sock_filter code[] = {
    /*  0 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),              /* X = outer IPv4 header length */
    /*  1 */ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    /*  2 */ BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0),              /* A = bytes after it */
    /*  3 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, GRE_BASE_LEN, 0, 43), /* too short: 47 */
    /*  4 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),               /* A = GRE protocol type */
    /*  5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, GRE_PROTO_NHRP, 42, 0), /* NHRP: 48 */
    /*  6 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),               /* A = GRE flags */
    /*  7 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, GRE_FLAG_KEY, 0, 3), /* no key: 11 */
    /*  8 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),
    /*  9 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, GRE_KEY_LEN),
    /* 10 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),                     /* X += the key: inner header at X + 4 */
    /* 11 */ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    /* 12 */ BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0),
    /* 13 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, INNER_MIN, 0, 33), /* no inner header: 47 */
    /* 14 */ BPF_STMT(BPF_LD | BPF_W | BPF_IND, INNER_SRC),
    /* 15 */ BPF_STMT(BPF_ST, 0),                                 /* M0 = inner source */
    /* 16 */ BPF_STMT(BPF_LD | BPF_W | BPF_IND, INNER_DST),
    /* 17 */ BPF_STMT(BPF_ST, 1),                                 /* M1 = inner destination */
    /* 18 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, INNER_VER_IHL),
    /* 19 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPV4_NO_OPTIONS, 0, 14), /* options: addresses only, 34 */
    /* 20 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, INNER_FRAG),
    /* 21 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, IP_MF_OFFSET, 12, 0), /* a fragment: addresses only, 34 */
    /* 22 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, INNER_PROTO),
    /* 23 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP_NUM, 1, 0), /* TCP: 25 */
    /* 24 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP_NUM, 0, 9), /* not UDP either: 34 */
    /* 25 */ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    /* 26 */ BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0),
    /* 27 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, INNER_PORTS + 4, 0, 6), /* no room for the ports: 34 */
    /* 28 */ BPF_STMT(BPF_LD | BPF_W | BPF_IND, INNER_PORTS),     /* A = source port << 16 | destination port */
    /* 29 */ BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),
    /* 30 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /* 31 */ BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 1),
    /* 32 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),              /* A = ports ^ src ^ dst */
    /* 33 */ BPF_JUMP(BPF_JMP | BPF_JA, 3, 0, 0),                 /* 37 */
    /* 34 */ BPF_STMT(BPF_LD | BPF_W | BPF_MEM, 0),
    /* 35 */ BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 1),
    /* 36 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),              /* A = src ^ dst */
    /* 37 */ BPF_STMT(BPF_ST, 2),
    /* 38 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, HASH_SHIFT),
    /* 39 */ BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 2),
    /* 40 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),              /* fold the high half in (see below) */
    /* 41 */ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, HASH_MUL),
    /* 42 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, HASH_SHIFT),
    /* 43 */ BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, workers),
    /* 44 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, worker, 0, 1),
    /* 45 */ BPF_STMT(BPF_RET | BPF_K, ACCEPT),
    /* 46 */ BPF_STMT(BPF_RET | BPF_K, REJECT),
    /* 47 */ BPF_STMT(BPF_RET | BPF_K, short_verdict),
    /* 48 */ BPF_STMT(BPF_RET | BPF_K, nhrp_verdict),
  };
  return socket_filter_attach(fd, SO_ATTACH_FILTER, code, sizeof code / sizeof *code, "GRE spread", e);
}

int esp_spread_filter(int fd, unsigned worker, unsigned workers, struct io_err *e) {
  if (workers < 2 || worker >= workers) return io_fail_code(e, "EINVAL", "ESP spread: worker %u of %u", worker, workers);
  struct sock_filter code[] = {
    /*  0 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    /*  1 */ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    /*  2 */ BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0),
    /*  3 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, ESP_SPI_LEN, 0, 7), /* too short: 11 */
    /*  4 */ BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0),               /* A = SPI */
    /*  5 */ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, HASH_MUL),
    /*  6 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, HASH_SHIFT),
    /*  7 */ BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, workers),
    /*  8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, worker, 0, 1),
    /*  9 */ BPF_STMT(BPF_RET | BPF_K, ACCEPT),
    /* 10 */ BPF_STMT(BPF_RET | BPF_K, REJECT),
    /* 11 */ BPF_STMT(BPF_RET | BPF_K, worker == 0 ? ACCEPT : REJECT),
  };
  return socket_filter_attach(fd, SO_ATTACH_FILTER, code, sizeof code / sizeof *code, "ESP spread", e);
}

/* The SO_REUSEPORT group on UDP 4500 with `workers` workers. The kernel numbers a group's sockets in the
 * order they were bound: worker 0's, then the IKE lane's if `ike_lane`, then workers 1 .. workers-1'.
 * UDP runs the program with the data at the UDP payload; a load past its end ends the program with 0
 * (a 1-byte NAT-keepalive: worker 0, which counts it). An index past the group (a socket not bound yet)
 * makes the kernel fall back to its own hash: the datagram still arrives, on some worker, which can
 * decrypt any SA (docs/dataplane.md "ESP across workers"). */
int udp_spread_filter(int fd, unsigned workers, int ike_lane, struct io_err *e) {
  if (workers < 2) return io_fail_code(e, "EINVAL", "UDP spread: %u workers", workers);
  const uint32_t ike_index = ike_lane ? 1 : 0, past_ike = ike_lane ? 1 : 0;
  struct sock_filter code[] = {
    /*  0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),               /* A = SPI, or the non-ESP marker */
    /*  1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
    /*  2 */ BPF_STMT(BPF_RET | BPF_K, ike_index),                /* IKE */
    /*  3 */ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, HASH_MUL),
    /*  4 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, HASH_SHIFT),
    /*  5 */ BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, workers),        /* A = the worker */
    /*  6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
    /*  7 */ BPF_STMT(BPF_RET | BPF_K, 0),                        /* worker 0: the group's first socket */
    /*  8 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, past_ike),       /* workers >= 1 come after the IKE lane */
    /*  9 */ BPF_STMT(BPF_RET | BPF_A, 0),
  };
  return socket_filter_attach(fd, SO_ATTACH_REUSEPORT_CBPF, code, sizeof code / sizeof *code, "UDP spread", e);
}
