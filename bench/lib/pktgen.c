// Traffic generator for the one-appliance benchmark (bench/onebox.sh): sends IPv4/UDP packets of F
// flows (source ports base..base+F-1, so a multi-queue TUN and flow steering can spread them), either
// plain (into an appliance's LAN side) or inside GRE (at its NBMA side, as a peer's data would
// arrive), for a number of seconds, flat out or paced, with sendmmsg on a raw socket (IP_HDRINCL), and
// prints how many it sent. The sink is the far interface's rx counter, read by the script: nothing
// here needs to run on the receiving side.
//   pktgen udp SRC DST LEN FLOWS SECONDS PPS
//   pktgen gre OUTER_SRC OUTER_DST INNER_SRC INNER_DST LEN FLOWS SECONDS PPS
// LEN is the inner IPv4 packet's total length (28..1500); PPS 0 means as fast as the socket takes them.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
  IPV4_HEADER = 20,
  UDP_HEADER = 8,
  GRE_HEADER = 4,          // RFC 2784 without checksum or key
  GRE_PROTO_IPV4 = 0x0800,
  IP_PROTO_UDP = 17,
  IP_PROTO_GRE = 47,
  MAX_INNER = 1500,
  MAX_FLOWS = 1024,
  BATCH = 64,              // packets per sendmmsg
  SRC_PORT_BASE = 20000,
  DST_PORT = 9,            // discard
  TTL = 64,
};

static uint16_t checksum(const uint8_t *p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) s += (uint32_t)p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

/** An IPv4 header of `total` bytes from src to dst carrying `proto`, its checksum filled in. */
static void ipv4(uint8_t *p, uint16_t total, uint8_t proto, struct in_addr src, struct in_addr dst, uint16_t id) {
  memset(p, 0, IPV4_HEADER);
  p[0] = 0x45; put16(p + 2, total); put16(p + 4, id); p[8] = TTL; p[9] = proto;
  memcpy(p + 12, &src, 4); memcpy(p + 16, &dst, 4);
  put16(p + 10, checksum(p, IPV4_HEADER));
}

/** An IPv4/UDP packet of `len` bytes (UDP checksum 0: none, allowed over IPv4). */
static void udp_packet(uint8_t *p, uint16_t len, struct in_addr src, struct in_addr dst, uint16_t sport, uint16_t id) {
  ipv4(p, len, IP_PROTO_UDP, src, dst, id);
  uint8_t *u = p + IPV4_HEADER;
  put16(u, sport); put16(u + 2, DST_PORT); put16(u + 4, (uint16_t)(len - IPV4_HEADER)); put16(u + 6, 0);
  for (int i = IPV4_HEADER + UDP_HEADER; i < len; i++) p[i] = (uint8_t)i;
}

static struct in_addr addr(const char *s) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) { fprintf(stderr, "pktgen: not an IPv4 address: %s\n", s); exit(2); }
  return a;
}

static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  int gre = argc > 1 && !strcmp(argv[1], "gre");
  if (argc != (gre ? 10 : 8)) {
    fprintf(stderr, "usage: pktgen udp SRC DST LEN FLOWS SECONDS PPS\n       pktgen gre OUTER_SRC OUTER_DST INNER_SRC INNER_DST LEN FLOWS SECONDS PPS\n");
    return 2;
  }
  int a = 2;
  struct in_addr osrc = {0}, odst = {0};
  if (gre) { osrc = addr(argv[a++]); odst = addr(argv[a++]); }
  struct in_addr isrc = addr(argv[a++]), idst = addr(argv[a++]);
  int len = atoi(argv[a++]), flows = atoi(argv[a++]);
  double seconds = atof(argv[a++]), pps = atof(argv[a++]);
  if (len < IPV4_HEADER + UDP_HEADER || len > MAX_INNER || flows < 1 || flows > MAX_FLOWS || seconds <= 0 || pps < 0) {
    fprintf(stderr, "pktgen: LEN 28..%d, FLOWS 1..%d, SECONDS > 0, PPS >= 0\n", MAX_INNER, MAX_FLOWS);
    return 2;
  }
  int outer = gre ? IPV4_HEADER + GRE_HEADER : 0, total = outer + len;
  uint8_t *pkts = calloc((size_t)flows, (size_t)total);
  if (!pkts) { perror("pktgen: calloc"); return 1; }
  for (int f = 0; f < flows; f++) {
    uint8_t *p = pkts + (size_t)f * total;
    if (gre) {
      ipv4(p, (uint16_t)total, IP_PROTO_GRE, osrc, odst, (uint16_t)f);
      put16(p + IPV4_HEADER, 0); put16(p + IPV4_HEADER + 2, GRE_PROTO_IPV4);
    }
    udp_packet(p + outer, (uint16_t)len, isrc, idst, (uint16_t)(SRC_PORT_BASE + f), (uint16_t)f);
  }
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); // IPPROTO_RAW implies IP_HDRINCL
  if (fd < 0) { perror("pktgen: raw socket (needs CAP_NET_RAW)"); return 1; }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = gre ? odst : idst };
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    msgs[i].msg_hdr.msg_name = &to; msgs[i].msg_hdr.msg_namelen = sizeof to;
    msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
    iov[i].iov_len = (size_t)total;
  }
  unsigned long long sent = 0, refused = 0;
  unsigned next = 0;
  double t0 = now(), end = t0 + seconds;
  for (double t = t0; t < end; t = now()) {
    if (pps > 0) {
      double due = (double)sent / pps - (t - t0); // ahead of schedule: wait for it
      if (due > 0) { struct timespec d = { (time_t)due, (long)((due - (time_t)due) * 1e9) }; nanosleep(&d, NULL); continue; }
    }
    for (int i = 0; i < BATCH; i++) iov[i].iov_base = pkts + (size_t)((next + i) % flows) * total;
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) { refused++; continue; }
      perror("pktgen: sendmmsg"); return 1;
    }
    sent += (unsigned)n; next += (unsigned)n;
  }
  double took = now() - t0;
  printf("sent %llu packets in %.3f s (%.0f pps), %llu batches refused by the socket\n", sent, took, sent / took, refused);
  return 0;
}
