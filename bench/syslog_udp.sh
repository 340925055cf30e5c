#!/usr/bin/env bash
# UDP syslog at fixed rates (default 50k, 100k, 200k, 400k msg/s, 3 s each) to
#   (a) torwatch's UDP input with its defaults (examples/udp_sink: the input plus a consumer that only counts), and
#   (b) rsyslog (imudp -> omfile, its default socket buffer),
# printing received/sent for each. A benchmark: it reports, it never fails on a figure.
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
