#!/usr/bin/env bash
# Installs what is missing and runs the whole test suite (unit, conformance, crash, fuzz-corpus
# replay, benchmark smoke tests). Extra arguments go to `bazel test`, e.g. --config=asan.
# Ends with one line "N passed, N failed" counted from Bazel's per-test summary.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
log="$(mktemp)"
bazel test //... "$@" 2>&1 | tee "$log"
status="${PIPESTATUS[0]}"
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|INCOMPLETE|NO STATUS|FAILED TO BUILD)' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # bazel failed before running tests (e.g. a build error outside test targets)
fi
rm -f "$log"
echo "$passed passed, $failed failed"
exit "$status"
