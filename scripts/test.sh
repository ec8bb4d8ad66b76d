#!/usr/bin/env bash
# Sets up, checks (lint, types, formats), then runs every test: the unit tests
# (no root, no containers) first, then the integration tests on real runc.
# tini reaps what tests orphan on purpose (a killed shim's container process)
# on machines whose PID 1 does not. Arguments go to `node --test`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
npm run --silent lint
# Only *.test.js: node 20 would also run every helper under a test/ folder.
mapfile -t unit < <(find dist/test/unit -name '*.test.js' | sort)
mapfile -t integration < <(find dist/test/integration -name '*.test.js' | sort)
node --test "$@" "${unit[@]}"
exec tini -s -g -- node --test --test-concurrency=1 "$@" "${integration[@]}"
