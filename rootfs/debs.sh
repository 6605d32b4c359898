#!/usr/bin/env bash
# debs.sh DEBARCH DIR PACKAGE...: downloads the Debian bookworm .debs of PACKAGE... for DEBARCH
# (amd64, arm64) into DIR, with a private apt state under DIR/../apt-DEBARCH so the host's apt
# configuration is never touched (no `dpkg --add-architecture`). Signatures are checked by apt with
# the host's Debian archive keyring. Nothing is installed or run: the image build unpacks them with
# dpkg-deb -x. A metapackage (linux-image-arm64) is resolved to the versioned package it depends on.
# Prints "package version" lines (the manifest) on stdout.
set -euo pipefail
ARCH=$1 DIR=$2; shift 2
APT=$(dirname "$DIR")/apt-$ARCH
mkdir -p "$DIR" "$APT"/{lists/partial,cache/archives/partial,etc}
cat > "$APT/etc/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
SRC
: > "$APT/etc/status"
opts=(-o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH" -o "Dir::Etc::SourceList=$APT/etc/sources.list"
      -o "Dir::Etc::SourceParts=/nonexistent" -o "Dir::State::Lists=$APT/lists" -o "Dir::State::status=$APT/etc/status"
      -o "Dir::Cache=$APT/cache" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -q)
# package lists: refreshed when older than a day (security updates), else reused
if [ -z "$(find "$APT/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  apt-get "${opts[@]}" update >&2
fi
resolved=()
for p in "$@"; do
  case $p in
    linux-image-amd64|linux-image-arm64)   # metapackage -> linux-image-6.1.0-N-ARCH
      dep=$(apt-cache "${opts[@]}" depends "$p" | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
      [ -n "$dep" ] || { echo "debs.sh: cannot resolve $p" >&2; exit 1; }
      resolved+=("$dep");;
    *) resolved+=("$p");;
  esac
done
# one apt-cache run for every candidate version (each run parses all of bookworm's package lists)
declare -A cand
while read -r p v; do cand[$p]=$v; done < <(apt-cache "${opts[@]}" policy "${resolved[@]}" | awk '/^[^ ].*:$/{p=substr($1, 1, length($1)-1); sub(/:'"$ARCH"'$/, "", p)} /Candidate:/{print p, $2}')
for p in "${resolved[@]}"; do
  v=${cand[$p]:-}
  [ -n "$v" ] && [ "$v" != "(none)" ] || { echo "debs.sh: no $p for $ARCH" >&2; exit 1; }
  f=$(ls "$DIR/${p}_"*"_${ARCH}.deb" "$DIR/${p}_"*"_all.deb" 2>/dev/null | grep -F "_${v/:/%3a}_" | head -1 || true)
  if [ -z "$f" ]; then (cd "$DIR" && apt-get "${opts[@]}" download "$p=$v" >&2); fi
  echo "$p $v"
done
