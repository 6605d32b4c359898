#!/usr/bin/env bash
# set-config.sh [--debug-shell] [--provisioning FILE] IMAGE STARTUP-CONFIG: provisions an image before it
# is flashed (or booted in a test): a fresh persistent partition (partition 4, ext4 dmvpn-data) holding
# STARTUP-CONFIG as /startup-config is written into IMAGE in place. Anything else that partition held
# is replaced (STARTUP-CONFIG '-': none, the factory default). --debug-shell (boot tests only) also writes /debug-shell: init then runs a root shell
# on the virtio console /dev/hvc0. --provisioning FILE writes FILE as /provisioning (0600): a factory
# box (no startup-config) enrolls with the hub it names (docs/image.md "Factory provisioning").
set -euo pipefail
DEBUG_SHELL= PROVISIONING=
while :; do
  case ${1:-} in
    --debug-shell) DEBUG_SHELL=1; shift ;;
    --provisioning) PROVISIONING=${2:?set-config.sh: --provisioning needs a file}; shift 2 ;;
    *) break ;;
  esac
done
IMG=$1 CFG=$2
source "$(dirname "$0")/layout.sh"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/data/keys" "$T/data/state"; [ "$CFG" = - ] || cp "$CFG" "$T/data/startup-config"   # -: factory default
[ -z "$PROVISIONING" ] || install -m 600 "$PROVISIONING" "$T/data/provisioning"
[ -z "$DEBUG_SHELL" ] || echo "boot tests: root shell on /dev/hvc0" > "$T/data/debug-shell"
mkfs.ext4 -q -F -L "$DATA_LABEL" -d "$T/data" "$T/data.ext4" "${DATA_MIB}M"
start=$(sfdisk -J "$IMG" | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"]; print(p[3]["start"])')
[ $((start * 512)) -eq $(( (1 + BOOT_MIB + 2 * SLOT_MIB) << 20 )) ] || { echo "set-config.sh: $IMG does not have the expected layout" >&2; exit 1; }
dd if="$T/data.ext4" of="$IMG" bs=1M seek=$(( (1 + BOOT_MIB + 2 * SLOT_MIB) )) conv=notrunc,sparse status=none
