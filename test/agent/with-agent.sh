#!/bin/sh
# A runtime binary for the real clients' harness, in the agent lane: runs
# dist/berth, first starting a warm `berth agent` for the --root it is given
# when this lane has started none for it yet (in the caller's namespaces: the
# agent serves only callers that see what it sees). For tests only: berth
# never starts an agent by itself. BERTH_AGENT_DIR (required) records the
# agents' pids and logs, so that the lane stops them at its end.
here=$(cd "$(dirname "$0")/../.." && pwd)
berth=$here/dist/berth
root=/run/berth
prev=
for a in "$@"; do
  [ "$prev" = "--root" ] && root=$a
  case $a in --root=*) root=${a#--root=} ;; esac
  prev=$a
done
if [ -n "${BERTH_AGENT_DIR:-}" ]; then
  mkdir -p "$BERTH_AGENT_DIR/roots"
  # one agent per root: the first call to make the root's marker starts it
  mark=$BERTH_AGENT_DIR/roots/$(printf '%s' "$root" | md5sum | cut -c1-32)
  if mkdir "$mark" 2>/dev/null; then
    mkdir -p "$root"
    # started in the root as `--root .`: its command line names no client's
    # directory (the CRI harness's last step looks for processes that do)
    (cd "$root" && BERTH_NO_AGENT=1 BERTH_AGENT_LOG=1 exec setsid "$berth" --root . agent </dev/null >/dev/null 2>"$mark/log") &
    echo $! >>"$BERTH_AGENT_DIR/pids"
  fi
  # until it listens (or has given up)
  i=0
  while ! grep -qs "listening on\|^berth: " "$mark/log" && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
fi
exec "$berth" "$@"
