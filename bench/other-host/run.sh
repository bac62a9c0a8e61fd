#!/bin/bash
# On the measured machine: unpacks the kit (bench/other-host/kit.sh) and measures
# berth (no agent, warm agent, BERTH_AGENT=auto), runc and crun, interleaved:
#   bash build/hostkit/run.sh        (REPS=20 rounds; OUT=DIR for the JSON)
K=$(cd "$(dirname "$0")" && pwd)
set -e
echo "== $(uname -r); $(id -u); $(nproc) cpus; $(stat -fc %T /sys/fs/cgroup); $(. /etc/os-release; echo $PRETTY_NAME)"
cat /proc/self/cgroup | head -3
[ -x "$K/berth-bun" ] || xz -dc "$K/berth-bun.xz" > "$K/berth-bun"
[ -x "$K/runc" ] || xz -dc "$K/runc.xz" > "$K/runc"
chmod +x "$K/berth-bun" "$K/runc"
command -v python3 >/dev/null || { echo "no python3"; exit 1; }
cat /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
python3 "$K/measure.py"
