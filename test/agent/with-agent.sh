#!/bin/sh
# A runtime binary for the real clients' harness, in the agent lane: runs
# dist/berth, first starting a warm `berth agent` for the --root it is given
# when none listens there (in the caller's namespaces: the agent serves only
# callers that see what it sees). For tests only: berth never starts an agent
# by itself. BERTH_AGENT_DIR (required) records the agents' pids and logs, so
# that the lane stops them at its end.
here=$(cd "$(dirname "$0")/../.." && pwd)
berth=$here/dist/berth
root=/run/berth
prev=
for a in "$@"; do
  [ "$prev" = "--root" ] && root=$a
  case $a in --root=*) root=${a#--root=} ;; esac
  prev=$a
done
if [ -n "${BERTH_AGENT_DIR:-}" ] && [ ! -S "$root/.warm.sock" ]; then
  mkdir -p "$root"
  BERTH_NO_AGENT=1 BERTH_AGENT_LOG=1 setsid "$berth" --root "$root" agent </dev/null >/dev/null 2>>"$BERTH_AGENT_DIR/agents.log" &
  echo $! >>"$BERTH_AGENT_DIR/pids"
  i=0
  while [ ! -S "$root/.warm.sock" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
fi
exec "$berth" "$@"
