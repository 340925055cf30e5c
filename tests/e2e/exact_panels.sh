#!/usr/bin/env bash
# The dashboards tell the exact answers (tests/e2e/exact_panels.py): a real torwatch and a real Prometheus scraping
# it every second, every panel query of the shipped dashboards run as Grafana runs it, the five questions checked
# against the scenario's exact answers within Prometheus' extrapolation. Needs prometheus and python3.
# The binary: $TORWATCH_BIN, else `cargo build --bin torwatch`.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in prometheus python3; do command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }; done
bin=${TORWATCH_BIN:-}
if [ -z "$bin" ]; then cargo build --quiet --bin torwatch; bin=${CARGO_TARGET_DIR:-$PWD/target}/debug/torwatch; fi
exec python3 tests/e2e/exact_panels.py "$bin"
