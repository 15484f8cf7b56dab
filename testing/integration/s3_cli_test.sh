#!/usr/bin/env bash
# The aws CLI (Debian's awscli) and s3cmd against the cfs-gateway binary on 127.0.0.1:
# buckets, cp/sync of small and multipart files with matching checksums, s3api calls, presign;
# s3cmd with Signature V2; then kill -9 of the gateway: every upload acknowledged before the
# kill reads back intact after the restart, and no half-written object is visible.
set -uo pipefail
gateway="$1"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/cfs-s3-cli-XXXXXX")"
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$work/log" >&2; exit 1; }
export AWS_ACCESS_KEY_ID=admin AWS_SECRET_ACCESS_KEY=admin-secret-123 AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null HOME="$work"

start() {
  : > "$work/log"
  CFS_ROOT_USER=admin CFS_ROOT_PASSWORD=admin-secret-123 "$gateway" --data_dir="$work/data" \
    --bind_address=127.0.0.1 --nfs_port=0 --mount_port=0 --s3_port=0 --smb_port=0 --portmapper_port=0 --metrics_port=0 --control_port=0 \
    --protocols=nfs,s3 2> "$work/log" &
  pid=$!
  for _ in $(seq 300); do grep -q "ready;" "$work/log" && break; sleep 0.1; done
  grep -q "ready;" "$work/log" || fail "gateway did not start"
  port=$(sed -n 's/.*s3 listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
  [ -n "$port" ] || fail "no S3 port in the log"
}
aws_() { timeout 120 /usr/bin/aws --endpoint-url "http://127.0.0.1:$port" "$@"; }

start
aws_ s3 mb s3://cli-bucket || fail "mb"
aws_ s3 ls | grep -q cli-bucket || fail "ls buckets"
head -c 40000000 /dev/urandom > "$work/big.bin"   # over the CLI's 8 MiB multipart threshold
printf 'small file\n' > "$work/small.txt"
aws_ s3 cp --no-progress "$work/big.bin" s3://cli-bucket/data/big.bin || fail "cp big"
aws_ s3 cp --no-progress "$work/small.txt" s3://cli-bucket/data/small.txt || fail "cp small"
aws_ s3 cp --no-progress s3://cli-bucket/data/big.bin "$work/big.out" || fail "cp big back"
cmp -s "$work/big.bin" "$work/big.out" || fail "multipart object differs"
etag=$(aws_ s3api head-object --bucket cli-bucket --key data/big.bin --query ETag --output text)
case "$etag" in *-5\"|*-5) ;; *) fail "multipart ETag $etag (want 5 parts of 8 MiB)";; esac
mkdir -p "$work/tree/sub" && echo one > "$work/tree/a" && echo two > "$work/tree/sub/b"
aws_ s3 sync --no-progress "$work/tree" s3://cli-bucket/tree || fail "sync up"
aws_ s3 sync --no-progress s3://cli-bucket/tree "$work/tree-back" || fail "sync down"
diff -r "$work/tree" "$work/tree-back" || fail "sync round trip differs"
listing=$(aws_ s3 ls --recursive s3://cli-bucket) || fail "ls recursive"
[ "$(echo "$listing" | wc -l)" = 4 ] || fail "want 4 objects: $listing"
url=$(aws_ s3 presign s3://cli-bucket/data/small.txt --expires-in 60) || fail "presign"
[ "$(curl -sf "$url")" = "small file" ] || fail "presigned GET"
aws_ s3api put-object-tagging --bucket cli-bucket --key data/small.txt \
  --tagging 'TagSet=[{Key=team,Value=storage}]' || fail "tagging"
aws_ s3api get-object-tagging --bucket cli-bucket --key data/small.txt --output text \
  | grep -q storage || fail "get tagging"
aws_ s3 rm --only-show-errors s3://cli-bucket/tree --recursive || fail "rm recursive"
[ -z "$(aws_ s3 ls --recursive s3://cli-bucket/tree/)" ] || fail "objects left after rm"

# s3cmd speaks Signature V2.
cat > "$work/s3cfg" <<CFG
[default]
access_key = admin
secret_key = admin-secret-123
host_base = 127.0.0.1:$port
host_bucket = 127.0.0.1:$port
use_https = False
signature_v2 = True
CFG
s3="timeout 120 s3cmd -q -c $work/s3cfg"
$s3 put "$work/small.txt" s3://cli-bucket/v2/small.txt || fail "s3cmd put"
$s3 get --force s3://cli-bucket/v2/small.txt "$work/v2.txt" || fail "s3cmd get"
cmp -s "$work/small.txt" "$work/v2.txt" || fail "s3cmd round trip"
timeout 120 s3cmd -c "$work/s3cfg" ls s3://cli-bucket/v2/ | grep -q small.txt || fail "s3cmd ls"

# kill -9: acknowledged uploads survive, nothing half-written shows up.
head -c 20000000 /dev/urandom > "$work/crash.bin"
aws_ s3 cp --no-progress "$work/crash.bin" s3://cli-bucket/crash.bin || fail "cp before kill -9"
etag_before=$(aws_ s3api head-object --bucket cli-bucket --key crash.bin --query ETag --output text)
aws_ s3 cp --no-progress "$work/small.txt" s3://cli-bucket/crash-small.txt || fail "cp small before kill -9"
head -c 200000000 /dev/zero | aws_ s3 cp --no-progress - s3://cli-bucket/interrupted.bin &
upload=$!
sleep 1.5
kill -KILL "$pid"; wait "$pid" 2>/dev/null; pid=""
wait "$upload" 2>/dev/null
start
aws_ s3 cp --no-progress s3://cli-bucket/crash.bin "$work/crash.out" || fail "cp after kill -9"
cmp -s "$work/crash.bin" "$work/crash.out" || fail "acknowledged object lost to kill -9"
etag_after=$(aws_ s3api head-object --bucket cli-bucket --key crash.bin --query ETag --output text)
[ "$etag_before" = "$etag_after" ] || fail "ETag changed across kill -9: $etag_before $etag_after"
aws_ s3 cp --no-progress s3://cli-bucket/crash-small.txt "$work/crash-small.out" || fail "small after kill -9"
cmp -s "$work/small.txt" "$work/crash-small.out" || fail "small object changed by kill -9"
if aws_ s3api head-object --bucket cli-bucket --key interrupted.bin > /dev/null 2>&1; then
  size=$(aws_ s3api head-object --bucket cli-bucket --key interrupted.bin --query ContentLength)
  [ "$size" = 200000000 ] || fail "a partial object of $size bytes is visible"
fi
kill -TERM "$pid"; wait "$pid" || fail "graceful stop"; pid=""
echo PASS
