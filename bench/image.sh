#!/usr/bin/env bash
# `make bench` image figures: the raw image, one slot as shipped (root squashfs, kernel, initramfs;
# read from the image itself: the squashfs superblock's bytes_used and the boot partition's files),
# and the x86_64 boot under qemu TCG broken down by the console lines each stage prints (the boot
# test test/image.test.ts measures them on its one boot, with a hub to register with).
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$here/..
cd "$root"
mb() { awk -v b="$1" 'BEGIN{printf "%.2f MB", b/1e6}'; }
for arch in x86_64 aarch64; do
  make --no-print-directory image ARCH=$arch >/tmp/dmv-bench-image-$arch.log 2>&1 || { echo "$arch: make image failed (/tmp/dmv-bench-image-$arch.log)"; continue; }
  img=build/image/dmvpn-$arch.img
  start() { sfdisk -J "$img" | python3 -c "import json,sys; print(json.load(sys.stdin)['partitiontable']['partitions'][$1]['start'])"; }
  boot=$(( $(start 0) * 512 )); slotA=$(( $(start 1) * 512 ))
  sq=$(od -An -t u8 -j $((slotA + 40)) -N 8 "$img" | tr -d ' ')
  file() { MTOOLS_SKIP_CHECK=1 mcopy -i "$img@@$boot" "::/A/$1" - | wc -c; }
  k=$(file vmlinuz); i=$(file initrd.img)
  # FRR's share of the root filesystem (uncompressed): daemons, vtysh, libfrr, YANG models and the
  # libraries only FRR needs (rootfs/build.sh ROOTPKGS)
  frr=$(unsquashfs -o "$slotA" -lls "$img" 2>/dev/null | awk '$1 ~ /^-/ && $6 ~ /usr\/lib\/frr\/|usr\/bin\/vtysh|\/frr\/lib|usr\/share\/yang\/|\/lib(yang|pcre2-8|json-c|readline|tinfo|pam|pam_misc|audit|cap-ng|crypt)\.so/ {b += $3} END {print b + 0}')
  echo "$arch: raw image $(mb "$(stat -c %s "$img")") ($(du -m "$img" | cut -f1) MiB allocated); slot A as shipped $(mb $((sq + k + i))):" \
    "root squashfs $(mb "$sq"), kernel $(mb "$k"), initramfs $(mb "$i"); FRR in the root $(mb "$frr") uncompressed"
done
echo "x86_64 boot under TCG, and a 4 MiB TCP download through the VM's tunnel (one boot of test/image.test.ts; other load on this machine shows in these figures):"
node_modules/.bin/tap --reporter=tap --allow-empty-coverage --disable-coverage --timeout=1500 test/image.test.ts 2>&1 \
  | grep -E "boot timeline|UEFI|under UEFI|timer fires|arrive intact|merged GRE|not ok" | sed 's/^ *# */  /; s/^ *ok [0-9]* - /  /'
