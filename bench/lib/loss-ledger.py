#!/usr/bin/env python3
"""Where a UDP stream h2 -> R2 (spoke) -> R1 (hub) -> h1 lost its packets, hop by hop (bench/e2e.sh).

  loss-ledger.py snap PREFIX > before.json     kernel packet counters of every hop, as JSON
  loss-ledger.py diff before.json after.json SECONDS
                                               one line per hop: packets seen, and drops where the
                                               kernel counts them (a TUN queue, a raw socket, a UDP
                                               receive buffer); then what the hub delivered per second

The data plane's own counters come from `show dataplane counters`; this adds what the kernel dropped
before our pumps saw a packet (or after they handed it on), which no counter of ours can see.
"""
import json
import subprocess
import sys


def ns_json(ns, *args):
    out = subprocess.run(['ip', '-n', ns, '-j', '-s', *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def links(ns):
    return {l['ifname']: l.get('stats64', {}) for l in ns_json(ns, 'link', 'show')}


def in_ns(ns, *cmd):
    return subprocess.run(['ip', 'netns', 'exec', ns, *cmd], capture_output=True, text=True).stdout


def raw_drops(ns):
    """Sum of the drops column of /proc/net/raw (packets a raw socket's full receive buffer refused)."""
    total = 0
    for line in in_ns(ns, 'cat', '/proc/net/raw').splitlines()[1:]:
        f = line.split()
        if f:
            total += int(f[-1])
    return total


def udp_rcvbuf_errors(ns):
    lines = [l.split() for l in in_ns(ns, 'cat', '/proc/net/snmp').splitlines() if l.startswith('Udp:')]
    if len(lines) < 2:
        return 0
    return int(dict(zip(lines[0][1:], lines[1][1:])).get('RcvbufErrors', 0))


def snap(p):
    return {
        'h2': links(f'{p}-h2'), 'r2': links(f'{p}-r2'), 'r1': links(f'{p}-r1'), 'h1': links(f'{p}-h1'),
        'r2raw': raw_drops(f'{p}-r2'), 'r1raw': raw_drops(f'{p}-r1'), 'h1udp': udp_rcvbuf_errors(f'{p}-h1'),
    }


def diff(a, b, seconds):
    def d(host, ifname, direction, field='packets'):
        x = a[host].get(ifname, {}).get(direction, {}).get(field, 0)
        y = b[host].get(ifname, {}).get(direction, {}).get(field, 0)
        return y - x
    tun = next((n for n in b['r2'] if n.lower().startswith('tunnel')), 'Tunnel0')
    rows = [
        ('h2 eth0 sent', d('h2', 'eth0', 'tx')),
        ('R2 eth1 received', d('r2', 'eth1', 'rx')),
        (f'R2 {tun} handed to tun-rx', d('r2', tun, 'tx')),
        (f'R2 {tun} dropped (TUN queue full)', d('r2', tun, 'tx', 'dropped')),
        ('R2 eth0 sent (GRE)', d('r2', 'eth0', 'tx')),
        ('R1 eth0 received (GRE)', d('r1', 'eth0', 'rx')),
        ('R1 raw socket drops (receive buffer full)', b['r1raw'] - a['r1raw']),
        (f'R1 {tun} written by tun-tx', d('r1', tun, 'rx')),
        ('R1 eth1 sent', d('r1', 'eth1', 'tx')),
        ('h1 eth0 received', d('h1', 'eth0', 'rx')),
        ('h1 UDP receive buffer errors', b['h1udp'] - a['h1udp']),
    ]
    for name, v in rows:
        print(f'  {name:44s} {v}')
    # The appliances' forwarding rate: what left the hub towards h1 (iperf3's own loss figure also
    # counts what h1's receive buffer dropped, which is the receiving host, not the tunnel).
    print(f'udp 64B delivered by the hub: {d("r1", "eth1", "tx") / seconds:.0f} pps')


if __name__ == '__main__':
    if sys.argv[1] == 'snap':
        json.dump(snap(sys.argv[2]), sys.stdout)
    else:
        diff(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), float(sys.argv[4]))
