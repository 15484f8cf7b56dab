#!/usr/bin/env bash
# Smoke test of the end-to-end NFS benchmark driver: tiny sizes against the cfs-gateway binary.
set -euo pipefail
gateway="$1"
bench="$2"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/nfs-bench-XXXXXX")"
"$gateway" --data_dir="$work/data" --bind_address=127.0.0.1 --nfs_port=0 --mount_port=0 --s3_port=0 --smb_port=0 \
  --portmapper_port=0 --metrics_port=0 --control_port=0 2> "$work/log" &
pid=$!
trap 'kill -TERM $pid; wait $pid; rm -rf "$work"' EXIT
for _ in $(seq 300); do grep -q "ready;" "$work/log" && break; sleep 0.1; done
nfs_port=$(sed -n 's/.*nfs listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
mount_port=$(sed -n 's/.*mount listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
out=$("$bench" --url="nfs://127.0.0.1/export?nfsport=$nfs_port&mountport=$mount_port&version=3&uid=1000&gid=1000" \
  --file_mib=4 --seconds=0.2 --files=20)
echo "$out"
for figure in seq_write seq_read rand_read_4k getattr lookup create_remove; do
  echo "$out" | grep -q "^$figure " || { echo "missing $figure"; exit 1; }
done
