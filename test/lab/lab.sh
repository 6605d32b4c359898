#!/usr/bin/env bash
# `make lab`: the seed-003 DMVPN in namespaces (Phase 3). Hub R1 and spokes R2-R4, each a real dmvpnd; a host
# behind each router. Shows the spokes registering, a spoke-to-spoke tunnel forming on demand (R2 -> R4),
# host-to-host traffic, `show dmvpn` on hub and spoke; then tears everything down (also on Ctrl-C or failure).
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
P=${LAB_PREFIX:-dmvlab}
run=$(mktemp -d /tmp/dmvlab.XXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  # let each router stop cleanly (tunnel, kernel table, data plane) before the namespaces go
  for _ in $(seq 50); do
    alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break; sleep 0.1
  done
  bash "$here/topology.sh" down "$P"
  echo "== lab torn down (logs and captures kept in $run)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ctl() { local r=$1; shift; ip netns exec "$P-$(echo "$r" | tr A-Z a-z)" "$root/bin/dmvpnctl" --control "$run/$r.sock" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "topology: inet (the Internet), hub R1, spokes R2-R4, hosts h1-h4 (seed 003 addressing)"
bash "$here/topology.sh" up "$P" 3 || exit 1
for r in R1 R2 R3 R4; do
  ns="$P-$(echo "$r" | tr A-Z a-z)"
  ip netns exec "$ns" "$root/bin/dmvpnd" --config "$here/configs/$r.cfg" --control "$run/$r.sock" \
    --pcap "$run/$r.pcap" >"$run/$r.log" 2>&1 &
  pids+=($!)
done

say "waiting for the spokes to register with the hub"
for i in $(seq 1 60); do
  n=$(ctl R1 show dmvpn 2>/dev/null | grep -cE '^ *1 +172\.16\.[0-9]+\.2 ' || true)
  printf '\r  hub has %s of 3 spokes after %ss ' "$n" "$((i / 2))"
  [ "$n" = 3 ] && break
  sleep 0.5
done
echo
if [ "${n:-0}" != 3 ]; then echo "spokes did not all register; hub log:"; tail -20 "$run/R1.log"; exit 1; fi

say "R1# show dmvpn"; ctl R1 show dmvpn
say "R2# show dmvpn   (before: only the hub)"; ctl R2 show dmvpn
say "R1# show ip nhrp"; ctl R1 show ip nhrp

rc=0
hub_rx() { ctl R1 show dataplane counters json | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["greRxPackets"] - c["nhrpIn"])'; }
say "h2 (behind R2) -> h4 (behind R4): the first packets cross the hub, which redirects R2 (Phase 3)"
ip netns exec "$P-h2" ping -c 3 -i 0.3 -W 2 10.0.4.10 || rc=1
sleep 0.5
say "R2# show dmvpn   (after: a dynamic spoke-to-spoke tunnel to R4)"; ctl R2 show dmvpn
say "R2# show ip nhrp shortcut"; ctl R2 show ip nhrp shortcut
before=$(hub_rx)
say "h2 -> h4 again: now direct, R2 -> R4"
ip netns exec "$P-h2" ping -c 5 -i 0.2 -W 2 10.0.4.10 || rc=1
ip netns exec "$P-h2" traceroute -n -w 1 -q 1 10.0.4.10 2>/dev/null
echo "data packets the hub decapsulated meanwhile (NHRP excluded): $(( $(hub_rx) - before ))"
for pair in "h3 10.0.2.10" "h4 10.0.1.10"; do
  set -- $pair
  say "$1 -> $2 across the overlay"
  ip netns exec "$P-$1" ping -c 3 -i 0.3 -W 2 "$2" || rc=1
done
say "R1# show dataplane counters"; ctl R1 show dataplane counters
[ $rc = 0 ] && say "lab OK" || say "lab FAILED: a ping did not get through"
exit $rc
