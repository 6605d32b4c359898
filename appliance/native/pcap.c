/* Process-wide pcap mirror of NBMA traffic (raw and UDP pumps), LINKTYPE_RAW (101): records start at
 * the IPv4 header. One file for all pumps; writes are serialized by a mutex. Pumps call pcap_flush()
 * once per batch so tshark can read the file while we run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "io.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *file;         /* guarded by lock */
static int dirty;          /* guarded by lock: unflushed records */
static int enabled;        /* atomic: lets pumps skip the mutex when no capture is open */
static uint16_t ip_id;     /* guarded by lock: IP id of synthesized UDP headers */

#define SNAPLEN 65535

int pcap_enabled(void) { return __atomic_load_n(&enabled, __ATOMIC_ACQUIRE); }

int pcap_open(const char *path, struct io_err *e) {
  FILE *f = fopen(path, "wb");
  if (!f) return io_fail(e, errno, "pcapOpen %s: %s", path, strerror(errno));
  setvbuf(f, NULL, _IOFBF, 1 << 16);
  struct { uint32_t magic; uint16_t vmaj, vmin; int32_t zone; uint32_t sigfigs, snaplen, linktype; } h =
    { 0xa1b2c3d4, 2, 4, 0, 0, SNAPLEN, 101 };
  fwrite(&h, sizeof h, 1, f);
  fflush(f);
  pthread_mutex_lock(&lock);
  FILE *old = file;
  file = f;
  dirty = 0;
  __atomic_store_n(&enabled, 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&lock);
  if (old) fclose(old); /* reopening replaces the previous capture */
  return 0;
}

void pcap_close(void) {
  pthread_mutex_lock(&lock);
  __atomic_store_n(&enabled, 0, __ATOMIC_RELEASE);
  FILE *f = file;
  file = NULL;
  pthread_mutex_unlock(&lock);
  if (f) fclose(f);
}

static void record_header(uint32_t len) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint32_t incl = len > SNAPLEN ? SNAPLEN : len;
  uint32_t h[4] = { (uint32_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000), incl, len };
  fwrite(h, sizeof h, 1, file);
}

void pcap_write_ip(const uint8_t *pkt, uint32_t len) {
  pthread_mutex_lock(&lock);
  if (file) {
    record_header(len);
    fwrite(pkt, 1, len > SNAPLEN ? SNAPLEN : len, file);
    dirty = 1;
  }
  pthread_mutex_unlock(&lock);
}

static uint16_t ip_checksum(const uint8_t *p, int n) {
  uint32_t sum = 0;
  for (int i = 0; i < n; i += 2) sum += (uint32_t)p[i] << 8 | p[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, (uint16_t)v); }

void pcap_write_udp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, const uint8_t *payload, uint32_t len) {
  uint8_t h[28];
  uint32_t total = len + 28;
  pthread_mutex_lock(&lock);
  if (file) {
    memset(h, 0, sizeof h);
    h[0] = 0x45;
    put16(h + 2, total > 0xffff ? 0xffff : (uint16_t)total);
    put16(h + 4, ip_id++);
    h[8] = 64;      /* TTL: not known from a UDP socket; any plausible value */
    h[9] = 17;
    put32(h + 12, src);
    put32(h + 16, dst);
    put16(h + 10, ip_checksum(h, 20));
    put16(h + 20, sport);
    put16(h + 22, dport);
    put16(h + 24, (uint16_t)(len + 8));
    /* UDP checksum 0 = "none", valid for IPv4, so tshark does not flag it. */
    record_header(total);
    fwrite(h, 1, sizeof h, file);
    uint32_t room = SNAPLEN - 28;
    fwrite(payload, 1, len > room ? room : len, file);
    dirty = 1;
  }
  pthread_mutex_unlock(&lock);
}

void pcap_flush(void) {
  pthread_mutex_lock(&lock);
  if (file && dirty) { fflush(file); dirty = 0; }
  pthread_mutex_unlock(&lock);
}
