#!/usr/bin/env bash
# Installs what is missing and runs the whole test suite (the layering check, unit, SPI
# conformance, crash, fuzz corpus replay, benchmark smoke tests). Extra arguments go to `bazel test`.
# CFS_SANITIZERS="asan ubsan tsan" runs the suite again under each named sanitizer config.
# Ends with one line "N passed, N failed" counted from Bazel's per-test summaries.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

passed=0
failed=0
overall=0

# One `bazel test` run; adds its per-target results to the totals.
run_pass() {
  local log status p f
  log="$(mktemp)"
  # Actions replayed from the disk cache print the stderr they had when they ran, and runs made
  # under Debian's --sandbox_debug (before .bazelrc turned it off) stored linux-sandbox's debug
  # lines there: they are left out of the log, with the "INFO: From ..." line that heads them.
  bazel test //... "$@" 2>&1 |
    grep --line-buffered -vE '^([0-9]+\.[0-9]+: src/main/tools/linux-sandbox|INFO: From .*:$)' |
    tee "$log"
  status="${PIPESTATUS[0]}"
  p=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
  f=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|INCOMPLETE|NO STATUS|FAILED TO BUILD)' "$log")
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1  # bazel failed before it ran tests (a build or analysis error)
  fi
  rm -f "$log"
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$status" -eq 0 ] || overall="$status"
}

# The layering rules (DESIGN.md), one check counted like a test.
if scripts/check-layering.sh; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  overall=1
fi

run_pass "$@"
for sanitizer in ${CFS_SANITIZERS:-}; do
  echo "=== again under --config=$sanitizer"
  run_pass --config="$sanitizer" "$@"
done
echo "$passed passed, $failed failed"
exit "$overall"
