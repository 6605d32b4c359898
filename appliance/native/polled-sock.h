/* A socket the JS thread's event loop polls (uv_poll) and whose datagrams go to one JS callback: what
 * netlink.c and mcast-raw.c share. Each embeds a struct polled_sock first in its own struct and keeps
 * its own per-thread list (each loop, main or worker, sees only the sockets it opened); ids come from
 * one process-wide counter so they never repeat across threads or kinds. */
#ifndef DMVPN_POLLED_SOCK_H
#define DMVPN_POLLED_SOCK_H
#include <stdint.h>
#include <node_api.h>
#include <uv.h>

struct polled_sock {
  uv_poll_t poll;               /* first: the uv handle points back to us (and to the embedding struct) */
  napi_env env;
  napi_ref cb;
  napi_async_context actx;
  int fd;                       /* -1 once failed or closed */
  uint32_t id;
  int closing;
  uint8_t *buf;                 /* receive buffer, freed with the socket */
  struct polled_sock **list;    /* the owner's per-thread list */
  struct polled_sock *next;
};

/* Watches s->fd (s is the first member of a calloc'd struct, s->env, s->fd and s->buf set) for
 * readability and registers it in `list` under a new id, with `callback` and an async resource named
 * `resource`. Unref'd: an open socket alone does not keep the process alive. On failure (returns -1)
 * the fd is closed and the struct freed; the caller throws. */
int polled_sock_watch(struct polled_sock *s, struct polled_sock **list, napi_value callback, const char *resource,
                      uv_poll_cb on_readable);

/* Stops polling, closes the fd, drops the JS references; the memory goes once libuv lets go. */
void polled_sock_close(struct polled_sock *s);

/* The socket of this env with that id in `list`, or NULL. */
struct polled_sock *polled_sock_find(struct polled_sock *list, napi_env env, uint32_t id);
#endif
