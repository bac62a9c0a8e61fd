#!/usr/bin/env bash
# Runs the berth benchmark: installs the peers it measures against (Debian
# packages in scripts/deps/bench-apt.txt) when missing, builds dist/berth if it
# is not there yet, then runs bench/main.ts with the arguments given, e.g.
#   bench/run.sh --quick
#   bench/run.sh --only run,cycle
# Needs root. Not a test: nothing here fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 2; }

bash scripts/deps/install.sh scripts/deps/bench-apt.txt bench ||
  echo "bench: could not install all packages; the peers that are missing show n/a" >&2

if [ ! -x node_modules/.bin/bun ]; then
  echo "bench: installing npm packages" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi
fi

if [ ! -x dist/berth ] && [ -f src/cli/main.ts ] && [ -f scripts/build.sh ]; then
  echo "bench: building dist/berth" >&2
  bash scripts/build.sh >&2 || echo "bench: build failed; the berth column will show n/a" >&2
fi

exec node_modules/.bin/bun bench/main.ts "$@"
