#!/bin/bash
# Builds build/hostkit: what bench/other-host/run.sh needs on a machine without Bun
# (a pure cgroup v2 host with 16 CPUs was the one measured): the front door,
# the compiled Bun berth (xz: under 64 MiB in all), the core, runc and crun
# with crun's one uncommon library, static busybox, the benchmark's container
# config (bench/lib/bundle.ts) as a template, and the measuring script.
# Then, on the other machine: bash build/hostkit/run.sh (REPS=N, OUT=DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x dist/berth-bun ] || bash scripts/build.sh
K=build/hostkit
rm -rf "$K"
mkdir -p "$K/lib"
cp dist/berth dist/berth-core bench/other-host/measure.py bench/other-host/run.sh "$K/"
xz -T0 -3 -c dist/berth-bun >"$K/berth-bun.xz"
xz -T0 -6 -c "$(command -v runc)" >"$K/runc.xz"
cp "$(command -v crun)" "$(command -v busybox)" "$K/"
cp "$(ldd "$(command -v crun)" | awk '/libyajl/ {print $3}')" "$K/lib/"
node_modules/.bin/bun -e 'import { containerConfig } from "./bench/lib/bundle.ts"; console.log(JSON.stringify(containerConfig({ rootfs: "ROOTFS", args: ["true"], cgroupsPath: "CGPATH" })));' >"$K/config-template.json"
du -sh "$K"
