#!/usr/bin/env bash
# Seed-003 lab topology in network namespaces, shared by `make lab` and the integration tests.
#   topology.sh up PREFIX [SPOKES]   creates PREFIX-inet (the "Internet", R5 in the seed), PREFIX-r1 (hub),
#                                    PREFIX-r2..r(1+SPOKES) (spokes, default 3) and a host PREFIX-hN behind each
#   topology.sh down PREFIX          deletes every namespace whose name starts with PREFIX-
# Routers get interfaces eth0 (WAN, to inet) and eth1 (LAN, to their host) with no addresses: the
# appliance assigns them from its config (FastEthernet0/0 -> eth0, FastEthernet0/1 -> eth1).
# Addressing (seed 003): WAN of Rn is 172.16.n5.2/30 with inet at .1; tunnel 192.168.0.n/24;
# LAN 10.0.n.0/24 with Rn at .1 and hN at .10.
set -eu
cmd=${1:?up|down}; P=${2:?prefix}; SPOKES=${3:-3}

down() {
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-" || true); do
    # kill anything still running inside, then delete the namespace
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

up() {
  down
  ip netns add "$P-inet"
  ip -n "$P-inet" link set lo up
  ip netns exec "$P-inet" sysctl -qw net.ipv4.ip_forward=1
  for n in $(seq 1 $((SPOKES + 1))); do
    r="$P-r$n"; h="$P-h$n"
    ip netns add "$r"; ip netns add "$h"
    ip -n "$r" link set lo up; ip -n "$h" link set lo up
    ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
    # WAN: inet side "rN" <-> router eth0
    ip link add "${P}w$n" type veth peer name "${P}x$n"
    ip link set "${P}w$n" netns "$P-inet"; ip link set "${P}x$n" netns "$r"
    ip -n "$P-inet" link set "${P}w$n" name "r$n"
    ip -n "$r" link set "${P}x$n" name eth0
    ip -n "$P-inet" addr add "172.16.${n}5.1/30" dev "r$n"
    ip -n "$P-inet" link set "r$n" up
    ip -n "$r" link set eth0 up
    # LAN: router eth1 <-> host eth0
    ip link add "${P}l$n" type veth peer name "${P}m$n"
    ip link set "${P}l$n" netns "$r"; ip link set "${P}m$n" netns "$h"
    ip -n "$r" link set "${P}l$n" name eth1; ip -n "$h" link set "${P}m$n" name eth0
    ip -n "$r" link set eth1 up; ip -n "$h" link set eth0 up
    ip -n "$h" addr add "10.0.$n.10/24" dev eth0
    ip -n "$h" route add default via "10.0.$n.1"
  done
}

case "$cmd" in
  up) up ;;
  down) down ;;
  *) echo "usage: topology.sh up|down PREFIX [SPOKES]" >&2; exit 2 ;;
esac
