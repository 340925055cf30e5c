# Sourced by the end-to-end scripts (from the repository root, under `set -euo pipefail`): a temporary directory
# `$tmp` removed on exit, the processes in `pids` stopped on exit, `free_port`, and `torwatch_bin`.

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# free_port: a loopback TCP port free right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# torwatch_bin: sets `bin` to $TORWATCH_BIN, else to a debug build made now; fails when it is not executable.
torwatch_bin() {
    bin=${TORWATCH_BIN:-}
    if [ -z "$bin" ]; then
        cargo build --quiet --bin torwatch
        bin=${CARGO_TARGET_DIR:-$PWD/target}/debug/torwatch
    fi
    [ -x "$bin" ] || { echo "FAIL: no torwatch binary at $bin" >&2; exit 1; }
}
