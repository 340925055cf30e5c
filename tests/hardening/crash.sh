#!/usr/bin/env bash
# The long crash run: kills torwatch with SIGKILL CYCLES times (default 300) at random moments while it fetches,
# saves state and publishes, checking state and files after every kill (tests/it/service/crash.rs). `cargo test`
# runs the same test with 30 cycles.
# Usage: tests/hardening/crash.sh [CYCLES]
set -euo pipefail
cd "$(dirname "$0")/../.."
TORWATCH_CRASH_CYCLES="${1:-300}" cargo test --test it service::crash:: -- --nocapture
