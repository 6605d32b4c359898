/* The event-loop side of netlink.c's and mcast-raw.c's sockets (polled-sock.h): watching, the id
 * table, closing. */
#include <stdlib.h>
#include <unistd.h>
#include "polled-sock.h"

static uint32_t next_id = 1; /* process-wide (atomic) so ids never repeat across threads */

static void on_closed(uv_handle_t *h) {
  struct polled_sock *s = (struct polled_sock *)h;
  free(s->buf);
  free(s); /* the embedding struct: s is its first member */
}

/* from_cleanup: the env is going away, and its references with it. */
static void close_sock(struct polled_sock *s, int from_cleanup) {
  if (s->closing) return;
  s->closing = 1;
  for (struct polled_sock **pp = s->list; *pp; pp = &(*pp)->next)
    if (*pp == s) { *pp = s->next; break; }
  uv_poll_stop(&s->poll);
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  if (!from_cleanup) {
    napi_delete_reference(s->env, s->cb);
    napi_async_destroy(s->env, s->actx);
  }
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

static void cleanup(void *arg) { close_sock(arg, 1); }

int polled_sock_watch(struct polled_sock *s, struct polled_sock **list, napi_value callback, const char *resource,
                      uv_poll_cb on_readable) {
  napi_env env = s->env;
  uv_loop_t *loop;
  napi_value name;
  int r = napi_get_uv_event_loop(env, &loop) == napi_ok ? uv_poll_init(loop, &s->poll, s->fd) : UV_EINVAL;
  int polled = r == 0;
  if (r == 0) r = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (r != 0 || napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_reference(env, callback, 1, &s->cb) != napi_ok || napi_async_init(env, NULL, name, &s->actx) != napi_ok) {
    close(s->fd);
    if (s->cb) napi_delete_reference(env, s->cb); /* made before napi_async_init failed (s is calloc'd) */
    if (polled) { uv_poll_stop(&s->poll); uv_close((uv_handle_t *)&s->poll, on_closed); } else { free(s->buf); free(s); }
    return -1;
  }
  uv_unref((uv_handle_t *)&s->poll);
  s->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
  napi_add_env_cleanup_hook(env, cleanup, s);
  s->list = list;
  s->next = *list;
  *list = s;
  return 0;
}

void polled_sock_close(struct polled_sock *s) {
  napi_remove_env_cleanup_hook(s->env, cleanup, s);
  close_sock(s, 0);
}

struct polled_sock *polled_sock_find(struct polled_sock *list, napi_env env, uint32_t id) {
  for (struct polled_sock *s = list; s; s = s->next) if (s->id == id && s->env == env) return s;
  return NULL;
}
