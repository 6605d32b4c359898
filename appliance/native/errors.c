/* Error reporting helpers: a stable code (errno name) plus a message that says what to do. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "io.h"

const char *errno_name(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(EINTR) E(EIO) E(ENXIO) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT)
    E(EBUSY) E(EEXIST) E(ENODEV) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOSPC) E(EMSGSIZE) E(EPROTONOSUPPORT)
    E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH)
    E(EHOSTUNREACH) E(ECONNREFUSED) E(ETIMEDOUT) E(ENOBUFS) E(ENOTSOCK) E(ENOTDIR) E(EROFS)
#undef E
    default: return NULL;
  }
}

static int vfail(struct io_err *e, const char *code, const char *fmt, va_list ap) {
  snprintf(e->code, sizeof e->code, "%s", code);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  return -1;
}

int io_fail(struct io_err *e, int err, const char *fmt, ...) {
  char buf[32];
  const char *name = errno_name(err);
  if (!name) { snprintf(buf, sizeof buf, "E%d", err); name = buf; }
  va_list ap;
  va_start(ap, fmt);
  vfail(e, name, fmt, ap);
  va_end(ap);
  return -1;
}

int io_fail_code(struct io_err *e, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(e, code, fmt, ap);
  va_end(ap);
  return -1;
}
