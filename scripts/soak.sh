#!/usr/bin/env bash
# The long variants of the reliability suite (test/integration/reliability-*):
# many more fuzz inputs for the ASan shim, and the fault loops (runtimes
# killed mid-create, starts cut short, shims killed under watching
# supervisors, the disk filled page by page) many times round, with random
# delays. Prints the figures each part reports, then the totals.
#
# Knobs (environment): BERTH_SOAK_ROUNDS (default 10), BERTH_FUZZ_RUNS
# (default 10000 command lines), BERTH_FUZZ_STORMS (default 300 control
# storms), BERTH_FUZZ_SEED (default: a new one, printed, to replay a run).
# Arguments go to `node --test` (e.g. --test-name-pattern).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null

export BERTH_SOAK_ROUNDS="${BERTH_SOAK_ROUNDS:-10}"
export BERTH_FUZZ_RUNS="${BERTH_FUZZ_RUNS:-10000}"
export BERTH_FUZZ_STORMS="${BERTH_FUZZ_STORMS:-300}"
export BERTH_FUZZ_SEED="${BERTH_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
# The supervisor killed with SIGKILL mid-flight: 50 rounds (CI runs 3).
export BERTH_KILL_ROUNDS="${BERTH_KILL_ROUNDS:-50}"
# berthd under load (test/integration/load-*): create/exit/delete cycles, the
# daemon killed mid-flight with many containers, many Events subscribers,
# many clients mixing every RPC.
export BERTH_LOAD_CYCLES="${BERTH_LOAD_CYCLES:-1000}"
export BERTH_LOAD_KILL_ROUNDS="${BERTH_LOAD_KILL_ROUNDS:-50}"
export BERTH_LOAD_KILL_CONTAINERS="${BERTH_LOAD_KILL_CONTAINERS:-100}"
export BERTH_LOAD_EVENTS="${BERTH_LOAD_EVENTS:-20000}"
export BERTH_LOAD_CLIENTS="${BERTH_LOAD_CLIENTS:-200}"
export BERTH_LOAD_SECONDS="${BERTH_LOAD_SECONDS:-600}"
echo "soak: rounds $BERTH_SOAK_ROUNDS, fuzz inputs $BERTH_FUZZ_RUNS, control storms $BERTH_FUZZ_STORMS, seed $BERTH_FUZZ_SEED"

log="$(mktemp -t berth-soak-XXXXXX.log)"
mapfile -t files < <(find dist/test/integration -name 'reliability-*.test.js' -o -name 'supervisor-kill.test.js' -o -name 'load-*.test.js' | sort)
started=$(date +%s)
status=0
tini -s -g -- node --test --test-concurrency=1 "$@" "${files[@]}" >"$log" 2>&1 || status=$?
elapsed=$(($(date +%s) - started))

echo "soak figures:"
# What the tests print for themselves (node's TAP reporter shows it as "# # ...").
grep -E '^# \\?# ' "$log" | sed -E 's/^# \\?# /  /' || true
grep -E '^# (tests|pass|fail|skipped) ' "$log" | sed 's/^# /  /'
echo "  wall time ${elapsed} s; full log: $log"
if ((status)); then
  echo "soak: FAILED (seed $BERTH_FUZZ_SEED); the failures:"
  grep -E '^ *not ok|^ +error:' "$log" | head -40
fi
exit "$status"
