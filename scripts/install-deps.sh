#!/usr/bin/env bash
# Installs what building and testing the gateway needs, from Debian 12's archive only.
# Idempotent: packages already present are skipped. Needs root (or sudo) when anything is missing.
set -euo pipefail

packages=(
  # build
  bazel-bootstrap bazel-rules-java g++ pkg-config
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  libabsl-dev libssl-dev librocksdb-dev liburing-dev libfabric-dev
  libhttp-parser-dev libpugixml-dev libisal-dev
  # tests, benchmarks, fuzzing
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev
  # independent protocol clients used by the integration tests
  libnfs-dev libnfs-utils awscli python3-boto3 s3cmd nodejs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
