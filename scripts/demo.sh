#!/usr/bin/env bash
# Sets up, then runs one real busybox container with `berth run`, daemonless
# (the runtime library inside the CLI's own process), printing its output and
# its exit status. Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

berth=(node dist/src/cli/main.js)
rootfs=$(node --input-type=module -e "import { ensureRootfs } from './dist/support/busybox.js'; console.log(ensureRootfs())")
state=$(mktemp -d /tmp/berth-demo-XXXXXX)
trap 'rm -rf "$state"' EXIT

# An address where nothing listens: the daemonless path, even if a berthd runs here.
started=$(date +%s%N)
status=0
"${berth[@]}" --address "unix://$state/no-berthd.sock" run --state-dir "$state" --rm --name demo \
  --rootfs "$rootfs" -- \
  sh -c 'echo "hello from $(hostname), pid $$ in its own namespace"; echo "kernel $(uname -r)"; exit 3' ||
  status=$?
elapsed=$((($(date +%s%N) - started) / 1000000))
echo "berth run exited with status $status (${elapsed} ms, node start included)"
