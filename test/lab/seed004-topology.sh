#!/usr/bin/env bash
# Seed-004 lab in network namespaces (../shared/seeds/004: DMVPN Phase 1 over a plain router R2).
#   seed004-topology.sh up PREFIX    creates PREFIX-r1..r4 (routers) and PREFIX-h1..h4 (one host per LAN)
#   seed004-topology.sh down PREFIX  deletes every namespace whose name starts with PREFIX-
# Links are named by the IOS-name rule (README "Interface names"), so the seed's configs load as is:
#   R1 se4-0 <-> R2 se4-0      R2 se4-1 <-> R3 se4-1      R2 se4-2 <-> R4 se4-2
#   Rn fa0-0 <-> hN eth0 (hN at 10.1.1.10, 20.1.1.10, 30.1.1.10, 40.1.1.10 /8, default via Rn)
# The routers get no addresses here: the appliance assigns them from its config.
set -eu
cmd=${1:?up|down}; P=${2:?prefix}

down() { bash "$(dirname "$0")/topology.sh" down "$P"; }

# link NS_A IF_A NS_B IF_B: a veth pair between two namespaces, both ends up
link() {
  local a="${P}v$RANDOM$RANDOM" b="${P}w$RANDOM$RANDOM"
  ip link add "${a:0:15}" type veth peer name "${b:0:15}"
  ip link set "${a:0:15}" netns "$1"; ip link set "${b:0:15}" netns "$3"
  ip -n "$1" link set "${a:0:15}" name "$2"; ip -n "$3" link set "${b:0:15}" name "$4"
  ip -n "$1" link set "$2" up; ip -n "$3" link set "$4" up
}

up() {
  down
  for n in 1 2 3 4; do
    for x in r h; do ip netns add "$P-$x$n"; ip -n "$P-$x$n" link set lo up; done
    link "$P-r$n" fa0-0 "$P-h$n" eth0
  done
  # host addresses: the seed's LANs are 10/8, 20/8, 30/8, 40/8 with the router at .1.1.1
  for n in 1 2 3 4; do
    ip -n "$P-h$n" addr add "${n}0.1.1.10/8" dev eth0
    ip -n "$P-h$n" route add default via "${n}0.1.1.1"
  done
  link "$P-r1" se4-0 "$P-r2" se4-0
  link "$P-r2" se4-1 "$P-r3" se4-1
  link "$P-r2" se4-2 "$P-r4" se4-2
}

case "$cmd" in
  up) up ;;
  down) down ;;
  *) echo "usage: seed004-topology.sh up|down PREFIX" >&2; exit 2 ;;
esac
