#!/usr/bin/env bash
# firmware-key.sh KEY PUB [dev]: makes sure PUB, the Ed25519 public key (PEM) built into the image
# (/etc/dmvpn-firmware.pub, which verifies firmware bundles), exists.
#   PUB exists: kept (a vendor build gives only its public key: FIRMWARE_PUBKEY=vendor.pub).
#   KEY exists: PUB is derived from it.
#   neither, and "dev": a development key pair is generated (openssl), with a warning; never committed
#   (it lives in the image cache, outside the clone). Without "dev" a missing key stops the build.
set -euo pipefail
KEY=$1 PUB=$2 DEV=${3:-}
[ -s "$PUB" ] && exit 0
# clones building at once share the development key: one of them makes it, the others wait and use it
mkdir -p "$(dirname "$PUB")"; exec 8>"$PUB.lock"; flock 8
[ -s "$PUB" ] && exit 0
if [ ! -s "$KEY" ]; then
  [ "$DEV" = dev ] || { echo "firmware-key.sh: no firmware key $KEY (nor public key $PUB)" >&2; exit 1; }
  mkdir -p "$(dirname "$KEY")"
  (umask 077; openssl genpkey -algorithm ed25519 -out "$KEY.tmp.$$" && mv "$KEY.tmp.$$" "$KEY")
  echo "firmware-key.sh: generated a DEVELOPMENT firmware signing key $KEY: images built now trust it; a product build uses the vendor's key (docs/image.md)" >&2
fi
openssl pkey -in "$KEY" -pubout -out "$PUB.tmp.$$" && mv "$PUB.tmp.$$" "$PUB"
