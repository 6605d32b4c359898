# A GRE endpoint in user space for hosts whose kernel has no GRE module (this one): a raw IP protocol
# 47 socket bound to LOCAL. It answers ICMP echo requests to TUNNEL_IP carried in GRE from PEER, and
# sends COUNT echo requests from TUNNEL_IP to TARGET inside GRE to PEER, counting the replies, until it
# has answered COUNT too or SECONDS pass. A JSON line {"ready": true} once bound, and at the end: {"answered": n, "sent": n, "replies": n}. Used by the strongSwan data-plane
# test (test/integration-ike-strongswan-aead.test.ts), where the GRE runs through libipsec's ESP.
import json, socket, struct, sys, time

local, peer, tunnel_ip, target, count, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ipv4(src, dst, proto, payload):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload

def icmp(kind, ident, seq, data):
    m = struct.pack('!BBHHH', kind, 0, 0, ident, seq) + data
    return m[:2] + struct.pack('!H', csum(m)) + m[4:]

s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
s.bind((local, 0))
s.settimeout(0.2)
print(json.dumps({'ready': True}), flush=True)
gre = lambda inner: struct.pack('!HH', 0, 0x0800) + inner
answered = sent = replies = 0
end = time.time() + seconds
next_send = time.time() + 0.5
while time.time() < end:
    if sent < count and time.time() >= next_send:
        s.sendto(gre(ipv4(tunnel_ip, target, 1, icmp(8, 0x4242, sent + 1, b'gre-echo' * 4))), (peer, 0))
        sent += 1
        next_send = time.time() + 0.3
    try:
        pkt, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[0] != peer: continue
    o = (pkt[0] & 15) * 4
    flags, proto = struct.unpack('!HH', pkt[o:o + 4])
    if proto != 0x0800 or flags & 0xb000: continue  # plain GRE with IPv4 only (no checksum, key or sequence)
    inner = pkt[o + 4:]
    ih = (inner[0] & 15) * 4
    if inner[9] != 1: continue
    src, dst = socket.inet_ntoa(inner[12:16]), socket.inet_ntoa(inner[16:20])
    kind = inner[ih]
    if kind == 8 and dst == tunnel_ip:
        ident, seq = struct.unpack('!HH', inner[ih + 4:ih + 8])
        s.sendto(gre(ipv4(tunnel_ip, src, 1, icmp(0, ident, seq, inner[ih + 8:]))), (peer, 0))
        answered += 1
    elif kind == 0 and src == target and dst == tunnel_ip and inner[ih + 4:ih + 6] == b'\x42\x42':
        replies += 1
    if sent >= count and replies >= count and answered >= count: break
print(json.dumps({'answered': answered, 'sent': sent, 'replies': replies}), flush=True)
