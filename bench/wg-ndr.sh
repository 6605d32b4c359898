#!/usr/bin/env bash
# Baseline for the 64-byte no-drop rate (bench/lib/ndr.py): the same search through wireguard-go
# (userspace WireGuard over TUN, Debian's package), on the lab topology bench/e2e.sh uses
# (test/lab/topology.sh with one spoke: h1 - r1 - inet - r2 - h2, the same addresses), with
# wireguard-go on r1 and r2 where our appliances run, so both runs carry a datagram through two
# userspace tunnel processes and the same veth hops. Prints figures, asserts nothing; cleans up after
# itself. Namespaces: prefix $WG_PREFIX (default wgn); tunnel r1 <-> r2 10.78.0.0/24.
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
for c in wireguard-go wg iperf3; do command -v $c >/dev/null || { echo "wg-ndr: missing $c"; exit 0; }; done
P=${WG_PREFIX:-wgn}; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.5; bash "$root/test/lab/topology.sh" down $P; }
trap cleanup EXIT; trap 'exit 130' INT TERM
bash "$root/test/lab/topology.sh" up $P 1
for n in 1 2; do # the addresses our appliances give themselves from the lab configs
  ip -n $P-r$n addr add 172.16.${n}5.2/30 dev eth0; ip -n $P-r$n addr add 10.0.$n.1/24 dev eth1
  ip -n $P-r$n route add default via 172.16.${n}5.1
done
k1=$(wg genkey); k2=$(wg genkey)
# distinct names: wireguard-go's control socket (/var/run/wireguard/NAME.sock) is not per namespace
for n in 1 2; do
  ip netns exec $P-r$n env WG_PROCESS_FOREGROUND=1 wireguard-go -f ${P}$n >/dev/null 2>&1 & pids+=($!)
done
sleep 1
ip netns exec $P-r1 wg set ${P}1 private-key <(echo $k1) listen-port 51820 peer "$(echo $k2 | wg pubkey)" endpoint 172.16.25.2:51820 allowed-ips 10.0.2.0/24,10.78.0.2/32
ip netns exec $P-r2 wg set ${P}2 private-key <(echo $k2) listen-port 51820 peer "$(echo $k1 | wg pubkey)" endpoint 172.16.15.2:51820 allowed-ips 10.0.1.0/24,10.78.0.1/32
for n in 1 2; do ip -n $P-r$n addr add 10.78.0.$n/24 dev ${P}$n; ip -n $P-r$n link set ${P}$n up mtu 1420; done
ip -n $P-r1 route add 10.0.2.0/24 dev ${P}1; ip -n $P-r2 route add 10.0.1.0/24 dev ${P}2
ip netns exec $P-h1 ping -c 2 -W 2 10.0.2.10 >/dev/null || { echo "wg-ndr: no connectivity through wireguard-go"; exit 0; }
python3 "$here/lib/ndr.py" "wireguard-go h1->h2" $P-h1 $P-h2 10.0.2.10
python3 "$here/lib/ndr.py" "wireguard-go h2->h1" $P-h2 $P-h1 10.0.1.10
