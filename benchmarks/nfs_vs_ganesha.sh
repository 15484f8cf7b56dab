#!/usr/bin/env bash
# End-to-end NFSv3 benchmark: cfs-gateway (embedded backend) and nfs-ganesha (VFS FSAL, from
# ../shared/peers/nfs) side by side on loopback, both driven by the same libnfs client
# (benchmarks/nfs_bench). Prints each figure for both and the ratio cfs/ganesha.
#   benchmarks/nfs_vs_ganesha.sh [file_mib=1024] [seconds=10] [files=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
FILE_MIB="${1:-1024}"
SECONDS_PER_OP="${2:-10}"
FILES="${3:-10000}"
PEERS="$(cd .. && pwd)/shared/peers/nfs"
[ -d "$PEERS" ] || { echo "no $PEERS: the reference set-up lives in shared/peers/nfs" >&2; exit 1; }

scripts/install-deps.sh
if ! command -v ganesha.nfsd >/dev/null; then
  apt-get install -y -qq --no-install-recommends nfs-ganesha nfs-ganesha-vfs >/dev/null
fi
bazel build -c opt //bin:cfs-gateway //benchmarks:nfs_bench >/dev/null
BENCH="$(bazel info -c opt bazel-bin)/benchmarks/nfs_bench"
GATEWAY="$(bazel info -c opt bazel-bin)/bin/cfs-gateway"

# nfs-ganesha on 127.0.0.1:12049/12048, exporting /tmp/peer-nfs/export.
mkdir -p /tmp/peer-nfs
cp "$PEERS"/*.sh "$PEERS"/*.py "$PEERS"/*.conf /tmp/peer-nfs/
rm -rf /tmp/peer-nfs/export && mkdir -p /tmp/peer-nfs/export && chmod 1777 /tmp/peer-nfs/export
/tmp/peer-nfs/start-ganesha.sh
# cfs-gateway on 127.0.0.1:23049/23048 with a fresh store on the same disk.
rm -rf /tmp/cfs-bench-data
"$GATEWAY" --data_dir=/tmp/cfs-bench-data --bind_address=127.0.0.1 --nfs_port=23049 \
  --mount_port=23048 --s3_port=0 --smb_port=0 --control_port=0 --metrics_port=0 \
  --portmapper_port=0 --log_level=warning &
CFS_PID=$!
trap '/tmp/peer-nfs/stop-ganesha.sh >/dev/null; kill -TERM $CFS_PID 2>/dev/null; wait $CFS_PID' EXIT
sleep 1

run() {
  "$BENCH" --url="$1" --file_mib="$FILE_MIB" --seconds="$SECONDS_PER_OP" --files="$FILES"
}
# Two rounds, alternating, and the second round is reported: on a VM the first server to write
# 1 GiB pays for first-touch of guest memory by the page cache, which skews whichever runs first.
for round in 1 2; do
  echo "== round $round: cfs-gateway" >&2
  run "nfs://127.0.0.1/export?nfsport=23049&mountport=23048&version=3&uid=1000&gid=1000" \
    > /tmp/nfs-bench-cfs.txt
  echo "== round $round: nfs-ganesha" >&2
  run "nfs://127.0.0.1/export?nfsport=12049&mountport=12048&version=3&uid=1000&gid=1000" \
    > /tmp/nfs-bench-ganesha.txt
done

printf '%-16s %14s %14s %8s\n' figure cfs-gateway nfs-ganesha ratio
join <(sort /tmp/nfs-bench-cfs.txt) <(sort /tmp/nfs-bench-ganesha.txt) |
  awk '{ printf "%-16s %10.1f %-3s %10.1f %-3s %7.2fx\n", $1, $2, substr($3,1,3), $4, substr($5,1,3), ($4 > 0 ? $2 / $4 : 0) }'
