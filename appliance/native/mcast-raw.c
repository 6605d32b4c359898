/* Raw IPv4 sockets of one protocol joined to one multicast group on chosen interfaces: the transport
 * of our EIGRP speaker (IP protocol 88, 224.0.0.10; appliance/routing/eigrp/raw-socket.ts). Before
 * this, a python3 child did the same, and the appliance image ships no python3.
 *
 * One socket serves every interface of a routing process, as FRR's eigrpd does:
 *  - the kernel builds the IP header (no IP_HDRINCL): TTL and TOS come from socket options, the
 *    source address from the outgoing interface;
 *  - membership per interface by index (ip_mreqn), so two interfaces with the same address, or a
 *    TUN whose address is not unique, still join separately;
 *  - each send names its interface in an IP_PKTINFO control message (the kernel's oif for the route
 *    lookup, multicast and unicast alike), so no IP_MULTICAST_IF dance between sends;
 *  - each receive reports the interface it came in on (IP_PKTINFO); a packet from an interface the
 *    socket did not join (a raw socket hears its protocol on all of them, and with IP_MULTICAST_ALL
 *    the groups other sockets joined) is dropped and counted, never handed to the speaker;
 *  - our own multicasts are not looped back (IP_MULTICAST_LOOP 0).
 * Polled by the event loop (uv_poll, as netlink.c and for the same reason: a few packets a second,
 * each consumed by JS anyway). A receive error that is not transient (the fd is gone or broken)
 * stops the socket and is reported once as a 'failed' event, so the owner restarts the process. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include "io.h"
#include "js-callback.h"
#include "polled-sock.h"
#include "mcast-raw.h"

#define MR_MAX_IFACES 64          /* more than the kernel's default igmp_max_memberships (20) anyway */
#define MR_RECV_BUF 65536         /* one reassembled IPv4 datagram at most */
#define MR_SOCK_RCVBUF (1 << 20)  /* a hub's burst of updates from many neighbors at once */

struct mr_iface { int index; char name[IF_NAMESIZE]; };

struct mr_sock {
  struct polled_sock ps; /* first; its fd is -1 once failed or closed, its buf holds MR_RECV_BUF bytes */
  int n_ifaces;
  struct mr_iface ifaces[MR_MAX_IFACES];
  double received, sent, foreign, truncated, malformed, recv_errors, send_errors;
  char failure[160];     /* why the socket stopped, '' while it runs */
};

static __thread struct polled_sock *mr_socks; /* per JS thread, as netlink.c */

static napi_value mr_throw(napi_env env, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static napi_value mr_throw(napi_env env, int err, const char *fmt, ...) {
  char msg[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_throw_error(env, err && errno_name(err) ? errno_name(err) : "EINVAL", msg);
  return NULL;
}

static void mr_call(struct mr_sock *s, size_t argc, napi_value *argv) { js_callback(s->ps.env, s->ps.cb, s->ps.actx, argc, argv); }

/* callback('packet', iface, src, dst, payload): the IP payload (the EIGRP packet), header stripped. */
static void deliver_packet(struct mr_sock *s, const char *iface, const uint8_t *ip, size_t ihl, size_t len) {
  napi_handle_scope scope;
  napi_open_handle_scope(s->ps.env, &scope);
  char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, ip + 12, src, sizeof src);
  inet_ntop(AF_INET, ip + 16, dst, sizeof dst);
  napi_value argv[5];
  void *copy;
  argv[0] = js_string(s->ps.env, "packet");
  argv[1] = js_string(s->ps.env, iface);
  argv[2] = js_string(s->ps.env, src);
  argv[3] = js_string(s->ps.env, dst);
  napi_create_buffer_copy(s->ps.env, len - ihl, ip + ihl, &copy, &argv[4]);
  mr_call(s, 5, argv);
  napi_close_handle_scope(s->ps.env, scope);
}

/* Stops the socket for good and tells JS once: callback('failed', why). */
static void fail(struct mr_sock *s, int err, const char *what) {
  if (s->ps.fd < 0) return;
  snprintf(s->failure, sizeof s->failure, "%s: %s", what, strerror(err));
  uv_poll_stop(&s->ps.poll);
  close(s->ps.fd);
  s->ps.fd = -1;
  napi_handle_scope scope;
  napi_open_handle_scope(s->ps.env, &scope);
  napi_value argv[2] = { js_string(s->ps.env, "failed"), js_string(s->ps.env, s->failure) };
  mr_call(s, 2, argv);
  napi_close_handle_scope(s->ps.env, scope);
}

static const char *iface_of(struct mr_sock *s, int index) {
  for (int i = 0; i < s->n_ifaces; i++) if (s->ifaces[i].index == index) return s->ifaces[i].name;
  return NULL;
}

/* Errors a working socket can return (an ICMP error queued, memory pressure): counted, not fatal. */
static int transient(int err) {
  return err == EAGAIN || err == EINTR || err == ENOBUFS || err == ENOMEM || err == ECONNREFUSED ||
         err == EHOSTUNREACH || err == ENETUNREACH || err == ENETDOWN || err == EHOSTDOWN;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  struct mr_sock *s = (struct mr_sock *)h;
  if (status < 0 && !s->ps.closing && s->ps.fd >= 0) {
    /* POLLERR stops the handle: start it again; recvmsg below reports (and clears) the error */
    int r = uv_poll_start(&s->ps.poll, UV_READABLE, on_readable);
    if (r != 0) { fail(s, -r, "watching the socket"); return; }
  }
  for (int i = 0; i < 256 && !s->ps.closing && s->ps.fd >= 0; i++) { /* bounded: a flood waits for the next turn */
    union { struct cmsghdr align; char space[CMSG_SPACE(sizeof(struct in_pktinfo))]; } ctl;
    struct iovec iov = { s->ps.buf, MR_RECV_BUF };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof ctl };
    ssize_t n = recvmsg(s->ps.fd, &m, MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EINTR) return;
      s->recv_errors++;
      if (transient(err)) continue;
      fail(s, err, "receive");
      return;
    }
    if (m.msg_flags & MSG_TRUNC) { s->truncated++; continue; }
    int index = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
        index = ((struct in_pktinfo *)CMSG_DATA(c))->ipi_ifindex;
    const char *iface = iface_of(s, index);
    if (!iface) { s->foreign++; continue; }
    size_t ihl = n >= 20 ? (size_t)(s->ps.buf[0] & 15) * 4 : 0;
    if (n < 20 || (s->ps.buf[0] >> 4) != 4 || ihl < 20 || ihl > (size_t)n) { s->malformed++; continue; }
    s->received++;
    deliver_packet(s, iface, s->ps.buf, ihl, (size_t)n);
  }
}

static int set_int(int fd, int level, int opt, int value) { return setsockopt(fd, level, opt, &value, sizeof value); }

/* The socket with every option and membership, or -1 with the exception thrown. */
static int open_socket(napi_env env, int protocol, struct in_addr group, int ttl, int tos, struct mr_iface *ifs, int n) {
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    int err = errno;
    mr_throw(env, err, "raw socket for IP protocol %d: %s%s", protocol, strerror(err),
             err == EPERM || err == EACCES ? " (needs CAP_NET_RAW: run as root)" : "");
    return -1;
  }
  int rcv = MR_SOCK_RCVBUF;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct { int level, opt, value; const char *name; } opts[] = {
    { IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO" }, { IPPROTO_IP, IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP" },
    { IPPROTO_IP, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL" }, { IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL" },
    { IPPROTO_IP, IP_TTL, ttl, "IP_TTL" }, { IPPROTO_IP, IP_TOS, tos, "IP_TOS" },
  };
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
    if (set_int(fd, opts[i].level, opts[i].opt, opts[i].value) < 0) {
      int err = errno;
      close(fd);
      mr_throw(env, err, "%s on the raw socket: %s", opts[i].name, strerror(err));
      return -1;
    }
  for (int i = 0; i < n; i++) {
    struct ip_mreqn mr = { .imr_multiaddr = group, .imr_ifindex = ifs[i].index };
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
      int err = errno;
      close(fd);
      char g[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &group, g, sizeof g);
      mr_throw(env, err, "joining %s on %s: %s%s", g, ifs[i].name, strerror(err),
               err == ENOBUFS ? " (more interfaces than net.ipv4.igmp_max_memberships allows)" :
               err == ENODEV ? " (the interface has no IPv4 configuration)" : "");
      return -1;
    }
  }
  return fd;
}

/* mcastRawOpen({protocol, group, interfaces, ttl, tos}, callback) -> id */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = { 0 }, v;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) return mr_throw(env, 0, "mcastRawOpen: callback must be a function");
  int32_t protocol = 0, ttl = 1, tos = 0;
  char group_s[INET_ADDRSTRLEN] = "";
  size_t len;
  if (napi_get_named_property(env, argv[0], "protocol", &v) != napi_ok || napi_get_value_int32(env, v, &protocol) != napi_ok ||
      protocol < 1 || protocol > 254 || protocol == IPPROTO_RAW)
    return mr_throw(env, 0, "mcastRawOpen: protocol must be an IP protocol number 1..254 (not 255)");
  if (napi_get_named_property(env, argv[0], "ttl", &v) == napi_ok && napi_get_value_int32(env, v, &ttl) == napi_ok && (ttl < 1 || ttl > 255))
    return mr_throw(env, 0, "mcastRawOpen: ttl must be 1..255");
  if (napi_get_named_property(env, argv[0], "tos", &v) == napi_ok && napi_get_value_int32(env, v, &tos) == napi_ok && (tos < 0 || tos > 255))
    return mr_throw(env, 0, "mcastRawOpen: tos must be 0..255");
  struct in_addr group;
  if (napi_get_named_property(env, argv[0], "group", &v) != napi_ok ||
      napi_get_value_string_utf8(env, v, group_s, sizeof group_s, &len) != napi_ok ||
      inet_pton(AF_INET, group_s, &group) != 1 || !IN_MULTICAST(ntohl(group.s_addr)))
    return mr_throw(env, 0, "mcastRawOpen: group '%s' is not an IPv4 multicast address", group_s);
  uint32_t n = 0;
  bool is_array = false;
  if (napi_get_named_property(env, argv[0], "interfaces", &v) != napi_ok || napi_is_array(env, v, &is_array) != napi_ok || !is_array)
    return mr_throw(env, 0, "mcastRawOpen: interfaces must be an array of interface names");
  napi_get_array_length(env, v, &n);
  if (n > MR_MAX_IFACES) return mr_throw(env, 0, "mcastRawOpen: %u interfaces, at most %d", n, MR_MAX_IFACES);
  struct mr_sock *s = calloc(1, sizeof *s);
  if (!s || !(s->ps.buf = malloc(MR_RECV_BUF))) { free(s); return mr_throw(env, ENOMEM, "out of memory"); }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    struct mr_iface *f = &s->ifaces[i];
    char name_s[64];
    napi_get_element(env, v, i, &e);
    if (napi_get_value_string_utf8(env, e, name_s, sizeof name_s, &len) != napi_ok || len == 0 || len >= IF_NAMESIZE) {
      free(s->ps.buf); free(s);
      return mr_throw(env, 0, "mcastRawOpen: interface %u is not an interface name (a string of 1..%d bytes)", i, IF_NAMESIZE - 1);
    }
    memcpy(f->name, name_s, len + 1);
    if (!(f->index = (int)if_nametoindex(f->name))) {
      int err = errno;
      free(s->ps.buf); free(s);
      return mr_throw(env, err, "no interface '%s' in this network namespace", f->name);
    }
  }
  s->n_ifaces = (int)n;
  s->ps.fd = open_socket(env, protocol, group, ttl, tos, s->ifaces, s->n_ifaces);
  if (s->ps.fd < 0) { free(s->ps.buf); free(s); return NULL; }
  s->ps.env = env;
  /* unref'd there, like a netlink watch: not a reason for the process to stay */
  if (polled_sock_watch(&s->ps, &mr_socks, argv[1], "dmvpn_io.mcastRaw", on_readable) < 0)
    return mr_throw(env, EIO, "mcastRawOpen: cannot watch the socket");
  return js_number(env, s->ps.id);
}

static struct mr_sock *sock_of(napi_env env, napi_callback_info info, napi_value *argv, size_t n) {
  size_t argc = n;
  uint32_t id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (napi_get_value_uint32(env, argv[0], &id) != napi_ok) { mr_throw(env, 0, "socket id must be a number"); return NULL; }
  struct polled_sock *s = polled_sock_find(mr_socks, env, id);
  if (s) return (struct mr_sock *)s;
  mr_throw(env, ENOENT, "no such multicast raw socket (closed?)");
  return NULL;
}

/* mcastRawSend(id, iface, dst, payload): one datagram out of `iface` (one of the socket's) to `dst`. */
static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[4] = { 0 };
  struct mr_sock *s = sock_of(env, info, argv, 4);
  if (!s) return NULL;
  char iface[64] = "", dst_s[INET_ADDRSTRLEN] = "";
  size_t len;
  struct in_addr dst;
  napi_get_value_string_utf8(env, argv[1], iface, sizeof iface, &len);
  napi_get_value_string_utf8(env, argv[2], dst_s, sizeof dst_s, &len);
  int index = 0;
  for (int i = 0; i < s->n_ifaces; i++) if (!strcmp(s->ifaces[i].name, iface)) index = s->ifaces[i].index;
  if (!index) { s->send_errors++; return mr_throw(env, 0, "send: '%s' is not an interface of this socket", iface); }
  if (inet_pton(AF_INET, dst_s, &dst) != 1) { s->send_errors++; return mr_throw(env, 0, "send: destination '%s' is not a dotted IPv4 address", dst_s); }
  bool is;
  void *data;
  size_t n;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, argv[3], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[3], &type, &n, &data, &ab, &off) != napi_ok || type != napi_uint8_array) {
    s->send_errors++;
    return mr_throw(env, 0, "send: payload must be a Uint8Array");
  }
  if (s->ps.fd < 0) { s->send_errors++; return mr_throw(env, EBADF, "send: the socket has stopped (%s)", s->failure); }
  union { struct cmsghdr align; char space[CMSG_SPACE(sizeof(struct in_pktinfo))]; } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = dst };
  struct iovec iov = { data, n };
  struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1,
                      .msg_control = &ctl, .msg_controllen = sizeof ctl };
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
  ((struct in_pktinfo *)CMSG_DATA(c))->ipi_ifindex = index;
  if (sendmsg(s->ps.fd, &m, MSG_DONTWAIT) < 0) {
    int err = errno;
    s->send_errors++;
    return mr_throw(env, err, "send to %s on %s (%zu bytes): %s", dst_s, iface, n, strerror(err));
  }
  s->sent++;
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1] = { 0 };
  struct mr_sock *s = sock_of(env, info, argv, 1);
  if (!s) return NULL;
  polled_sock_close(&s->ps);
  return NULL;
}

/* mcastRawStats(id): what the socket delivered, sent and dropped. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1] = { 0 }, o;
  struct mr_sock *s = sock_of(env, info, argv, 1);
  if (!s) return NULL;
  napi_create_object(env, &o);
  const struct { const char *k; double v; } f[] = {
    { "received", s->received }, { "sent", s->sent }, { "foreign", s->foreign }, { "truncated", s->truncated },
    { "malformed", s->malformed }, { "receiveErrors", s->recv_errors }, { "sendErrors", s->send_errors }, { "fd", s->ps.fd },
  };
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) napi_set_named_property(env, o, f[i].k, js_number(env, f[i].v));
  if (s->failure[0]) napi_set_named_property(env, o, "failure", js_string(env, s->failure));
  return o;
}

void mcast_raw_define(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
#define F(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL }
    F("mcastRawOpen", js_open), F("mcastRawSend", js_send), F("mcastRawClose", js_close), F("mcastRawStats", js_stats),
#undef F
  };
  napi_define_properties(env, exports, sizeof d / sizeof *d, d);
}
