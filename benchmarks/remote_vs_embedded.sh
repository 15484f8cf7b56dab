#!/usr/bin/env bash
# NFS and S3 through cfs-gateway on the embedded backend beside the same gateway on the remote
# backend with a 3-node cfs-node cluster (one metadata node, 1 MiB stripes over three data
# nodes, A4 over TCP/io_uring), everything on 127.0.0.1 of this machine. NFS figures come from
# benchmarks/nfs_bench (libnfs); S3 from the aws CLI (256 MiB put/get, medians of 3). Prints
# both figures and the ratio remote/embedded. Not a test: nothing asserts on time.
#
# Usage (root, Debian 12): benchmarks/remote_vs_embedded.sh [file_mib=256] [seconds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
FILE_MIB="${1:-256}"
SECONDS_PER_OP="${2:-5}"
for pkg in awscli libnfs-utils bc; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" > /dev/null
done
bazel build -c opt //bin:cfs-gateway //bin:cfs-node //benchmarks:nfs_bench > /dev/null 2>&1
BIN="$(bazel info -c opt bazel-bin)"
work="$(mktemp -d /tmp/cfs-remote-bench-XXXXXX)"
pids=()
trap 'kill ${pids[*]} 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=admin AWS_SECRET_ACCESS_KEY=admin-secret-123 AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# The cluster: data nodes on 17101/17102, the metadata node (also a data node) on 17000/17100.
"$BIN/bin/cfs-node" --data_dir="$work/n1" --a4_port=17101 --log_level=warning > /dev/null &
pids+=($!)
"$BIN/bin/cfs-node" --data_dir="$work/n2" --a4_port=17102 --log_level=warning > /dev/null &
pids+=($!)
sleep 0.5
"$BIN/bin/cfs-node" --data_dir="$work/n0" --a4_port=17100 --metadata --a2_port=17000 \
  --data_servers=self,127.0.0.1:17101,127.0.0.1:17102 --log_level=warning > /dev/null &
pids+=($!)
sleep 1

gateway() {  # name, nfs port, s3 port, extra flags...
  local name=$1 nfs=$2 s3=$3; shift 3
  CFS_ROOT_USER=admin CFS_ROOT_PASSWORD=admin-secret-123 "$BIN/bin/cfs-gateway" \
    --data_dir="$work/gw-$name" --bind_address=127.0.0.1 --nfs_port="$nfs" \
    --mount_port=$((nfs - 1)) --s3_port="$s3" --smb_port=0 --control_port=0 --metrics_port=0 \
    --portmapper_port=0 --protocols=nfs,s3 --log_level=warning "$@" &
  pids+=($!)
}
gateway embedded 24049 29100
gateway remote 25049 29200 --remote_metadata=127.0.0.1:17000
sleep 2

head -c $((FILE_MIB << 20)) /dev/urandom > "$work/object.bin"
median() { sort -n | awk '{a[NR]=$1} END{ print a[int((NR+1)/2)] }'; }
s3_figures() {  # s3 port -> "put MiB/s" and "get MiB/s" lines
  local port=$1 puts=() gets=()
  aws --endpoint-url "http://127.0.0.1:$port" s3 mb s3://bench > /dev/null 2>&1 || true
  for _ in 1 2 3; do
    local t0 t1 t2
    t0=$(date +%s.%N)
    aws --endpoint-url "http://127.0.0.1:$port" s3 cp --no-progress "$work/object.bin" \
      s3://bench/object.bin > /dev/null
    t1=$(date +%s.%N)
    aws --endpoint-url "http://127.0.0.1:$port" s3 cp --no-progress s3://bench/object.bin \
      "$work/back.bin" > /dev/null
    t2=$(date +%s.%N)
    cmp -s "$work/object.bin" "$work/back.bin" || echo "MISMATCH on $port" >&2
    puts+=("$(echo "$FILE_MIB / ($t1 - $t0)" | bc -l)")
    gets+=("$(echo "$FILE_MIB / ($t2 - $t1)" | bc -l)")
  done
  echo "s3_put $(printf '%s\n' "${puts[@]}" | median) MiB/s"
  echo "s3_get $(printf '%s\n' "${gets[@]}" | median) MiB/s"
}
figures() {  # nfs port, s3 port
  "$BIN/benchmarks/nfs_bench" \
    --url="nfs://127.0.0.1/export?nfsport=$1&mountport=$(($1 - 1))&version=3&uid=0&gid=0" \
    --file_mib="$FILE_MIB" --seconds="$SECONDS_PER_OP" --files=2000
  s3_figures "$2"
}
# Two alternating rounds; the second is reported (first-touch of guest memory skews round 1).
for round in 1 2; do
  echo "== round $round: embedded" >&2
  figures 24049 29100 > "$work/embedded.txt"
  echo "== round $round: remote" >&2
  figures 25049 29200 > "$work/remote.txt"
done
printf '%-16s %14s %14s %8s\n' figure embedded remote ratio
join <(sort "$work/embedded.txt") <(sort "$work/remote.txt") |
  awk '{ printf "%-16s %10.1f %-5s %10.1f %-5s %7.2fx\n", $1, $2, substr($3,1,5), $4, substr($5,1,5), ($2 > 0 ? $4 / $2 : 0) }'
