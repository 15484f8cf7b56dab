#!/usr/bin/env bash
# S3 side by side: cfs-gateway (embedded backend) and Ceph radosgw (Debian 16.2, one mon + one
# BlueStore-on-file OSD, the set-up of shared/peers/s3), both on 127.0.0.1, driven by the same
# clients: aws CLI uploads/downloads of 200 MiB and 1 GiB (medians), wrk 4 KiB GET and PUT req/s
# through presigned SigV4 URLs (the signature is checked on every request), and a full
# ListObjectsV2 of 10,000 keys. Prints each figure for both and the ratio.
# Usage: benchmarks/s3_vs_radosgw.sh [runs=3] [wrk_seconds=10] [connections=32]
# Needs root (apt-get) the first time; ports: cfs 23000, radosgw 13080 (+ Ceph 13300-13799).
set -euo pipefail
runs="${1:-3}"; seconds="${2:-10}"; conns="${3:-32}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
peers="$repo/../shared/peers/s3"
work="$(mktemp -d /tmp/cfs-s3-bench-XXXXXX)"
cfs_pid=""
cleanup() {
  [ -n "$cfs_pid" ] && kill "$cfs_pid" 2>/dev/null || true
  bash /tmp/peer-s3/ceph/stop.sh > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for p in radosgw ceph-mon ceph-osd ceph-mgr ceph-common wrk awscli python3-boto3 bc; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" > /dev/null
done
(cd "$repo" && bazel build -c opt //bin:cfs-gateway > /dev/null 2>&1)

# radosgw, from the peer set-up (its scripts expect to live in /tmp/peer-s3).
rm -rf /tmp/peer-s3/ceph && mkdir -p /tmp/peer-s3 && cp -r "$peers/ceph" /tmp/peer-s3/ceph
chmod -R u+w /tmp/peer-s3/ceph
bash /tmp/peer-s3/ceph/setup.sh > "$work/ceph.log" 2>&1 || { cat "$work/ceph.log"; exit 1; }
RGW_EP=http://127.0.0.1:13080
RGW_KEY=0555b35654ad1656d804
RGW_SECRET='h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q=='

CFS_ROOT_USER=bench CFS_ROOT_PASSWORD=bench-secret-123 "$repo/bazel-bin/bin/cfs-gateway" \
  --data_dir="$work/cfs-data" --bind_address=127.0.0.1 --s3_port=23000 --smb_port=0 --nfs_port=0 \
  --mount_port=0 --portmapper_port=0 --metrics_port=0 --control_port=0 --protocols=s3 2> "$work/cfs.log" &
cfs_pid=$!
for _ in $(seq 100); do grep -q "ready;" "$work/cfs.log" && break; sleep 0.1; done
CFS_EP=http://127.0.0.1:23000

export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_DEFAULT_REGION=us-east-1
export AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true
creds() {  # sets the credentials of server $1
  if [ "$1" = cfs ]; then export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-123
  else export AWS_ACCESS_KEY_ID=$RGW_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET; fi
}
ep() { [ "$1" = cfs ] && echo $CFS_EP || echo $RGW_EP; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

head -c $((200 << 20)) /dev/urandom > "$work/200m.bin"
head -c $((1024 << 20)) /dev/urandom > "$work/1g.bin"
head -c 4096 /dev/urandom > "$work/4k.bin"
printf 'wrk.method = "PUT"\nwrk.body = string.rep("x", 4096)\n' > "$work/put.lua"

declare -A result
for server in cfs rgw; do
  creds $server
  aws="/usr/bin/aws --endpoint-url $(ep $server)"
  $aws s3 mb s3://bench > /dev/null
  for size in 200m 1g; do
    up=(); down=()
    for _ in $(seq "$runs"); do
      t0=$(date +%s.%N); $aws s3 cp --only-show-errors "$work/$size.bin" s3://bench/$size.bin
      t1=$(date +%s.%N); $aws s3 cp --only-show-errors s3://bench/$size.bin "$work/$size.out"
      t2=$(date +%s.%N)
      cmp -s "$work/$size.bin" "$work/$size.out" || { echo "$server: $size round trip differs"; exit 1; }
      rm -f "$work/$size.out"
      up+=("$(echo "$t1 - $t0" | bc)"); down+=("$(echo "$t2 - $t1" | bc)")
    done
    mib=$([ $size = 200m ] && echo 200 || echo 1024)
    result[$server,up_$size]=$(echo "$mib / $(median "${up[@]}")" | bc -l)
    result[$server,down_$size]=$(echo "$mib / $(median "${down[@]}")" | bc -l)
    $aws s3 rm --only-show-errors s3://bench/$size.bin
  done
  $aws s3api put-object --bucket bench --key obj4k --body "$work/4k.bin" > /dev/null
  get_url=$($aws s3 presign s3://bench/obj4k --expires-in 3600)
  put_url=$(python3 - "$(ep $server)" <<'PY'
import sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
print(s3.generate_presigned_url("put_object", Params={"Bucket": "bench", "Key": "put4k"},
                                ExpiresIn=3600))
PY
)
  result[$server,get4k]=$(wrk -t2 -c"$conns" -d"${seconds}s" "$get_url" | awk '/Requests\/sec/{print $2}')
  result[$server,put4k]=$(wrk -t2 -c"$conns" -d"${seconds}s" -s "$work/put.lua" "$put_url" |
                          awk '/Requests\/sec/{print $2}')
  # 10,000 keys in 100 prefixes, written with 16 threads; then the time of a full listing.
  python3 - "$(ep $server)" <<'PY'
import sys, boto3
from concurrent.futures import ThreadPoolExecutor
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
def put(i):
    s3.put_object(Bucket="bench", Key="list/p%02d/key%05d" % (i % 100, i), Body=b"x")
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, range(10000)))
PY
  times=()
  for _ in $(seq "$runs"); do
    t0=$(date +%s.%N)
    count=$($aws s3api list-objects-v2 --bucket bench --prefix list/ --query 'length(Contents)')
    t1=$(date +%s.%N)
    [ "$count" = 10000 ] || { echo "$server: listed $count keys, want 10000"; exit 1; }
    times+=("$(echo "$t1 - $t0" | bc)")
  done
  result[$server,list]=$(echo "10000 / $(median "${times[@]}")" | bc -l)
done

printf '\n%-40s %14s %14s %8s\n' "figure" "cfs-gateway" "radosgw" "ratio"
row() {
  printf '%-40s %14.1f %14.1f %7.2fx\n' "$1" "${result[cfs,$2]}" "${result[rgw,$2]}" \
    "$(echo "${result[cfs,$2]} / ${result[rgw,$2]}" | bc -l)"
}
row "200 MiB upload (aws cli, MiB/s)" up_200m
row "200 MiB download (aws cli, MiB/s)" down_200m
row "1 GiB upload (aws cli, MiB/s)" up_1g
row "1 GiB download (aws cli, MiB/s)" down_1g
row "4 KiB GET, presigned (wrk, req/s)" get4k
row "4 KiB PUT, presigned (wrk, req/s)" put4k
row "ListObjectsV2 of 10,000 keys (keys/s)" list
