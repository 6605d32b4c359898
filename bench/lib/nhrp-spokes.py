#!/usr/bin/env python3
"""Simulated DMVPN spokes for bench/registration-storm.mjs: sends pre-encoded NHRP Registration
Requests (records: nbma u32, proto u32, len u16, NHRP bytes) in GRE 0x2001 over a raw IPv4 socket
with IP_HDRINCL, spoofing each spoke's NBMA source (the sim namespace has the whole range as a
local route, so replies to any of them come back here), and counts Registration Replies by request
id. All spokes send at once; unanswered ones retransmit after 1 s, 2 s, 4 s ... (like our NHC's
backoff, but synchronised: the worst case after a hub restart). Prints one JSON line.
  nhrp-spokes.py PACKETS HUB_NBMA TIMEOUT_S [PACE_US [REPEAT]]
PACE_US > 0 spaces the first round's sends that far apart instead of one burst; REPEAT > 1 sends
the first round that many times (warm-up traffic)."""
import json, os, select, socket, struct, sys, time

path, hub, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
pace = float(sys.argv[4]) / 1e6 if len(sys.argv) > 4 else 0.0
repeat = int(sys.argv[5]) if len(sys.argv) > 5 else 1
data = open(path, 'rb').read()
recs = []  # (ip+gre packet) per spoke, index = request id - 1
off = 0
hub_b = socket.inet_aton(hub)
while off < len(data):
    nbma, proto, ln = struct.unpack_from('!4s4sH', data, off); off += 10
    nhrp = data[off:off + ln]; off += ln
    total = 20 + 4 + ln
    # checksum 0 and id 0: the kernel fills both for IP_HDRINCL
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, total, 0, 0x4000, 64, 47, 0, nbma, hub_b)
    recs.append(ip + b'\x00\x00\x20\x01' + nhrp)
N = len(recs)

tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
tx.setsockopt(socket.SOL_SOCKET, 32, 64 << 20)  # SO_SNDBUFFORCE
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
rx.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: we must not be the bottleneck
rx.setblocking(False)

acked = [None] * N      # ms since t0 of the first code-0 reply
codes = {}              # reply CIE code -> count
replies = dup = 0
first_round_acks = 0
sends = retransmits = enobufs = 0

def send(i):
    global sends, enobufs
    while True:
        try:
            tx.sendto(recs[i], (hub, 0)); sends += 1; return
        except OSError as e:
            if e.errno not in (105, 11): raise  # ENOBUFS / EAGAIN: qdisc full, wait a little
            enobufs += 1; drain(0.0005)

def drain(wait):
    global replies, dup, first_round_acks
    r, _, _ = select.select([rx], [], [], wait)
    if not r: return
    now = (time.monotonic() - t0) * 1000
    while True:
        try: p = rx.recv(4096)
        except BlockingIOError: return
        ihl = (p[0] & 15) * 4
        if len(p) < ihl + 4 + 28 or p[ihl + 2:ihl + 4] != b'\x20\x01' or p[ihl] & 0x30: continue
        n = p[ihl + 4:]
        if n[17] != 4: continue  # registration reply
        replies += 1
        rid = struct.unpack_from('!I', n, 24)[0]
        cie = 28 + (n[18] & 0x3f) + (n[19] & 0x3f) + n[20] + n[21]
        code = n[cie] if len(n) > cie else -1
        codes[code] = codes.get(code, 0) + 1
        i = rid - 1
        if code == 0 and 0 <= i < N:
            if acked[i] is None:
                acked[i] = now
                if rnd == 0: first_round_acks += 1
            else: dup += 1

rnd = 0
t0 = time.monotonic()
k = 0
for _ in range(repeat):
    for i in range(N):
        if pace:
            due = t0 + k * pace
            while time.monotonic() < due: drain(0)
        k += 1
        send(i)
        if i % 256 == 255: drain(0)
burst_ms = (time.monotonic() - t0) * 1000
wait, next_at, done_at = 1.0, 1.0, None
while True:
    el = time.monotonic() - t0
    if all_done := (sum(1 for a in acked if a is not None) == N): break
    if el >= timeout: break
    if el >= next_at:
        rnd += 1
        for i in range(N):
            if acked[i] is None: send(i); retransmits += 1
        wait *= 2; next_at = el + wait
    drain(min(0.05, max(0.0, next_at - el)))
drain(0.2)
ts = sorted(a for a in acked if a is not None)
pct = lambda q: round(ts[min(len(ts) - 1, int(q * len(ts)))], 1) if ts else None
print(json.dumps({'spokes': N, 'acked': len(ts), 'burst_send_ms': round(burst_ms, 1), 'first_round_acks': first_round_acks,
                  'rounds': rnd, 'retransmits': retransmits, 'sends': sends, 'enobufs_waits': enobufs, 'replies': replies,
                  'duplicate_acks': dup, 'codes': codes, 'first_ms': pct(0), 'p50_ms': pct(0.5), 'p90_ms': pct(0.9),
                  'p99_ms': pct(0.99), 'all_ms': ts[-1] if len(ts) == N else None}))
