#!/usr/bin/env python3
# Sets a network device's offload flag, as `ethtool -K DEV gro|tso on|off` would (without ethtool:
# SIOCETHTOOL with ETHTOOL_SGRO/STSO), and prints the state read back. For bench/e2e.sh E2E_NIC_GRO=1:
# a veth has GRO off by default; with it on, the receiving veth runs NAPI and the kernel's GRO engine
# merges a UDP flow for a socket with UDP_GRO, as a physical NIC does, but only for packets from a
# peer veth without TSO (veth_skb_is_eligible_for_gro): hence `tso off` on the sending side.
# Usage (inside the device's namespace): nic-gro.py DEV gro|tso on|off
import array, fcntl, socket, struct, sys

SIOCETHTOOL = 0x8946
GET_SET = {'gro': (0x2B, 0x2C), 'tso': (0x1E, 0x1F)}  # ETHTOOL_GGRO/SGRO, ETHTOOL_GTSO/STSO

def ethtool_value(sock, dev, cmd, data=0):
    buf = array.array('B', struct.pack('II', cmd, data))
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, struct.pack('16sP', dev.encode(), buf.buffer_info()[0]))
    return struct.unpack('II', buf.tobytes())[1]

dev, feature, state = sys.argv[1], sys.argv[2], sys.argv[3]
get, set_ = GET_SET[feature]
s = socket.socket()
ethtool_value(s, dev, set_, 1 if state == 'on' else 0)
print(f"{dev} {feature} {'on' if ethtool_value(s, dev, get) else 'off'}")
