#!/bin/sh
# Times `torwatch scan --json` against a mawk script doing the same count (hits per source, per destination port
# and per protocol for sources in the exit list) and `wc -l`, on one generated netfilter log, in the same run; then
# torwatch again on one core (taskset -c 0). Prints lines/s, MB/s and the ratio to mawk. Never fails on speed.
#
# Usage: bench/scan_vs_mawk.sh [LINES]   (default 10000000; TORWATCH_BENCH_DIR keeps the data between runs)
set -eu
LINES=${1:-10000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${TORWATCH_BENCH_DIR:-$(mktemp -d)}
LOG=$DIR/netfilter.log

if [ ! -s "$LOG" ] || [ "$(wc -l < "$LOG")" -ne "$LINES" ]; then
    echo "generating $LINES lines in $DIR" >&2
    python3 "$ROOT/bench/gen_netfilter.py" "$DIR" --lines "$LINES" --exits 2000 --no-expected
fi

cd "$ROOT"
cargo build --release --quiet
BIN=$ROOT/target/release/torwatch
if "$BIN" scan --help >/dev/null 2>&1; then
    set -- "$BIN" scan
else
    cargo build --release --quiet --example scan
    set -- "$ROOT/target/release/examples/scan"
fi

BYTES=$(stat -c %s "$LOG")
now() { date +%s.%N; }
report() { # name seconds
    awk -v n="$1" -v s="$2" -v l="$LINES" -v b="$BYTES" -v m="${3:-0}" 'BEGIN {
        r = (m > 0) ? sprintf("  %.2fx mawk", m / s) : "";
        printf "%-22s %7.2f s %12.0f lines/s %8.1f MB/s%s\n", n, s, l / s, b / s / 1e6, r }'
}
timed() { # command… ; prints seconds
    t0=$(now); "$@" > "$DIR/out.$$" ; t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

cat "$LOG" > /dev/null # warm the page cache for everyone alike
T_WC=$(timed wc -l "$LOG")
T_MAWK=$(timed mawk -f "$ROOT/bench/tor_hits.awk" "$DIR/exits.kernel.txt" "$LOG")
MAWK_HITS=$(head -1 "$DIR/out.$$")
T_TW=$(timed "$@" --exits "$DIR/exits.txt" --json "$LOG")
TW_HITS=$(jq .tor_hits "$DIR/out.$$")
T_TW1=$(timed taskset -c 0 "$@" --exits "$DIR/exits.txt" --json "$LOG")
rm -f "$DIR/out.$$"

echo "$LINES lines, $BYTES bytes; tor hits: torwatch $TW_HITS, mawk $MAWK_HITS"
report "wc -l" "$T_WC"
report "mawk" "$T_MAWK"
report "torwatch scan" "$T_TW" "$T_MAWK"
report "torwatch scan (1 core)" "$T_TW1" "$T_MAWK"
[ "$TW_HITS" = "$MAWK_HITS" ] || echo "note: hit counts differ"
