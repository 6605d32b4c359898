#!/usr/bin/env bash
# build-image.sh — builds (or reuses) the VM image for the FRR interop tests.
# Adapted from the team's reference lab (../shared/lab/02-build-rootfs.sh): a Debian bookworm
# minbase rootfs with FRR (zebra, nhrpd), strongSwan (charon, swanctl; interop-ipsec's hub) and
# qemu-guest-agent, a few kernel modules of the host's
# Debian kernel (the VM boots that kernel with a tiny busybox initramfs built here: Debian's
# initrd takes ~20 s longer under TCG), and /sbin/vm-init
# as PID 1. vm-init only brings up the guest agent; the test configures everything else (addresses,
# GRE tunnels, frr.conf) through the agent, so the image does not depend on the test's topology.
#
#   build-image.sh            prints the path of a directory holding dmvpn.img, vmlinux, initrd, kver
#
# Cached in $CACHE/<hash of this script + kernel version>/ (default /var/cache/dmvpn-interop):
# a second run reuses it. Its build tools come from the project's one package list (deps/install.sh:
# installs what is missing when root, else stops naming it).
set -euo pipefail
CACHE=${DMVPN_INTEROP_CACHE:-/var/cache/dmvpn-interop}
"$(dirname "$0")/../../deps/install.sh" test >&2
K=$(ls /lib/modules | sort -V | grep -- '-amd64$' | tail -1)
[ -n "$K" ] && [ -e "/boot/vmlinuz-$K" ] || { echo "no Debian kernel in /boot" >&2; exit 1; }
KEY=$( { cat "$0"; echo "$K"; } | sha256sum | cut -c1-16)
OUT=$CACHE/$KEY
if [ -s "$OUT/dmvpn.img" ] && [ -s "$OUT/vmlinux" ] && [ -e "$OUT/done" ]; then echo "$OUT"; exit 0; fi
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"; flock 9             # one builder at a time
if [ -e "$OUT/done" ]; then echo "$OUT"; exit 0; fi
rm -rf "$OUT" "$CACHE/build-$KEY"; B=$CACHE/build-$KEY; ROOT=$B/rootfs; mkdir -p "$B"
MIRROR=${MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)}
[ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian

# strongSwan: charon with the kernel-netlink (xfrm) backend, swanctl; the standard plugins bring openssl
PKGS=kmod,netbase,qemu-guest-agent,iproute2,iputils-ping,tcpdump,procps,nftables,frr
PKGS=$PKGS,strongswan-charon,strongswan-swanctl,libstrongswan-standard-plugins
T0=$SECONDS
debootstrap --variant=minbase --include="$PKGS" bookworm "$ROOT" "$MIRROR" > "$B/debootstrap.log" 2>&1 \
  || { tail -30 "$B/debootstrap.log" >&2; exit 1; }
echo "debootstrap: $((SECONDS-T0)) s" >&2

# kernel modules the guest needs after the initrd (virtio_blk/ext4 come from the host's initrd);
# from esp4 on: kernel ESP (xfrm) with AES-CBC + HMAC-SHA-1/256 (authenc, echainiv), AES-GCM and
# ChaCha20-Poly1305 (seqiv), which the kernel loads by alias (crypto-...) when charon installs an SA;
# the IV generators need the default RNG (drbg; jitterentropy_rng may not load under TCG): without it every SA add
# fails with ENOENT ("Kernel was unable to initialize cryptographic operations")
mkdir -p "$ROOT/lib/modules/$K"
for m in virtio_net virtio_console ip_gre gre nf_tables nft_log nfnetlink_log nft_limit nf_log_syslog af_packet \
         esp4 xfrm_user authenc echainiv seqiv gcm ghash_generic ghash_clmulni_intel aesni_intel sha1_ssse3 \
         sha256_ssse3 ctr chacha20poly1305 chacha_generic poly1305_generic drbg jitterentropy_rng; do
  modprobe -S "$K" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}' | while read -r ko; do
    rel=${ko#/lib/modules/$K/}; mkdir -p "$ROOT/lib/modules/$K/$(dirname "$rel")"; cp "$ko" "$ROOT/lib/modules/$K/$rel"
  done
done
cp /lib/modules/"$K"/modules.{order,builtin} "$ROOT/lib/modules/$K/" 2>/dev/null || true
cp /lib/modules/"$K"/modules.builtin.modinfo "$ROOT/lib/modules/$K/" 2>/dev/null || true
depmod -b "$ROOT" "$K"
rm -rf "$ROOT"/usr/share/{doc,man,info,locale}/* "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
echo dmvpn-interop > "$ROOT/etc/hostname"

cat > "$ROOT/sbin/vm-init" <<'EOI'
#!/bin/sh
# PID 1 of the interop VM: mounts, loads modules, starts qemu-ga on the virtio port
# org.qemu.guest_agent.0, prints VM-READY on the serial console; the host does the rest.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys  || mount -t sysfs sys /sys
mountpoint -q /dev  || mount -t devtmpfs dev /dev
mountpoint -q /run  || mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/frr /var/log/frr; chown frr:frr /run/frr /var/log/frr
for m in virtio_net virtio_console ip_gre af_packet nf_tables nft_log nfnetlink_log nft_limit; do modprobe $m 2>/dev/null; done
ip link set lo up
for i in $(seq 100); do
  for f in /sys/class/virtio-ports/*/name; do
    [ "$(cat "$f" 2>/dev/null)" = org.qemu.guest_agent.0 ] && QGADEV=/dev/$(basename "$(dirname "$f")")
  done
  [ -n "${QGADEV:-}" ] && [ -e "$QGADEV" ] && break; sleep 0.1
done
qemu-ga -m virtio-serial -p "$QGADEV" -d -l /var/log/qemu-ga.log && echo "QGA_STARTED $QGADEV"
echo "VM-READY $(cut -d' ' -f1 /proc/uptime)"
exec sh -c 'while :; do sleep 3600; done'
EOI
chmod +x "$ROOT/sbin/vm-init"

SZ=$(( $(du -sm "$ROOT" | cut -f1) + 200 ))
mkfs.ext4 -q -L dmvpnroot -d "$ROOT" "$B/dmvpn.img" "${SZ}M" >&2
# uncompressed vmlinux: under TCG, booting its PVH entry skips real-mode setup + xz (~3 s per boot)
python3 - "/boot/vmlinuz-$K" "$B/vmlinux" <<'PY'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')            # Debian bookworm kernels are xz-compressed
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor().decompress(d[i:]))
PY
# tiny initramfs: busybox, the modules to mount the root disk, switch_root to /sbin/vm-init
I=$B/initramfs; mkdir -p "$I"/{bin,dev,proc,sys,root,mods}
cp /bin/busybox "$I/bin/busybox"; for a in sh mount umount insmod switch_root sleep seq cat echo; do ln -s busybox "$I/bin/$a"; done
: > "$I/mods/order"
for m in virtio_pci virtio_blk ext4; do
  modprobe -S "$K" --show-depends "$m" | awk '$1=="insmod"{print $2}' | while read -r ko; do
    b=$(basename "$ko"); [ -e "$I/mods/$b" ] && continue; cp "$ko" "$I/mods/$b"; echo "$b" >> "$I/mods/order"
  done
done
cat > "$I/init" <<'EOI'
#!/bin/sh
mount -t devtmpfs dev /dev; mount -t proc proc /proc; mount -t sysfs sys /sys
for m in $(cat /mods/order); do insmod /mods/$m 2>/dev/null; done
for i in $(seq 200); do [ -e /dev/vda ] && break; sleep 0.05; done
mount -t ext4 -o rw /dev/vda /root || { echo "initramfs: cannot mount /dev/vda"; exec sh; }
umount /proc /sys; mount --move /dev /root/dev 2>/dev/null || umount /dev
exec switch_root /root /sbin/vm-init
EOI
chmod +x "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) > "$B/initrd"; rm -rf "$I"
echo "$K" > "$B/kver"
rm -rf "$ROOT"; mkdir -p "$OUT"; mv "$B"/dmvpn.img "$B"/vmlinux "$B"/initrd "$B"/kver "$B"/debootstrap.log "$OUT"/; rm -rf "$B"
touch "$OUT/done"
for d in "$CACHE"/*/; do [ "${d%/}" = "$OUT" ] || rm -rf "${d%/}"; done   # images of older script versions
echo "image built in $((SECONDS-T0)) s: $OUT" >&2
echo "$OUT"
