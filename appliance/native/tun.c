/* TUN device creation and interface configuration through ioctls (no `ip` subprocess). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "io.h"

static int check_name(const char *name, struct io_err *e) {
  size_t n = strlen(name);
  if (n == 0 || n >= IFNAMSIZ)
    return io_fail_code(e, "EINVAL", "interface name '%s' must be 1..%d characters", name, IFNAMSIZ - 1);
  return 0;
}

int tun_open(const char *name, const struct tun_opts *o, struct io_err *e) {
  if (check_name(name, e)) return -1;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENODEV || err == ENXIO)
      return io_fail_code(e, "ENOTUN", "cannot open /dev/net/tun: %s — load the tun module (modprobe tun) or run in a "
                          "namespace/container that has the device", strerror(err));
    if (err == EACCES || err == EPERM)
      return io_fail(e, err, "cannot open /dev/net/tun: %s — needs root or CAP_NET_ADMIN", strerror(err));
    return io_fail(e, err, "cannot open /dev/net/tun: %s", strerror(err));
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (o->vnet_hdr) ifr.ifr_flags |= IFF_VNET_HDR;
  if (o->multi_queue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    if (err == EBUSY)
      return io_fail(e, err, "interface name %s is already in use by another process (or another fd of this one); "
                     "close it first, or open every queue with multiQueue: true", name);
    if (err == EPERM || err == EACCES)
      return io_fail(e, err, "TUNSETIFF %s: %s — needs CAP_NET_ADMIN (run as root)", name, strerror(err));
    if (err == EINVAL)
      return io_fail(e, err, "TUNSETIFF %s: invalid argument — an interface with this name exists but is not a TUN "
                     "with the same flags (multiQueue/vnetHdr must match), or the name is taken by another device type", name);
    return io_fail(e, err, "TUNSETIFF %s: %s", name, strerror(err));
  }
  if (o->vnet_hdr) {
    /* Every read/write now carries a 10-byte virtio_net_hdr: reads may be TCP super-packets (TSO) with
     * partial checksums, writes may be coalesced super-packets (GRO); see docs/dataplane.md. */
    unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    int sz = 10; /* sizeof(struct virtio_net_hdr) */
    if (ioctl(fd, TUNSETOFFLOAD, off) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
      int err = errno;
      close(fd);
      return io_fail(e, err, "TUNSETOFFLOAD/TUNSETVNETHDRSZ %s: %s — the kernel's tun driver lacks offload support; "
                     "open without vnetHdr", name, strerror(err));
    }
  }
  return fd;
}

/* Carrier of a TUN we opened (TUNSETCARRIER, Linux 4.19+): off, the kernel marks every route through
 * the device "linkdown" and, with ignore_routes_with_linkdown, routes around it (if-state nhrp). */
int tun_set_carrier(int fd, int on, struct io_err *e) {
  int v = on ? 1 : 0;
  if (ioctl(fd, TUNSETCARRIER, &v) == 0) return 0;
  int err = errno;
  if (err == EINVAL || err == ENOTTY)
    return io_fail(e, err, "TUNSETCARRIER: %s — the kernel's tun driver cannot change carrier (needs Linux 4.19+)", strerror(err));
  return io_fail(e, err, "TUNSETCARRIER: %s", strerror(err));
}

static int if_ioctl(int s, unsigned long req, struct ifreq *ifr, const char *what, const char *name, struct io_err *e) {
  if (ioctl(s, req, ifr) == 0) return 0;
  int err = errno;
  if (err == ENODEV || err == ENXIO)
    return io_fail(e, ENODEV, "%s %s: no such interface — create it first (openTun) in this network namespace", what, name);
  if (err == EPERM || err == EACCES)
    return io_fail(e, err, "%s %s: %s — needs CAP_NET_ADMIN (run as root)", what, name, strerror(err));
  return io_fail(e, err, "%s %s: %s", what, name, strerror(err));
}

int if_configure(const char *name, const struct if_conf *c, struct io_err *e) {
  if (check_name(name, e)) return -1;
  uint32_t addr = 0;
  if (c->address && !parse_ipv4(c->address, &addr))
    return io_fail_code(e, "EINVAL", "address '%s' is not a dotted IPv4 address", c->address);
  if (c->prefix_len != -1 && (c->prefix_len < 0 || c->prefix_len > 32))
    return io_fail_code(e, "EINVAL", "prefixLen %d must be 0..32", c->prefix_len);
  if (c->mtu != -1 && (c->mtu < 68 || c->mtu > 65535))
    return io_fail_code(e, "EINVAL", "mtu %d must be 68..65535", c->mtu);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return io_fail(e, errno, "socket(AF_INET) for interface ioctls: %s", strerror(errno));
  struct ifreq ifr;
  int rc = -1;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  /* Probe first so a missing interface gives one clear error whatever was asked. */
  if (if_ioctl(s, SIOCGIFFLAGS, &ifr, "configureInterface", name, e)) goto out;
  if (c->address) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(addr);
    if (if_ioctl(s, SIOCSIFADDR, &ifr, "SIOCSIFADDR", name, e)) goto out;
    if (c->prefix_len != -1) {
      uint32_t mask = c->prefix_len == 0 ? 0 : 0xffffffffu << (32 - c->prefix_len);
      memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
      sin->sin_family = AF_INET;
      sin->sin_addr.s_addr = htonl(mask);
      if (if_ioctl(s, SIOCSIFNETMASK, &ifr, "SIOCSIFNETMASK", name, e)) goto out;
    }
  }
  if (c->mtu != -1) {
    memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
    ifr.ifr_mtu = c->mtu;
    if (if_ioctl(s, SIOCSIFMTU, &ifr, "SIOCSIFMTU", name, e)) goto out;
  }
  if (c->up != -1) {
    memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
    if (if_ioctl(s, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS", name, e)) goto out;
    if (c->up) ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    else ifr.ifr_flags &= ~IFF_UP;
    if (if_ioctl(s, SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS", name, e)) goto out;
  }
  rc = 0;
out:
  close(s);
  return rc;
}
