#!/usr/bin/env bash
# Builds the C core (build/berth-core), the front door (build/berth-door) and
# the Bun executable, installed as dist/berth (the front door: callers run
# it), dist/berth-bun (the Bun berth it runs when no agent listens) and
# dist/berth-core beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build dist
# the plan contract's C side (core/plan.gen.h), generated from its definition
# in src/linux/planops.ts; checked in, and test/core/plan.test.ts fails when
# it is stale. Rewritten only when it changes.
if [ -x node_modules/.bin/bun ]; then
  node_modules/.bin/bun scripts/gen-plan-header.ts
fi
CFLAGS=${CFLAGS:-"-O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -fstack-protector-strong -D_FORTIFY_SOURCE=2"}
core_src=$(ls core/*.c core/*.h 2>/dev/null || true)
if [ -n "$core_src" ]; then
  newest=$(ls -t $core_src | head -1)
  if [ ! -x build/berth-core ] || [ "$newest" -nt build/berth-core ]; then
    echo "build: C core"
    # The core is linked statically (libc and libseccomp): it carries no
    # run-time dependency, and a static executable starts without the dynamic
    # loader, which counts once per container. Falls back to dynamic linking
    # where no static archives exist.
    seccomp_lib=$(pkg-config --variable=libdir libseccomp 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)/libseccomp.a
    [ -f "$seccomp_lib" ] || seccomp_lib=-lseccomp
    if ! gcc $CFLAGS -static -o build/berth-core.tmp core/*.c "$seccomp_lib" 2>/dev/null; then
      gcc $CFLAGS -o build/berth-core.tmp core/*.c "$seccomp_lib"
    fi
    mv build/berth-core.tmp build/berth-core
  fi
fi
# berth-console: receives a container's pty master over the console socket
# and proxies it to the terminal (the engine's run -t and exec -t)
if [ -f core/console/console.c ]; then
  if [ ! -x build/berth-console ] || [ core/console/console.c -nt build/berth-console ]; then
    echo "build: console helper"
    gcc $CFLAGS -o build/berth-console.tmp core/console/console.c
    mv build/berth-console.tmp build/berth-console
  fi
fi
# berth-door: the small native front door (core/door/door.c): forwards a call
# to a warm agent when one listens, else runs berth-bun
if [ -f core/door/door.c ]; then
  if [ ! -x build/berth-door ] || [ core/door/door.c -nt build/berth-door ]; then
    echo "build: front door"
    # musl where it is installed (scripts/deps/apt.txt): every call starts the
    # door, and a static musl executable starts with about half the page
    # faults of a static glibc one (0.6 ms less per call on the development host)
    { command -v musl-gcc >/dev/null && musl-gcc $CFLAGS -static -o build/berth-door.tmp core/door/door.c 2>/dev/null; } ||
      gcc $CFLAGS -static -o build/berth-door.tmp core/door/door.c 2>/dev/null || gcc $CFLAGS -o build/berth-door.tmp core/door/door.c
    mv build/berth-door.tmp build/berth-door
  fi
fi
if [ -f src/cli/main.ts ]; then
  echo "build: dist/berth"
  bash scripts/compile-ts.sh src/cli/main.ts dist/berth-bun.tmp
  mv dist/berth-bun.tmp dist/berth-bun
  if [ -x build/berth-door ]; then
    install -s -m 0755 build/berth-door dist/berth.tmp && mv dist/berth.tmp dist/berth
  else
    cp dist/berth-bun dist/berth
  fi
  # the released core without debug information: the sealed copy each exec makes is smaller
  [ -x build/berth-core ] && install -s -m 0755 build/berth-core dist/berth-core.tmp && mv dist/berth-core.tmp dist/berth-core
  [ -x build/berth-console ] && install -m 0755 build/berth-console dist/berth-console.tmp && mv dist/berth-console.tmp dist/berth-console
fi
echo "build: done"
