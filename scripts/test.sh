#!/usr/bin/env bash
# The whole test suite: sets up (scripts/setup.sh), type-checks, runs the unit and
# kernel tests on this host, the runtime tests again against runc (the
# differential lane) and through a warm agent (the agent lane), then the
# cgroup v2 lane under User-mode Linux.
# Prints one closing line: "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
bash scripts/setup.sh || { echo "tests: 0 passed, 1 failed"; exit 1; }
export PATH="$PWD/node_modules/.bin:$PATH"
pass=0; fail=0
failed=$(mktemp) # the names of failed tests and steps, printed again at the end
trap 'rm -f "$failed"' EXIT
tally() { # $1 = log file of a bun test run
  local p f
  grep -aE '^\(fail\) ' "$1" | sed -E "s/^/${lane:-host}: /" >>"$failed"
  # -a: a failing test's message can hold a NUL, and grep would then answer only "binary file matches"
  p=$(grep -aEo '^ *[0-9]+ pass' "$1" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  f=$(grep -aEo '^ *[0-9]+ fail' "$1" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  pass=$((pass + p)); fail=$((fail + f))
}
echo "== typecheck"
if tsc --noEmit -p .; then pass=$((pass+1)); else fail=$((fail+1)); echo "typecheck" >>"$failed"; fi
echo "== lint and formatting (biome lint and format: rules in biome.jsonc; shellcheck at warning level, its notes being deliberate word splitting; clang-format in check mode)"
if biome lint; then pass=$((pass+1)); else fail=$((fail+1)); echo "biome lint" >>"$failed"; fi
# TypeScript formatting (biome.jsonc's formatter): in check mode, as `biome format --write` leaves it
if biome format; then pass=$((pass+1)); else fail=$((fail+1)); echo "biome format (run: biome format --write)" >>"$failed"; fi
if shellcheck -S warning scripts/*.sh bench/*.sh; then pass=$((pass+1)); else fail=$((fail+1)); echo "shellcheck" >>"$failed"; fi
# C formatting (.clang-format): every tracked C file as clang-format would write it
if find core test -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run --Werror; then pass=$((pass+1)); else fail=$((fail+1)); echo "clang-format (run: clang-format -i FILE)" >>"$failed"; fi

lane=host
echo "== host tests (bun test)"
log=$(mktemp)
bun test --timeout 60000 ${BERTH_TEST_FILTER:-} 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
tally "$log"; rm -f "$log"
[ "$rc" -eq 0 ] || [ "$fail" -gt 0 ] || fail=$((fail+1))

# The differential lane: the runtime tests, the escape attacks (and the CLI
# tests of what runc's callers see) run again, with the same bundles, against runc 1.1 (Debian's,
# which accepts this hybrid cgroup host as it is). A difference that remains
# is named in the tests (berthOnly, deliberateDifference, onlyOnBerth).
# test/cgroups is not in it: it drives berth's cgroup library in-process.
DIFF_TESTS="test/runtime test/security/escapes.test.ts test/cli/clients.test.ts test/cli/resources.test.ts"
if [ -x /usr/sbin/runc ] && [ -z "${BERTH_SKIP_RUNC_LANE:-}" ]; then
  lane=runc; echo "== differential lane: the runtime tests against runc"
  log=$(mktemp)
  BERTH_TEST_RUNTIME=/usr/sbin/runc bun test --timeout 60000 $DIFF_TESTS 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}; before=$fail
  tally "$log"; rm -f "$log"
  [ "$rc" -eq 0 ] || [ "$fail" -gt "$before" ] || fail=$((fail+1))
fi

# The agent lane: the runtime tests again, the escape attacks, the container
# cgroup tests and the CLI's tests of what callers see (kill/state/delete as
# they parse them, exec and --pid-file, the terminal, resources, the security
# profile), each test's calls going through the front door to a warm
# `berth agent` for its --root (BERTH_TEST_AGENT=1, see test/agent/agent.ts,
# test/runtime/helpers.ts and test/cli/helpers.ts): the same results through
# the agent as without it. (The other test files drive berth's libraries
# in-process, or the engine, whose commands the agent leaves to Bun.)
AGENT_TESTS="test/runtime test/security/escapes.test.ts test/security/profile.test.ts test/cgroups/container.test.ts test/cgroups/spec.test.ts test/cli/kill.test.ts test/cli/runcflags.test.ts test/cli/clients.test.ts test/cli/resources.test.ts test/cli/terminal.test.ts"
if [ -z "${BERTH_SKIP_AGENT_LANE:-}" ]; then
  lane=agent; echo "== agent lane: the runtime, escape, cgroup and CLI tests through a warm agent"
  log=$(mktemp)
  BERTH_TEST_AGENT=1 bun test --timeout 60000 $AGENT_TESTS 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}; before=$fail
  tally "$log"; rm -f "$log"
  [ "$rc" -eq 0 ] || [ "$fail" -gt "$before" ] || fail=$((fail+1))
fi

if [ -x scripts/uml-test.sh ] && [ -z "${BERTH_SKIP_UML:-}" ]; then
  lane=v2; echo "== cgroup v2 lane (User-mode Linux)"
  log=$(mktemp)
  bash scripts/uml-test.sh ${BERTH_UML_TESTS:-test/cgroups test/cli test/runtime test/engine/cgroups.test.ts test/agent/autostart.test.ts} 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  tally "$log"; rm -f "$log"
  [ "$rc" -eq 0 ] || fail=$((fail+1))
fi
if [ -z "${BERTH_SKIP_ACCEPTANCE:-}" ]; then
  # once as installed, once more through warm agents (the agent lane)
  lanes=("")
  [ -n "${BERTH_SKIP_AGENT_LANE:-}" ] || lanes+=(1)
  for agent in "${lanes[@]}"; do
    echo "== acceptance: real clients (containerd, Podman, Docker, CRI)${agent:+ through warm agents}"
    log=$(mktemp)
    BERTH_ACCEPTANCE_AGENT=$agent bash scripts/acceptance.sh 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    while read -r p f; do pass=$((pass + p)); fail=$((fail + f)); done < <(grep -aEo '^[a-z]+: [0-9]+ passed, [0-9]+ failed' "$log" | sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed/\1 \2/')
    # a failing lane that reported no failed step still counts as one failure
    if [ "$rc" -ne 0 ] && ! grep -aEq 'passed, [1-9][0-9]* failed' "$log"; then fail=$((fail + 1)); echo "acceptance${agent:+ (agents)}: exit $rc" >>"$failed"; fi
    grep -aE '^[a-z]+: (FAIL |failed steps)' "$log" | sed -E "s/^/acceptance${agent:+ (agents)}: /" >>"$failed"
    rm -f "$log"
  done
fi
if [ -s "$failed" ]; then echo "== what failed"; cat "$failed"; fi
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
