#!/usr/bin/env bash
# The long fuzzing run: every target for SECONDS (default 600), corpora kept in fuzz/corpus between runs.
# Prints executions per target; exits non-zero on any crash (the input is saved under fuzz/artifacts/<target>/).
# Usage: bench/fuzz_long.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec tests/hardening/fuzz.sh "${1:-600}" "${@:2}"
