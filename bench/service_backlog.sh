#!/usr/bin/env bash
# The service's backlog speed: how fast `torwatch run` reads a log file that is already there (a `file` input with
# `start_at: beginning`), beside `torwatch scan` of the same file against the same list, both on one core
# (taskset -c 0), in the same run. The service is started first and its list loaded; then the log is linked into
# the watched folder and the clock starts; it stops when every line is accounted for in /metrics (parsed + parse
# errors = lines). CPU time is the service process's own (user + system, from /proc/PID/stat), which depends much
# less on what else runs on the machine than wall time. Best of ROUNDS rounds each. A benchmark: it reports, it never
# fails on a figure.
#
# Usage: [ROUNDS=3] bench/service_backlog.sh [LINES]   (default 10000000; TORWATCH_BENCH_DIR keeps the data)
set -euo pipefail
LINES=${1:-10000000}
ROUNDS=${ROUNDS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${TORWATCH_BENCH_DIR:-$(mktemp -d)}
LOG=$DIR/netfilter.log
PORT=${PORT:-19797}

if [ ! -s "$LOG" ] || [ "$(wc -l < "$LOG")" -ne "$LINES" ]; then
    echo "generating $LINES lines in $DIR" >&2
    python3 "$ROOT/bench/gen_netfilter.py" "$DIR" --lines "$LINES" --exits 2000 --no-expected
fi
cd "$ROOT"
cargo build --release --quiet --bin torwatch
BIN=$ROOT/target/release/torwatch
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# cpu_seconds PID: user + system time of a process so far.
cpu_seconds() { awk -v t="$TICK" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }
# accounted: lines parsed plus lines that did not parse, from the service's metrics.
accounted() {
    curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '
        /^torwatch_input_parsed_total\{/ || /^torwatch_input_parse_errors_total\{/ { n += $NF }
        END { printf "%d\n", n }'
}

service_round() {
    rm -rf "$work/state" "$work/logs"
    mkdir -p "$work/logs"
    cat > "$work/torwatch.yaml" <<CONF
listen: 127.0.0.1:$PORT
state_dir: $work/state
sources:
  - name: bench
    type: plain
    url: $DIR/exits.txt
    list: tor-exits
    interval: 1h
    min_entries: 1
inputs:
  - name: backlog
    type: file
    paths: [$work/logs/*.log]
    start_at: beginning
    poll: 100ms
CONF
    TORWATCH_LOG=warn taskset -c 0 "$BIN" run --config "$work/torwatch.yaml" > "$work/torwatch.out" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do
        curl -fsS -o /dev/null "http://127.0.0.1:$PORT/lists/tor-exits.txt" 2>/dev/null && break
        sleep 0.1
    done
    c0=$(cpu_seconds "$pid")
    t0=$(date +%s.%N)
    ln "$LOG" "$work/logs/backlog.log" 2>/dev/null || ln -s "$LOG" "$work/logs/backlog.log"
    while [ "$(accounted)" -lt "$LINES" ]; do
        sleep 0.05
        kill -0 "$pid" 2>/dev/null || { cat "$work/torwatch.out" >&2; exit 1; }
    done
    t1=$(date +%s.%N)
    c1=$(cpu_seconds "$pid")
    hits=$(curl -fsS "http://127.0.0.1:$PORT/metrics" |
        awk '/^torwatch_tor_hits_total\{/ && /direction="inbound"/ { n += $NF } END { printf "%d\n", n }')
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    awk -v a="$t0" -v b="$t1" -v c="$c0" -v d="$c1" -v h="$hits" 'BEGIN { printf "%.3f %.3f %d\n", b - a, d - c, h }'
}

scan_round() {
    /usr/bin/time -f "%e %U %S" -o "$work/time" taskset -c 0 "$BIN" scan --exits "$DIR/exits.txt" --json "$LOG" \
        > "$work/scan.json"
    read -r wall user sys < "$work/time"
    awk -v w="$wall" -v u="$user" -v s="$sys" -v h="$(jq .tor_hits "$work/scan.json")" \
        'BEGIN { printf "%.3f %.3f %d\n", w, u + s, h }'
}

best() { sort -n -k2 | head -1; }

echo "$LINES lines, $(stat -c %s "$LOG") bytes, best of $ROUNDS rounds by CPU time, one core" \
    "(load: $(cut -d' ' -f1-3 /proc/loadavg))"
dd if="$LOG" iflag=nocache count=0 status=none 2>/dev/null || true
cat "$LOG" > /dev/null
: > "$work/scan.rounds"
: > "$work/service.rounds"
for _ in $(seq 1 "$ROUNDS"); do
    scan_round >> "$work/scan.rounds"
    service_round >> "$work/service.rounds"
done
read -r sw sc sh < <(best < "$work/scan.rounds")
read -r vw vc vh < <(best < "$work/service.rounds")
awk -v l="$LINES" -v sw="$sw" -v sc="$sc" -v vw="$vw" -v vc="$vc" 'BEGIN {
    printf "torwatch scan           wall %7.2f s  cpu %7.2f s  %11.0f lines/cpu-s\n", sw, sc, l / sc
    printf "torwatch run (file)     wall %7.2f s  cpu %7.2f s  %11.0f lines/cpu-s  cpu %.2fx scan\n", vw, vc, l / vc, vc / sc
}'
echo "inbound tor hits: scan $sh, service $vh"
[ "$sh" = "$vh" ] || echo "note: hit counts differ"
