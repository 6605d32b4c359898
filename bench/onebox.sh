#!/usr/bin/env bash
# One appliance driven by a C traffic generator, the sink being the far interface's packet counter
# (issue 14: "one appliance driven by a C traffic generator and sink, with 1 worker and with N; report
# CPU time per gigabit"). The appliance under test is spoke R2 of the lab topology; nothing runs on
# R1's side but its address, so every CPU cycle of the forwarding is R2's (and the generator's).
#   encap: h2 --UDP--> [R2: TUN -> GRE/ESP -> NBMA] --> inet --> r1 eth0 (counted)
#   decap: r1 --GRE--> inet --> [R2: NBMA -> GRE -> TUN] --> h2 eth0 (counted)   (cleartext only:
#          the generator does not encrypt)
# Usage: bench/onebox.sh [cleartext|chacha|gcm] [LEN ...]   (LEN: inner IPv4 bytes, default 1400 64)
# Environment: ONEBOX_SECS (5), ONEBOX_FLOWS (64 UDP source ports), ONEBOX_CONFIG (lines put before
# R2's config, e.g. a data-plane worker count), ONEBOX_LABEL (names the run in the output),
# ONEBOX_PREFIX (namespaces, default dmvone). Prints figures, asserts nothing.
# The CPU time is every thread of every process in R2's namespace (watchdog, supervisor, workers,
# pumps) including the softirq work the kernel charges to them: the veth hops through the "inet"
# namespace run in the sending thread's context, so part of the underlay's forwarding is in it too.
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
MODE=${1:-cleartext}; shift || true
LENS=${*:-1400 64}
SECS=${ONEBOX_SECS:-5}; FLOWS=${ONEBOX_FLOWS:-64}; LABEL=${ONEBOX_LABEL:-}
P=${ONEBOX_PREFIX:-dmvone}; run=$(mktemp -d /tmp/dmvone.XXXX); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; bash "$root/test/lab/topology.sh" down $P; rm -rf "$run"; }
trap cleanup EXIT; trap 'exit 130' INT TERM
gcc -O2 -Wall -o "$run/pktgen" "$here/lib/pktgen.c" || { echo "onebox: cannot build bench/lib/pktgen.c"; exit 1; }
bash "$root/test/lab/topology.sh" up $P 1
# R1's side: only its WAN address (the sink); no appliance
ip -n $P-r1 addr add 172.16.15.2/30 dev eth0; ip -n $P-r1 route add default via 172.16.15.1
# R2's config: the lab's, with manual ESP SAs for the ESP modes (fixed test keys, as bench/e2e.sh)
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fa1b2c3d4
K2=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100d4c3b2a1
case $MODE in chacha) TS=esp-chacha20-poly1305;; gcm) TS="esp-gcm 256";; cleartext) TS="";; *) echo "onebox: mode cleartext|chacha|gcm"; exit 2;; esac
{
  [ -n "${ONEBOX_CONFIG:-}" ] && printf '%s\n' "$ONEBOX_CONFIG"
  if [ -z "$TS" ]; then cat "$root/test/lab/configs/R2.cfg"; else
    printf 'crypto ipsec transform-set TS %s\n mode transport\ncrypto ipsec profile P\n set transform-set TS\n' "$TS"
    printf 'crypto ipsec manual-sa X\n set peer 172.16.15.2\n set transform-set TS\n set session-key inbound esp 8194 cipher %s\n set session-key outbound esp 4097 cipher %s\n' $K2 $K1
    printf ' set sequence-persistence %s\n' "$run/seq-R2"
    sed 's/^ tunnel mode gre multipoint/ tunnel mode gre multipoint\n tunnel protection ipsec profile P/' "$root/test/lab/configs/R2.cfg"
  fi
} > "$run/R2.cfg"
ip netns exec $P-r2 "$root/bin/dmvpnd" --config "$run/R2.cfg" --control "$run/R2.sock" >"$run/R2.log" 2>&1 &
pids+=($!)
rx() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }
cpu_ticks() { local t=0 p; for p in $(ip netns pids $P-r2); do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $t; }
# up when a short burst from h2 reaches r1
up=0
for i in $(seq 1 60); do
  b=$(rx $P-r1 eth0); ip netns exec $P-h2 "$run/pktgen" udp 10.0.2.10 10.0.1.10 100 1 0.05 200 >/dev/null 2>&1
  sleep 0.3; [ $(( $(rx $P-r1 eth0) - b )) -ge 5 ] && { up=1; break; }
  sleep 0.2
done
[ $up = 1 ] || { echo "onebox: R2 forwards nothing to R1's address"; tail -20 "$run/R2.log"; exit 1; }
tck=$(getconf CLK_TCK)
# one measured run: direction LEN -> prints a line
measure() {
  local dir=$1 len=$2 gen_ns sink_ns sink_if out c0 c1 r0 r1
  if [ "$dir" = encap ]; then gen_ns=$P-h2; sink_ns=$P-r1; sink_if=eth0
    set -- udp 10.0.2.10 10.0.1.10 "$len" "$FLOWS" "$SECS" 0
  else gen_ns=$P-r1; sink_ns=$P-h2; sink_if=eth0
    set -- gre 172.16.15.2 172.16.25.2 10.0.1.10 10.0.2.10 "$len" "$FLOWS" "$SECS" 0
  fi
  r0=$(rx $sink_ns $sink_if); c0=$(cpu_ticks)
  out=$(ip netns exec $gen_ns "$run/pktgen" "$@")
  sleep 0.3 # the rings drain
  r1=$(rx $sink_ns $sink_if); c1=$(cpu_ticks)
  python3 - "$MODE" "$dir" "$len" "$SECS" "$out" $((r1 - r0)) $((c1 - c0)) "$tck" "$LABEL" <<'PY'
import re, sys
mode, d, ln, secs, out, got, ticks, tck, label = sys.argv[1:]
ln, secs, got = int(ln), float(secs), int(got)
sent = int(re.search(r'sent (\d+)', out).group(1)) if re.search(r'sent (\d+)', out) else 0
cpu = int(ticks) / int(tck)
gbps = got * ln * 8 / secs / 1e9
tag = f"onebox{(' ' + label) if label else ''} {mode} {d} {ln}B"
print(f"{tag}: offered {sent/secs:.0f} pps, delivered {got/secs:.0f} pps ({(1 - got/sent)*100 if sent else 0:.1f}% lost), "
      f"{gbps:.2f} Gbit/s inner, appliance CPU {cpu/secs:.2f} cores, {cpu/(gbps*secs) if gbps else 0:.3f} CPU s per Gbit, "
      f"{cpu*1e6/got if got else 0:.2f} CPU us per packet")
PY
}
for len in $LENS; do
  measure encap "$len"
  [ "$MODE" = cleartext ] && measure decap "$len"
done
echo "R2 data-plane counters (non-zero):"
ip netns exec $P-r2 "$root/bin/dmvpnctl" --control "$run/R2.sock" show dataplane counters | grep -vE ' 0$' | head -40 | sed 's/^/  /'
