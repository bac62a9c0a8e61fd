#!/usr/bin/env bash
# Installs the Debian packages of a list (one per line, '#' comments) that are
# not installed yet.   scripts/deps/install.sh LIST [LABEL]
set -uo pipefail
list=$1 label=${2:-setup}
need=()
while read -r pkg; do
  pkg=${pkg%%#*}; pkg=${pkg// /}
  [ -n "$pkg" ] || continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done < "$list"
[ ${#need[@]} -gt 0 ] || exit 0
echo "$label: installing Debian packages: ${need[*]}" >&2
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
