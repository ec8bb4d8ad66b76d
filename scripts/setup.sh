#!/usr/bin/env bash
# Installs what berth needs on a Debian machine (as root), skipping what is
# there, then builds the TypeScript and the shim. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

packages=()
for pkg in runc crun busybox-static gcc libc6-dev make tini criu clang-format musl-tools protobuf-compiler libprotobuf-dev \
  containernetworking-plugins iproute2 iptables docker-registry skopeo attr zstd util-linux openssl socat; do
  have_pkg "$pkg" || packages+=("$pkg")
done
if ((${#packages[@]})); then
  echo "setup: installing ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  echo "setup: berth needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

npm run --silent build
npm run --silent build:shim-asan
