#!/usr/bin/env bash
# End-to-end throughput: iperf3 TCP from the host behind spoke R2 to the host behind hub R1, through
# two real dmvpnd appliances (cleartext mGRE), in namespaces. Prints figures, asserts nothing.
#   bench/e2e.sh [cleartext|chacha|gcm|chacha-natt]   (ESP variants: manual SAs, transport mode, raw ESP;
#   chacha-natt: ESP in UDP 4500 as behind a NAT, `set udp-encapsulation`, where UDP GSO/GRO apply)
# Environment: E2E_PREFIX (namespace prefix, default dmvbench), E2E_APP (the checkout whose bin/dmvpnd
# runs, default this one: bench/batch-compare.sh points it at a baseline build), E2E_TCP_RUNS (3),
# E2E_UDP (1; 0 skips the 64-byte UDP run and the counters), E2E_NIC_GRO (1: GRO on R1's and R2's WAN
# veths, off by default, as a physical NIC has it; bench/lib/nic-gro.py), E2E_WORKERS (`dataplane workers
# N` on both routers; unset: the default, 1), E2E_STREAMS (iperf3 -P: parallel TCP streams, default 1;
# several workers forward several flows, one flow stays on one worker).
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
MODE=${1:-cleartext}
app=${E2E_APP:-$root}
UDP_SECS=4
P=${E2E_PREFIX:-dmvbench}; run=$(mktemp -d /tmp/dmvbench.XXXX); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; bash "$root/test/lab/topology.sh" down $P; }
trap cleanup EXIT; trap 'exit 130' INT TERM
bash "$root/test/lab/topology.sh" up $P 1
[ "${E2E_NIC_GRO:-0}" = 1 ] && for n in 1 2; do
  ip netns exec $P-r$n python3 "$here/lib/nic-gro.py" eth0 gro on >/dev/null; ip netns exec $P-inet python3 "$here/lib/nic-gro.py" r$n tso off >/dev/null
done
# ESP: the lab configs plus manual SAs between R1 and R2 (keys are fixed test values)
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fa1b2c3d4
K2=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100d4c3b2a1
case $MODE in chacha|chacha-natt) TS=esp-chacha20-poly1305;; gcm) TS="esp-gcm 256";; *) TS="";; esac
ENCAP=""; [ "$MODE" = chacha-natt ] && ENCAP=' set udp-encapsulation\n'
mkcfg() { # router peer inSpi outSpi inKey outKey
  if [ -z "$TS" ]; then cat "$root/test/lab/configs/$1.cfg"; return; fi
  printf 'crypto ipsec transform-set TS %s\n mode transport\ncrypto ipsec profile P\n set transform-set TS\n' "$TS"
  printf 'crypto ipsec manual-sa X\n set peer %s\n set transform-set TS\n set session-key inbound esp %s cipher %s\n set session-key outbound esp %s cipher %s\n' "$2" "$3" "$5" "$4" "$6"
  printf " set sequence-persistence %s\n$ENCAP" "$run/seq-$1" # manual AEAD keys: required (docs/security.md)
  sed 's/^ tunnel mode gre multipoint/ tunnel mode gre multipoint\n tunnel protection ipsec profile P/' "$root/test/lab/configs/$1.cfg"
}
mkcfg R1 172.16.25.2 4097 8194 $K1 $K2 > "$run/R1.cfg"
mkcfg R2 172.16.15.2 8194 4097 $K2 $K1 > "$run/R2.cfg"
[ -n "${E2E_WORKERS:-}" ] && sed -i "s/^end\$/dataplane workers $E2E_WORKERS\nend/" "$run/R1.cfg" "$run/R2.cfg"
for r in R1 R2; do
  ns=$P-$(echo $r | tr A-Z a-z)
  ip netns exec $ns "$app/bin/dmvpnd" --config "$run/$r.cfg" --control "$run/$r.sock" >"$run/$r.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 1 40); do
  ip netns exec $P-r1 "$app/bin/dmvpnctl" --control "$run/R1.sock" show dmvpn 2>/dev/null | grep -q '172.16.25.2' && break; sleep 0.5
done
ip netns exec $P-h2 ping -c 2 -W 2 10.0.1.10 >/dev/null || { echo "e2e: no connectivity h2 -> h1"; tail "$run"/*.log; exit 1; }
gbps() { python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.3f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))'; }
# CPU time of both appliances (every process in the two router namespaces: watchdog, supervisor and its
# worker and pump threads; softirq time the kernel charges to them included), in clock ticks
cpu_ticks() { local t=0 p; for p in $(ip netns pids $P-r1) $(ip netns pids $P-r2); do
  t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $t; }
for i in $(seq 1 ${E2E_TCP_RUNS:-3}); do
  ip netns exec $P-h1 iperf3 -s -1 -D >/dev/null 2>&1; sleep 0.3
  c0=$(cpu_ticks)
  g=$(ip netns exec $P-h2 iperf3 -c 10.0.1.10 -t 6 -P ${E2E_STREAMS:-1} -J 2>/dev/null | gbps)
  c1=$(cpu_ticks)
  echo "dmvpn $MODE mGRE tcp Gbit/s $g" # run.sh and the compare scripts read the figure at the end of the line
  echo "dmvpn $MODE run with workers ${E2E_WORKERS:-1}, streams ${E2E_STREAMS:-1}"
  python3 -c "import sys; g=float(sys.argv[1] or 0); c=(int(sys.argv[2])-int(sys.argv[3]))/int(sys.argv[4]); print('dmvpn $MODE cpu s per Gbit: %.2f (both appliances, %.1f CPU-s over 6 s at %.2f Gbit/s)' % (c/(g*6) if g else 0, c, g))" "$g" $c1 $c0 $(getconf CLK_TCK)
done
if [ -n "${E2E_WORKERS:-}" ]; then # per worker: who forwarded, and the TUN offloads on each queue
  for r in r1 r2; do echo "$r workers:"; ip netns exec $P-$r "$app/bin/dmvpnctl" --control "$run/${r^^}.sock" show dataplane workers
    echo "$r offloads: $(ip netns exec $P-$r "$app/bin/dmvpnctl" --control "$run/${r^^}.sock" show dataplane counters | grep -E "^(tso|gro|csum)|GroSupers|nbmaRxPump" | tr -s " \n" " ")"; done
fi
if [ "$MODE" = chacha-natt ]; then # UDP offloads in use? (docs/dataplane.md "UDP offloads"; zero counters are not shown)
  for r in r1 r2; do echo "$r: $(ip netns exec $P-$r "$app/bin/dmvpnctl" --control "$run/${r^^}.sock" show dataplane counters | grep -E "udp(Tx|Rx)(Gso|Gro|Offload)|udpControl" | tr -s " \n" " ")"; done
fi
[ "${E2E_UDP:-1}" = 0 ] && exit 0
ip netns exec $P-h1 iperf3 -s -1 -D >/dev/null 2>&1; sleep 0.3
python3 "$here/lib/loss-ledger.py" snap $P > "$run/before.json"
echo "dmvpn $MODE mGRE udp 64B pps: $(ip netns exec $P-h2 iperf3 -c 10.0.1.10 -u -b 0 -l 64 -t $UDP_SECS -J 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["end"]["sum"]; print("%d sent/s, %.1f%% lost" % (s["packets"]/s["seconds"], s["lost_percent"]))')"
sleep 0.5; python3 "$here/lib/loss-ledger.py" snap $P > "$run/after.json"
echo "udp 64B loss ledger (packets per hop; the hub and spoke carry NHRP/pings too):"
python3 "$here/lib/loss-ledger.py" diff "$run/before.json" "$run/after.json" $UDP_SECS
# RFC 2544-style no-drop rate, both ways: h2 -> h1 (the spoke encapsulates, the hub decapsulates) and
# h1 -> h2 (the other way round); bench/run.sh puts it beside wireguard-go's (bench/wg-ndr.sh)
if [ "${E2E_NDR:-1}" = 1 ]; then
  python3 "$here/lib/ndr.py" "dmvpn $MODE spoke->hub" $P-h2 $P-h1 10.0.1.10
  python3 "$here/lib/ndr.py" "dmvpn $MODE hub->spoke" $P-h1 $P-h2 10.0.2.10
fi
echo "hub data-plane counters:"; ip netns exec $P-r1 "$app/bin/dmvpnctl" --control "$run/R1.sock" show dataplane counters | head -30
echo "spoke data-plane counters:"; ip netns exec $P-r2 "$app/bin/dmvpnctl" --control "$run/R2.sock" show dataplane counters | head -30
