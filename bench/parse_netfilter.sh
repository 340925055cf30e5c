#!/usr/bin/env bash
# Cost of parsing one netfilter LOG line, per line shape: addresses only (`addresses`), format fixed and auto-detected:
#   instructions per line (callgrind: stable on a busy machine) and lines/s of CPU time on one thread (release).
# A benchmark: it reports, it never fails on a figure.
#   bench/parse_netfilter.sh          ROUNDS=2000000 CG_ROUNDS=50000 bench/parse_netfilter.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2000000}
CG_ROUNDS=${CG_ROUNDS:-20000}
CASES=${CASES:-"iptables-uptime iptables ip6tables icmp ufw-rfc3339 rfc5424"}

cargo build --quiet --release --example netfilter_throughput
bin=${CARGO_TARGET_DIR:-target}/release/examples/netfilter_throughput

# Instructions of one run of the example, all threads, as callgrind counts them.
instructions() {
    local out
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$@" >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}

if command -v valgrind >/dev/null; then
    echo "== instructions per line (callgrind, $CG_ROUNDS lines each) =="
    printf '%-16s %10s %8s %8s\n' case addresses fixed auto
    for case in $CASES; do
        row=()
        for mode in addresses fixed auto; do
            base=$(instructions 0 "$case" "$mode")
            full=$(instructions "$CG_ROUNDS" "$case" "$mode")
            row+=("$(( (full - base) / CG_ROUNDS ))")
        done
        printf '%-16s %10s %8s %8s\n' "$case" "${row[0]}" "${row[1]}" "${row[2]}"
    done
else
    echo "valgrind not installed: no instruction counts"
fi

echo "== CPU time per line ($ROUNDS lines each, one thread) =="
for case in $CASES; do
    "$bin" "$ROUNDS" "$case"
done
