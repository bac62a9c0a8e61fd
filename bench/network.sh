#!/bin/bash
# The cost of a network for `run --rm IMAGE true`: berth with --network none,
# berth on its default bridge, and Podman on its default network when podman is
# installed, interleaved, N runs each (default 10). Everything runs inside a
# private network namespace (unshare --net): the bridges, veths and iptables
# rules die with it, and the host's network is not touched. Podman gets a
# storage of its own in a temp dir, with the engine's busybox loaded into it.
# Usage: bash bench/network.sh [N]   (root; dist/berth built)
set -euo pipefail
N=${1:-10}
REPO=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/berth-netbench-XXXXXX)
done_() {
  command -v podman >/dev/null && podman --root "$TMP/p/root" --runroot "$TMP/p/run" rmi -af >/dev/null 2>&1 || true
  for m in $(grep -o "${TMP}[^ ]*" /proc/self/mounts | sort -r); do umount -l "$m"; done
  rm -rf "$TMP"
}
trap done_ EXIT
export BERTH_ENGINE_ROOT=$TMP/berth
unset BERTH_DEFAULT_NETWORK BERTH_ENGINE_RUNROOT
unshare --net -- bash -s "$N" "$REPO/dist/berth" "$TMP" <<'INNER'
set -euo pipefail
N=$1 B=$2 TMP=$3
ip link set lo up
P=()
if command -v podman >/dev/null; then
  P=(podman --root "$TMP/p/root" --runroot "$TMP/p/run" --cgroup-manager cgroupfs --events-backend none --runtime runc)
  "$B" save berth/busybox | "${P[@]}" load -q >/dev/null
fi
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
# warm-up: the image is unpacked, the bridges made
"$B" run --rm --network none berth/busybox true; "$B" run --rm berth/busybox true
[ ${#P[@]} -gt 0 ] && "${P[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 docker.io/berth/busybox true >/dev/null
declare -A all
for i in $(seq "$N"); do
  all[none]+=" $(ms "$B" run --rm --network none berth/busybox true)"
  all[bridge]+=" $(ms "$B" run --rm berth/busybox true)"
  [ ${#P[@]} -gt 0 ] && all[podman]+=" $(ms "${P[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 docker.io/berth/busybox true)"
done
for k in none bridge podman; do
  [ -n "${all[$k]:-}" ] || continue
  echo "$k: median $(echo ${all[$k]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') ms (runs:${all[$k]})"
done
echo "trace of one run on the bridge:"
BERTH_TRACE=1 "$B" run --rm berth/busybox true 2>&1 | grep -E 'trace' | sed 's/^/  /'
INNER
