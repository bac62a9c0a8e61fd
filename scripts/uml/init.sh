#!/bin/sh
# PID 1 of the User-mode Linux guest of the cgroup v2 test lane (started by
# scripts/uml-test.sh). The guest's root file system is the host's, through hostfs.
# It mounts a pure cgroup2 hierarchy, runs `bun test` in the repository and writes
# the output and the exit code into the host directory named by BERTH_UML_DIR.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

halt_now() {
  sync
  if command -v busybox >/dev/null 2>&1; then busybox poweroff -f; fi
  echo o > /proc/sysrq-trigger
  # PID 1 must not exit (the kernel would panic); wait for the power-off
  while :; do sleep 1; done
}

dir=${BERTH_UML_DIR:?BERTH_UML_DIR is not set}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev

# what to run: REPO and ARGS (written by the host side, read before /tmp is covered)
. "$dir/env"
# keep the result files open: a tmpfs will hide the host's /tmp
exec 3>"$dir/output" 4>"$dir/rc"

# the repository may itself live under /tmp or /run: keep a handle on it, and put
# it back at the same path once those are covered
mkdir -p /dev/.berth-repo && mount --bind "$REPO" /dev/.berth-repo
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
if [ ! -d "$REPO/scripts/uml" ]; then
  mkdir -p "$REPO" && mount --bind /dev/.berth-repo "$REPO"
fi
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mkdir -p /dev/pts && mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts 2>/dev/null

# a pure cgroup v2 host: every controller enabled for the children of the root
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || { echo "uml: cannot mount cgroup2" >&3; echo 1 >&4; halt_now; }
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || echo "uml: cannot enable controller $c" >&3
done
ip link set lo up 2>/dev/null || true
hostname berth-uml 2>/dev/null || true

export HOME=/tmp BERTH_CGROUP_LANE=v2 TMPDIR=/tmp
export PATH="$REPO/node_modules/.bin:$PATH"
cd "$REPO" || { echo "uml: no repository at $REPO" >&3; echo 1 >&4; halt_now; }
echo "uml: kernel $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)" >&3
# shellcheck disable=SC2086
eval "set -- $ARGS"
bun test --timeout 60000 "$@" >&3 2>&1
echo $? >&4
exec 3>&- 4>&-
halt_now
