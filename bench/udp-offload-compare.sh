#!/usr/bin/env bash
# UDP GSO/GRO on ESP in UDP (NAT-T), issue 14: bench/e2e.sh chacha-natt (TCP through two appliances,
# ChaCha20-Poly1305 ESP in UDP 4500) with DMVPN_UDP_OFFLOAD off, gso alone, gro alone and both, in turn
# in each round, so the machine's load hits all alike; prints per-round figures, medians and ratios to
# off. Prints figures, asserts nothing.   bench/udp-offload-compare.sh [ROUNDS=3] [MODES="off gso gro on"]
# E2E_NIC_GRO=1: the WAN veths do GRO (as a physical NIC), so GRO alone has trains to take whole.
# Mode "raw": ESP straight over IP (bench/e2e.sh chacha), no UDP, for reference.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-3}; modes=${2:-off gso gro on}
out=$(mktemp -d /tmp/dmvudpoff.XXXX)
export E2E_PREFIX=${E2E_PREFIX:-dmvudpoff} E2E_TCP_RUNS=${E2E_TCP_RUNS:-2} E2E_UDP=0
echo "load before: $(uptime); NIC GRO ${E2E_NIC_GRO:-0}"
for i in $(seq 1 "$rounds"); do
  for m in $modes; do
    v=$m; e2e=chacha-natt; [ "$m" = on ] && v=""; [ "$m" = raw ] && { v=""; e2e=chacha; } # raw: ESP without UDP, for reference
    DMVPN_UDP_OFFLOAD=$v bash "$here/e2e.sh" $e2e > "$out/$m.$i.txt" 2>&1
    echo "round $i $m: tcp Gbit/s $(grep -oP 'tcp Gbit/s \K[0-9.]+' "$out/$m.$i.txt" | tr '\n' ' ')| spoke $(grep -E '^r2:' "$out/$m.$i.txt" | grep -oE 'udpTxGso(Sends|Segments) [0-9]+' | tr '\n' ' ')| hub $(grep -E '^r1:' "$out/$m.$i.txt" | grep -oE 'udpRxGro(Supers|Segments) [0-9]+' | tr '\n' ' ')"
  done
done
echo "load after: $(uptime)"
python3 - "$out" "$rounds" $modes <<'PY'
import re, statistics, sys
out, rounds, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def runs(m):
    v = []
    for i in range(1, rounds + 1):
        v += [float(x) for x in re.findall(r'tcp Gbit/s ([0-9.]+)', open(f'{out}/{m}.{i}.txt').read())]
    return v
med = {m: statistics.median(runs(m)) if runs(m) else 0 for m in modes}
for m in modes:
    r = runs(m)
    line = f"dmvpn chacha {'raw ESP' if m == 'raw' else 'NAT-T ' + m:11s} tcp Gbit/s median {med[m]:.3f} ({len(r)} runs, {min(r, default=0):.3f}-{max(r, default=0):.3f})"
    if 'off' in med and med['off'] and m != 'off': line += f"  = {med[m] / med['off']:.2f}x off"
    print(line)
PY
