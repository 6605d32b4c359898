#!/usr/bin/env bash
# `make bench`: data-plane figures and baselines measured in the same run. Prints, asserts nothing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
for c in iperf3 wireguard-go wg; do
  command -v $c >/dev/null || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 wireguard-go wireguard-tools >/dev/null 2>&1; break; }
done
echo "### appliance image: sizes and boot time under qemu TCG"; bash "$here/image.sh"
echo; echo "### WASM data plane in memory (one worker)"; node "$here/wasm-dataplane.mjs"
[ -f "$here/crypto.mjs" ] && { echo; echo "### ciphers, MB/s per core"; node "$here/crypto.mjs"; }
echo; echo "### AES-GCM per core: ours, ours at the baseline revision, OpenSSL (same run)"; node "$here/crypto-gcm.mjs"
echo; echo "### ESP in the WASM data plane, in memory (one worker)"; node "$here/esp.mjs"
echo; echo "### per-core scaling in memory: 1 worker vs N on one shared memory (GRE, ESP out/in; one SA vs N SAs; CPU s per Gbit)"; node "$here/scaling.mjs" 1
echo; echo "### one appliance driven by a C traffic generator, its sink the far interface's counter (bench/onebox.sh; CPU of the appliance only)"
for w in 1 2; do
  for mode in cleartext chacha gcm; do ONEBOX_LABEL="workers=$w" ONEBOX_CONFIG="dataplane workers $w" bash "$here/onebox.sh" $mode 1400 64 | grep '^onebox'; done
done
echo; echo "### NHRP: time to direct spoke-to-spoke path, Phase 2 and Phase 3 (seed topology)"; node "$here/nhrp-convergence.mjs" 10
echo; echo "### NHRP: a spoke's NBMA address changes (DHCP-like, no-unique): time until traffic flows again"; node "$here/nbma-change.mjs" 8
echo; echo "### IKEv1: main mode + quick mode per second per core as responder, ours and strongSwan's charon"; node "$here/ike.mjs" 200
echo; echo "### IKEv1 + NHRP Phase 3: time from the first packet to an encrypted direct spoke-to-spoke path (seed 003)"; node "$here/nhrp-convergence.mjs" 5 ike
echo; echo "### NHRP: registration storm after a hub restart (simulated spokes)"; node "$here/registration-storm.mjs" 1000 10000
echo; echo "### EIGRP: 100 simulated spokes on one hub: convergence after a spoke failure, memory per neighbor and route, updates absorbed"; node "$here/eigrp.mjs" 100 3
echo; echo "### data plane: recovery after a WASM trap (worker restarted on the same memory)"; node "$here/dataplane-recovery.mjs" 5
echo; echo "### end to end through two appliances (hub R1, spoke R2; iperf3 TCP h2 -> h1)"
: > /tmp/dmv-e2e.txt
for mode in cleartext chacha gcm; do bash "$here/e2e.sh" $mode | tee -a /tmp/dmv-e2e.txt; done
echo; echo "### ESP in UDP (NAT-T): UDP GSO/GRO off, each alone, both (same run, medians)"; bash "$here/udp-offload-compare.sh" 3
echo; echo "### one SA pair, 2 workers, 4 TCP streams (ChaCha20): packets per worker (the TUN steering program spreads the spoke's encryption; the hub decrypts the one SA on one worker)"
E2E_WORKERS=2 E2E_STREAMS=4 E2E_UDP=0 E2E_TCP_RUNS=1 E2E_PREFIX=dmvsteer bash "$here/e2e.sh" chacha 2>&1 | grep -E "^(dmvpn chacha (mGRE tcp|cpu)|r[12] workers|Worker| *[0-9]+ )"
base="$here/../../shared/bench/wireguard-go-baseline.sh"
sw="$here/../../shared/bench/strongswan-libipsec-baseline.sh"
: > /tmp/dmv-sw.txt
if [ -f "$sw" ]; then
  command -v charon >/dev/null || ls /usr/lib/ipsec/charon >/dev/null 2>&1 || { apt-get install -y -qq strongswan-charon strongswan-swanctl libcharon-extra-plugins >/dev/null 2>&1; }
  echo; echo "### baseline in the same run: strongSwan userspace ESP (kernel-libipsec)"; bash "$sw" 2>&1 | grep -E "Gbit/s|FAIL" | tee /tmp/dmv-sw.txt
fi
if [ -f "$base" ]; then
  echo; echo "### baseline in the same run: wireguard-go and plain veth"; bash "$base" | tee /tmp/dmv-wg.txt
  python3 - <<'PY'
import re
def avg(path, key):
    v=[float(m.group(1)) for l in open(path) for m in [re.search(key+r'.*?([0-9.]+)\s*$', l)] if m]
    return sum(v)/len(v) if v else 0
wg=avg('/tmp/dmv-wg.txt','wg-go tcp Gbit/s'); veth=avg('/tmp/dmv-wg.txt','veth plain tcp Gbit/s'); sw=avg('/tmp/dmv-sw.txt','tcp Gbit/s')
for mode in ('cleartext', 'chacha', 'gcm'):
    ours=avg('/tmp/dmv-e2e.txt', f'dmvpn {mode} mGRE tcp Gbit/s')
    line=f"dmvpn {mode:9s} {ours:.2f} Gbit/s"
    if wg: line+=f"  = {ours/wg:.2f}x wireguard-go ({wg:.2f})"
    if sw: line+=f"  = {ours/sw:.2f}x strongSwan-libipsec ({sw:.2f})"
    if veth: line+=f"  = {ours/veth:.3f}x plain veth ({veth:.2f})"
    print(line)
PY
else
  echo "(no ../shared/bench baseline scripts here: baselines skipped)"
fi
echo; echo "### baseline in the same run: 64-byte UDP no-drop rate through wireguard-go (two routers, as ours)"
bash "$here/wg-ndr.sh" | tee /tmp/dmv-wg-ndr.txt
python3 - <<'PY'
import re
def rate(path, key):
    for l in open(path):
        m = re.search(re.escape(key) + r' udp 64B no-drop rate: (\d+) pps', l)
        if m: return int(m.group(1))
    return 0
wg = max(rate('/tmp/dmv-wg-ndr.txt', 'wireguard-go h1->h2'), rate('/tmp/dmv-wg-ndr.txt', 'wireguard-go h2->h1'))
for mode in ('cleartext', 'chacha', 'gcm'):
    for way in ('spoke->hub', 'hub->spoke'):
        ours = rate('/tmp/dmv-e2e.txt', f'dmvpn {mode} {way}')
        if ours: print(f"dmvpn {mode:9s} {way:10s} no-drop {ours} pps" + (f"  = {ours/wg:.2f}x wireguard-go's better direction ({wg} pps)" if wg else ''))
for mode in ('cleartext', 'chacha', 'gcm'):
    v = [float(m.group(1)) for l in open('/tmp/dmv-e2e.txt') for m in [re.search(f'dmvpn {mode} cpu s per Gbit: ([0-9.]+)', l)] if m]
    if v: print(f"dmvpn {mode:9s} CPU time per Gbit through both appliances (one worker each): {sorted(v)[len(v)//2]:.2f} s (median of {len(v)})")
PY
