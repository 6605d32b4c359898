/* The control lanes (docs/dataplane.md "The control lane"): the kernel itself puts NHRP and IKE on
 * sockets of their own, so each waits in a receive queue that data cannot fill.
 *
 * NHRP: a classic BPF socket filter that lets a raw IP protocol-47 socket take only NHRP (GRE protocol type 0x2001), or only the
 * rest. Linux hands every raw socket of a protocol its own copy of each packet and runs the filter
 * before the packet is queued, so with one socket of each kind NHRP waits in a receive queue of its
 * own: a data flood that overflows the data socket's queue (kernel drops, SO_RXQ_OVFL) cannot drop it.
 * A raw IPv4 socket's filter sees the packet from its IPv4 header on; the GRE protocol type is the
 * second 16-bit word of the GRE header in every GRE version (RFC 2784 / RFC 2890), whatever flags
 * follow. A packet too short to hold it belongs to the data lane, whose worker counts it as
 * truncated (a load past the end would make the filter drop it without a count). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/socket.h>
#include "io.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

/* Attaches classic BPF `code` (n instructions) to `fd` as socket option `option` (SO_ATTACH_FILTER or
 * SO_ATTACH_REUSEPORT_CBPF); `what` names the program in the error. The control lanes' programs and the
 * workers' receive spread (nbma-spread.c) all go through here. */
int socket_filter_attach(int fd, int option, struct sock_filter *code, unsigned short n, const char *what, struct io_err *e) {
  struct sock_fprog prog = { .len = n, .filter = code };
  if (setsockopt(fd, SOL_SOCKET, option, &prog, sizeof prog) == 0) return 0;
  return io_fail(e, errno, "%s (%s) on fd %d: %s", option == SO_ATTACH_FILTER ? "SO_ATTACH_FILTER" : "SO_ATTACH_REUSEPORT_CBPF", what, fd, strerror(errno));
}

#define GRE_PROTO_NHRP 0x2001
#define ACCEPT 0xffffffffu
#define REJECT 0u

int gre_lane_filter(int fd, int nhrp, struct io_err *e) {
  const uint32_t on_nhrp = nhrp ? ACCEPT : REJECT, otherwise = nhrp ? REJECT : ACCEPT;
  struct sock_filter code[] = {
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),               /* X = IPv4 header length (4 * IHL) */
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),                /* A = packet length */
    BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0),               /* A = bytes after the IPv4 header */
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 4, 0, 3),         /* no room for flags + protocol: data lane */
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),                /* A = GRE protocol type */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, GRE_PROTO_NHRP, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, on_nhrp),
    BPF_STMT(BPF_RET | BPF_K, otherwise),
  };
  return socket_filter_attach(fd, SO_ATTACH_FILTER, code, sizeof code / sizeof *code, nhrp ? "GRE NHRP lane" : "GRE data lane", e);
}

/* IKE on UDP 4500 (RFC 3948 2.2): two sockets bound to the same address and port with SO_REUSEPORT,
 * the ESP one first (index 0 of the group), then the IKE one (index 1). The group's program picks the
 * socket of each datagram; UDP runs it with the data at the UDP payload. A payload that starts with the
 * 4-byte zero non-ESP marker is IKE: socket 1. ESP (a non-zero SPI) and the 1-byte NAT-keepalive (too
 * short for the load, which ends the program with 0) go to socket 0. */
int ike_lane_filter(int fd, struct io_err *e) {
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),                /* A = first 4 payload bytes */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 1),                         /* non-ESP marker: the IKE socket */
    BPF_STMT(BPF_RET | BPF_K, 0),                         /* ESP: the data socket */
  };
  return socket_filter_attach(fd, SO_ATTACH_REUSEPORT_CBPF, code, sizeof code / sizeof *code, "IKE lane", e);
}
