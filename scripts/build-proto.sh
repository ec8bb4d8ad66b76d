#!/usr/bin/env bash
# Generates the gRPC code (src/api/generated/, not committed) from proto/:
# berth.proto and grpc/health/v1/health.proto, with protoc (Debian's protobuf-compiler; the well-known
# types' .proto come from libprotobuf-dev) and ts-proto's plugin.
set -euo pipefail
cd "$(dirname "$0")/.."

out=src/api/generated
plugin=node_modules/.bin/protoc-gen-ts_proto
command -v protoc >/dev/null || {
  echo "build:proto: protoc is missing: install protobuf-compiler and libprotobuf-dev (scripts/setup.sh does)" >&2
  exit 1
}
[ -x "$plugin" ] || {
  echo "build:proto: $plugin is missing: run npm ci" >&2
  exit 1
}

# Options: grpc-js services; ESM imports with .js suffixes; uint64/int64 as
# bigint so that no uint64 loses precision; Timestamp kept as {seconds, nanos}
# (a Date would drop the nanoseconds that event timestamps carry).
opts=(
  outputServices=grpc-js
  esModuleInterop=true
  importSuffix=.js
  forceLong=bigint
  useDate=false
  env=node
  outputJsonMethods=false
  useExactTypes=false
)
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
protoc --plugin="protoc-gen-ts_proto=$plugin" \
  --ts_proto_out="$out.tmp" \
  --ts_proto_opt="$(
    IFS=,
    echo "${opts[*]}"
  )" \
  -I proto proto/berth.proto proto/grpc/health/v1/health.proto
rm -rf "$out"
mv "$out.tmp" "$out"
