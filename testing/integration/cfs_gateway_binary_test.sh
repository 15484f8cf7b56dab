#!/usr/bin/env bash
# The cfs-gateway binary as operators run it: starts on the embedded backend with loopback and
# port-0 flags, reports ready, stops gracefully on SIGTERM and SIGINT (exit 0, clean shutdown
# recorded), refuses bad flags and bad config files with a clear message and exit status 2.
set -uo pipefail
gateway="$1"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/cfs-bin-XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/log" ] && cat "$work/log" >&2; exit 1; }

ports=(--bind_address=127.0.0.1 --nfs_port=0 --mount_port=0 --s3_port=0 --smb_port=0
       --control_port=0 --metrics_port=0)

wait_for() {  # wait_for PATTERN: until the log shows it (at most 30 s)
  for _ in $(seq 300); do
    grep -q "$1" "$work/log" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

for signal in TERM INT; do
  : > "$work/log"
  CFS_ROOT_USER=admin CFS_ROOT_PASSWORD=password123 \
    "$gateway" --data_dir="$work/data" "${ports[@]}" 2> "$work/log" &
  pid=$!
  wait_for "ready; SIGTERM or SIGINT stops it" || fail "SIG$signal run: never became ready"
  grep -q "root user 'admin' ready (uid 0)" "$work/log" || fail "root user from the environment"
  kill -"$signal" "$pid"
  wait "$pid"
  status=$?
  [ "$status" -eq 0 ] || fail "SIG$signal: exit status $status, expected 0"
  grep -q "gateway\] stopped" "$work/log" || fail "SIG$signal: no graceful stop in the log"
done
# The second start found the first one's clean shutdown, and the state persisted.
grep -q "boot 2, clean" "$work/log" || fail "the restart did not see a clean shutdown"
[ -s "$work/data/file_handle.key" ] || fail "no file-handle key in the data directory"

# Bad flags and config: exit 2 with a message that names the problem.
"$gateway" --data_dir="$work/data2" --nfs_port=70000 2> "$work/log"
[ $? -eq 2 ] || fail "bad port: expected exit 2"
grep -q "nfs_port is 70000" "$work/log" || fail "bad port: message does not name the flag"

printf 'data_dir: "%s"\nnfs_prot: 1\n' "$work/data3" > "$work/bad.conf"
"$gateway" --config="$work/bad.conf" 2> "$work/log"
[ $? -eq 2 ] || fail "bad config: expected exit 2"
grep -q "bad.conf: config: line 2" "$work/log" || fail "bad config: message does not say where"

"$gateway" --config="$work/missing.conf" 2> "$work/log"
[ $? -eq 2 ] || fail "missing config: expected exit 2"

CFS_ROOT_USER=admin CFS_ROOT_PASSWORD=short "$gateway" --data_dir="$work/data4" "${ports[@]}" \
  2> "$work/log"
[ $? -eq 2 ] || fail "short root password: expected exit 2"
grep -q "at least 8 characters" "$work/log" || fail "short root password: unclear message"

# A good config file is read (and a flag on the command line wins over it).
printf 'data_dir: "%s"\nbind_address: "127.0.0.1"\nnfs_port: 0\nmount_port: 0\ns3_port: 0\nsmb_port: 0\ncontrol_port: 0\nmetrics_port: 0\nlog_level: "info"\n' \
  "$work/from-config" > "$work/good.conf"
"$gateway" --config="$work/good.conf" 2> "$work/log" &
pid=$!
wait_for "ready; SIGTERM" || fail "config run: never became ready"
kill -TERM "$pid"
wait "$pid" || fail "config run: bad exit"
[ -d "$work/from-config/meta" ] || fail "config run: data_dir from the config file was not used"
echo "PASS"
