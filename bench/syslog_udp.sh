#!/usr/bin/env bash
# UDP syslog at fixed rates (default 50k, 100k, 200k, 400k msg/s, 3 s each) to
#   (a) torwatch's UDP input with its defaults (examples/udp_sink: the input plus a consumer that only counts),
#   (b) the whole service, `torwatch run` with a syslog_udp input and default settings (parse, match, count), read
#       back from its metrics, and
#   (c) rsyslog (imudp -> omfile, its default socket buffer),
# printing received/sent for each. The sender (examples/udp_blast) hands the kernel 64 datagrams per call with UDP
# segmentation offload, so that it is not the bottleneck on a small machine; every datagram still arrives on its
# own. A benchmark: it reports, it never fails on a figure.
#   bench/syslog_udp.sh            RATES="100000 400000" SECONDS_EACH=5 bench/syslog_udp.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${RATES:-"50000 100000 200000 400000"}
SECONDS_EACH=${SECONDS_EACH:-3}
THREADS=${THREADS:-2}
PORT=${PORT:-15514}
RS_PORT=${RS_PORT:-15515}

cargo build --quiet --release --example udp_sink --example udp_blast
bin=${CARGO_TARGET_DIR:-target}/release/examples
tmp=$(mktemp -d)
rs_pid=
cleanup() { [ -n "$rs_pid" ] && kill "$rs_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

sent_of() { awk '/^sent/ {print $2}' "$1"; }

echo "== torwatch udp input (defaults: 32 MiB receive buffer, forced when CAP_NET_ADMIN) =="
for rate in $RATES; do
    "$bin/udp_sink" --listen "127.0.0.1:$PORT" --idle 1.5 > "$tmp/sink.out" &
    sink=$!
    sleep 0.3
    "$bin/udp_blast" --to "127.0.0.1:$PORT" --rate "$rate" --seconds "$SECONDS_EACH" --threads "$THREADS" > "$tmp/blast.out"
    wait "$sink"
    sent=$(sent_of "$tmp/blast.out")
    received=$(awk '/^received/ {print $2}' "$tmp/sink.out")
    printf 'rate %7d/s  received/sent %9d/%-9d  %s  [%s]\n' "$rate" "$received" "$sent" \
        "$(awk -v r="$received" -v s="$sent" 'BEGIN {printf "%.4f", r / s}')" \
        "$(grep '^received' "$tmp/sink.out" | cut -d' ' -f3-); sender: $(cut -d' ' -f3- "$tmp/blast.out")"
done

echo "== torwatch run: syslog_udp input, default settings, every message parsed and matched =="
cargo build --quiet --release --bin torwatch
tw=${CARGO_TARGET_DIR:-target}/release/torwatch
http_port=$((PORT + 2))
printf '185.220.101.%d\n' $(seq 0 249) > "$tmp/exits.txt"
cat > "$tmp/torwatch.yaml" <<CONF
listen: 127.0.0.1:$http_port
state_dir: $tmp/state
sources:
  - name: bench
    type: plain
    list: tor-exits
    url: $tmp/exits.txt
    interval: 1h
inputs:
  - name: udp
    type: syslog_udp
    listen: 127.0.0.1:$PORT
CONF
TORWATCH_LOG=warn "$tw" run --config "$tmp/torwatch.yaml" > "$tmp/torwatch.log" 2>&1 &
tw_pid=$!
metric() { # series: its value in the scrape, 0 when absent
    curl -fsS "http://127.0.0.1:$http_port/metrics" | awk -v s="$1" '$1 == s {v = $2} END {print v + 0}'
}
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$http_port/readyz" 2>/dev/null && break; sleep 0.1; done
for rate in $RATES; do
    before=$(metric 'torwatch_input_lines_total{input="udp"}')
    parsed_before=$(metric 'torwatch_input_parsed_total{input="udp",format="netfilter"}')
    "$bin/udp_blast" --to "127.0.0.1:$PORT" --rate "$rate" --seconds "$SECONDS_EACH" --threads "$THREADS" > "$tmp/blast.out"
    last=-1
    while true; do now=$(metric 'torwatch_input_lines_total{input="udp"}'); [ "$now" = "$last" ] && break; last=$now; sleep 0.5; done
    sent=$(sent_of "$tmp/blast.out")
    received=$(awk -v a="$last" -v b="$before" 'BEGIN {print a - b}')
    parsed=$(awk -v a="$(metric 'torwatch_input_parsed_total{input="udp",format="netfilter"}')" -v b="$parsed_before" 'BEGIN {print a - b}')
    printf 'rate %7d/s  received/sent %9d/%-9d  %s  [parsed %d; socket_drops %s, queue_full %s; sender: %s]\n' \
        "$rate" "$received" "$sent" "$(awk -v r="$received" -v s="$sent" 'BEGIN {printf "%.4f", r / s}')" "$parsed" \
        "$(metric 'torwatch_input_socket_drops_total{input="udp"}')" \
        "$(metric 'torwatch_input_dropped_total{input="udp",reason="queue_full"}')" "$(cut -d' ' -f3- "$tmp/blast.out")"
done
kill "$tw_pid" 2>/dev/null; wait "$tw_pid" 2>/dev/null || true

if ! command -v rsyslogd > /dev/null; then
    echo "rsyslogd not installed: skipping the rsyslog comparison (apt-get install rsyslog)"
    exit 0
fi
echo "== rsyslog imudp -> omfile (default socket buffer) =="
cat > "$tmp/rsyslog.conf" <<CONF
global(workDirectory="$tmp")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$RS_PORT")
action(type="omfile" file="$tmp/rsyslog.out")
CONF
rsyslogd -n -f "$tmp/rsyslog.conf" -i "$tmp/rsyslogd.pid" &
rs_pid=$!
sleep 1
lines() { if [ -f "$tmp/rsyslog.out" ]; then wc -l < "$tmp/rsyslog.out"; else echo 0; fi; }
for rate in $RATES; do
    before=$(lines)
    "$bin/udp_blast" --to "127.0.0.1:$RS_PORT" --rate "$rate" --seconds "$SECONDS_EACH" --threads "$THREADS" > "$tmp/blast.out"
    last=-1
    while [ "$(lines)" != "$last" ]; do last=$(lines); sleep 1; done
    sent=$(sent_of "$tmp/blast.out")
    received=$((last - before))
    printf 'rate %7d/s  received/sent %9d/%-9d  %s  [sender: %s]\n' "$rate" "$received" "$sent" \
        "$(awk -v r="$received" -v s="$sent" 'BEGIN {printf "%.4f", r / s}')" "$(cut -d' ' -f3- "$tmp/blast.out")"
done
