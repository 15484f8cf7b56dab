#!/usr/bin/env bash
# Replays every corpus file through a fuzz target; a crash or sanitizer report fails the test.
set -euo pipefail
target="$1"
shift
[ "$#" -gt 0 ] || { echo "empty corpus" >&2; exit 1; }
exec "$target" "$@"
