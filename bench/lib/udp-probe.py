#!/usr/bin/env python3
"""UDP probe stream for bench/nhrp-convergence.mjs. Each datagram carries its sequence number and
its CLOCK_MONOTONIC send time (shared by all network namespaces on the host).
  udp-probe.py send DST PORT INTERVAL_MS COUNT     sends COUNT datagrams INTERVAL_MS apart
  udp-probe.py recv PORT IDLE_S                    prints one JSON list [seq, sent_s, recv_s, ttl] per
                                                   datagram; exits IDLE_S after the last one (or after
                                                   60 s without any), or on SIGTERM"""
import json, select, signal, socket, struct, sys, time

if sys.argv[1] == 'send':
    dst, port, iv, n = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) / 1000, int(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    for i in range(n):
        due = t0 + i * iv
        while (d := due - time.monotonic()) > 0: time.sleep(min(d, 0.001))
        try: s.sendto(struct.pack('!Id', i, time.monotonic()) + b'\0' * 52, (dst, port))
        except OSError: pass
else:
    port, idle = int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL (not exported by Python 3.11)
    s.bind(('0.0.0.0', port))
    out, stop = [], False
    def term(*_):
        global stop; stop = True
    signal.signal(signal.SIGTERM, term)
    print('ready', file=sys.stderr, flush=True)
    last = time.monotonic() + 60 - idle
    while not stop and time.monotonic() - last < idle:
        r, _, _ = select.select([s], [], [], 0.05)
        if not r: continue
        data, anc, _, _ = s.recvmsg(256, socket.CMSG_SPACE(4))
        now = time.monotonic(); last = now
        ttl = next((struct.unpack('i', d[:4])[0] for lvl, typ, d in anc if lvl == socket.IPPROTO_IP and typ == 2), -1)  # 2 = IP_TTL
        seq, sent = struct.unpack_from('!Id', data)
        out.append([seq, sent, now, ttl])
    print(json.dumps(out))
