#!/usr/bin/env bash
# Sets up, then runs every test. tini reaps what tests orphan on purpose (a
# killed shim's container process) on machines whose PID 1 does not.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Only *.test.js: node 20 would also run every helper under a test/ folder.
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec tini -s -g -- node --test --test-concurrency=1 "$@" "${files[@]}"
