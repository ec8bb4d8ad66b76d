#!/usr/bin/env bash
# Sets up, then runs one real busybox container end to end through the library.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec node dist/scripts/demo.js "$@"
