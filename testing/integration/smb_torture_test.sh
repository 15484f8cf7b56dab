#!/usr/bin/env bash
# smbtorture (Debian's samba-testsuite) runs the tier-0 list (testdata/smbtorture_tier0.txt, the
# list Samba itself passes on this machine) and the tests beyond it the gateway passes
# (testdata/smbtorture_beyond_tier0.txt) against the cfs-gateway binary and prints the pass and
# fail counts. The test fails when a test outside testdata/smbtorture_known_failures.txt fails
# (a regression) or a known failure starts passing (the list must shrink with it).
#
# Usage: smb_torture_test.sh GATEWAY TIER0_LIST KNOWN_FAILURES [MORE_LISTS...]
set -uo pipefail
gateway="$(realpath "$1")"
lists=("$(realpath "$2")")
known="$(realpath "$3")"
for extra in "${@:4}"; do lists+=("$(realpath "$extra")"); done
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/cfs-smbtorture-XXXXXX")"
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

printf 'users { name: "alice" uid: 1000 gid: 1000 smb_password: "Passw0rd!" }\n' > "$work/config"
"$gateway" --config="$work/config" --data_dir="$work/data" --bind_address=127.0.0.1 \
  --smb_port=0 --protocols=smb --portmapper_port=0 --metrics_port=0 --control_port=0 2> "$work/log" &
pid=$!
for _ in $(seq 300); do grep -q "ready;" "$work/log" && break; sleep 0.1; done
port=$(sed -n 's/.*smb listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
[ -n "$port" ] || fail "gateway did not start: $(cat "$work/log")"

timeout 1200 smbtorture "//127.0.0.1/share" -p "$port" -U 'alice%Passw0rd!' --target=samba3 \
  $(cat "${lists[@]}" | grep -E '^smb2') > "$work/torture.log" 2>&1
# A sanitizer build of the gateway (--config=asan/tsan) reports to its log: any report fails.
if grep -q "Sanitizer" "$work/log"; then
  grep -A40 "Sanitizer" "$work/log" | head -80 >&2
  fail "the gateway reported a sanitizer error"
fi
passed=$(grep -c '^success: ' "$work/torture.log")
failed=$(grep -cE '^(failure|error): ' "$work/torture.log")
echo "smbtorture: $passed passed, $failed failed"
grep -E '^(failure|error): ' "$work/torture.log" | sed -E 's/^(failure|error): //; s/ \[$//' |
  sort -u > "$work/failed.txt"
grep -v '^#' "$known" | sed '/^$/d' | sort -u > "$work/known.txt"
new=$(comm -23 "$work/failed.txt" "$work/known.txt")
fixed=$(comm -13 "$work/failed.txt" "$work/known.txt")
if [ -n "$new" ]; then
  awk '/^(failure|error): /{p=1} p{print} /^\]/{p=0}' "$work/torture.log" >&2
  fail "regressions: $new"
fi
[ -z "$fixed" ] || fail "now passing, remove from the known failures: $fixed"
[ "$passed" -gt 0 ] || fail "nothing passed: $(tail -20 "$work/torture.log")"
echo PASS
