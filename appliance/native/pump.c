/* Pump threads: one pthread per (fd, ring), moving packets between a file descriptor and a
 * single-producer/single-consumer ring in the shared WebAssembly.Memory (docs/dataplane.md, "Rings").
 * Everything a pump needs per packet (iovecs, mmsghdrs, sockaddrs) is allocated once at start. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "gre-split.h"
#include "abi.h" /* ring and slot header offsets, slot kinds (generated from wasm/layout/dataplane.layout.json) */
#include "io.h"

#define POLL_MS 100      /* how soon a stop request is noticed */
#define MAX_BATCH 1024
/* Per received message: the socket's drop count (SO_RXQ_OVFL), a u32 in one control message, and on a
 * UDP socket with GRO the segment size of a super-datagram (udp-offload.c). */
#define RXQ_CMSG_SPACE (CMSG_SPACE(sizeof(uint32_t)) + UDP_GRO_CMSG_SPACE)

struct pump {
  pthread_t thread;
  int kind, fd, batch, stop;
  long coalesce_ns;      /* socket rx pumps: wait this long for a burst once the queue ran dry */
  int vnet;              /* TUN pumps: the fd has IFF_VNET_HDR, every read/write carries the header */
  uint8_t *mem;
  uint32_t ring, mask, slot_size, max_data;
  uint32_t *head, *tail, *consumer_bell, *producer_bell;
  uint32_t raw_protocol;
  uint32_t local_addr; uint16_t local_port; /* UDP: for aux dstPort and synthesized pcap headers */
  uint64_t ctl_interval_ns, ctl_tolerance_ns, ctl_tat; /* udp-rx control rate limit (GCRA), 0 = off */
  struct mmsghdr *msgs;
  struct iovec *iovs;
  struct sockaddr_in *names;
  uint8_t *cmsgs;        /* socket rx pumps: one RXQ_CMSG_SPACE control buffer per message;
                          * udp-tx with GSO: one UDP_GSO_CMSG_SPACE buffer per message */
  /* UDP offloads (udp-offload.c). udp-tx: `gso` coalesces runs of slots into one send; `gso_worked`
   * once the kernel took one (a refusal before that turns GSO off for good). udp-rx: `gro` receives
   * into `bounce` (UDP_GRO_BUF per message) and splits super-datagrams into slots; a batch that needs
   * more slots than the ring has free stays pending (messages rx_next.. at byte rx_off of rx_next). */
  int gso, gso_worked, gro;
  /* raw-rx on GRE: `gre_split` receives each message's head into its slot and the rest (only a
   * packet the kernel's GRO merged has a rest) into its GRE_SPLIT_BUF bounce buffer; a batch with such
   * a packet is moved to the bounce buffers and cut into segments (gre-split.c) no longer than the
   * tunnel's IP MTU, read from the tunnel state block at `ip_mtu` (NULL: no layout, 1400). */
  int gre_split;
  uint32_t *ip_mtu;
  uint8_t *bounce;
  size_t bounce_len;
  int rx_count, rx_next;
  uint32_t rx_off;
  uint32_t *full_waits, *kernel_drops; /* in the ring header: read by the supervisor without a call */
  struct pump_stats st;  /* written by the pump thread with relaxed atomics, read by pumpStats */
};

static const char *kind_names[] = { "tun-rx", "tun-tx", "raw-rx", "raw-tx", "udp-rx", "udp-tx" };

int pump_kind_parse(const char *s) {
  for (int i = 0; i < 6; i++) if (!strcmp(s, kind_names[i])) return i;
  return -1;
}

static inline uint8_t *slot(struct pump *p, uint32_t i) {
  return p->mem + p->ring + RING_HEADER_SIZE + (size_t)(i & p->mask) * p->slot_size;
}
static inline uint32_t *u32at(uint8_t *s, int off) { return (uint32_t *)(s + off); }
static inline void add(uint64_t *c, uint64_t v) { __atomic_fetch_add(c, v, __ATOMIC_RELAXED); }
static inline int stopping(struct pump *p) { return __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE); }
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The "sleep" half of the doorbell protocol. `ready` re-checks the ring after sleeping=1 is visible. */
static void sleep_on(uint32_t *bell, int (*ready)(struct pump *), struct pump *p) {
  if (!bell) { struct timespec ts = { 0, 1000000 }; nanosleep(&ts, NULL); return; }
  uint32_t s = __atomic_load_n(BELL_SEQ(bell), __ATOMIC_SEQ_CST);
  __atomic_store_n(BELL_SLEEPING(bell), 1, __ATOMIC_SEQ_CST);
  if (!ready(p)) doorbell_futex_wait(bell, s, POLL_MS);
  __atomic_store_n(BELL_SLEEPING(bell), 0, __ATOMIC_SEQ_CST);
}
static int has_space(struct pump *p) {
  return *p->head - __atomic_load_n(p->tail, __ATOMIC_SEQ_CST) != p->mask + 1;
}
static int has_data(struct pump *p) {
  return __atomic_load_n(p->head, __ATOMIC_SEQ_CST) != *p->tail;
}
static void ring_bell(uint32_t *bell) { if (bell) doorbell_ring(bell); }

/* ---------- producers: fd -> ring ---------- */

/* Waits until the ring has room. Never drops: while we wait the kernel queue fills and applies
 * back-pressure (TUN: the qdisc; sockets: the receive buffer). Returns free slots, 0 on stop. */
static uint32_t wait_space(struct pump *p) {
  uint32_t head = *p->head; /* we are the only writer of head */
  for (;;) {
    uint32_t used = head - __atomic_load_n(p->tail, __ATOMIC_ACQUIRE);
    if (used > p->mask + 1) { add(&p->st.errors, 1); used = p->mask + 1; } /* corrupt tail: treat as full */
    uint32_t space = p->mask + 1 - used;
    if (space) return space;
    if (stopping(p)) return 0;
    uint64_t t0 = now_ns();
    add(&p->st.full_waits, 1);
    __atomic_store_n(p->full_waits, *p->full_waits + 1, __ATOMIC_RELAXED); /* we are its only writer */
    sleep_on(p->producer_bell, has_space, p);
    add(&p->st.full_ns, now_ns() - t0);
  }
}

static int wait_readable(struct pump *p) {
  struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
  int r = poll(&pfd, 1, POLL_MS);
  if (r < 0 && errno != EINTR) { add(&p->st.errors, 1); struct timespec ts = { 0, 10000000 }; nanosleep(&ts, NULL); }
  return r > 0;
}

static void publish(struct pump *p, uint32_t n, uint64_t bytes) {
  __atomic_store_n(p->head, *p->head + n, __ATOMIC_RELEASE);
  ring_bell(p->consumer_bell);
  add(&p->st.packets, n);
  add(&p->st.bytes, bytes);
  add(&p->st.batches, 1);
}

/* tun-rx: a TUN fd gives one packet (or one GSO super-packet) per read(); there is no recvmmsg for
 * it. So per wake-up the pump reads until EAGAIN or until the budget (batch, ring space) is used,
 * and publishes once. Only a read that found the queue empty sends it back to poll(): after a full
 * budget more is queued, and poll() would only say so (one syscall saved per batch under load). */
static void tun_rx(struct pump *p) {
  int drained = 1;
  while (!stopping(p)) {
    uint32_t space = wait_space(p);
    if (!space) break;
    if (drained && !wait_readable(p)) continue;
    uint32_t n = space < (uint32_t)p->batch ? space : (uint32_t)p->batch, got = 0;
    uint64_t bytes = 0;
    uint32_t head = *p->head;
    drained = 0;
    while (got < n) {
      uint8_t *s = slot(p, head + got);
      ssize_t r = read(p->fd, s + SLOT_DATA, p->max_data);  /* straight into the slot: no copy */
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) add(&p->st.errors, 1);
        drained = 1;
        break;
      }
      if (r == 0) { drained = 1; break; }
      *u32at(s, SLOT_LEN) = (uint32_t)r;
      *u32at(s, SLOT_KIND) = p->vnet ? TUN_KIND_VNET : TUN_KIND_PLAIN;
      *u32at(s, SLOT_ADDR) = 0;
      *u32at(s, SLOT_AUX) = 0;
      bytes += (uint64_t)r;
      got++;
    }
    if (got) publish(p, got, bytes);
  }
}

/* UDP 4500 carries ESP (SPI != 0), 1-byte NAT-keepalives (handled cheaply by the worker) and, behind
 * the 4-byte zero non-ESP marker (RFC 3948 2.2), IKE, which the worker hands to JS. */
static int is_control(const uint8_t *d, uint32_t len) {
  return len >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 0;
}

/* Token bucket as GCRA (one timestamp, no floating point): `rate` per second with bursts of `burst`.
 * The theoretical arrival time advances one interval per admitted packet; a packet is admitted while
 * it is at most (burst - 1) intervals ahead of now. */
static int control_admit(struct pump *p, uint64_t now) {
  if (p->ctl_tat < now) p->ctl_tat = now;
  if (p->ctl_tat - now > p->ctl_tolerance_ns) return 0;
  p->ctl_tat += p->ctl_interval_ns;
  return 1;
}

/* The kernel drops a datagram when the socket's receive buffer is full (the pump fell behind), before
 * the pump sees it. With SO_RXQ_OVFL every received message carries the socket's drop count so far:
 * the highest goes to the ring header (`kernelDrops`), so those drops are counted, not silent. */
static void note_kernel_drops(struct pump *p, int r) {
  uint32_t most = *p->kernel_drops;
  for (int i = 0; i < r; i++) {
    struct msghdr *mh = &p->msgs[i].msg_hdr;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL || c->cmsg_len < CMSG_LEN(sizeof(uint32_t))) continue;
      uint32_t v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      if (v - most < 0x80000000u && v != most) most = v; /* newer (the count only grows, and may wrap) */
    }
  }
  if (most != *p->kernel_drops) {
    add(&p->st.kernel_drops, (uint32_t)(most - *p->kernel_drops));
    __atomic_store_n(p->kernel_drops, most, __ATOMIC_RELAXED);
  }
}

/* What one receive batch has written so far: slots from `head`, `kept` of them. */
struct rx_batch { uint32_t head, kept; uint64_t bytes, now; int pcap; };

/* Writes one datagram into the next slot (data NULL: it was received into that slot already) and
 * fills the header; the udp-rx control rate limit may drop it instead. */
static void deliver(struct pump *p, struct rx_batch *b, const uint8_t *data, uint32_t len, const struct sockaddr_in *from) {
  int udp = p->kind == PK_UDP_RX;
  uint8_t *dst = slot(p, b->head + b->kept);
  const uint8_t *d = data ? data : dst + SLOT_DATA;
  if (udp && p->ctl_interval_ns && is_control(d, len)) {
    if (!b->now) b->now = now_ns();
    if (!control_admit(p, b->now)) { add(&p->st.ctl_dropped, 1); return; }
    add(&p->st.ctl_passed, 1);
  }
  if (data) memmove(dst + SLOT_DATA, data, len);
  uint32_t src = ntohl(from->sin_addr.s_addr);
  uint16_t sport = ntohs(from->sin_port);
  *u32at(dst, SLOT_LEN) = len;
  *u32at(dst, SLOT_KIND) = udp ? NBMA_KIND_UDP : p->raw_protocol;
  *u32at(dst, SLOT_ADDR) = src;
  *u32at(dst, SLOT_AUX) = udp ? ((uint32_t)sport << 16 | p->local_port) : 0;
  if (b->pcap) {
    if (udp) pcap_write_udp(src, sport, p->local_addr, p->local_port, dst + SLOT_DATA, len);
    else pcap_write_ip(dst + SLOT_DATA, len);
  }
  b->bytes += len;
  b->kept++;
}

static void rx_publish(struct pump *p, struct rx_batch *b) {
  if (b->pcap) pcap_flush();
  if (b->kept) publish(p, b->kept, b->bytes);
}

/* udp-rx with GRO: the received messages sit in `bounce`; each plain datagram takes one slot, each
 * super-datagram one slot per segment (all `gso_size` long but the last, in order). Stops when the
 * ring's free `space` is used up; the rest stays pending for the next turn (back-pressure: the
 * kernel queue fills meanwhile, as without GRO). A segment larger than a slot: the whole message is
 * dropped and counted per segment, like a plain datagram larger than a slot. */
static void gro_split(struct pump *p, uint32_t space) {
  struct rx_batch b = { *p->head, 0, 0, 0, pcap_enabled() };
  while (p->rx_next < p->rx_count && b.kept < space) {
    int i = p->rx_next;
    struct msghdr *mh = &p->msgs[i].msg_hdr;
    uint32_t len = p->msgs[i].msg_len, seg = udp_gro_size(mh);
    uint32_t step = seg && seg < len ? seg : len, segs = step ? (len + step - 1) / step : 1;
    const uint8_t *data = p->bounce + (size_t)i * UDP_GRO_BUF;
    if (p->rx_off == 0) { /* first look at this message */
      if (mh->msg_flags & MSG_TRUNC || step > p->max_data) { add(&p->st.drops, segs); p->rx_next++; continue; }
      if (segs > 1) { add(&p->st.gro_supers, 1); add(&p->st.gro_segments, segs); }
    }
    if (len == 0) deliver(p, &b, data, 0, &p->names[i]);
    while (p->rx_off < len && b.kept < space) {
      uint32_t l = len - p->rx_off < step ? len - p->rx_off : step;
      deliver(p, &b, data + p->rx_off, l, &p->names[i]);
      p->rx_off += l;
    }
    if (p->rx_off >= len) { p->rx_next++; p->rx_off = 0; }
  }
  rx_publish(p, &b);
}

/* raw-rx on GRE: does the batch just received hold a packet GRO merged (longer than a slot)? If so,
 * every message of it is made whole in its bounce buffer (its head copied in front of the rest), so
 * gre_split_batch can hand them on in order while cutting the merged ones. Rare: a merged packet
 * needs a NIC with GRO on and a burst of one TCP flow; without one the batch stays in place. */
static int gre_merged_in(struct pump *p, uint32_t head, int r) {
  int merged = 0;
  for (int i = 0; i < r && !merged; i++) merged = p->msgs[i].msg_len > p->max_data;
  if (!merged) return 0;
  for (int i = 0; i < r; i++) {
    uint32_t len = p->msgs[i].msg_len;
    memcpy(p->bounce + (size_t)i * GRE_SPLIT_BUF, slot(p, head + i) + SLOT_DATA, len < p->max_data ? len : p->max_data);
  }
  return 1;
}

/* The tunnel's IP MTU as the worker applied it (0 before the tunnel is configured: the default). */
static uint32_t tunnel_ip_mtu(struct pump *p) {
  uint32_t m = p->ip_mtu ? __atomic_load_n(p->ip_mtu, __ATOMIC_RELAXED) : 0;
  return m ? m : 1400;
}

/* raw-rx on GRE, a batch with a merged packet (messages rx_next.. in the bounce buffers): a packet
 * that fits a slot takes one; a merged one is cut into segments, one slot each, from payload byte
 * rx_off on. Stops when the ring's free `space` is used up; the rest stays pending (back-pressure, as
 * in gro_split). A merged packet that is not IPv4/TCP over plain GRE cannot be cut: dropped, counted. */
static void gre_split_batch(struct pump *p, uint32_t space) {
  struct rx_batch b = { *p->head, 0, 0, 0, pcap_enabled() };
  while (p->rx_next < p->rx_count && b.kept < space) {
    int i = p->rx_next;
    uint32_t len = p->msgs[i].msg_len;
    uint8_t *data = p->bounce + (size_t)i * GRE_SPLIT_BUF;
    if (p->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) { add(&p->st.drops, 1); p->rx_next++; continue; }
    if (len <= p->max_data) {
      if (gre_tcp_partial_csum_fix(data, len)) add(&p->st.gro_supers, 1);
      deliver(p, &b, data, len, &p->names[i]); p->rx_next++; continue;
    }
    struct gre_super s;
    if (!gre_super_parse(data, len, tunnel_ip_mtu(p), p->max_data, &s)) { add(&p->st.drops, 1); p->rx_next++; continue; }
    if (p->rx_off == 0) { add(&p->st.gro_supers, 1); add(&p->st.gro_segments, (s.payload + s.seg - 1) / s.seg); }
    while (p->rx_off < s.payload && b.kept < space) {
      uint32_t n = s.payload - p->rx_off < s.seg ? s.payload - p->rx_off : s.seg;
      uint8_t *dst = slot(p, b.head + b.kept) + SLOT_DATA;
      uint32_t l = gre_segment_write(data, &s, p->rx_off / s.seg, p->rx_off, n, p->rx_off + n >= s.payload, dst);
      deliver(p, &b, NULL, l, &p->names[i]);
      p->rx_off += n;
    }
    if (p->rx_off >= s.payload) { p->rx_next++; p->rx_off = 0; }
  }
  rx_publish(p, &b);
}

/* raw-rx and udp-rx: recvmmsg straight into the slots, up to `batch` per syscall.
 * Receive coalescing (coalesce_us, like a NIC's rx-usecs): when the socket queue had run dry, wait that
 * long after it becomes readable before receiving, so one batch carries a burst instead of one packet.
 * Fewer, fuller batches mean fewer worker wake-ups and longer GRO super-packets (so fewer TCP ACKs
 * coming back the other way), for that much added latency. A full batch means more is queued: then
 * neither poll() nor the wait. */
static void sock_rx(struct pump *p) {
  int drained = 1;
  while (!stopping(p)) {
    uint32_t space = wait_space(p);
    if (!space) break;
    if (p->rx_next < p->rx_count) { /* GRO: the last batch first */
      if (p->gro) gro_split(p, space); else gre_split_batch(p, space);
      continue;
    }
    if (drained) {
      if (!wait_readable(p)) continue;
      if (p->coalesce_ns) { struct timespec ts = { 0, p->coalesce_ns }; nanosleep(&ts, NULL); }
    }
    uint32_t n = space < (uint32_t)p->batch ? space : (uint32_t)p->batch;
    uint32_t head = *p->head;
    for (uint32_t i = 0; i < n; i++) {
      memset(&p->msgs[i].msg_hdr, 0, sizeof p->msgs[i].msg_hdr);
      if (p->gre_split) { /* the slot first, a GRO-merged packet's rest behind its bounce buffer's head room */
        struct iovec *v = &p->iovs[2 * i];
        v[0] = (struct iovec){ slot(p, head + i) + SLOT_DATA, p->max_data };
        v[1] = (struct iovec){ p->bounce + (size_t)i * GRE_SPLIT_BUF + p->max_data, GRE_SPLIT_BUF - p->max_data };
        p->msgs[i].msg_hdr.msg_iov = v;
        p->msgs[i].msg_hdr.msg_iovlen = 2;
      } else {
        /* GRO: a super-datagram does not fit a slot; it is split from the bounce buffer */
        p->iovs[i].iov_base = p->gro ? p->bounce + (size_t)i * UDP_GRO_BUF : slot(p, head + i) + SLOT_DATA;
        p->iovs[i].iov_len = p->gro ? UDP_GRO_BUF : p->max_data;
        p->msgs[i].msg_hdr.msg_iov = &p->iovs[i];
        p->msgs[i].msg_hdr.msg_iovlen = 1;
      }
      p->msgs[i].msg_hdr.msg_name = &p->names[i];
      p->msgs[i].msg_hdr.msg_namelen = sizeof p->names[i];
      p->msgs[i].msg_hdr.msg_control = p->cmsgs + (size_t)i * RXQ_CMSG_SPACE;
      p->msgs[i].msg_hdr.msg_controllen = RXQ_CMSG_SPACE;
    }
    int r = recvmmsg(p->fd, p->msgs, n, MSG_DONTWAIT, NULL);
    drained = r < (int)n;
    if (r <= 0) {
      if (r < 0 && errno != EAGAIN && errno != EINTR) add(&p->st.errors, 1);
      continue;
    }
    note_kernel_drops(p, r);
    if (p->gro) { p->rx_count = r; p->rx_next = 0; p->rx_off = 0; gro_split(p, space); continue; }
    if (p->gre_split && gre_merged_in(p, head, r)) { p->rx_count = r; p->rx_next = 0; p->rx_off = 0; gre_split_batch(p, space); continue; }
    struct rx_batch b = { *p->head, 0, 0, 0, pcap_enabled() };
    for (int i = 0; i < r; i++) {
      uint32_t len = p->msgs[i].msg_len;
      if (p->msgs[i].msg_hdr.msg_flags & MSG_TRUNC || len > p->max_data) {
        add(&p->st.drops, 1); /* bigger than a slot: never hand a truncated packet on */
        continue;
      }
      /* GRE: a merged packet that still fits a slot needs its TCP checksum finished (gre-split.c) */
      if (p->gre_split && gre_tcp_partial_csum_fix(slot(p, head + i) + SLOT_DATA, len)) add(&p->st.gro_supers, 1);
      /* in place; rare: close the gap a dropped datagram left */
      deliver(p, &b, b.kept == (uint32_t)i ? NULL : slot(p, head + i) + SLOT_DATA, len, &p->names[i]);
    }
    rx_publish(p, &b);
  }
}

/* ---------- consumers: ring -> fd ---------- */

/* Waits for published slots; returns how many (capped at batch), 0 on stop. */
static uint32_t wait_data(struct pump *p) {
  for (;;) {
    uint32_t avail = __atomic_load_n(p->head, __ATOMIC_ACQUIRE) - *p->tail;
    if (avail > p->mask + 1) { add(&p->st.errors, 1); avail = p->mask + 1; } /* corrupt head */
    if (avail) return avail < (uint32_t)p->batch ? avail : (uint32_t)p->batch;
    if (stopping(p)) return 0;
    sleep_on(p->consumer_bell, has_data, p);
  }
}

static void consumed(struct pump *p, uint32_t n) {
  __atomic_store_n(p->tail, *p->tail + n, __ATOMIC_RELEASE);
  ring_bell(p->producer_bell);
}

/* A slot's length comes from another thread's memory: check it before using it. */
static int valid_len(struct pump *p, uint32_t len) {
  if (len == 0 || len > p->max_data) { add(&p->st.errors, 1); add(&p->st.drops, 1); return 0; }
  return 1;
}

/* One packet to the TUN. A vnet fd wants the header before every packet: kind-1 slots carry it,
 * kind-0 slots (bare packets, e.g. ICMP from the worker) get a zero header (no GSO, checksum done). */
static ssize_t tun_write(struct pump *p, uint8_t *s, uint32_t len) {
  static const uint8_t zero_hdr[VNET_HDR_LEN];
  uint32_t kind = *u32at(s, SLOT_KIND);
  ssize_t r;
  if (kind == TUN_KIND_VNET) {
    if (!p->vnet || len <= VNET_HDR_LEN) { errno = EINVAL; return -1; }
    do r = write(p->fd, s + SLOT_DATA, len); while (r < 0 && errno == EINTR);
  } else if (p->vnet) {
    struct iovec iov[2] = { { (void *)zero_hdr, VNET_HDR_LEN }, { s + SLOT_DATA, len } };
    do r = writev(p->fd, iov, 2); while (r < 0 && errno == EINTR);
  } else {
    do r = write(p->fd, s + SLOT_DATA, len); while (r < 0 && errno == EINTR);
  }
  return r;
}

static void tun_tx(struct pump *p) {
  for (;;) {
    uint32_t n = wait_data(p);
    if (!n) break;
    uint32_t tail = *p->tail, sent = 0;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
      uint8_t *s = slot(p, tail + i);
      uint32_t len = *u32at(s, SLOT_LEN);
      if (!valid_len(p, len)) continue;
      ssize_t r = tun_write(p, s, len);
      if (r < 0) {
        /* TUN writes only fail for malformed packets or a down interface: nothing to retry. */
        add(&p->st.drops, 1);
        if (errno != EAGAIN) add(&p->st.errors, 1);
        continue;
      }
      sent++;
      bytes += len;
    }
    consumed(p, n);
    add(&p->st.packets, sent);
    add(&p->st.bytes, bytes);
    add(&p->st.batches, 1);
  }
}

/* udp-tx with GSO: would `len` bytes of `d` to `a` extend message `mm`? A run goes to one destination,
 * all its datagrams as long as the first but the last (a shorter one closes it), within the kernel's
 * limits on segments and bytes. IKE (the non-ESP marker) neither joins nor starts a run: the peer's
 * SO_REUSEPORT program picks the socket of a train by its first datagram, so IKE travels alone and
 * reaches the peer's IKE lane (docs/dataplane.md "UDP offloads"). */
static int gso_extends(struct pump *p, const struct mmsghdr *mm, uint32_t run_bytes, const struct sockaddr_in *a,
                       const uint8_t *d, uint32_t len) {
  const struct msghdr *h = &mm->msg_hdr;
  const struct sockaddr_in *to = h->msg_name;
  size_t first = h->msg_iov[0].iov_len, last = h->msg_iov[h->msg_iovlen - 1].iov_len;
  return p->gso && to->sin_addr.s_addr == a->sin_addr.s_addr && to->sin_port == a->sin_port && last == first &&
         len <= first && h->msg_iovlen < UDP_GSO_MAX_SEGS && run_bytes + len <= UDP_GSO_MAX_BYTES &&
         !is_control(d, len) && !is_control(h->msg_iov[0].iov_base, (uint32_t)first);
}

/* Counts (and mirrors to pcap) the datagrams of one sent message: one per iovec. */
static void tx_account(struct pump *p, const struct msghdr *h, uint64_t *sent, uint64_t *bytes, int pcap) {
  for (size_t j = 0; j < h->msg_iovlen; j++) {
    const uint8_t *d = h->msg_iov[j].iov_base;
    uint32_t len = (uint32_t)h->msg_iov[j].iov_len;
    if (pcap) {
      const struct sockaddr_in *a = h->msg_name;
      if (p->kind == PK_UDP_TX) pcap_write_udp(p->local_addr, p->local_port, ntohl(a->sin_addr.s_addr), ntohs(a->sin_port), d, len);
      else pcap_write_ip(d, len);
    }
    *bytes += len;
  }
  *sent += h->msg_iovlen;
}

/* Send buffer full: wait for room instead of dropping. 0 = stopping, give up. */
static int wait_writable(struct pump *p) {
  if (stopping(p)) return 0;
  struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
  poll(&pfd, 1, POLL_MS);
  return 1;
}

/* A message's datagrams one per sendmsg (GSO refused, or turned off while the batch was built). */
static void send_each(struct pump *p, const struct msghdr *h, uint64_t *sent, uint64_t *bytes, int pcap) {
  for (size_t j = 0; j < h->msg_iovlen; j++) {
    struct msghdr one = { .msg_name = h->msg_name, .msg_namelen = h->msg_namelen, .msg_iov = &h->msg_iov[j], .msg_iovlen = 1 };
    ssize_t r;
    while ((r = sendmsg(p->fd, &one, 0)) < 0 && (errno == EINTR || ((errno == EAGAIN || errno == ENOBUFS) && wait_writable(p)))) {}
    if (r < 0) { add(&p->st.errors, 1); add(&p->st.drops, 1); continue; }
    tx_account(p, &one, sent, bytes, pcap);
  }
}

/* The kernel refused a GSO message. Its datagrams go one per sendmsg, as without GSO (which
 * fragments what is longer than the MTU, or fails and drops it as before): GSO never loses a datagram
 * the plain path would send. GSO is turned off for good (and said once) when it cannot work here:
 * EIO (no checksum offload on the way, or an IPsec policy on the route), or EINVAL/EMSGSIZE (a
 * segment longer than the path MTU, or a kernel that refuses the cmsg) before any GSO send worked. */
static void gso_refused(struct pump *p, const struct msghdr *h, int err, uint64_t *sent, uint64_t *bytes, int pcap) {
  add(&p->st.gso_fallbacks, 1);
  if (err == EIO || (!p->gso_worked && (err == EINVAL || err == EMSGSIZE))) {
    p->gso = 0;
    __atomic_store_n(&p->st.offload, 2, __ATOMIC_RELAXED);
    fprintf(stderr, "dmvpn_io: udp-tx fd %d: the kernel refused UDP GSO (UDP_SEGMENT: %s); one datagram per message from now on\n",
            p->fd, strerror(err));
  }
  send_each(p, h, sent, bytes, pcap);
}

/* raw-tx and udp-tx: gather the batch into one sendmmsg. udp-tx with GSO: consecutive slots that
 * extend a run (gso_extends) become iovecs of one message with a UDP_SEGMENT cmsg; no copy, the
 * kernel cuts the datagrams at the gso_size boundaries, which are the slot boundaries. */
static void sock_tx(struct pump *p) {
  int udp = p->kind == PK_UDP_TX;
  for (;;) {
    uint32_t n = wait_data(p);
    if (!n) break;
    uint32_t tail = *p->tail, m = 0, v = 0, run_bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
      uint8_t *s = slot(p, tail + i);
      uint32_t len = *u32at(s, SLOT_LEN);
      if (!valid_len(p, len)) continue;
      /* IP_HDRINCL: the kernel trusts our header; refuse anything that is not IPv4 at all. */
      if (!udp && (len < 20 || (s[SLOT_DATA] >> 4) != 4)) { add(&p->st.errors, 1); add(&p->st.drops, 1); continue; }
      struct sockaddr_in a;
      memset(&a, 0, sizeof a);
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(*u32at(s, SLOT_ADDR));
      a.sin_port = udp ? htons((uint16_t)(*u32at(s, SLOT_AUX) & 0xffff)) : 0;
      p->iovs[v].iov_base = s + SLOT_DATA;
      p->iovs[v].iov_len = len;
      if (m && gso_extends(p, &p->msgs[m - 1], run_bytes, &a, s + SLOT_DATA, len)) {
        p->msgs[m - 1].msg_hdr.msg_iovlen++;
        run_bytes += len;
        v++;
        continue;
      }
      p->names[m] = a;
      memset(&p->msgs[m].msg_hdr, 0, sizeof p->msgs[m].msg_hdr);
      p->msgs[m].msg_hdr.msg_name = &p->names[m];
      p->msgs[m].msg_hdr.msg_namelen = sizeof a;
      p->msgs[m].msg_hdr.msg_iov = &p->iovs[v];
      p->msgs[m].msg_hdr.msg_iovlen = 1;
      m++; v++;
      run_bytes = len;
    }
    for (uint32_t k = 0; k < m; k++) {
      struct msghdr *h = &p->msgs[k].msg_hdr;
      if (h->msg_iovlen > 1) udp_gso_cmsg(h, p->cmsgs + (size_t)k * UDP_GSO_CMSG_SPACE, (uint16_t)h->msg_iov[0].iov_len);
    }
    uint32_t done = 0;
    uint64_t sent = 0, bytes = 0;
    int pcap = pcap_enabled();
    while (done < m) {
      uint32_t upto = m;
      if (udp && !p->gso) { /* turned off during this batch: its GSO messages go one datagram each */
        if (p->msgs[done].msg_hdr.msg_iovlen > 1) { send_each(p, &p->msgs[done].msg_hdr, &sent, &bytes, pcap); done++; continue; }
        for (upto = done + 1; upto < m && p->msgs[upto].msg_hdr.msg_iovlen == 1; upto++) {}
      }
      int r = sendmmsg(p->fd, p->msgs + done, upto - done, 0);
      if (r < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if ((err == EAGAIN || err == ENOBUFS) && wait_writable(p)) continue;
        struct msghdr *h = &p->msgs[done].msg_hdr;
        if (h->msg_iovlen > 1) gso_refused(p, h, err, &sent, &bytes, pcap);
        else { add(&p->st.errors, 1); add(&p->st.drops, h->msg_iovlen); } /* no route, too big, ...: drop it, go on */
        done++;
        continue;
      }
      for (int k = 0; k < r; k++) {
        const struct msghdr *h = &p->msgs[done + k].msg_hdr;
        tx_account(p, h, &sent, &bytes, pcap);
        if (h->msg_iovlen > 1) { add(&p->st.gso_sends, 1); add(&p->st.gso_segments, h->msg_iovlen); p->gso_worked = 1; }
      }
      done += (uint32_t)r;
    }
    if (pcap) pcap_flush();
    consumed(p, n);
    add(&p->st.packets, sent);
    add(&p->st.bytes, bytes);
    add(&p->st.batches, 1);
  }
}

static void *run(void *arg) {
  struct pump *p = arg;
  switch (p->kind) {
    case PK_TUN_RX: tun_rx(p); break;
    case PK_TUN_TX: tun_tx(p); break;
    case PK_RAW_RX: case PK_UDP_RX: sock_rx(p); break;
    default: sock_tx(p); break;
  }
  return NULL;
}

/* UDP GSO on a udp-tx pump, GRO on a udp-rx pump, unless DMVPN_UDP_OFFLOAD leaves it out. Without
 * the memory for it, or on a kernel that refuses, the pump runs on the plain path (st.offload 2, said
 * once on stderr). The memory comes first: GRO must not be on for a socket the pump cannot split. */
static void udp_offload_start(struct pump *p) {
  int tx = p->kind == PK_UDP_TX, err;
  if (!udp_offload_wanted(tx)) return;
  if (tx) {
    p->cmsgs = calloc(p->batch, UDP_GSO_CMSG_SPACE);
    err = !p->cmsgs ? ENOMEM : udp_gso_probe(p->fd);
  } else {
    /* untouched pages stay unbacked: the memory in use follows the datagrams' sizes */
    void *b = mmap(NULL, (size_t)p->batch * UDP_GRO_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    err = b == MAP_FAILED ? errno : 0;
    if (!err) { p->bounce = b; p->bounce_len = (size_t)p->batch * UDP_GRO_BUF; }
    if (!err) err = udp_gro_enable(p->fd);
  }
  if (err) {
    if (tx) { free(p->cmsgs); p->cmsgs = NULL; }
    if (p->bounce) { munmap(p->bounce, p->bounce_len); p->bounce = NULL; }
    p->st.offload = 2;
    fprintf(stderr, "dmvpn_io: %s fd %d: no UDP %s (%s); one datagram per message\n",
            kind_names[p->kind], p->fd, tx ? "GSO (UDP_SEGMENT)" : "GRO (UDP_GRO)", strerror(err));
    return;
  }
  p->gso = tx;
  p->gro = !tx;
  p->st.offload = 1;
}

/* raw-rx on GRE: the bounce buffers for GRO-merged packets (untouched pages stay unbacked) and where
 * the tunnel's IP MTU is (the layout block's tunnel state; tests may run a pump without a layout).
 * Without the memory the pump runs as before: a merged packet is then too big, dropped and counted. */
static void gre_split_start(struct pump *p, uint8_t *mem, size_t mem_len) {
  void *b = mmap(NULL, (size_t)p->batch * GRE_SPLIT_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (b == MAP_FAILED) {
    p->gre_split = 0;
    fprintf(stderr, "dmvpn_io: raw-rx fd %d: no memory to cut GRO-merged GRE (%s); such packets are dropped\n", p->fd, strerror(errno));
    return;
  }
  p->bounce = b; p->bounce_len = (size_t)p->batch * GRE_SPLIT_BUF;
  if (mem_len >= LAYOUT_BASE + LB_STOP_FLAG + 4 && *(uint32_t *)(mem + LAYOUT_BASE + LB_MAGIC) == LAYOUT_MAGIC) {
    uint32_t ts = *(uint32_t *)(mem + LAYOUT_BASE + LB_TUNNEL_STATE);
    if (ts && !(ts & 3) && (size_t)ts + TUNNEL_STATE_IP_MTU + 4 <= mem_len) p->ip_mtu = (uint32_t *)(mem + ts + TUNNEL_STATE_IP_MTU);
  }
}

/* Checks that a doorbell offset read from the ring header lies inside memory (0 = none). */
static int bell_at(uint8_t *mem, size_t len, uint32_t off, uint32_t **out, const char *what, struct io_err *e) {
  *out = NULL;
  if (off == 0) return 0;
  if (off & 3 || (size_t)off + DOORBELL_SIZE > len)
    return io_fail_code(e, "EINVAL", "ring %s doorbell offset %u is misaligned or outside the memory (%zu bytes) — "
                        "was writeLayout() called?", what, off, len);
  *out = (uint32_t *)(mem + off);
  return 0;
}

struct pump *pump_start(uint8_t *mem, size_t mem_len, int kind, int fd, uint32_t ring, int batch,
                        uint32_t raw_protocol, int coalesce_us, const struct pump_limits *lim, struct io_err *e) {
  if (ring & 63 || (size_t)ring + RING_HEADER_SIZE > mem_len) {
    io_fail_code(e, "EINVAL", "ring offset %u is not 64-aligned or lies outside the memory (%zu bytes)", ring, mem_len);
    return NULL;
  }
  uint32_t count = *(uint32_t *)(mem + ring + RING_SLOT_COUNT), size = *(uint32_t *)(mem + ring + RING_SLOT_SIZE);
  if (!count || count & (count - 1) || size < 64 || size & 63 ||
      (size_t)ring + RING_HEADER_SIZE + (size_t)count * size > mem_len) {
    io_fail_code(e, "EINVAL", "ring at %u has slotCount %u / slotSize %u: need a power of two, a multiple of 64, and "
                 "the ring inside the memory (%zu bytes) — was writeLayout() called?", ring, count, size, mem_len);
    return NULL;
  }
  if (batch < 1 || batch > MAX_BATCH) { io_fail_code(e, "EINVAL", "batch %d must be 1..%d", batch, MAX_BATCH); return NULL; }
  struct pump *p = calloc(1, sizeof *p);
  if (!p) { io_fail(e, ENOMEM, "out of memory"); return NULL; }
  p->kind = kind; p->fd = fd; p->batch = batch; p->mem = mem; p->ring = ring;
  p->mask = count - 1; p->slot_size = size; p->max_data = size - SLOT_DATA;
  p->head = (uint32_t *)(mem + ring + RING_HEAD);
  p->tail = (uint32_t *)(mem + ring + RING_TAIL);
  p->full_waits = (uint32_t *)(mem + ring + RING_FULL_WAITS);
  p->kernel_drops = (uint32_t *)(mem + ring + RING_KERNEL_DROPS);
  p->raw_protocol = raw_protocol;
  p->coalesce_ns = (kind == PK_RAW_RX || kind == PK_UDP_RX) ? (long)coalesce_us * 1000 : 0;
  if (kind == PK_UDP_RX && lim && lim->control_rate) {
    p->ctl_interval_ns = 1000000000ull / lim->control_rate;
    p->ctl_tolerance_ns = (uint64_t)(lim->control_burst ? lim->control_burst - 1 : 0) * p->ctl_interval_ns;
  }
  if (bell_at(mem, mem_len, *(uint32_t *)(mem + ring + RING_CONSUMER_DOORBELL), &p->consumer_bell, "consumer", e) ||
      bell_at(mem, mem_len, *(uint32_t *)(mem + ring + RING_PRODUCER_DOORBELL), &p->producer_bell, "producer", e)) {
    free(p);
    return NULL;
  }
  if (kind == PK_TUN_RX || kind == PK_TUN_TX) {
    /* Not a TUN (tests use pipes) or no IFF_VNET_HDR: plain packets. The tun-tx pump advertises what
     * its fd takes in the ring's flags, so the worker only builds GRO super-packets for a vnet fd. */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    p->vnet = ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR);
    if (kind == PK_TUN_TX)
      __atomic_store_n((uint32_t *)(mem + ring + RING_FLAGS), p->vnet ? RING_FLAG_VNET : 0, __ATOMIC_SEQ_CST);
  }
  if (kind == PK_UDP_RX || kind == PK_UDP_TX) {
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    if (getsockname(fd, (struct sockaddr *)&sin, &sl) < 0 || sin.sin_family != AF_INET) {
      io_fail_code(e, "ENOTSOCK", "fd %d is not a UDP/IPv4 socket (use openUdp)", fd);
      free(p);
      return NULL;
    }
    p->local_addr = ntohl(sin.sin_addr.s_addr);
    p->local_port = ntohs(sin.sin_port);
  }
  p->msgs = calloc(batch, sizeof *p->msgs);
  p->gre_split = kind == PK_RAW_RX && raw_protocol == IPPROTO_GRE;
  p->iovs = calloc(p->gre_split ? 2 * batch : batch, sizeof *p->iovs);
  p->names = calloc(batch, sizeof *p->names);
  int rx_sock = kind == PK_RAW_RX || kind == PK_UDP_RX, one = 1;
  if (rx_sock) {
    p->cmsgs = calloc(batch, RXQ_CMSG_SPACE);
    /* A socket that refuses it still works; its kernel drops just go uncounted. */
    if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0) add(&p->st.errors, 1);
  }
  if (kind == PK_UDP_RX || kind == PK_UDP_TX) udp_offload_start(p);
  if (p->gre_split) gre_split_start(p, mem, mem_len);
  int err = (!p->msgs || !p->iovs || !p->names || (rx_sock && !p->cmsgs)) ? ENOMEM
            : pthread_create(&p->thread, NULL, run, p);
  if (!err) pthread_setname_np(p->thread, kind_names[kind]); /* `top -H` shows which pump is busy */
  if (err) {
    io_fail(e, err, "cannot start pump thread: %s", strerror(err));
    pump_free(p);
    return NULL;
  }
  return p;
}

void pump_stop(struct pump *p) {
  __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
  /* Wake it if it sleeps on a doorbell; the poll() side notices within POLL_MS. */
  if (p->consumer_bell) doorbell_futex_wake(p->consumer_bell);
  if (p->producer_bell) doorbell_futex_wake(p->producer_bell);
  pthread_join(p->thread, NULL);
}

void pump_stats(struct pump *p, struct pump_stats *o) {
  const uint64_t *from = (const uint64_t *)&p->st;
  uint64_t *to = (uint64_t *)o;
  for (size_t i = 0; i < sizeof *o / sizeof *to; i++) to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

void pump_free(struct pump *p) {
  free(p->msgs); free(p->iovs); free(p->names); free(p->cmsgs);
  if (p->bounce) munmap(p->bounce, p->bounce_len);
  free(p);
}
