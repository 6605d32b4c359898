#!/usr/bin/env bash
# build.sh ARCH NATIVE_ADDON OUT.img: the appliance's raw disk image (docs/image.md has the layout).
#   ARCH          x86_64 | aarch64
#   NATIVE_ADDON  dmvpn_io.node built for ARCH (the Makefile builds or cross-builds it)
# Inputs: Debian bookworm .debs for the target (rootfs/debs.sh, unpacked with dpkg-deb -x: nothing of
# the target runs here), the official Node binary from npm (rootfs/node.sh, pinned and integrity
# checked), our bundles dist/*.mjs, wasm/build/*.wasm, the addon, and the files under rootfs/.
# The image is cached in $DMVPN_IMAGE_CACHE (default ~/.cache/dmvpn-image) under a hash of every
# input: an unchanged rebuild is a copy. No loop device, no mount: partitions are built as files
# (mksquashfs, mkfs.vfat + mtools, mkfs.ext4 -d) and written into the image at their offsets.
set -euo pipefail
ARCH=$1 ADDON=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd); SRC=$(dirname "$HERE")
CACHE=${DMVPN_IMAGE_CACHE:-$HOME/.cache/dmvpn-image}
source "$HERE/layout.sh"
case $ARCH in
  x86_64)  DEBARCH=amd64 TRIPLET=x86_64-linux-gnu CONSOLE=ttyS0 ;;
  aarch64) DEBARCH=arm64 TRIPLET=aarch64-linux-gnu CONSOLE=ttyAMA0 ;;
  *) echo "build.sh: ARCH must be x86_64 or aarch64" >&2; exit 2 ;;
esac
GRUBPKGS="grub-efi-$DEBARCH-bin"; [ "$ARCH" = x86_64 ] && GRUBPKGS="grub-pc-bin $GRUBPKGS"
# what the root filesystem holds from Debian (libc and the C++ runtime for node; iproute2 for the
# supervisor's `ip -j`, with its libraries; busybox for the shell, mount, udhcpc, sysctl; FRR's
# zebra, ospfd, bgpd, staticd, watchfrr and vtysh for routing over the overlay, with their libraries:
# apt does not resolve dependencies here, so the list is explicit and the build checks below that
# every library a program of the tree needs is in it)
ROOTPKGS="busybox-static libc6 libstdc++6 libgcc-s1 iproute2 libbpf1 libelf1 libmnl0 libbsd0 libcap2 zlib1g libmd0
 frr libjson-c5 libyang2 libpcre2-8-0 libcrypt1 libreadline8 libtinfo6 libpam0g libaudit1 libcap-ng0"
FRR_DAEMONS="zebra ospfd bgpd staticd watchfrr"
PKGS="linux-image-$DEBARCH $ROOTPKGS"
T0=$SECONDS
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock-$ARCH"; flock 9                      # one builder per architecture at a time

MANIFEST=$("$HERE/debs.sh" "$DEBARCH" "$CACHE/debs-$DEBARCH" $PKGS $GRUBPKGS)
NODE_TGZ=$("$HERE/node.sh" "$ARCH" "$CACHE/npm")
APP_FILES=("$SRC"/dist/{dmvpnd,watchdog,worker,dmvpnctl,console}.mjs "$SRC"/wasm/build/dataplane.wasm "$SRC"/wasm/build/crypto.wasm)
# the firmware updater's public key (Makefile: FIRMWARE_PUBKEY, a development key unless a vendor's is given)
FWPUB=${DMVPN_FIRMWARE_PUBKEY:?build.sh: DMVPN_FIRMWARE_PUBKEY (the firmware public key, PEM) is required}
KEY=$( { echo "$ARCH"; echo "$MANIFEST"; sha256sum "$NODE_TGZ" "$ADDON" "${APP_FILES[@]}" "$FWPUB" "$HERE"/*.sh "$HERE"/files/* | cut -c1-64; } | sha256sum | cut -c1-16)
CACHED=$CACHE/img-$ARCH-$KEY.img
# the root filesystem alone (the slow part: xz over the Node binary) has its own, narrower key
ROOTKEY=$( { echo "$ARCH"; echo "$MANIFEST"; sha256sum "$NODE_TGZ" "$ADDON" "${APP_FILES[@]}" "$HERE"/build.sh "$FWPUB" "$HERE"/files/{init,udhcpc.script,busybox-applets,frr-vtysh.conf,debug-shell,find-provisioning,watch-provisioning,firmware-version} | cut -c1-64; } | sha256sum | cut -c1-16)
SQFS=$CACHE/root-$ARCH-$ROOTKEY.sqfs
if [ -s "$CACHED" ]; then
  mkdir -p "$(dirname "$OUT")"; cp --sparse=always "$CACHED" "$OUT"
  echo "image: $OUT (cached $KEY, $((SECONDS-T0)) s)" >&2; exit 0
fi

B=$CACHE/build-$ARCH; rm -rf "$B"; mkdir -p "$B"
R=$B/root; D=$B/debs; mkdir -p "$R" "$D"
deb() { ls "$CACHE/debs-$DEBARCH/${1}_"*.deb | head -1; }
# ---- Debian packages: unpacked (kernel and grub separately, the rest into a staging tree) --------
for p in $ROOTPKGS; do
  dpkg-deb -x "$(deb "$p")" "$D"
done
KPKG=$(echo "$MANIFEST" | awk '/^linux-image-[0-9]/{print $1}'); KVER=${KPKG#linux-image-}
K=$B/kernel; dpkg-deb -x "$(deb "$KPKG")" "$K"
depmod -b "$K" "$KVER"                                     # the .deb ships no modules.dep (postinst makes it)
for p in $GRUBPKGS; do dpkg-deb -x "$(deb "$p")" "$B/grub"; done

# ---- root filesystem (read-only squashfs, one per slot) ------------------------------------------
if [ ! -s "$SQFS" ]; then
mkdir -p "$R"/{usr/bin,usr/sbin,usr/lib,dev,proc,sys,run,tmp,var,data,boot,etc,opt/dmvpn,root}
for d in bin sbin lib; do ln -s "usr/$d" "$R/$d"; done     # merged /usr, as Debian 12
[ "$ARCH" = x86_64 ] && ln -s usr/lib64 "$R/lib64" && mkdir -p "$R/usr/lib64" \
  && ln -s "../lib/$TRIPLET/ld-linux-x86-64.so.2" "$R/usr/lib64/ld-linux-x86-64.so.2"
[ "$ARCH" = aarch64 ] && ln -s "$TRIPLET/ld-linux-aarch64.so.1" "$R/usr/lib/ld-linux-aarch64.so.1"
mkdir -p "$R/usr/lib/$TRIPLET"
cp -a "$D/lib/$TRIPLET"/. "$D/usr/lib/$TRIPLET"/. "$R/usr/lib/$TRIPLET/"
rm -rf "$R/usr/lib/$TRIPLET"/{gconv,audit} "$R/usr/lib/$TRIPLET"/libBrokenLocale* "$R/usr/lib/$TRIPLET"/libmemusage*
cp "$D/bin/busybox" "$R/usr/bin/busybox"
cp "$D/bin/ip" "$R/usr/sbin/ip"
# FRR: the daemons the routing layer runs (appliance/routing/frr/), vtysh, libfrr (found through the
# binaries' RUNPATH /usr/lib/TRIPLET/frr, copied above), the YANG models. Its user and groups are
# those the Debian package creates (the daemons drop to frr:frr, vtysh's sockets are group frrvty);
# /etc/frr and /var/run/frr are on tmpfs at run time (init), /etc/frr's defaults are kept read-only.
mkdir -p "$R/usr/lib/frr" "$R/usr/share/frr-etc"
for d in $FRR_DAEMONS; do cp "$D/usr/lib/frr/$d" "$R/usr/lib/frr/"; done
cp "$D/usr/bin/vtysh" "$R/usr/bin/vtysh"
cp -a "$D/usr/share/yang" "$R/usr/share/yang"
install -m 644 "$HERE/files/frr-vtysh.conf" "$R/usr/share/frr-etc/vtysh.conf"
ln -s /run/frr-etc "$R/etc/frr"
rm -rf "$R/usr/lib/$TRIPLET/frr/modules"                   # zebra's FPM/MLAG, bgpd's BMP, pathd's PCEP: unused
for a in $(cat "$HERE/files/busybox-applets"); do [ -e "$R/usr/bin/$a" ] || ln -s busybox "$R/usr/bin/$a"; done
tar -xzf "$NODE_TGZ" -C "$B" package/bin/node; mv "$B/package/bin/node" "$R/usr/bin/node"
A=$R/opt/dmvpn
mkdir -p "$A/dist" "$A/wasm/build" "$A/appliance/native/build/Release" "$A/bin"
cp "$SRC"/dist/{dmvpnd,watchdog,worker,dmvpnctl,console}.mjs "$A/dist/"
cp "$SRC"/wasm/build/{dataplane,crypto}.wasm "$A/wasm/build/"
cp "$ADDON" "$A/appliance/native/build/Release/dmvpn_io.node"
cp "$SRC"/bin/{dmvpnd,dmvpnctl} "$A/bin/"; ln -s /opt/dmvpn/bin/dmvpnctl "$R/usr/bin/dmvpnctl"
install -m 755 "$HERE/files/init" "$R/sbin/init"
install -m 755 "$HERE/files/udhcpc.script" "$R/etc/udhcpc.script"
install -D -m 755 "$HERE/files/debug-shell" "$R/usr/lib/dmvpn/debug-shell"
install -m 755 "$HERE/files/find-provisioning" "$R/usr/lib/dmvpn/find-provisioning"
install -m 755 "$HERE/files/watch-provisioning" "$R/usr/lib/dmvpn/watch-provisioning"
# every library a program of the tree (node, ip, our addon, FRR's daemons, vtysh), or a library it
# loads, needs must be in it: no apt resolver here. readelf reads either architecture; what is not
# ELF (scripts, bundles, wasm) has no NEEDED entries.
need=($(find "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib/frr" "$A" -type f)); seen=" "
while [ ${#need[@]} -gt 0 ]; do
  f=${need[0]}; need=("${need[@]:1}")
  for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    case $seen in *" $lib "*) continue;; esac; seen="$seen$lib "
    found=$(ls "$R/usr/lib/$TRIPLET/$lib" "$R/usr/lib/$TRIPLET/frr/$lib" 2>/dev/null | head -1 || true)
    [ -n "$found" ] || { echo "build.sh: $lib (needed by ${f#$R}) is not in the root filesystem: add its package to ROOTPKGS" >&2; exit 1; }
    need+=("$found")
  done
done
printf 'root:x:0:0:root:/root:/bin/sh\nfrr:x:100:101:FRR routing:/nonexistent:/bin/false\n' > "$R/etc/passwd"
printf 'root:x:0:\nfrr:x:101:\nfrrvty:x:102:frr\n' > "$R/etc/group"
printf '127.0.0.1 localhost\n' > "$R/etc/hosts"; ln -s /run/resolv.conf "$R/etc/resolv.conf"
printf 'DMVPN appliance %s %s\n' "$ARCH" "$(cd "$SRC" && git describe --always --dirty 2>/dev/null || echo unknown)" > "$R/etc/dmvpn-release"
install -m 644 "$FWPUB" "$R/etc/dmvpn-firmware.pub"; install -m 644 "$HERE/files/firmware-version" "$R/etc/dmvpn-version"   # the updater's trust and version
echo "$MANIFEST" > "$R/etc/dmvpn-packages"; echo "node $(basename "$NODE_TGZ" .tgz)" >> "$R/etc/dmvpn-packages"
mksquashfs "$R" "$B/root.sqfs" -comp "${SQUASHFS_COMP:-xz}" -all-root -noappend -quiet -no-progress >&2
mv "$B/root.sqfs" "$SQFS"
fi
cp "$SQFS" "$B/root.sqfs"

# ---- initramfs: busybox and the modules to find and mount the slot, then switch_root -------------
I=$B/initramfs; mkdir -p "$I"/{bin,dev,proc,sys,newroot,mods}
cp "$D/bin/busybox" "$I/bin/busybox"
for a in sh mount umount insmod switch_root sleep cat echo findfs mkdir grep sed ls cut tr seq head; do ln -s busybox "$I/bin/$a"; done
: > "$I/mods/order"
for m in $(cat "$HERE/files/modules-$ARCH"); do
  modprobe -d "$K" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}' | while read -r ko; do
    b=$(basename "$ko"); [ -e "$I/mods/$b" ] && continue; cp "$ko" "$I/mods/$b"; echo "$b" >> "$I/mods/order"
  done
done
install -m 755 "$HERE/files/initramfs-init" "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -9) > "$B/initrd.img"

# ---- boot partition (FAT, the EFI system partition): GRUB, the selector, each slot's kernel ------
BOOT=$B/boot.vfat; rm -f "$BOOT"; truncate -s "${BOOT_MIB}M" "$BOOT"
mkfs.vfat -F 32 -n DMVPNBOOT "$BOOT" >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$BOOT" ::/EFI ::/EFI/BOOT ::/grub ::/A ::/B
# arm64's vmlinuz is an uncompressed Image (33 MB): gzipped for the boot partition, GRUB's gzio inflates it
VMLINUZ=$K/boot/vmlinuz-$KVER
[ "$ARCH" = aarch64 ] && gzip -9 -n -c "$VMLINUZ" > "$B/vmlinuz.gz" && VMLINUZ=$B/vmlinuz.gz
for s in A B; do      # the factory image ships the same build in both slots
  mcopy -i "$BOOT" "$VMLINUZ" "::/$s/vmlinuz"; mcopy -i "$BOOT" "$B/initrd.img" "::/$s/initrd.img"
done
sed "s/@CONSOLE@/$CONSOLE/g" "$HERE/files/grub.cfg" > "$B/grub.cfg"; mcopy -i "$BOOT" "$B/grub.cfg" ::/grub/grub.cfg
grub-editenv "$B/grubenv" create; grub-editenv "$B/grubenv" set slot=A; mcopy -i "$BOOT" "$B/grubenv" ::/grub/grubenv
mcopy -i "$BOOT" "$B/grubenv" ::/grub/grubenv2   # the second copy (grub.cfg, appliance/firmware/grubenv.ts)
GRUBMODS="part_msdos fat normal linux configfile loadenv test echo serial terminal gzio sleep"
if [ "$ARCH" = x86_64 ]; then
  grub-mkimage -d "$B/grub/usr/lib/grub/x86_64-efi" -O x86_64-efi -p /grub -o "$B/BOOTX64.EFI" $GRUBMODS efi_gop
  mcopy -i "$BOOT" "$B/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
  grub-mkimage -d "$B/grub/usr/lib/grub/i386-pc" -O i386-pc -p "(hd0,msdos1)/grub" -o "$B/core.img" biosdisk $GRUBMODS
else
  grub-mkimage -d "$B/grub/usr/lib/grub/arm64-efi" -O arm64-efi -p /grub -o "$B/BOOTAA64.EFI" $GRUBMODS
  mcopy -i "$BOOT" "$B/BOOTAA64.EFI" ::/EFI/BOOT/BOOTAA64.EFI
fi

# ---- persistent partition: startup-config, keys, state (factory: empty) --------------------------
mkdir -p "$B/data/keys" "$B/data/state"
mkfs.ext4 -q -F -L "$DATA_LABEL" -d "$B/data" "$B/data.ext4" "${DATA_MIB}M"

# ---- the disk: MBR, GRUB's BIOS stage in the gap before partition 1, partitions at their offsets --
SQ=$(stat -c %s "$B/root.sqfs"); [ "$SQ" -le $((SLOT_MIB << 20)) ] || { echo "root.sqfs ($SQ bytes) exceeds a ${SLOT_MIB} MiB slot" >&2; exit 1; }
IMG=$B/disk.img; rm -f "$IMG"; truncate -s "$(( (1 + BOOT_MIB + 2 * SLOT_MIB + DATA_MIB) ))M" "$IMG"
sfdisk -q --no-reread --no-tell-kernel "$IMG" <<PT
label: dos
label-id: 0x444d5650
start=1MiB, size=${BOOT_MIB}MiB, type=ef, bootable
size=${SLOT_MIB}MiB, type=83
size=${SLOT_MIB}MiB, type=83
size=${DATA_MIB}MiB, type=83
PT
put() { dd if="$1" of="$IMG" bs=1M seek="$2" conv=notrunc,sparse status=none; }
put "$BOOT" 1; put "$B/root.sqfs" $((1 + BOOT_MIB)); put "$B/root.sqfs" $((1 + BOOT_MIB + SLOT_MIB))
put "$B/data.ext4" $((1 + BOOT_MIB + 2 * SLOT_MIB))
if [ "$ARCH" = x86_64 ]; then
  # boot.img's code (440 bytes, keeping the partition table) loads core.img from sector 1; grub-mkimage
  # already wrote core.img's own sector count into its first-sector block list
  CORE=$(stat -c %s "$B/core.img"); [ "$CORE" -lt $(( (1 << 20) - 512 )) ] || { echo "core.img too big" >&2; exit 1; }
  dd if="$B/grub/usr/lib/grub/i386-pc/boot.img" of="$IMG" bs=440 count=1 conv=notrunc status=none
  dd if="$B/core.img" of="$IMG" bs=512 seek=1 conv=notrunc status=none
fi
cp --sparse=always "$IMG" "$CACHED.tmp"; mv "$CACHED.tmp" "$CACHED"
for f in "$CACHE"/img-"$ARCH"-*.img "$CACHE"/root-"$ARCH"-*.sqfs; do case $f in *"$KEY"*|*"$ROOTKEY"*) ;; *) rm -f "$f";; esac; done
mkdir -p "$(dirname "$OUT")"; cp --sparse=always "$CACHED" "$OUT"
rm -rf "$B"
echo "image: $OUT (built $KEY in $((SECONDS-T0)) s; slot root.sqfs $SQ bytes)" >&2
