/* NBMA sockets: raw IPv4 (GRE 47 / ESP 50, IP_HDRINCL) and UDP (NAT-T 4500). All nonblocking: the
 * pumps poll() so that stopPump is noticed within 100 ms. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "io.h"

/* Strict dotted quad; inet_pton alone would also be fine, but we want host order out. */
int parse_ipv4(const char *s, uint32_t *out) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) return 0;
  *out = ntohl(a.s_addr);
  return 1;
}

/* Bursts of GRE/ESP from many spokes arrive faster than one batch: give the kernel room. */
static void big_buffers(int s) {
  int sz = 4 << 20;
  if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)  /* needs CAP_NET_ADMIN */
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);           /* capped by rmem_max */
  if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

static int bind_to(int s, const char *what, const char *addr_s, uint32_t addr, int port, struct io_err *e) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(addr);
  sin.sin_port = htons((uint16_t)port);
  if (bind(s, (struct sockaddr *)&sin, sizeof sin) == 0) return 0;
  int err = errno;
  if (err == EADDRINUSE)
    return io_fail(e, err, "%s bind %s:%d: address already in use — another socket (another dmvpnd, strongSwan "
                   "charon?) holds it", what, addr_s, port);
  if (err == EADDRNOTAVAIL)
    return io_fail(e, err, "%s bind %s:%d: address not available — %s is not configured on any interface in this "
                   "namespace", what, addr_s, port, addr_s);
  if (err == EACCES || err == EPERM)
    return io_fail(e, err, "%s bind %s:%d: %s — low ports need CAP_NET_BIND_SERVICE", what, addr_s, port, strerror(err));
  return io_fail(e, err, "%s bind %s:%d: %s", what, addr_s, port, strerror(err));
}

int raw_open(int protocol, const char *bind_addr, struct io_err *e) {
  uint32_t addr = 0;
  if (protocol <= 0 || protocol > 255 || protocol == IPPROTO_RAW)
    return io_fail_code(e, "EINVAL", "raw IP protocol %d must be 1..254", protocol);
  if (bind_addr && !parse_ipv4(bind_addr, &addr))
    return io_fail_code(e, "EINVAL", "bind address '%s' is not a dotted IPv4 address", bind_addr);
  int s = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (s < 0) {
    int err = errno;
    if (err == EPERM || err == EACCES)
      return io_fail(e, err, "raw socket for IP protocol %d: %s — needs CAP_NET_RAW (run as root)", protocol, strerror(err));
    return io_fail(e, err, "raw socket for IP protocol %d: %s", protocol, strerror(err));
  }
  int one = 1;
  /* The data plane builds the whole outer IPv4 header (TTL, DF, addresses). */
  if (setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0) {
    int err = errno;
    close(s);
    return io_fail(e, err, "IP_HDRINCL on raw socket: %s", strerror(err));
  }
  big_buffers(s);
  if (bind_addr && bind_to(s, "raw", bind_addr, addr, 0, e)) { close(s); return -1; }
  return s;
}

int udp_open(const char *bind_addr, int port, int reuse_port, struct io_err *e) {
  uint32_t addr = 0;
  if (port < 0 || port > 65535) return io_fail_code(e, "EINVAL", "UDP port %d must be 0..65535", port);
  if (!parse_ipv4(bind_addr, &addr))
    return io_fail_code(e, "EINVAL", "bind address '%s' is not a dotted IPv4 address", bind_addr);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return io_fail(e, errno, "UDP socket: %s", strerror(errno));
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port && setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    int err = errno;
    close(s);
    return io_fail(e, err, "SO_REUSEPORT on UDP socket: %s", strerror(err));
  }
  big_buffers(s);
  if (bind_to(s, "UDP", bind_addr, addr, port, e)) { close(s); return -1; }
  return s;
}
