#!/usr/bin/env bash
# The AWS JS SDK v3 (npm @aws-sdk/client-s3 and @aws-sdk/lib-storage, installed into
# testing/integration/js by scripts/install-deps.sh) against the cfs-gateway binary.
# Runs unsandboxed (tag "local"): node needs the workspace's node_modules.
set -uo pipefail
gateway="$1"
script="$(readlink -f "$2")"   # the workspace copy, next to its node_modules
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/cfs-s3-js-XXXXXX")"
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$work/log" >&2; exit 1; }
[ -d "$(dirname "$script")/node_modules/@aws-sdk/client-s3" ] ||
  fail "the JS SDK is not installed: run scripts/install-deps.sh"
CFS_ROOT_USER=admin CFS_ROOT_PASSWORD=admin-secret-123 "$gateway" --data_dir="$work/data" \
  --bind_address=127.0.0.1 --nfs_port=0 --mount_port=0 --s3_port=0 --smb_port=0 --portmapper_port=0 --metrics_port=0 --control_port=0 \
  --protocols=nfs,s3 2> "$work/log" &
pid=$!
for _ in $(seq 300); do grep -q "ready;" "$work/log" && break; sleep 0.1; done
port=$(sed -n 's/.*s3 listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
[ -n "$port" ] || fail "gateway did not start"
timeout 300 node "$script" "http://127.0.0.1:$port" admin admin-secret-123 || fail "JS SDK test"
kill -TERM "$pid"; wait "$pid" || fail "graceful stop"; pid=""
echo PASS
