#!/usr/bin/env bash
# Installs what is missing, builds cfs-gateway and runs it on the embedded backend in ./cfs-data,
# on loopback with high ports (no root privileges needed for the ports). Extra arguments are
# passed to cfs-gateway, e.g. --bind_address=0.0.0.0. Ctrl-C stops it gracefully. Manage it with
# bazel-bin/bin/cfs-gatewayctl --address=127.0.0.1:29090 --data_dir=./cfs-data status
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
bazel build -c opt //bin:cfs-gateway //bin:cfs-gatewayctl
: "${CFS_ROOT_USER:=admin}"
: "${CFS_ROOT_PASSWORD:=change-me-now}"
export CFS_ROOT_USER CFS_ROOT_PASSWORD
exec bazel-bin/bin/cfs-gateway \
  --data_dir=./cfs-data \
  --bind_address=127.0.0.1 \
  --nfs_port=22049 --mount_port=22048 --s3_port=29000 --smb_port=24445 \
  --control_port=29090 --metrics_port=29100 \
  "$@"
