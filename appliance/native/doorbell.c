/* Doorbells (docs/dataplane.md, "Doorbells"): seq u32 at DOORBELL_SEQ, sleeping u32 at DOORBELL_SLEEPING.
 * The shared WebAssembly.Memory is mapped once and used by threads of this one process, so the
 * _PRIVATE futex variants are correct (and cheaper: no inode/mm key lookup). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "io.h"

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts) {
  return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

void doorbell_futex_wake(uint32_t *bell) {
  /* Wake everyone: normally one consumer sleeps per doorbell, but a watch() plus a test waiter
   * may share one, and waking an extra thread only costs a re-check. */
  futex(BELL_SEQ(bell), FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

void doorbell_ring(uint32_t *bell) {
  /* SEQ_CST on both sides (add here, store of `sleeping` in the sleeper) means either the sleeper's
   * re-check sees our new data, or we see sleeping=1 and issue the wake: no lost wake-ups. */
  __atomic_fetch_add(BELL_SEQ(bell), 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(BELL_SLEEPING(bell), __ATOMIC_SEQ_CST)) doorbell_futex_wake(bell);
}

int doorbell_futex_wait(uint32_t *bell, uint32_t seq, int timeout_ms) {
  struct timespec ts, *tp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    tp = &ts; /* FUTEX_WAIT takes a relative timeout */
  }
  if (futex(BELL_SEQ(bell), FUTEX_WAIT_PRIVATE, seq, tp) == 0) return 0;
  if (errno == EAGAIN) return 1;
  if (errno == ETIMEDOUT) return 2;
  return 0; /* EINTR: callers re-check their condition anyway */
}
