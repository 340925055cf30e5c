#!/bin/sh
# Times `torwatch scan --json` against a mawk script doing the same count (hits per source, per destination port
# and per protocol for sources in the exit list) and `wc -l`, on one generated netfilter log, in the same run; then
# torwatch again on one core (taskset -c 0), then the floor of a search-based reader's byte work on one core
# (examples/scan_floor.rs). Each command runs ROUNDS times (default 3) and its fastest round is reported, mawk's
# as well as torwatch's: on a shared machine single runs vary by 10-20 %. Prints lines/s, MB/s and the ratio to
# mawk. Never fails on speed.
#
# The log is the generator's mixed one (UFW, plain DROP and REJECT prefixes, with and without the kernel's uptime
# stamp, IPv6 in the kernel's uncompressed form, ICMP without ports); MIX=plain gives its one-shape log instead.
#
# Usage: [ROUNDS=3] [MIX=mixed|plain] bench/scan_vs_mawk.sh [LINES]   (default 10000000; TORWATCH_BENCH_DIR keeps
# the data: the mixed log in it, the plain one in its plain/ folder)
set -eu
LINES=${1:-10000000}
MIX=${MIX:-mixed}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${TORWATCH_BENCH_DIR:-$(mktemp -d)}
[ "$MIX" = plain ] && DIR=$DIR/plain && mkdir -p "$DIR"
LOG=$DIR/netfilter.log

if [ ! -s "$LOG" ] || [ "$(wc -l < "$LOG")" -ne "$LINES" ]; then
    echo "generating $LINES lines ($MIX) in $DIR" >&2
    python3 "$ROOT/bench/gen_netfilter.py" "$DIR" --lines "$LINES" --exits 2000 --mix "$MIX" --no-expected
fi

cd "$ROOT"
cargo build --release --quiet
cargo build --release --quiet --example scan_floor
BIN=$ROOT/target/release/torwatch
if "$BIN" scan --help >/dev/null 2>&1; then
    set -- "$BIN" scan
else
    cargo build --release --quiet --example scan
    set -- "$ROOT/target/release/examples/scan"
fi

BYTES=$(stat -c %s "$LOG")
ROUNDS=${ROUNDS:-3}
# timed NAME [MAWK_WALL MAWK_CPU] -- command…: runs it ROUNDS times, prints a result row for the fastest round (by
# wall time), leaves its output in $DIR/out.$$. Wall time depends on what else runs on the machine; CPU time
# (user + system) much less so.
timed() {
    name=$1; shift; mw=0; mc=0
    if [ "$1" != "--" ]; then mw=$1; mc=$2; shift 2; fi
    shift
    : > "$DIR/rounds.$$"
    i=0
    while [ "$i" -lt "$ROUNDS" ]; do
        /usr/bin/time -f "%e %U %S" -o "$DIR/time.$$" "$@" > "$DIR/out.$$"
        cat "$DIR/time.$$" >> "$DIR/rounds.$$"
        i=$((i + 1))
    done
    sort -n "$DIR/rounds.$$" | head -1 > "$DIR/time.$$"
    read -r wall user sys < "$DIR/time.$$"
    awk -v n="$name" -v w="$wall" -v c="$user $sys" -v l="$LINES" -v b="$BYTES" -v mw="$mw" -v mc="$mc" 'BEGIN {
        split(c, p, " "); cpu = p[1] + p[2]; if (w <= 0) w = 0.01; if (cpu <= 0) cpu = 0.01;
        r = (mw > 0) ? sprintf("  wall %.2fx, cpu %.2fx mawk", mw / w, mc / cpu) : "";
        printf "%-22s wall %7.2f s %11.0f lines/s %7.1f MB/s | cpu %7.2f s %11.0f lines/cpu-s%s\n",
            n, w, l / w, b / w / 1e6, cpu, l / cpu, r }'
    LAST_WALL=$wall; LAST_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
}

echo "$LINES lines ($MIX), $BYTES bytes, best of $ROUNDS rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
# Every tool reads the log from the same page cache: the file's cached pages are dropped (dd's nocache flag, this
# file's pages only) and the file is read once in large sequential reads. How the cache holds a file depends on how
# it got there: here, read back in one pass, it is held in large folios where the filesystem supports them, and a
# read(2) of it costs less than half the kernel time of the same file cached piecemeal (measured: 0.20 s -> 0.09 s
# for 2.47 GB on ext4). Every tool reads through read(2), so each gets the same state, whatever it is worth to it.
dd if="$LOG" iflag=nocache count=0 status=none 2>/dev/null || true
cat "$LOG" > /dev/null
timed "wc -l" -- wc -l "$LOG"
timed "mawk" -- mawk -f "$ROOT/bench/tor_hits.awk" "$DIR/exits.kernel.txt" "$LOG"
MAWK_HITS=$(head -1 "$DIR/out.$$")
MW=$LAST_WALL; MC=$LAST_CPU
timed "torwatch scan" "$MW" "$MC" -- "$@" --exits "$DIR/exits.txt" --json "$LOG"
TW_HITS=$(jq .tor_hits "$DIR/out.$$")
timed "torwatch scan (1 core)" "$MW" "$MC" -- taskset -c 0 "$@" --exits "$DIR/exits.txt" --json "$LOG"
rm -f "$DIR/out.$$" "$DIR/time.$$" "$DIR/rounds.$$"
echo "tor hits: torwatch $TW_HITS, mawk $MAWK_HITS"
[ "$TW_HITS" = "$MAWK_HITS" ] || echo "note: hit counts differ"

# A floor on one core: the byte work alone of a reader that cuts lines and searches the words (read, cut lines,
# three word searches, the two addresses), without ports, protocol, validation, lookups or counting. The scan's
# kernel-line reader does not search for IN= and PROTO= but reads the words in place. 5x mawk needs the whole scan
# below MW / 5.
echo
awk -v mw="$MW" 'BEGIN {
    printf "5x mawk on one core needs a scan of %.2f s or less; the byte work alone of a search-based reader:\n", mw / 5 }'
taskset -c 0 "$ROOT/target/release/examples/scan_floor" "$LOG"
