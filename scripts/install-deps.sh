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
  libnfs-dev libnfs-utils awscli python3-boto3 python3-prometheus-client s3cmd nodejs smbclient samba-testsuite python3-impacket curl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm ships with some nodejs builds (NodeSource); Debian's nodejs needs its npm package.
command -v npm > /dev/null || dpkg-query -W -f='${Status}' npm 2>/dev/null |
  grep -q "install ok installed" || missing+=(npm)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi

# The AWS JS SDK for the S3 integration test, from npm at the versions package-lock.json pins.
js_dir="$(cd "$(dirname "$0")/.." && pwd)/testing/integration/js"
if [ ! -d "$js_dir/node_modules/@aws-sdk/client-s3" ]; then
  echo "installing the AWS JS SDK into $js_dir" >&2
  (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
