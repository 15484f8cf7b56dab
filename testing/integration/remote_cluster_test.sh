#!/usr/bin/env bash
# cfs-gateway on a 3-node cfs-node cluster (child processes on 127.0.0.1, kernel-picked ports):
# libnfs's nfs-cp and the aws CLI write and read files through the gateway's remote backend; the
# bytes are striped over all three data nodes; everything acknowledged survives kill -9 of the
# gateway and of every node. The third argument is the gateway's A4 transport (default
# tcp-uring); with libfabric:<provider> the nodes serve libfabric with that provider too.
set -uo pipefail
gateway="$1"
node_bin="$2"
transport="${3:-${A4_TRANSPORT:-tcp-uring}}"
fabric_provider=""
case "$transport" in libfabric:*) fabric_provider="${transport#libfabric:}" ;; esac
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/cfs-remote-XXXXXX")"
pids=()
gw=""
cleanup() {
  [ -n "$gw" ] && kill -9 "$gw" 2>/dev/null
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do echo "== $f" >&2; tail -20 "$f" >&2; done
  exit 1
}
export AWS_ACCESS_KEY_ID=admin AWS_SECRET_ACCESS_KEY=admin-secret-123 AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null HOME="$work"

# start_node <index> <a4 port> <fabric port> [metadata args...]: waits for its "a4 host:port"
# line (the fabric port is used with a libfabric transport only).
start_node() {
  local i=$1 port=$2 fport=$3; shift 3
  local fabric_args=()
  [ -n "$fabric_provider" ] && fabric_args=(--fabric_port="$fport" --fabric_provider="$fabric_provider")
  "$node_bin" --data_dir="$work/node$i" --a4_port="$port" --stripe_size=1048576 \
    "${fabric_args[@]}" "$@" > "$work/node$i.out" 2> "$work/node$i.log" &
  pids[$i]=$!
  for _ in $(seq 200); do grep -q "^a4 " "$work/node$i.out" && break; sleep 0.05; done
  grep -q "^a4 " "$work/node$i.out" || fail "node $i did not start"
}
a4_of() { sed -n 's/^a4 //p' "$work/node$1.out"; }
fabric_of() { sed -n 's/^fabric //p' "$work/node$1.out"; }

start_cluster() {  # <a4 port 0..2> <a2 port> <fabric port 0..2>
  start_node 1 "$2" "$6"
  start_node 2 "$3" "$7"
  local layout=(--data_servers="self,$(a4_of 1),$(a4_of 2)")
  [ -n "$fabric_provider" ] && layout+=(--fabric_servers="self,$(fabric_of 1),$(fabric_of 2)")
  start_node 0 "$1" "$5" --metadata --a2_port="$4" "${layout[@]}"
  for _ in $(seq 200); do grep -q "^a2 " "$work/node0.out" && break; sleep 0.05; done
  metadata=$(sed -n 's/^a2 //p' "$work/node0.out")
  [ -n "$metadata" ] || fail "metadata node did not start"
}

start_gateway() {
  : > "$work/gateway.log"
  CFS_ROOT_USER=admin CFS_ROOT_PASSWORD=admin-secret-123 "$gateway" --data_dir="$work/gw" \
    --remote_metadata="$metadata" --bind_address=127.0.0.1 --nfs_port=0 --mount_port=0 \
    --s3_port=0 --smb_port=0 --portmapper_port=0 --control_port=0 --metrics_port=0 \
    --a4_transport="$transport" --protocols=nfs,s3 2> "$work/gateway.log" &
  gw=$!
  for _ in $(seq 300); do grep -q "ready;" "$work/gateway.log" && break; sleep 0.1; done
  grep -q "ready;" "$work/gateway.log" || fail "gateway did not start"
  grep -q "remote:" "$work/gateway.log" || fail "gateway does not say it serves the cluster"
  nfs_port=$(sed -n 's/.*nfs listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/gateway.log")
  mount_port=$(sed -n 's/.*mount listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/gateway.log")
  s3_port=$(sed -n 's/.*s3 listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/gateway.log")
  url="nfs://127.0.0.1/export"
  q="?nfsport=$nfs_port&mountport=$mount_port&version=3&uid=0&gid=0"
}
aws_() { timeout 120 /usr/bin/aws --endpoint-url "http://127.0.0.1:$s3_port" "$@"; }

start_cluster 0 0 0 0 0 0 0
start_gateway
grep -q "over $transport" "$work/gateway.log" || fail "gateway does not use $transport"

# NFS: 5 MB in 1 MiB stripes lands on all three data nodes.
head -c 5000000 /dev/urandom > "$work/in.bin"
timeout 60 nfs-cp "$work/in.bin" "$url/in.bin$q" || fail "nfs-cp in"
timeout 60 nfs-cp "$url/in.bin$q" "$work/out.bin" || fail "nfs-cp out"
cmp -s "$work/in.bin" "$work/out.bin" || fail "NFS read back differs"
for i in 0 1 2; do
  [ -n "$(find "$work/node$i/data" -type f -size +0)" ] || fail "node $i holds no stripe"
done
timeout 60 nfs-ls "$url$q" | grep -q "5000000" || fail "nfs-ls size"

# S3 through the same cluster.
head -c 3000000 /dev/urandom > "$work/obj.bin"
aws_ s3 mb s3://bucket > /dev/null || fail "mb"
aws_ s3 cp --no-progress "$work/obj.bin" s3://bucket/obj.bin > /dev/null || fail "s3 cp in"
aws_ s3 cp --no-progress s3://bucket/obj.bin "$work/obj.out" > /dev/null || fail "s3 cp out"
cmp -s "$work/obj.bin" "$work/obj.out" || fail "S3 read back differs"
# A 40 MB upload goes in parallel multipart parts, and the gateway writes it in pieces in
# flight together: every byte must land.
head -c 40000000 /dev/urandom > "$work/big.bin"
aws_ s3 cp --no-progress "$work/big.bin" s3://bucket/big.bin > /dev/null || fail "s3 cp big in"
aws_ s3 cp --no-progress s3://bucket/big.bin "$work/big.out" > /dev/null || fail "s3 cp big out"
cmp -s "$work/big.bin" "$work/big.out" || fail "S3 multipart upload read back differs"
# The S3 object is a file of the shared namespace: NFS reads the same bytes.
timeout 60 nfs-cp "$url/bucket/obj.bin$q" "$work/obj.nfs" || fail "nfs-cp of the S3 object"
cmp -s "$work/obj.bin" "$work/obj.nfs" || fail "NFS sees other bytes than S3 wrote"

# kill -9 of the gateway and of every node: acknowledged data is all there after restarts.
ports=()
fports=(0 0 0)
for i in 0 1 2; do ports[$i]=$(a4_of $i | sed 's/.*://'); done
if [ -n "$fabric_provider" ]; then
  for i in 0 1 2; do fports[$i]=$(fabric_of $i | sed 's/.*://'); done
fi
a2_port=${metadata##*:}
kill -9 "$gw"; wait "$gw" 2>/dev/null; gw=""
for i in 0 1 2; do kill -9 "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null; done
start_cluster "${ports[0]}" "${ports[1]}" "${ports[2]}" "$a2_port" "${fports[@]}"
start_gateway
timeout 60 nfs-cp "$url/in.bin$q" "$work/again.bin" || fail "nfs-cp after kill -9"
cmp -s "$work/in.bin" "$work/again.bin" || fail "NFS data lost to kill -9"
aws_ s3 cp --no-progress s3://bucket/obj.bin "$work/obj.again" > /dev/null || fail "s3 after kill -9"
cmp -s "$work/obj.bin" "$work/obj.again" || fail "S3 data lost to kill -9"

# A file removed through the gateway leaves no stripe behind on the data nodes.
before=$(find "$work"/node*/data -type f | wc -l)
aws_ s3 rm s3://bucket/obj.bin > /dev/null || fail "s3 rm"
sleep 1
after=$(find "$work"/node*/data -type f | wc -l)
[ "$after" -lt "$before" ] || fail "removed file's stripes stay on the data nodes ($before -> $after)"

kill -TERM "$gw"; wait "$gw" || fail "gateway graceful stop"
gw=""
echo PASS
