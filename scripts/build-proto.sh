#!/usr/bin/env bash
# Generates the gRPC code (not committed) from proto/: berth.proto and
# grpc/health/v1/health.proto into src/api/generated/, and the CRI's
# cri/api.proto (package runtime.v1) into src/cri/generated/, with protoc (Debian's protobuf-compiler; the well-known
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
# generate <out dir> <include dir> <proto files...>: into a temporary folder
# first, so that a failed run leaves the previous code in place.
generate() {
  local out=$1 include=$2
  shift 2
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  protoc --plugin="protoc-gen-ts_proto=$plugin" \
    --ts_proto_out="$out.tmp" \
    --ts_proto_opt="$(
      IFS=,
      echo "${opts[*]}"
    )" \
    -I "$include" "$@"
  rm -rf "$out"
  mv "$out.tmp" "$out"
}
generate "$out" proto proto/berth.proto proto/grpc/health/v1/health.proto
generate src/cri/generated proto/cri proto/cri/api.proto
