#!/usr/bin/env bash
# Runs a Google Benchmark binary with the shortest run time: proves each benchmark still works.
set -euo pipefail
exec "$1" --benchmark_min_time=0.001 --benchmark_repetitions=1
