#!/usr/bin/env bash
# Sets up berth on a fresh Debian machine (as root): Debian packages, npm packages,
# the C core, the single-file `dist/berth` executable and the built-in busybox image.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps/install.sh scripts/deps/apt.txt setup

if [ ! -x node_modules/.bin/bun ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi
fi

bash scripts/build.sh
