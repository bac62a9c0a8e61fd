#!/usr/bin/env bash
# Compiles a TypeScript entry point into one executable the way the release
# berth is built: scripts/compile-ts.sh ENTRY OUTFILE. (The benchmark compiles
# an empty program with it, to measure what Bun's own start and exit cost.)
#
# ESM with code splitting: the engine (images, registry, tar, zlib, crypto)
# is a separate chunk that runtime calls from containerd or Podman never load.
# No autoloading of .env or bunfig.toml from the working directory: berth runs
# as root in directories others control (a bundle), and either file could
# change what it executes.
# JIT policy 100: a runtime call lasts milliseconds, and compiling its
# briefly warm functions costs more than interpreting them (about 1 ms per
# `run` on the development hosts); engine commands and the agent, which run
# long, restore the normal policy when they start (src/cli/main.ts).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 ENTRY OUTFILE" >&2; exit 2; }
cd "$(dirname "$0")/.."
node_modules/.bin/bun build --compile --bytecode --minify --format=esm --splitting \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig --compile-jit-policy=100 \
  "$1" --outfile "$2" >/dev/null
