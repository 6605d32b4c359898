#!/usr/bin/env bash
# `make bench`: data-plane figures and baselines measured in the same run. Prints, asserts nothing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
for c in iperf3 wireguard-go wg; do
  command -v $c >/dev/null || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 wireguard-go wireguard-tools >/dev/null 2>&1; break; }
done
echo "### WASM data plane in memory (one worker)"; node "$here/wasm-dataplane.mjs"
[ -f "$here/crypto.mjs" ] && { echo; echo "### ciphers, MB/s per core"; node "$here/crypto.mjs"; }
echo; echo "### end to end through two appliances"; bash "$here/e2e.sh" | tee /tmp/dmv-e2e.txt
base="$here/../../shared/bench/wireguard-go-baseline.sh"
if [ -f "$base" ]; then
  echo; echo "### baseline in the same run: wireguard-go and plain veth"; bash "$base" | tee /tmp/dmv-wg.txt
  python3 - <<'PY'
import re
def avg(path, key):
    v=[float(m.group(1)) for l in open(path) for m in [re.search(key+r'.*?([0-9.]+)\s*$', l)] if m]
    return sum(v)/len(v) if v else 0
ours=avg('/tmp/dmv-e2e.txt','mGRE tcp Gbit/s'); wg=avg('/tmp/dmv-wg.txt','wg-go tcp Gbit/s'); veth=avg('/tmp/dmv-wg.txt','veth plain tcp Gbit/s')
print(f"ratio dmvpn-cleartext / wireguard-go: {ours/wg:.2f}x" if wg else "no wireguard-go figure")
print(f"ratio dmvpn-cleartext / plain veth:   {ours/veth:.3f}x" if veth else "no veth figure")
PY
else
  echo "(no ../shared/bench baseline scripts here: baselines skipped)"
fi
