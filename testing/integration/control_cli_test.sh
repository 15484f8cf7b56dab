#!/usr/bin/env bash
# cfs-gatewayctl against the cfs-gateway binary on 127.0.0.1, checked with independent clients:
# an export added live is listed by nfs-ls at once; a user and S3 key made by the control plane
# work with the aws CLI, and after a rotation the old key is refused and the new one works; a
# bucket quota set live refuses an upload (QuotaExceeded); a restart keeps all of it; exit codes
# mean what --help says; drain turns /readyz to 503; shutdown stops the process cleanly.
set -uo pipefail
gateway="$1"
ctl="$2"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/cfs-ctl-XXXXXX")"
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$work/log" >&2; exit 1; }
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export HOME="$work"

start() {
  : > "$work/log"
  CFS_ROOT_USER=admin CFS_ROOT_PASSWORD=admin-secret-123 "$gateway" --data_dir="$work/data" \
    --bind_address=127.0.0.1 --nfs_port=0 --mount_port=0 --s3_port=0 --smb_port=0 \
    --portmapper_port=0 --metrics_port=0 --control_port=0 2> "$work/log" &
  pid=$!
  for _ in $(seq 300); do grep -q "ready;" "$work/log" && break; sleep 0.1; done
  grep -q "ready;" "$work/log" || fail "gateway did not start"
  port_of() { sed -n "s/.*] $1 listening on 127.0.0.1:\([0-9]*\).*/\1/p" "$work/log"; }
  nfs=$(port_of nfs); mount=$(port_of mount); s3=$(port_of s3); control=$(port_of control)
  admin=$(port_of admin)
  [ -n "$control" ] || fail "no control port in the log"
}
ctl_() { timeout 60 "$ctl" --address="127.0.0.1:$control" --data_dir="$work/data" "$@"; }
aws_as() {  # key secret args...
  local key="$1" secret="$2"; shift 2
  AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" \
    timeout 120 /usr/bin/aws --endpoint-url "http://127.0.0.1:$s3" "$@"
}
nfs_url() { echo "nfs://127.0.0.1$1?nfsport=$nfs&mountport=$mount&version=3&uid=0&gid=0"; }

start
ctl_ status > "$work/status" || fail "status"
grep -q "ready:    yes" "$work/status" || fail "status says not ready: $(cat "$work/status")"
ctl_ --json status | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ready"], d' \
  || fail "status --json"

# Exit codes: no token (another data_dir has none) 3, unknown export 4, duplicate 5, usage 2.
timeout 60 "$ctl" --address="127.0.0.1:$control" --data_dir="$work/nowhere" status 2> /dev/null
[ $? = 3 ] || fail "a call without the token must exit 3"
ctl_ exports remove nosuch 2> /dev/null; [ $? = 4 ] || fail "removing an unknown export must exit 4"
ctl_ frobnicate 2> /dev/null; [ $? = 2 ] || fail "an unknown command must exit 2"
grep -q "audit\] GetStatus .* refused" "$work/log" || fail "refused call not audited"

# An export added live: its directory is an S3 bucket with a file; add it, list it at once.
printf 'hello\n' > "$work/hello.txt"
aws_as admin admin-secret-123 s3 mb s3://projects > /dev/null || fail "mb projects"
aws_as admin admin-secret-123 s3 cp --no-progress "$work/hello.txt" s3://projects/readme.txt \
  > /dev/null || fail "put readme"
ctl_ exports add projects /projects --nfs_path=/projects --smb_share=projects > /dev/null \
  || fail "exports add"
timeout 60 nfs-ls "$(nfs_url /projects)" > "$work/ls" || fail "nfs-ls of the new export"
grep -q readme.txt "$work/ls" || fail "new export does not show its file: $(cat "$work/ls")"
ctl_ exports add projects /projects 2> /dev/null; [ $? = 5 ] || fail "a duplicate export must exit 5"
ctl_ exports list | grep -q "^2 *projects *\/projects" || fail "exports list: $(ctl_ exports list)"

# A user and key made live; rotation refuses the old key.
ctl_ users create carol --uid=3000 --gid=3000 > /dev/null || fail "users create"
ctl_ --json keys create carol > "$work/key.json" || fail "keys create"
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_key_id"])' "$work/key.json")
secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$work/key.json")
aws_as "$key" "$secret" s3 mb s3://carol-bucket > /dev/null || fail "the new key does not work"
ctl_ --json keys rotate carol "$key" > "$work/rotated.json" || fail "keys rotate"
new_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_key_id"])' "$work/rotated.json")
new_secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$work/rotated.json")
out=$(aws_as "$key" "$secret" s3 ls s3://carol-bucket 2>&1) && fail "the rotated key still works"
echo "$out" | grep -q "InvalidAccessKeyId" || fail "old key refused with: $out"
aws_as "$new_key" "$new_secret" s3 ls s3://carol-bucket > /dev/null || fail "the new key fails"
ctl_ users list | grep -q "$key(disabled)" || fail "users list does not show the old key disabled"

# A bucket quota set live.
ctl_ quotas set bucket carol-bucket --hard_bytes=100K > /dev/null || fail "quotas set"
head -c 200000 /dev/urandom > "$work/big.bin"
out=$(aws_as "$new_key" "$new_secret" s3api put-object --bucket carol-bucket --key big \
  --body "$work/big.bin" 2>&1) && fail "an upload over the bucket quota succeeded"
echo "$out" | grep -q QuotaExceeded || fail "quota refusal said: $out"
ctl_ quotas list | grep -q "bucket *carol-bucket .* 102400" || fail "quotas list: $(ctl_ quotas list)"

# All of it survives a restart (kill -9: the state file is synced before each call answers).
kill -9 "$pid"; wait "$pid" 2> /dev/null; pid=""
start
grep -q "control plane state restored" "$work/log" || fail "state not restored"
timeout 60 nfs-ls "$(nfs_url /projects)" | grep -q readme.txt || fail "export lost by restart"
aws_as "$new_key" "$new_secret" s3 ls s3://carol-bucket > /dev/null || fail "key lost by restart"
aws_as "$key" "$secret" s3 ls s3://carol-bucket > /dev/null 2>&1 && fail "old key back after restart"
out=$(aws_as "$new_key" "$new_secret" s3api put-object --bucket carol-bucket --key big \
  --body "$work/big.bin" 2>&1) && fail "quota lost by restart"

# Drain, then a graceful shutdown through the control plane.
ctl_ drain > /dev/null || fail "drain"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/readyz")
[ "$code" = 503 ] || fail "/readyz after drain answered $code"
ctl_ shutdown > /dev/null || fail "shutdown"
for _ in $(seq 300); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
kill -0 "$pid" 2> /dev/null && fail "still running after shutdown"
wait "$pid"; status=$?; pid=""
[ "$status" = 0 ] || fail "exit status $status after shutdown"
grep -q "stopped" "$work/log" || fail "no graceful stop in the log"
echo PASS
