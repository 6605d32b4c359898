#!/usr/bin/env bash
# Receive/transmit batching and back-pressure (issue 14): bench/e2e.sh cleartext run alternately with
# this checkout's build and a baseline checkout's build, in the same session, so the machine's load
# hits both alike; prints medians and new/baseline ratios. Prints figures, asserts nothing.
#   bench/batch-compare.sh BASELINE_CHECKOUT [ROUNDS=3]
# BASELINE_CHECKOUT is a built checkout of the baseline revision (e.g. `git worktree add DIR REV`,
# symlink node_modules, `make all` there). Namespaces: prefix $E2E_PREFIX (default dmvcmp).
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
base=${1:?usage: batch-compare.sh BASELINE_CHECKOUT [ROUNDS]}; rounds=${2:-3}
[ -x "$base/bin/dmvpnd" ] && [ -f "$base/dist/dmvpnd.mjs" ] || { echo "$base: not a built checkout (make all there)"; exit 1; }
out=$(mktemp -d /tmp/dmvcmp.XXXX)
export E2E_PREFIX=${E2E_PREFIX:-dmvcmp} E2E_TCP_RUNS=${E2E_TCP_RUNS:-2}
for i in $(seq 1 "$rounds"); do
  for who in base new; do
    app=$root; [ $who = base ] && app=$base
    E2E_APP=$app bash "$here/e2e.sh" cleartext > "$out/$who.$i.txt" 2>&1
    echo "round $i $who: tcp Gbit/s $(grep -oP 'tcp Gbit/s \K[0-9.]+' "$out/$who.$i.txt" | tr '\n' ' ')| $(grep -oP 'udp 64B pps: \K.*' "$out/$who.$i.txt") | delivered $(grep -oP 'delivered by the hub: \K.*' "$out/$who.$i.txt")"
  done
done
python3 - "$out" "$rounds" <<'PY'
import re, statistics, sys, glob
out, rounds = sys.argv[1], int(sys.argv[2])
def figures(who):
    tcp, sent, lost, deliv, ringfull = [], [], [], [], []
    for f in sorted(glob.glob(f'{out}/{who}.*.txt')):
        t = open(f).read()
        tcp += [float(x) for x in re.findall(r'mGRE tcp Gbit/s ([0-9.]+)', t)]
        m = re.search(r'udp 64B pps: (\d+) sent/s, ([0-9.]+)% lost', t)
        if m: sent.append(int(m.group(1))); lost.append(float(m.group(2)))
        m = re.search(r'delivered by the hub: (\d+) pps', t)
        if m: deliv.append(int(m.group(1)))
    return {'tcp Gbit/s': tcp, 'udp 64B offered pps': sent, 'udp 64B delivered pps': deliv, 'udp 64B iperf3 lost %': lost}
b, n = figures('base'), figures('new')
print(f'{"median of " + str(rounds) + " rounds":28s} {"baseline":>10s} {"this tree":>10s} {"ratio":>7s}')
for k in b:
    if not b[k] or not n[k]: continue
    mb, mn = statistics.median(b[k]), statistics.median(n[k])
    print(f'{k:28s} {mb:10.3f} {mn:10.3f} {mn / mb if mb else 0:7.2f}')
print(f'(raw outputs: {out})')
PY
