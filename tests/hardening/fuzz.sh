#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for SECONDS each (default 15) and fails on any crash, panic, overflow, timeout or
# out-of-memory. Seeds come from fuzz/seeds/<target>; new inputs go to fuzz/corpus/<target> (not committed).
# Prints the executions of each target. Usage: tests/hardening/fuzz.sh [SECONDS] [TARGET...]
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer, coverage instrumentation); RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-15}"
shift || true
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.13.2
cargo fuzz build
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT
printf '%-16s %12s %8s %10s\n' target execs seconds exec/s
failed=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  log="$log_dir/$t.log"
  if ! cargo fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
      -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    echo "FAIL: fuzz target $t found a crash:" >&2
    grep -E 'panicked|ERROR|SUMMARY|Test unit written|artifact' "$log" | head -20 >&2
    failed=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-16s %12s %8s %10s\n' "$t" "${execs:-?}" "$seconds" "$(( ${execs:-0} / seconds ))"
done
[ "$failed" = 0 ] || exit 1
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, 0 crashes"
