#!/usr/bin/env bash
# The libnfs command line tools (nfs-cp, nfs-ls, nfs-cat) against the cfs-gateway binary on
# 127.0.0.1 with kernel-picked ports: copy a file in and out with a matching checksum, list it,
# cat it; stop the gateway with SIGTERM and check the data after a restart; then kill -9 it and
# check that data copied before the kill is intact.
set -uo pipefail
gateway="$1"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/cfs-nfs-cli-XXXXXX")"
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$work/log" >&2; exit 1; }

start() {
  : > "$work/log"
  "$gateway" --data_dir="$work/data" --bind_address=127.0.0.1 --nfs_port=0 --mount_port=0 \
    --s3_port=0 --smb_port=0 --control_port=0 --metrics_port=0 2> "$work/log" &
  pid=$!
  for _ in $(seq 300); do grep -q "ready;" "$work/log" && break; sleep 0.1; done
  grep -q "ready;" "$work/log" || fail "gateway did not start"
  nfs_port=$(sed -n 's/.*nfs listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
  mount_port=$(sed -n 's/.*mount listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
  [ -n "$nfs_port" ] && [ -n "$mount_port" ] || fail "no NFS/MOUNT ports in the log"
  url="nfs://127.0.0.1/export"
  q="?nfsport=$nfs_port&mountport=$mount_port&version=3&uid=1000&gid=1000"
}

start
head -c 5000000 /dev/urandom > "$work/in.bin"
printf 'hello from nfs-cat\n' > "$work/small.txt"
timeout 60 nfs-cp "$work/in.bin" "$url/in.bin$q" || fail "nfs-cp in"
timeout 60 nfs-cp "$work/small.txt" "$url/small.txt$q" || fail "nfs-cp small"
timeout 60 nfs-cp "$url/in.bin$q" "$work/out.bin" || fail "nfs-cp out"
cmp -s "$work/in.bin" "$work/out.bin" || fail "copied file differs"
listing=$(timeout 60 nfs-ls "$url$q") || fail "nfs-ls"
echo "$listing" | grep -q "in.bin" || fail "nfs-ls does not show in.bin: $listing"
echo "$listing" | grep -q "5000000" || fail "nfs-ls shows the wrong size: $listing"
[ "$(timeout 60 nfs-cat "$url/small.txt$q")" = "hello from nfs-cat" ] || fail "nfs-cat"

kill -TERM "$pid"; wait "$pid" || fail "graceful stop"
pid=""
start
timeout 60 nfs-cp "$url/in.bin$q" "$work/again.bin" || fail "nfs-cp after restart"
cmp -s "$work/in.bin" "$work/again.bin" || fail "data changed across a restart"

# Acknowledged data survives kill -9 of the gateway (no graceful stop).
head -c 3000000 /dev/urandom > "$work/crash.bin"
timeout 60 nfs-cp "$work/crash.bin" "$url/crash.bin$q" || fail "nfs-cp before kill -9"
kill -KILL "$pid"; wait "$pid" 2>/dev/null; pid=""
start
grep -q "after a crash" "$work/log" || fail "the restart did not notice the crash"
timeout 60 nfs-cp "$url/crash.bin$q" "$work/crash-back.bin" || fail "nfs-cp after kill -9"
cmp -s "$work/crash.bin" "$work/crash-back.bin" || fail "acknowledged data lost to kill -9"
kill -TERM "$pid"; wait "$pid"; pid=""
echo PASS
