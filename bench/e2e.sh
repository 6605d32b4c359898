#!/usr/bin/env bash
# End-to-end throughput: iperf3 TCP from the host behind spoke R2 to the host behind hub R1, through
# two real dmvpnd appliances (cleartext mGRE), in namespaces. Prints figures, asserts nothing.
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
P=dmvbench; run=$(mktemp -d /tmp/dmvbench.XXXX); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; bash "$root/test/lab/topology.sh" down $P; }
trap cleanup EXIT; trap 'exit 130' INT TERM
bash "$root/test/lab/topology.sh" up $P 1
for r in R1 R2; do
  ns=$P-$(echo $r | tr A-Z a-z)
  ip netns exec $ns "$root/bin/dmvpnd" --config "$root/test/lab/configs/$r.cfg" --control "$run/$r.sock" >"$run/$r.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 1 40); do
  ip netns exec $P-r1 "$root/bin/dmvpnctl" --control "$run/R1.sock" show dmvpn 2>/dev/null | grep -q '172.16.25.2' && break; sleep 0.5
done
ip netns exec $P-h2 ping -c 2 -W 2 10.0.1.10 >/dev/null || { echo "e2e: no connectivity h2 -> h1"; tail "$run"/*.log; exit 1; }
gbps() { python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.3f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))'; }
for i in 1 2 3; do
  ip netns exec $P-h1 iperf3 -s -1 -D >/dev/null 2>&1; sleep 0.3
  echo "dmvpn cleartext mGRE tcp Gbit/s $(ip netns exec $P-h2 iperf3 -c 10.0.1.10 -t 6 -J 2>/dev/null | gbps)"
done
ip netns exec $P-h1 iperf3 -s -1 -D >/dev/null 2>&1; sleep 0.3
echo "dmvpn cleartext mGRE udp 64B pps: $(ip netns exec $P-h2 iperf3 -c 10.0.1.10 -u -b 0 -l 64 -t 4 -J 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["end"]["sum"]; print("%d sent/s, %.1f%% lost" % (s["packets"]/s["seconds"], s["lost_percent"]))')"
echo "hub data-plane counters:"; ip netns exec $P-r1 "$root/bin/dmvpnctl" --control "$run/R1.sock" show dataplane counters | head -30
