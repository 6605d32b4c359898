/* NETLINK_ROUTE sockets for the kernel routing table (appliance/routing/kernel-table.ts).
 *
 * Why a libuv poll and not a thread: netlink carries a few messages per route change, and every one
 * of them is consumed by JS on the main thread anyway. Watching the fd with the event loop's own
 * epoll (uv_poll) hands each datagram to JS where it is used, with no thread to join, no queue
 * between threads and no copy of a copy; a thread + threadsafe function would only add a hop.
 *
 * The C side stays dumb on purpose: it sends the bytes JS built and delivers the datagrams the kernel
 * sent, whole; parsing is the TypeScript codec's job (appliance/net/netlink-codec.ts), where it is
 * bounds-checked and unit-tested. What C does decide:
 *  - only the kernel (sender port id 0) is listened to: another local process may unicast to our
 *    port id, and a forged RTM_NEWROUTE must not steer the overlay; dropped and counted;
 *  - a truncated datagram (MSG_TRUNC) is dropped and counted rather than delivered half;
 *  - ENOBUFS (the kernel dropped notifications: our receive queue overflowed) is reported to JS as
 *    an 'ENOBUFS' event, so it re-dumps: the table is whole again without any notification lost
 *    silently. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include "io.h"
#include "js-callback.h"
#include "polled-sock.h"
#include "netlink.h"

#define NL_RECV_BUF (64 * 1024)   /* dump datagrams are at most 32 KiB on large-page kernels */
#define NL_SOCK_RCVBUF (4 << 20)  /* room for a burst of notifications (a routing daemon's full table) */

struct nl_sock {
  struct polled_sock ps; /* first; its buf holds NL_RECV_BUF bytes: one datagram */
  double received, foreign, truncated, overruns, errors;
};

static __thread struct polled_sock *socks; /* per JS thread: each loop (main, workers) sees only its own */

static napi_value nl_throw(napi_env env, int err, const char *what) {
  char msg[200];
  snprintf(msg, sizeof msg, "netlink %s: %s", what, strerror(err));
  napi_throw_error(env, errno_name(err) ? errno_name(err) : "EIO", msg);
  return NULL;
}

/* callback(kind, bytes): kind 'message' with a Buffer of one datagram, or 'overrun' with undefined. */
static void deliver(struct nl_sock *s, const char *kind, const uint8_t *data, size_t len) {
  napi_env env = s->ps.env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[2];
  napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &argv[0]);
  if (data) {
    void *copy;
    napi_create_buffer_copy(env, len, data, &copy, &argv[1]);
  } else napi_get_undefined(env, &argv[1]);
  js_callback(env, s->ps.cb, s->ps.actx, 2, argv);
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  struct nl_sock *s = (struct nl_sock *)h;
  uint8_t *buf = s->ps.buf;
  if (status < 0) {
    /* a socket error (ENOBUFS after an overrun) shows as POLLERR, on which libuv stops the handle:
     * start it again, and read below, where recvmsg reports (and clears) the error */
    if (s->ps.closing || uv_poll_start(&s->ps.poll, UV_READABLE, on_readable) != 0) { s->errors++; return; }
  }
  /* bounded: a flood cannot keep the event loop here; the rest waits for the next turn */
  for (int i = 0; i < 256 && !s->ps.closing; i++) {
    struct sockaddr_nl from;
    struct iovec iov = { buf, NL_RECV_BUF };
    struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n = recvmsg(s->ps.fd, &m, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      if (errno == ENOBUFS) { s->overruns++; deliver(s, "overrun", NULL, 0); continue; }
      s->errors++;
      return;
    }
    if (m.msg_flags & MSG_TRUNC) { s->truncated++; continue; }
    if (m.msg_namelen != sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0) { s->foreign++; continue; }
    s->received++;
    deliver(s, "message", buf, (size_t)n);
  }
}

/* netlinkOpen(groups, callback) -> id: a NETLINK_ROUTE socket of this network namespace, member of
 * the multicast `groups` (RTMGRP_* bit mask, 0 = requests only). */
static napi_value js_netlink_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = { 0 };
  napi_valuetype t;
  uint32_t groups;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (napi_get_value_uint32(env, argv[0], &groups) != napi_ok) { napi_throw_error(env, "EINVAL", "netlinkOpen: groups must be a uint32 bit mask"); return NULL; }
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) { napi_throw_error(env, "EINVAL", "netlinkOpen: callback must be a function"); return NULL; }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return nl_throw(env, errno, "socket");
  int rcv = NL_SOCK_RCVBUF, one = 1;
  /* FORCE needs CAP_NET_ADMIN (the appliance has it); otherwise the capped size is still better */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one); /* error messages name the bad attribute */
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { int err = errno; close(fd); return nl_throw(env, err, "bind"); }
  struct nl_sock *s = calloc(1, sizeof *s);
  if (s && !(s->ps.buf = malloc(NL_RECV_BUF))) { free(s); s = NULL; }
  if (!s) { close(fd); napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  s->ps.env = env;
  s->ps.fd = fd;
  /* unref'd there: a routing table watch alone must not keep the process alive */
  if (polled_sock_watch(&s->ps, &socks, argv[1], "dmvpn_io.netlink", on_readable) < 0) {
    napi_throw_error(env, "EIO", "netlinkOpen: cannot watch the socket");
    return NULL;
  }
  return js_number(env, s->ps.id);
}

/* The socket named by the first of `n` arguments (argv filled), or NULL with an exception pending. */
static struct nl_sock *sock_arg(napi_env env, napi_callback_info info, napi_value *argv, size_t n) {
  size_t argc = n;
  uint32_t id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (napi_get_value_uint32(env, argv[0], &id) != napi_ok) { napi_throw_error(env, "EINVAL", "netlink id must be a number"); return NULL; }
  struct polled_sock *s = polled_sock_find(socks, env, id);
  if (s) return (struct nl_sock *)s;
  napi_throw_error(env, "ENOENT", "no such netlink socket (closed?)");
  return NULL;
}

/* netlinkSend(id, bytes): one datagram of netlink messages to the kernel (their seq/flags are JS's). */
static napi_value js_netlink_send(napi_env env, napi_callback_info info) {
  napi_value argv[2] = { 0 };
  struct nl_sock *s = sock_arg(env, info, argv, 2);
  if (!s) return NULL;
  bool is;
  void *data;
  size_t len;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, argv[1], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &off) != napi_ok || type != napi_uint8_array) {
    napi_throw_error(env, "EINVAL", "netlinkSend: bytes must be a Uint8Array");
    return NULL;
  }
  if (len < sizeof(struct nlmsghdr) || len > NL_RECV_BUF) { napi_throw_error(env, "EINVAL", "netlinkSend: message length out of range"); return NULL; }
  struct sockaddr_nl to = { .nl_family = AF_NETLINK };
  if (sendto(s->ps.fd, data, len, 0, (struct sockaddr *)&to, sizeof to) < 0) return nl_throw(env, errno, "send");
  return NULL;
}

static napi_value js_netlink_close(napi_env env, napi_callback_info info) {
  napi_value argv[1] = { 0 };
  struct nl_sock *s = sock_arg(env, info, argv, 1);
  if (!s) return NULL;
  polled_sock_close(&s->ps);
  return NULL;
}

/* netlinkStats(id): what the C side delivered and dropped. */
static napi_value js_netlink_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1] = { 0 }, o;
  struct nl_sock *s = sock_arg(env, info, argv, 1);
  if (!s) return NULL;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "received", js_number(env, s->received));
  napi_set_named_property(env, o, "foreign", js_number(env, s->foreign));
  napi_set_named_property(env, o, "truncated", js_number(env, s->truncated));
  napi_set_named_property(env, o, "overruns", js_number(env, s->overruns));
  napi_set_named_property(env, o, "errors", js_number(env, s->errors));
  struct sockaddr_nl me;
  socklen_t len = sizeof me;
  if (getsockname(s->ps.fd, (struct sockaddr *)&me, &len) == 0) napi_set_named_property(env, o, "portId", js_number(env, me.nl_pid));
  return o;
}

void netlink_define(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
#define F(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL }
    F("netlinkOpen", js_netlink_open), F("netlinkSend", js_netlink_send),
    F("netlinkClose", js_netlink_close), F("netlinkStats", js_netlink_stats),
#undef F
  };
  napi_define_properties(env, exports, sizeof d / sizeof *d, d);
}
