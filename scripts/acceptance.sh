#!/usr/bin/env bash
# The acceptance lane: unmodified containerd, Podman, Docker and containerd's
# CRI plugin (driven as the kubelet drives it) drive dist/berth
# through the harness kept beside the repository (../shared/harness). Skipped,
# with a message, where the harness is not there.
#   scripts/acceptance.sh [containerd|podman|docker|cri ...]
# Prints each client's tally line ("containerd: N passed, N failed").
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$PWD
harness=${BERTH_HARNESS:-$repo/../shared/harness}
if [ ! -d "$harness" ]; then
  echo "acceptance: no harness at $harness: skipped"
  exit 0
fi
bash scripts/deps/install.sh scripts/deps/acceptance-apt.txt acceptance || { echo "acceptance: install failed"; exit 1; }
# (cri.sh's last step checks that the runtime's root is empty: an agent's
# socket is not there, src/agent/socket.ts)
[ $# -eq 0 ] && set -- containerd podman docker cri
# BERTH_ACCEPTANCE_AGENT=1 (the agent lane): the clients run
# test/agent/with-agent.sh, which starts a warm `berth agent` for each --root
# they use before handing the call to dist/berth; the agents stop at the end
runtime=$repo/dist/berth
if [ -n "${BERTH_ACCEPTANCE_AGENT:-}" ]; then
  runtime=$repo/test/agent/with-agent.sh
  BERTH_AGENT_DIR=$(mktemp -d)
  export BERTH_AGENT_DIR
  # shellcheck disable=SC2064 # the directory is fixed now
  trap "xargs -r kill <'$BERTH_AGENT_DIR/pids' 2>/dev/null; rm -rf '$BERTH_AGENT_DIR'" EXIT
fi
rc=0
for client in "$@"; do
  start=$(date +%s)
  log=$(mktemp)
  ( cd /tmp && timeout 900 bash "$harness/$client.sh" "$runtime" ) >"$log" 2>&1
  r=$?
  grep -E '^(ok|FAIL) ' "$log" | sed "s/^/$client: /"
  grep -A3 '^FAIL' "$log" | grep '^ *|' | head -40
  tally=$(grep -E "^$client: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  [ -n "$tally" ] || tally="$client: 0 passed, 1 failed"
  echo "$tally ($(( $(date +%s) - start )) s)"
  [ "$r" -eq 0 ] || rc=1
  rm -f "$log"
done
exit $rc
