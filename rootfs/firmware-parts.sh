#!/usr/bin/env bash
# firmware-parts.sh IMAGE OUTDIR [SLOT]: one slot's parts out of a built image, for a firmware bundle
# (`make firmware`): OUTDIR/root.sqfs (the slot's partition up to the squashfs's bytes_used, rounded
# up to 4 KiB as mksquashfs pads it), OUTDIR/vmlinuz and OUTDIR/initrd.img (mtools on the boot
# partition at its offset: no loop device, no mount). SLOT: A (default) or B.
set -euo pipefail
IMG=$1 OUT=$2 SLOT=${3:-A}
source "$(dirname "$0")/layout.sh"
mkdir -p "$OUT"
case $SLOT in A) PART_MIB=$((1 + BOOT_MIB));; B) PART_MIB=$((1 + BOOT_MIB + SLOT_MIB));; *) echo "firmware-parts.sh: SLOT must be A or B" >&2; exit 2;; esac
# squashfs superblock: magic "hsqs" at 0, bytes_used (u64 little-endian) at 40
OFF=$((PART_MIB << 20))
[ "$(od -An -c -N 4 -j $OFF "$IMG" | tr -d ' ')" = hsqs ] || { echo "firmware-parts.sh: slot $SLOT of $IMG holds no squashfs" >&2; exit 1; }
USED=$(od -An -t u8 -N 8 -j $((OFF + 40)) "$IMG" | tr -d ' ')
SIZE=$(( (USED + 4095) / 4096 * 4096 ))
dd if="$IMG" of="$OUT/root.sqfs" bs=1M skip=$PART_MIB count=$(( (SIZE + (1 << 20) - 1) >> 20 )) status=none
truncate -s "$SIZE" "$OUT/root.sqfs"
export MTOOLS_SKIP_CHECK=1
rm -f "$OUT/vmlinuz" "$OUT/initrd.img"
mcopy -i "$IMG@@1M" "::/$SLOT/vmlinuz" "$OUT/vmlinuz"
mcopy -i "$IMG@@1M" "::/$SLOT/initrd.img" "$OUT/initrd.img"
