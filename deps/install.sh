#!/usr/bin/env bash
# Installs the Debian packages of deps/debian-packages.txt that the given groups need and that are not
# installed yet. Idempotent: it checks first (dpkg-query) and runs apt-get only for what is missing, so
# a second run installs nothing. Not root and something missing: stops at once, naming the packages.
#   deps/install.sh GROUP...    GROUP: build, lab, test (e.g. `make lab` runs `install.sh build lab`)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list=$here/debian-packages.txt
(($#)) || { echo "usage: $0 build|lab|test..." >&2; exit 2; }

# packages whose third column names one of the groups asked for
mapfile -t wanted < <(awk -v groups=" $* " '
  /^[[:space:]]*(#|$)/ { next }
  { for (i = 3; i <= NF; i++) if (index(groups, " " $i " ")) { print $1; break } }' "$list")

installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
missing() { local p; for p in "${wanted[@]}"; do installed "$p" || echo "$p"; done; }

if ! command -v dpkg-query >/dev/null; then
  echo "deps: not a Debian system (no dpkg-query): install the equivalents of ${wanted[*]} yourself" >&2
  exit 1
fi
mapfile -t need < <(missing)
if ((${#need[@]} == 0)); then
  echo "deps: the ${#wanted[@]} Debian packages for $* are installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing Debian packages: ${need[*]}" >&2
  echo "deps: as root run \`make deps\` (or: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${need[@]}"
mapfile -t still < <(missing)
if ((${#still[@]})); then echo "deps: still missing after apt-get install: ${still[*]}" >&2; exit 1; fi
echo "deps: installed ${need[*]}"
