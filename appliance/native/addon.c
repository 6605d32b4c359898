/* N-API glue of dmvpn_io: argument checking, Error objects with `code`, and the per-environment
 * bookkeeping of pumps and watches. Context-aware (NAPI_MODULE_INIT + instance data, no global JS
 * handles) so it loads in the main thread and in worker_threads alike. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#define NAPI_VERSION 8
#include <node_api.h>
#include "io.h"
#include "js-callback.h"
#include "netlink.h"
#include "mcast-raw.h"

/* ---------- per-environment state ---------- */

struct pump_entry {
  struct pump_entry *next;
  uint32_t id;
  struct pump *pump;
  napi_ref buffer; /* keeps the memory's buffer alive while the thread writes into it */
};

struct watch {
  struct watch *next;
  struct inst *inst;
  uint32_t id;
  uint32_t *bell;
  uint32_t start_seq; /* seq when watch() was called: rings after that are never missed */
  pthread_t thread;
  int stop, pending, stopped_js, joined;
  napi_threadsafe_function tsfn;
  napi_ref buffer;
};

struct inst {
  struct pump_entry *pumps;
  struct watch *watches;
};

static uint32_t next_id = 1; /* process-wide so ids never repeat across workers */
static uint32_t new_id(void) { return __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED); }

/* ---------- helpers ---------- */

#define CHECK(call) do { if ((call) != napi_ok) { throw_last(env); return NULL; } } while (0)

static void throw_last(napi_env env) {
  bool pending;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, "EINVAL", info && info->error_message ? info->error_message : "N-API call failed");
}

static napi_value throw_io(napi_env env, const struct io_err *e) {
  napi_throw_error(env, e->code, e->msg);
  return NULL;
}

static napi_value throw_msg(napi_env env, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static napi_value throw_msg(napi_env env, const char *code, const char *fmt, ...) {
  char msg[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_throw_error(env, code, msg);
  return NULL;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (!v || napi_typeof(env, v, &t) != napi_ok) return 1;
  return t == napi_undefined || t == napi_null;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size, const char *what) {
  size_t len;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) { throw_msg(env, "EINVAL", "%s must be a string", what); return -1; }
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (len >= size) { throw_msg(env, "EINVAL", "%s is too long (%zu bytes, max %zu)", what, len, size - 1); return -1; }
  napi_get_value_string_utf8(env, v, buf, size, &len);
  return 0;
}

static int get_int(napi_env env, napi_value v, int64_t lo, int64_t hi, int64_t *out, const char *what) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != floor(d) || d < (double)lo || d > (double)hi) {
    throw_msg(env, "EINVAL", "%s must be an integer in %lld..%lld", what, (long long)lo, (long long)hi);
    return -1;
  }
  *out = (int64_t)d;
  return 0;
}

static napi_value prop(napi_env env, napi_value obj, const char *name) {
  napi_value v = NULL;
  if (is_nullish(env, obj)) return NULL;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return NULL;
  return is_nullish(env, v) ? NULL : v;
}

static int get_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_coerce_to_bool(env, v, &v);
  napi_get_value_bool(env, v, &b);
  return b;
}

/* A typed array over the shared memory: base pointer, byte length, and its (Shared)ArrayBuffer. */
static int get_memory(napi_env env, napi_value v, uint8_t **base, size_t *len, napi_value *buffer) {
  bool is;
  napi_typedarray_type type;
  size_t n, off;
  void *data;
  napi_value ab;
  if (!v || napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    throw_msg(env, "EINVAL", "memory must be a Uint8Array over the shared WebAssembly.Memory buffer");
    return -1;
  }
  napi_get_typedarray_info(env, v, &type, &n, &data, &ab, &off);
  static const size_t sizes[] = { 1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8 };
  *base = data; /* already adjusted by byteOffset */
  *len = n * (type < sizeof sizes / sizeof *sizes ? sizes[type] : 1);
  if (buffer) *buffer = ab;
  return 0;
}

static int get_bell(napi_env env, napi_value mem, napi_value off_v, uint32_t **bell, napi_value *buffer) {
  uint8_t *base;
  size_t len;
  int64_t off;
  if (get_memory(env, mem, &base, &len, buffer)) return -1;
  if (get_int(env, off_v, 0, UINT32_MAX, &off, "doorbellOffset")) return -1;
  if (off & 3 || (size_t)off + DOORBELL_SIZE > len) {
    throw_msg(env, "EINVAL", "doorbell offset %lld is misaligned or outside the memory (%zu bytes)", (long long)off, len);
    return -1;
  }
  *bell = (uint32_t *)(base + off);
  return 0;
}

static struct inst *inst_of(napi_env env) {
  void *d = NULL;
  napi_get_instance_data(env, &d);
  return d;
}


#define ARGS(n) size_t argc = n; napi_value argv[n] = { 0 }; \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;

/* ---------- devices and sockets ---------- */

static napi_value js_open_tun(napi_env env, napi_callback_info info) {
  ARGS(2);
  char name[64];
  if (get_string(env, argv[0], name, sizeof name, "interface name")) return NULL;
  struct tun_opts o = { 0, 0 };
  napi_value v;
  if ((v = prop(env, argv[1], "vnetHdr"))) o.vnet_hdr = get_bool(env, v);
  if ((v = prop(env, argv[1], "multiQueue"))) o.multi_queue = get_bool(env, v);
  struct io_err e;
  int fd = tun_open(name, &o, &e);
  return fd < 0 ? throw_io(env, &e) : js_number(env, fd);
}

static napi_value js_tun_set_carrier(napi_env env, napi_callback_info info) {
  ARGS(2);
  int64_t fd;
  if (get_int(env, argv[0], 0, INT_MAX, &fd, "fd")) return NULL;
  struct io_err e;
  if (tun_set_carrier((int)fd, get_bool(env, argv[1]), &e)) return throw_io(env, &e);
  return NULL;
}

static napi_value js_configure_interface(napi_env env, napi_callback_info info) {
  ARGS(2);
  char name[64], addr[64];
  int64_t i;
  napi_value v;
  if (get_string(env, argv[0], name, sizeof name, "interface name")) return NULL;
  struct if_conf c = { NULL, -1, -1, -1 };
  if ((v = prop(env, argv[1], "address"))) { if (get_string(env, v, addr, sizeof addr, "address")) return NULL; c.address = addr; }
  if ((v = prop(env, argv[1], "prefixLen"))) { if (get_int(env, v, 0, 32, &i, "prefixLen")) return NULL; c.prefix_len = (int)i; }
  if ((v = prop(env, argv[1], "mtu"))) { if (get_int(env, v, 68, 65535, &i, "mtu")) return NULL; c.mtu = (int)i; }
  if ((v = prop(env, argv[1], "up"))) c.up = get_bool(env, v);
  if (c.prefix_len != -1 && !c.address) return throw_msg(env, "EINVAL", "prefixLen needs address");
  struct io_err e;
  if (if_configure(name, &c, &e)) return throw_io(env, &e);
  return NULL;
}

static napi_value js_open_raw_ip(napi_env env, napi_callback_info info) {
  ARGS(2);
  int64_t proto;
  char addr[64];
  const char *bind_addr = NULL;
  if (get_int(env, argv[0], 1, 254, &proto, "protocol")) return NULL;
  if (!is_nullish(env, argv[1])) { if (get_string(env, argv[1], addr, sizeof addr, "bindAddress")) return NULL; bind_addr = addr; }
  struct io_err e;
  int fd = raw_open((int)proto, bind_addr, &e);
  return fd < 0 ? throw_io(env, &e) : js_number(env, fd);
}

/* greLane(fd, nhrp): the raw GRE socket fd takes only NHRP (true) or only the rest (false). */
static napi_value js_gre_lane(napi_env env, napi_callback_info info) {
  ARGS(2);
  int64_t fd;
  if (get_int(env, argv[0], 0, INT_MAX, &fd, "fd")) return NULL;
  struct io_err e;
  if (gre_lane_filter((int)fd, get_bool(env, argv[1]), &e)) return throw_io(env, &e);
  return NULL;
}

/* ikeLane(fd): the SO_REUSEPORT group of fd sends IKE (non-ESP marker) to its second socket. */
static napi_value js_ike_lane(napi_env env, napi_callback_info info) {
  ARGS(1);
  int64_t fd;
  if (get_int(env, argv[0], 0, INT_MAX, &fd, "fd")) return NULL;
  struct io_err e;
  if (ike_lane_filter((int)fd, &e)) return throw_io(env, &e);
  return NULL;
}

/* nbmaSpread(fd, protocol, worker, workers, takeNhrp): the raw GRE (47) or ESP (50) socket fd of
 * worker `worker` takes only that worker's share of the flows (nbma-spread.c). */
static napi_value js_nbma_spread(napi_env env, napi_callback_info info) {
  ARGS(5);
  int64_t fd, proto, worker, workers;
  if (get_int(env, argv[0], 0, INT_MAX, &fd, "fd") || get_int(env, argv[1], 47, 50, &proto, "protocol") ||
      get_int(env, argv[3], 2, 64, &workers, "workers") || get_int(env, argv[2], 0, workers - 1, &worker, "worker")) return NULL;
  struct io_err e;
  int rc = proto == 47 ? gre_spread_filter((int)fd, (unsigned)worker, (unsigned)workers, get_bool(env, argv[4]), &e)
         : proto == 50 ? esp_spread_filter((int)fd, (unsigned)worker, (unsigned)workers, &e)
         : io_fail_code(&e, "EINVAL", "nbmaSpread: protocol %d is neither GRE (47) nor ESP (50)", (int)proto);
  return rc ? throw_io(env, &e) : NULL;
}

/* udpSpread(fd, workers, ikeLane): the SO_REUSEPORT group of fd (UDP 4500) picks each ESP datagram's
 * worker by SPI, IKE the lane's socket (nbma-spread.c). */
static napi_value js_udp_spread(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t fd, workers;
  if (get_int(env, argv[0], 0, INT_MAX, &fd, "fd") || get_int(env, argv[1], 2, 64, &workers, "workers")) return NULL;
  struct io_err e;
  if (udp_spread_filter((int)fd, (unsigned)workers, get_bool(env, argv[2]), &e)) return throw_io(env, &e);
  return NULL;
}

/* tunSteer(fd): the multi-queue TUN of fd picks each outbound packet's queue by its flow hash
 * (tun-steering.c) instead of the queue that wrote the flow's last reply. */
static napi_value js_tun_steer(napi_env env, napi_callback_info info) {
  ARGS(1);
  int64_t fd;
  if (get_int(env, argv[0], 0, INT_MAX, &fd, "fd")) return NULL;
  struct io_err e;
  if (tun_steer_by_flow((int)fd, &e)) return throw_io(env, &e);
  return NULL;
}

static napi_value js_open_udp(napi_env env, napi_callback_info info) {
  ARGS(3);
  int64_t port;
  char addr[64];
  napi_value v;
  int reuse_port = 0;
  if (get_string(env, argv[0], addr, sizeof addr, "bindAddress")) return NULL;
  if (get_int(env, argv[1], 0, 65535, &port, "port")) return NULL;
  if ((v = prop(env, argv[2], "reusePort"))) reuse_port = get_bool(env, v);
  struct io_err e;
  int fd = udp_open(addr, (int)port, reuse_port, &e);
  return fd < 0 ? throw_io(env, &e) : js_number(env, fd);
}

static napi_value js_close_fd(napi_env env, napi_callback_info info) {
  ARGS(1);
  int64_t fd;
  if (get_int(env, argv[0], 0, INT_MAX, &fd, "fd")) return NULL;
  if (close((int)fd) < 0 && errno != EINTR)
    return throw_msg(env, errno_name(errno) ? errno_name(errno) : "EIO", "close(%d): %s", (int)fd, strerror(errno));
  return NULL;
}

/* ---------- pumps ---------- */

static struct pump_entry **find_pump(struct inst *in, uint32_t id) {
  for (struct pump_entry **pp = &in->pumps; *pp; pp = &(*pp)->next) if ((*pp)->id == id) return pp;
  return NULL;
}

/* JS name, field and divisor of each pump counter (fullMs: nanoseconds in C) */
static const struct { const char *name; size_t off; double div; } stat_fields[] = {
#define STAT(js, field) { js, offsetof(struct pump_stats, field), 1 }
  STAT("packets", packets), STAT("bytes", bytes), STAT("batches", batches), STAT("errors", errors),
  STAT("drops", drops), STAT("fullWaits", full_waits), { "fullMs", offsetof(struct pump_stats, full_ns), 1e6 },
  STAT("controlPassed", ctl_passed), STAT("controlDropped", ctl_dropped), STAT("kernelDrops", kernel_drops),
  STAT("gsoSends", gso_sends), STAT("gsoSegments", gso_segments), STAT("gsoFallbacks", gso_fallbacks),
  STAT("groSupers", gro_supers), STAT("groSegments", gro_segments), STAT("udpOffload", offload),
#undef STAT
};

static napi_value stats_object(napi_env env, struct pump *p) {
  struct pump_stats s;
  napi_value o;
  pump_stats(p, &s);
  napi_create_object(env, &o);
  for (size_t i = 0; i < sizeof stat_fields / sizeof *stat_fields; i++) {
    uint64_t v;
    memcpy(&v, (const uint8_t *)&s + stat_fields[i].off, sizeof v);
    napi_set_named_property(env, o, stat_fields[i].name, js_number(env, (double)v / stat_fields[i].div));
  }
  return o;
}

static napi_value js_start_pump(napi_env env, napi_callback_info info) {
  ARGS(1);
  napi_value o = argv[0], v, ab;
  uint8_t *base;
  size_t len;
  char kind_s[16];
  int64_t fd, ring, batch = 64, raw_proto = 0, coalesce_us = 0, ctl_rate = 0, ctl_burst = 1;
  if (is_nullish(env, o)) return throw_msg(env, "EINVAL", "startPump needs {memory, kind, fd, ring}");
  if (get_memory(env, prop(env, o, "memory"), &base, &len, &ab)) return NULL;
  if (!(v = prop(env, o, "kind"))) return throw_msg(env, "EINVAL", "startPump: kind is required");
  if (get_string(env, v, kind_s, sizeof kind_s, "kind")) return NULL;
  int kind = pump_kind_parse(kind_s);
  if (kind < 0)
    return throw_msg(env, "EINVAL", "unknown pump kind '%s' (tun-rx, tun-tx, raw-rx, raw-tx, udp-rx, udp-tx)", kind_s);
  if (!(v = prop(env, o, "fd"))) return throw_msg(env, "EINVAL", "startPump: fd is required");
  if (get_int(env, v, 0, INT_MAX, &fd, "fd")) return NULL;
  if (!(v = prop(env, o, "ring"))) return throw_msg(env, "EINVAL", "startPump: ring is required");
  if (get_int(env, v, 0, UINT32_MAX, &ring, "ring")) return NULL;
  if ((v = prop(env, o, "batch")) && get_int(env, v, 1, 1024, &batch, "batch")) return NULL;
  if ((v = prop(env, o, "coalesceUs")) && get_int(env, v, 0, 10000, &coalesce_us, "coalesceUs")) return NULL;
  if ((v = prop(env, o, "controlRate")) && get_int(env, v, 0, 1000000, &ctl_rate, "controlRate")) return NULL;
  if ((v = prop(env, o, "controlBurst")) && get_int(env, v, 1, 1000000, &ctl_burst, "controlBurst")) return NULL;
  struct pump_limits lim = { (uint32_t)ctl_rate, (uint32_t)ctl_burst };
  if ((v = prop(env, o, "rawProtocol"))) {
    if (get_int(env, v, 1, 254, &raw_proto, "rawProtocol")) return NULL;
  } else if (kind == PK_RAW_RX) {
    int p = 0;
    socklen_t sl = sizeof p;
    if (getsockopt((int)fd, SOL_SOCKET, SO_PROTOCOL, &p, &sl) < 0)
      return throw_msg(env, "ENOTSOCK", "raw-rx: fd %d is not a socket (use openRawIp)", (int)fd);
    raw_proto = p; /* default: the socket's own protocol */
  }
  struct pump_entry *pe = calloc(1, sizeof *pe);
  if (!pe) return throw_msg(env, "ENOMEM", "out of memory");
  if (napi_create_reference(env, ab, 1, &pe->buffer) != napi_ok) { free(pe); throw_last(env); return NULL; }
  struct io_err e;
  pe->pump = pump_start(base, len, kind, (int)fd, (uint32_t)ring, (int)batch, (uint32_t)raw_proto, (int)coalesce_us, &lim, &e);
  if (!pe->pump) { napi_delete_reference(env, pe->buffer); free(pe); return throw_io(env, &e); }
  struct inst *in = inst_of(env);
  pe->id = new_id();
  pe->next = in->pumps;
  in->pumps = pe;
  return js_number(env, pe->id);
}

static int pump_id(napi_env env, napi_value v, struct pump_entry ***out) {
  int64_t id;
  if (get_int(env, v, 0, UINT32_MAX, &id, "pumpId")) return -1;
  *out = find_pump(inst_of(env), (uint32_t)id);
  if (!*out) { throw_msg(env, "ENOENT", "no pump %lld in this thread (already stopped, or started by another worker)", (long long)id); return -1; }
  return 0;
}

static napi_value js_stop_pump(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct pump_entry **pp;
  if (pump_id(env, argv[0], &pp)) return NULL;
  struct pump_entry *pe = *pp;
  *pp = pe->next;
  pump_stop(pe->pump);
  napi_value stats = stats_object(env, pe->pump); /* final numbers, handy for logs */
  pump_free(pe->pump);
  napi_delete_reference(env, pe->buffer);
  free(pe);
  return stats;
}

static napi_value js_pump_stats(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct pump_entry **pp;
  if (pump_id(env, argv[0], &pp)) return NULL;
  return stats_object(env, (*pp)->pump);
}

/* ---------- doorbells ---------- */

static napi_value js_wake(napi_env env, napi_callback_info info) {
  ARGS(2);
  uint32_t *bell;
  if (get_bell(env, argv[0], argv[1], &bell, NULL)) return NULL;
  doorbell_ring(bell);
  return NULL;
}

static napi_value js_wait(napi_env env, napi_callback_info info) {
  ARGS(4);
  uint32_t *bell;
  int64_t seq;
  double t = -1;
  if (get_bell(env, argv[0], argv[1], &bell, NULL)) return NULL;
  if (get_int(env, argv[2], INT32_MIN, UINT32_MAX, &seq, "seq")) return NULL;
  if (!is_nullish(env, argv[3]) && napi_get_value_double(env, argv[3], &t) != napi_ok)
    return throw_msg(env, "EINVAL", "timeoutMs must be a number (Infinity or omitted = no timeout)");
  int ms = (isnan(t) || t < 0 || t >= (double)INT_MAX) ? -1 : (int)ceil(t);
  static const char *res[] = { "ok", "not-equal", "timed-out" };
  return js_string(env, res[doorbell_futex_wait(bell, (uint32_t)seq, ms)]);
}

/* watch: a thread sleeps on the doorbell and calls back on the JS thread when seq moves. */

static void *watch_run(void *arg) {
  struct watch *w = arg;
  uint32_t last = w->start_seq;
  while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
    uint32_t s = __atomic_load_n(BELL_SEQ(w->bell), __ATOMIC_SEQ_CST);
    if (s != last) {
      last = s;
      /* Coalesce: at most one call queued; call_js clears `pending` before running the callback,
       * so a ring that lands while the callback runs queues exactly one more call. */
      if (!__atomic_exchange_n(&w->pending, 1, __ATOMIC_SEQ_CST))
        napi_call_threadsafe_function(w->tsfn, NULL, napi_tsfn_nonblocking);
      continue;
    }
    __atomic_store_n(BELL_SLEEPING(w->bell), 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(BELL_SEQ(w->bell), __ATOMIC_SEQ_CST) == s && !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
      doorbell_futex_wait(w->bell, s, 500); /* unwatch wakes us explicitly; the timeout is a safety net */
    __atomic_store_n(BELL_SLEEPING(w->bell), 0, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

static void watch_join(struct watch *w) {
  if (w->joined) return;
  __atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
  doorbell_futex_wake(w->bell);
  pthread_join(w->thread, NULL);
  w->joined = 1;
}

static void watch_unlink(struct watch *w) {
  if (!w->inst) return;
  for (struct watch **pp = &w->inst->watches; *pp; pp = &(*pp)->next)
    if (*pp == w) { *pp = w->next; break; }
  w->inst = NULL;
}

static void watch_call_js(napi_env env, napi_value cb, void *context, void *data) {
  struct watch *w = context;
  if (!env || !cb) return; /* tsfn being torn down */
  __atomic_store_n(&w->pending, 0, __ATOMIC_SEQ_CST);
  if (w->stopped_js) return; /* unwatch() already returned: no calls after it */
  napi_value undef, err;
  napi_get_undefined(env, &undef);
  if (napi_call_function(env, undef, cb, 0, NULL, NULL) == napi_pending_exception) {
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err); /* to process 'uncaughtException', like any callback */
  }
}

static void watch_finalize(napi_env env, void *data, void *hint) {
  struct watch *w = data;
  watch_join(w);   /* normally done by unwatch; needed when the environment is torn down */
  watch_unlink(w);
  if (w->buffer) napi_delete_reference(env, w->buffer);
  free(w);
}

static napi_value js_watch(napi_env env, napi_callback_info info) {
  ARGS(3);
  uint32_t *bell;
  napi_value ab, name;
  napi_valuetype t;
  if (get_bell(env, argv[0], argv[1], &bell, &ab)) return NULL;
  napi_typeof(env, argv[2], &t);
  if (t != napi_function) return throw_msg(env, "EINVAL", "watch: callback must be a function");
  struct watch *w = calloc(1, sizeof *w);
  if (!w) return throw_msg(env, "ENOMEM", "out of memory");
  w->bell = bell;
  w->start_seq = __atomic_load_n(BELL_SEQ(bell), __ATOMIC_SEQ_CST);
  w->id = new_id();
  napi_create_string_utf8(env, "dmvpn_io.watch", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, ab, 1, &w->buffer) != napi_ok ||
      napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, w, watch_finalize, w, watch_call_js,
                                      &w->tsfn) != napi_ok) {
    if (w->buffer) napi_delete_reference(env, w->buffer);
    free(w);
    throw_last(env);
    return NULL;
  }
  /* A watch alone must not keep the process (or worker) alive. */
  napi_unref_threadsafe_function(env, w->tsfn);
  int err = pthread_create(&w->thread, NULL, watch_run, w);
  if (err) {
    w->joined = 1;
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort); /* finalize frees w */
    return throw_msg(env, errno_name(err) ? errno_name(err) : "EAGAIN", "cannot start watch thread: %s", strerror(err));
  }
  struct inst *in = inst_of(env);
  w->inst = in;
  w->next = in->watches;
  in->watches = w;
  return js_number(env, w->id);
}

static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  ARGS(1);
  int64_t id;
  if (get_int(env, argv[0], 0, UINT32_MAX, &id, "watchId")) return NULL;
  struct inst *in = inst_of(env);
  struct watch *w = in->watches;
  while (w && w->id != (uint32_t)id) w = w->next;
  if (!w) return throw_msg(env, "ENOENT", "no watch %lld in this thread (already unwatched?)", (long long)id);
  watch_unlink(w);
  watch_join(w);
  w->stopped_js = 1;
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort); /* finalize frees w later */
  return NULL;
}

/* ---------- pcap ---------- */

static napi_value js_pcap_open(napi_env env, napi_callback_info info) {
  ARGS(1);
  char path[4096];
  if (get_string(env, argv[0], path, sizeof path, "path")) return NULL;
  struct io_err e;
  if (pcap_open(path, &e)) return throw_io(env, &e);
  return NULL;
}

static napi_value js_pcap_close(napi_env env, napi_callback_info info) {
  pcap_close();
  return NULL;
}

/* ---------- layout contract (test only) ---------- */

/* layoutContractFill(memory, base, stride): fills one region per abi.h entry (layout-contract.c); returns the count. */
static napi_value js_layout_contract_fill(napi_env env, napi_callback_info info) {
  ARGS(3);
  uint8_t *mem;
  size_t len;
  int64_t base, stride;
  if (get_memory(env, argv[0], &mem, &len, NULL) || get_int(env, argv[1], 0, UINT32_MAX, &base, "base") ||
      get_int(env, argv[2], 8, 1 << 20, &stride, "stride")) return NULL;
  struct io_err e;
  int n = layout_contract_fill(mem, len, (size_t)base, (size_t)stride, &e);
  if (n < 0) return throw_io(env, &e);
  return js_number(env, n);
}

/* ---------- lifecycle ---------- */

/* Runs when the environment (main thread or a worker) goes away: no thread may outlive the memory
 * it writes into. Only C-level work here; Node frees the references and thread-safe functions. */
static void cleanup(void *arg) {
  struct inst *in = arg;
  for (struct pump_entry *pe = in->pumps, *next; pe; pe = next) {
    next = pe->next;
    pump_stop(pe->pump);
    pump_free(pe->pump);
    free(pe);
  }
  in->pumps = NULL;
  for (struct watch *w = in->watches; w; w = w->next) watch_join(w);
}

static void free_inst(napi_env env, void *data, void *hint) {
  struct inst *in = data;
  for (struct watch *w = in->watches; w; w = w->next) w->inst = NULL;
  free(in);
}

NAPI_MODULE_INIT() {
  struct inst *in = calloc(1, sizeof *in);
  if (!in) return NULL;
  napi_set_instance_data(env, in, free_inst, NULL);
  napi_add_env_cleanup_hook(env, cleanup, in);
  napi_property_descriptor d[] = {
#define F(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL }
    F("openTun", js_open_tun), F("tunSetCarrier", js_tun_set_carrier), F("configureInterface", js_configure_interface),
    F("openRawIp", js_open_raw_ip), F("greLane", js_gre_lane), F("ikeLane", js_ike_lane), F("nbmaSpread", js_nbma_spread), F("udpSpread", js_udp_spread), F("tunSteer", js_tun_steer), F("openUdp", js_open_udp), F("closeFd", js_close_fd),
    F("startPump", js_start_pump), F("stopPump", js_stop_pump), F("pumpStats", js_pump_stats),
    F("wake", js_wake), F("wait", js_wait), F("watch", js_watch), F("unwatch", js_unwatch),
    F("pcapOpen", js_pcap_open), F("pcapClose", js_pcap_close),
    F("layoutContractFill", js_layout_contract_fill),
#undef F
  };
  napi_define_properties(env, exports, sizeof d / sizeof *d, d);
  netlink_define(env, exports);
  mcast_raw_define(env, exports);
  return exports;
}
