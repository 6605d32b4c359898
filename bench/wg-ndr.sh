#!/usr/bin/env bash
# Baseline for the 64-byte no-drop rate (bench/lib/ndr.py): the same search through wireguard-go
# (userspace WireGuard over TUN, Debian's package). Two hosts behind two wireguard-go routers, as our
# hosts sit behind two appliances in bench/e2e.sh, so both runs carry a datagram through two userspace
# tunnel processes and three veth hops. Prints figures, asserts nothing; cleans up after itself.
#   namespaces wgn-h1 -- wgn-a ==veth== wgn-b -- wgn-h2 ; tunnel wgn-a <-> wgn-b (10.78.0.0/24)
set -u
here=$(cd "$(dirname "$0")" && pwd)
for c in wireguard-go wg iperf3; do command -v $c >/dev/null || { echo "wg-ndr: missing $c"; exit 0; }; done
P=wgn; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.5; for n in h1 a b h2; do ip netns del $P-$n 2>/dev/null; done; }
trap cleanup EXIT; trap 'exit 130' INT TERM
for n in h1 a b h2; do ip netns add $P-$n; ip -n $P-$n link set lo up; done
link() { # ns1 if1 addr1 ns2 if2 addr2
  ip link add $P-t0 type veth peer name $P-t1
  ip link set $P-t0 netns $1; ip -n $1 link set $P-t0 name $2; ip -n $1 addr add $3 dev $2; ip -n $1 link set $2 up
  ip link set $P-t1 netns $4; ip -n $4 link set $P-t1 name $5; ip -n $4 addr add $6 dev $5; ip -n $4 link set $5 up
}
link $P-h1 eth0 10.0.1.10/24 $P-a eth1 10.0.1.1/24
link $P-a eth0 172.31.0.1/24 $P-b eth0 172.31.0.2/24
link $P-b eth1 10.0.2.1/24 $P-h2 eth0 10.0.2.10/24
ip -n $P-h1 route add default via 10.0.1.1; ip -n $P-h2 route add default via 10.0.2.1
for r in a b; do ip netns exec $P-$r sysctl -qw net.ipv4.ip_forward=1; done
ka=$(wg genkey); kb=$(wg genkey)
# distinct names: wireguard-go's control socket (/var/run/wireguard/NAME.sock) is not per namespace
for r in a b; do
  ip netns exec $P-$r env WG_PROCESS_FOREGROUND=1 wireguard-go -f ${P}$r >/dev/null 2>&1 & pids+=($!)
done
sleep 1
ip netns exec $P-a wg set ${P}a private-key <(echo $ka) listen-port 51820 peer "$(echo $kb | wg pubkey)" endpoint 172.31.0.2:51820 allowed-ips 10.0.2.0/24,10.78.0.2/32
ip netns exec $P-b wg set ${P}b private-key <(echo $kb) listen-port 51820 peer "$(echo $ka | wg pubkey)" endpoint 172.31.0.1:51820 allowed-ips 10.0.1.0/24,10.78.0.1/32
ip -n $P-a addr add 10.78.0.1/24 dev ${P}a; ip -n $P-b addr add 10.78.0.2/24 dev ${P}b
for r in a b; do ip -n $P-$r link set ${P}$r up mtu 1420; done
ip -n $P-a route add 10.0.2.0/24 dev ${P}a; ip -n $P-b route add 10.0.1.0/24 dev ${P}b
ip netns exec $P-h1 ping -c 2 -W 2 10.0.2.10 >/dev/null || { echo "wg-ndr: no connectivity through wireguard-go"; exit 0; }
python3 "$here/lib/ndr.py" "wireguard-go h1->h2" $P-h1 $P-h2 10.0.2.10
python3 "$here/lib/ndr.py" "wireguard-go h2->h1" $P-h2 $P-h1 10.0.1.10
