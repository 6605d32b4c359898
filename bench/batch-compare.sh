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
def run(path):
    t = open(path).read()
    tcp = [float(x) for x in re.findall(r'mGRE tcp Gbit/s ([0-9.]+)', t)]
    f = {'tcp Gbit/s': statistics.mean(tcp) if tcp else None}
    m = re.search(r'udp 64B pps: (\d+) sent/s, ([0-9.]+)% lost', t)
    f['udp 64B offered pps'] = int(m.group(1)) if m else None
    m = re.search(r'delivered by the hub: (\d+) pps', t)
    f['udp 64B delivered pps'] = int(m.group(1)) if m else None
    if f['udp 64B delivered pps'] and f['udp 64B offered pps']:
        f['udp 64B delivered/offered'] = f['udp 64B delivered pps'] / f['udp 64B offered pps']
    return f
pairs = [(run(f'{out}/base.{i}.txt'), run(f'{out}/new.{i}.txt')) for i in range(1, rounds + 1)]
# The host's load changes between rounds (other jobs): each round's two runs are next to each other,
# so the ratio within a round is the figure to trust; the median of those is printed last.
print(f'{"figure (median of " + str(rounds) + " rounds)":34s} {"baseline":>10s} {"this tree":>10s} {"median of per-round ratios":>27s}')
for k in ('tcp Gbit/s', 'udp 64B offered pps', 'udp 64B delivered pps', 'udp 64B delivered/offered'):
    ok = [(b[k], n[k]) for b, n in pairs if b.get(k) and n.get(k)]
    if not ok: continue
    mb, mn = statistics.median(b for b, _ in ok), statistics.median(n for _, n in ok)
    ratios = [n / b for b, n in ok]
    print(f'{k:34s} {mb:10.3f} {mn:10.3f} {statistics.median(ratios):10.2f}  ({" ".join(f"{r:.2f}" for r in ratios)})')
print(f'(raw outputs: {out})')
PY
