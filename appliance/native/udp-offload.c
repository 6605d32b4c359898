/* UDP segmentation offloads on the ESP-in-UDP (NAT-T) sockets (docs/dataplane.md "UDP offloads"):
 * - GSO (UDP_SEGMENT, Linux 4.18): one send carries up to UDP_GSO_MAX_SEGS datagrams of the same
 *   destination, all `gso_size` long but the last; the kernel (or the NIC) cuts them apart after the
 *   routing and netfilter work was done once for the whole train.
 * - GRO (UDP_GRO, Linux 5.0): the socket accepts such trains (from the GRO engine, or a local or
 *   forwarded GSO sender) as one super-datagram, with the segment size in a SOL_UDP/UDP_GRO cmsg;
 *   without it the kernel segments them before queueing.
 * DMVPN_UDP_OFFLOAD in the environment: unset = both, "off" (or "0") = neither, "gso" or "gro" = that one
 * alone (benchmarks: each step's gain in one run). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "io.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

int udp_offload_wanted(int tx) {
  const char *v = getenv("DMVPN_UDP_OFFLOAD");
  if (!v || !*v) return 1;
  return !strcmp(v, tx ? "gso" : "gro");
}

/* Setting the socket's default segment size to 0 (no segmentation) is harmless and fails with
 * ENOPROTOOPT on a kernel without UDP GSO. Returns 0 or the errno. */
int udp_gso_probe(int fd) {
  int zero = 0;
  return setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0 ? 0 : errno;
}

int udp_gro_enable(int fd) {
  int one = 1;
  return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0 ? 0 : errno;
}

void udp_gso_cmsg(struct msghdr *mh, uint8_t *buf, uint16_t gso_size) {
  memset(buf, 0, UDP_GSO_CMSG_SPACE);
  mh->msg_control = buf;
  mh->msg_controllen = UDP_GSO_CMSG_SPACE;
  struct cmsghdr *c = CMSG_FIRSTHDR(mh);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof gso_size);
  memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
}

/* The kernel reports an int (udp_cmsg_recv), only for a super-datagram. 0 = a plain datagram. */
uint32_t udp_gro_size(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO || c->cmsg_len < CMSG_LEN(sizeof(int))) continue;
    int v;
    memcpy(&v, CMSG_DATA(c), sizeof v);
    return v > 0 ? (uint32_t)v : 0;
  }
  return 0;
}
