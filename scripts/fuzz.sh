#!/usr/bin/env bash
# Builds a libFuzzer target with clang-14 in its own output base and fuzzes it, starting from a
# copy of its checked-in corpus. Usage: scripts/fuzz.sh //lib/backend:file_handle_fuzz [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh //package:name_fuzz [seconds]}"
seconds="${2:-60}"
scripts/install-deps.sh
base="$HOME/.cache/claudefs-bazel-fuzz"
bazel --output_base="$base" build --config=fuzz --symlink_prefix=/ "$target"
package="${target#//}"; package="${package%%:*}"
name="${target##*:}"
binary="$base/execroot/claudefs_gateway/bazel-out/k8-fastbuild/bin/$package/$name"
corpus="$(mktemp -d)"
cp "$package"/testdata/"${name%_fuzz}"_corpus/* "$corpus"/ 2>/dev/null || true
echo "fuzzing $target for ${seconds}s; new inputs collect in $corpus"
"$binary" -max_total_time="$seconds" "$corpus"
