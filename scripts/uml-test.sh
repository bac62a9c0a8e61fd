#!/usr/bin/env bash
# The cgroup v2 test lane: boots User-mode Linux with the host's files as its root
# (hostfs), a pure cgroup2 hierarchy, and runs `bun test` on the given paths
# (default: test/cgroups) inside it with BERTH_CGROUP_LANE=v2. Prints bun's output
# and exits with its exit code.
#   scripts/uml-test.sh [TEST PATHS...]
# Environment: BERTH_UML_TIMEOUT (seconds, default 1200), BERTH_UML_MEM (default 1G).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$PWD
uml=$(command -v linux.uml || true)
if [ -z "$uml" ]; then
  echo "uml-test: linux.uml not found (install the Debian package user-mode-linux)" >&2
  echo " 0 pass"; echo " 1 fail"
  exit 1
fi
[ $# -gt 0 ] || set -- test/cgroups

dir=$(mktemp -d "${TMPDIR:-/tmp}/berth-uml.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

args=$(printf '%q ' "$@")
{
  printf 'REPO=%q\n' "$repo"
  printf 'ARGS=%q\n' "$args"
} > "$dir/env"

timeout_s=${BERTH_UML_TIMEOUT:-1200}
# UML keeps its memory in a file under TMPDIR; its own console goes to a log
TMPDIR="$dir" timeout -k 10 "$timeout_s" "$uml" mem="${BERTH_UML_MEM:-1G}" root=/dev/root rootfstype=hostfs rootflags=/ rw \
  init="$repo/scripts/uml/init.sh" con=null con0=fd:0,fd:1 loglevel=3 BERTH_UML_DIR="$dir" \
  < /dev/null > "$dir/console" 2>&1 &
pid=$!
wait "$pid"
urc=$?
pid=

[ -f "$dir/output" ] && tr -d '\r' < "$dir/output"
rc=$(tr -dc '0-9' < "$dir/rc" 2>/dev/null || true)
if [ -z "$rc" ]; then
  if [ "$urc" -eq 124 ] || [ "$urc" -eq 137 ]; then
    echo "uml-test: the guest did not finish within ${timeout_s}s (killed)"
  else
    echo "uml-test: the guest ended (status $urc) without reporting a result; its console:"
  fi
  tail -n 40 "$dir/console" | tr -d '\r'
  # make the failure count for scripts/test.sh when bun printed no summary
  grep -Eq '^ *[0-9]+ fail' "$dir/output" 2>/dev/null || echo " 1 fail"
  exit 1
fi
exit "$rc"
