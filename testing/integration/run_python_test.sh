#!/usr/bin/env bash
# Runs a Python integration test with Debian's interpreter (its python3-boto3), whatever
# python3 comes first on PATH.
set -euo pipefail
exec /usr/bin/python3 "$@"
