/* The multi-queue TUN's steering program (docs/dataplane.md "Every core forwards").
 *
 * Without one, the kernel sends a flow out on the TUN queue that last wrote a packet of that flow (its
 * automatic queue choice learns from our writes). With one SA pair (a spoke and its hub), every inbound
 * packet is decrypted by the worker the SPI hashes to, so it writes every reply, and every flow went
 * out through that one worker too: the other workers had no outbound work. The steering program picks
 * the queue by the packet's own flow hash instead, so outbound flows spread over the workers whatever
 * wrote their replies; the packets of one flow keep one queue (order kept).
 *
 * The hash is the GRE spread's (nbma-spread.c): x = src ^ dst, ^ the TCP/UDP ports word for an
 * unfragmented IPv4 packet without options; y = x ^ x >> 16; (y * 0x9e3779b1 mod 2^32) >> 16. The kernel
 * takes that modulo the queue count (tun.c tun_ebpf_select_queue). A packet too short for a field the
 * program loads (the legacy packet loads end the program with 0) goes to queue 0; so does anything that
 * is not IPv4 (the TUN carries IPv4 only).
 *
 * TUNSETSTEERINGEBPF takes an eBPF program (socket filter type), so this is eBPF, assembled here by
 * hand as the classic programs are: a few instructions do not warrant a BPF toolchain in the build. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "io.h"

#ifndef TUNSETSTEERINGEBPF
#define TUNSETSTEERINGEBPF _IOR('T', 224, int)
#endif

#define IP_SRC 12
#define IP_DST 16
#define IP_VER_IHL 0
#define IP_FRAG 6
#define IP_PROTO 9
#define IP_PORTS 20 /* behind a 20-byte header: TCP/UDP source port << 16 | destination port */
#define IPV4_NO_OPTIONS 0x45
#define IP_MF_OFFSET 0x3fff
#define PROTO_TCP 6
#define PROTO_UDP 17
#define HASH_MUL 0x9e3779b1u
#define HASH_SHIFT 16
#define REG_CTX 6 /* the legacy packet loads read the skb from r6 */
#define REG_HASH 7
#define LOG_SIZE 4096

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LD_ABS(size, at) INSN(BPF_LD | BPF_ABS | (size), 0, 0, 0, (at))      /* r0 = the packet's bytes at `at`, host order */
#define ALU32_X(op, d, s) INSN(BPF_ALU | (op) | BPF_X, (d), (s), 0, 0)
#define ALU32_K(op, d, k) INSN(BPF_ALU | (op) | BPF_K, (d), 0, 0, (int32_t)(k))
#define JMP_K(op, d, k, to) INSN(BPF_JMP | (op) | BPF_K, (d), 0, (to), (int32_t)(k))

int tun_steer_by_flow(int tun_fd, struct io_err *e) {
  /* jump offsets count from the next instruction; the comments give each target's index */
  const struct bpf_insn prog[] = {
    /*  0 */ INSN(BPF_ALU64 | BPF_MOV | BPF_X, REG_CTX, 1, 0, 0),
    /*  1 */ LD_ABS(BPF_W, IP_SRC),
    /*  2 */ ALU32_X(BPF_MOV, REG_HASH, 0),
    /*  3 */ LD_ABS(BPF_W, IP_DST),
    /*  4 */ ALU32_X(BPF_XOR, REG_HASH, 0),                 /* x = src ^ dst */
    /*  5 */ LD_ABS(BPF_B, IP_VER_IHL),
    /*  6 */ JMP_K(BPF_JNE, 0, IPV4_NO_OPTIONS, 7),          /* options: addresses only, 14 */
    /*  7 */ LD_ABS(BPF_H, IP_FRAG),
    /*  8 */ JMP_K(BPF_JSET, 0, IP_MF_OFFSET, 5),            /* a fragment: addresses only, 14 */
    /*  9 */ LD_ABS(BPF_B, IP_PROTO),
    /* 10 */ JMP_K(BPF_JEQ, 0, PROTO_TCP, 1),                /* 12 */
    /* 11 */ JMP_K(BPF_JNE, 0, PROTO_UDP, 2),                /* neither: 14 */
    /* 12 */ LD_ABS(BPF_W, IP_PORTS),
    /* 13 */ ALU32_X(BPF_XOR, REG_HASH, 0),                 /* x ^= ports */
    /* 14 */ ALU32_X(BPF_MOV, 0, REG_HASH),
    /* 15 */ ALU32_K(BPF_RSH, 0, HASH_SHIFT),
    /* 16 */ ALU32_X(BPF_XOR, 0, REG_HASH),                 /* y = x ^ x >> 16 */
    /* 17 */ ALU32_K(BPF_MUL, 0, HASH_MUL),
    /* 18 */ ALU32_K(BPF_RSH, 0, HASH_SHIFT),
    /* 19 */ INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  static char log[LOG_SIZE];
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = (uint64_t)(uintptr_t)prog;
  attr.insn_cnt = sizeof prog / sizeof *prog;
  attr.license = (uint64_t)(uintptr_t)"GPL";
  log[0] = 0;
  attr.log_buf = (uint64_t)(uintptr_t)log;
  attr.log_size = sizeof log;
  attr.log_level = 1;
  int prog_fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (prog_fd < 0) {
    int err = errno;
    /* the verifier's last line says why */
    char *last = strrchr(log, '\n');
    while (last && last > log && last[1] == 0) { *last = 0; last = strrchr(log, '\n'); }
    return io_fail(e, err, "TUN steering program refused by the kernel: %s%s%s", strerror(err), log[0] ? ": " : "", last ? last + 1 : log);
  }
  /* the TUN holds its own reference to the program: ours is closed either way */
  int r = ioctl(tun_fd, TUNSETSTEERINGEBPF, &prog_fd);
  int err = errno;
  close(prog_fd);
  if (r < 0) return io_fail(e, err, "TUNSETSTEERINGEBPF on fd %d: %s", tun_fd, strerror(err));
  return 0;
}
