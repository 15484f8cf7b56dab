#!/usr/bin/env bash
# Checks DESIGN.md's layering with bazel query (visibility enforces the same at build time;
# this names the offending edge): no protocol depends on a backend or on another protocol
# (except rpc for nfs and http for s3), no backend depends on a protocol, on another backend
# or on cfs-node's servers (lib/node), the public gateway API links no backend implementation,
# and lib/control does not depend on lib/server. Prints "layering: ok" or each violation, and
# exits 1 on any.
set -uo pipefail
cd "$(dirname "$0")/.."

violations=0
# check <description> <query that must be empty>
check() {
  local found errors
  errors="$(mktemp)"
  if ! found="$(bazel query --noshow_progress "$2" 2>"$errors")"; then
    echo "layering check failed: bazel query '$2':"
    tail -5 "$errors" | sed 's/^/  /'
    violations=$((violations + 1))
  elif [ -n "$found" ]; then
    echo "layering violation: $1:"
    echo "$found" | sed 's/^/  /'
    violations=$((violations + 1))
  fi
  rm -f "$errors"
}

# Production targets only: tests of a package may not break the rules either, so no filter.
for p in nfs s3 smb rpc http; do
  allowed="//lib/protocols/$p/..."
  case "$p" in
    nfs) allowed="$allowed + //lib/protocols/rpc/..." ;;
    s3) allowed="$allowed + //lib/protocols/http/..." ;;
  esac
  check "//lib/protocols/$p depends on a backend" \
    "deps(//lib/protocols/$p/...) intersect //lib/backends/..."
  check "//lib/protocols/$p depends on another protocol" \
    "deps(//lib/protocols/$p/...) intersect (//lib/protocols/... - ($allowed))"
done
check "a backend depends on a protocol" "deps(//lib/backends/...) intersect //lib/protocols/..."
check "the public gateway API links a backend" "deps(//lib/gateway/...) intersect //lib/backends/..."
check "the remote backend depends on the embedded one" \
  "deps(//lib/backends/remote/...) intersect //lib/backends/embedded/..."
check "the embedded backend depends on the remote one" \
  "deps(//lib/backends/embedded/...) intersect //lib/backends/remote/..."
check "a filter (not its tests) depends on a backend" \
  "deps(kind(cc_library, //lib/backends/filters/...)) intersect (//lib/backends/embedded/... + //lib/backends/remote/...)"
check "a backend depends on cfs-node's servers" "deps(//lib/backends/...) intersect //lib/node/..."
check "the control plane depends on the Builder's implementation" \
  "deps(//lib/control/...) intersect //lib/server/..."
check "the SPI depends on something above it" \
  "deps(//lib/backend/...) intersect (//lib/... - //lib/backend/... - //lib/common/...)"

if [ "$violations" -gt 0 ]; then
  echo "layering: $violations violation(s)"
  exit 1
fi
echo "layering: ok"
