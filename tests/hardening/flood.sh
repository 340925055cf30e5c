#!/usr/bin/env bash
# Overload: a release torwatch (a local plain exit list, a syslog_udp and a syslog_tcp input on loopback) is
# flooded by examples/flood.rs over UDP and TCP as fast as it can send for FLOOD_SECONDS, while /lists/tor-exits.txt
# and /metrics are requested every 50 ms. Then, once the counters settle, every message must be accounted for:
#   TCP (backpressure, no loss):  sent = lines + dropped{oversize};  lines = parsed + parse_errors;
#                                 parsed = netfilter lines sent;  parse_errors = garbage sent;  oversize as sent
#   UDP:  sent = lines + dropped{oversize} + socket_drops;  lines = parsed + parse_errors + dropped{queue_full};
#         socket_drops = the kernel's drops column for the socket in /proc/net/udp
# and every probe must have answered 200 (a probe waits up to 30 s), the process's VmHWM must stay under
# RSS_LIMIT_MIB. Pass/fail never depends on speed; the figures (rates, drops, peak RSS, latency percentiles) are
# printed. PROBE_LIMIT_MS, when set, also fails a run whose slowest probe took longer (a bound to try by hand).
# Usage: tests/hardening/flood.sh   (env: FLOOD_SECONDS=8 UDP_THREADS=1 TCP_CONNS=1 PROBE_LIMIT_MS=
#        RSS_LIMIT_MIB=512 TORWATCH_BIN=...; bench/flood.sh runs the longer form)
set -euo pipefail
cd "$(dirname "$0")/../.."
FLOOD_SECONDS=${FLOOD_SECONDS:-8}
UDP_THREADS=${UDP_THREADS:-1}
TCP_CONNS=${TCP_CONNS:-1}
PROBE_LIMIT_MS=${PROBE_LIMIT_MS:-}
RSS_LIMIT_MIB=${RSS_LIMIT_MIB:-512}
MAX_MESSAGE=2048
for tool in curl python3 awk; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done
cargo build --quiet --release --bin torwatch --example flood
out=${CARGO_TARGET_DIR:-$PWD/target}/release
bin=${TORWATCH_BIN:-$out/torwatch}
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/torwatch.log" ] && tail -5 "$tmp/torwatch.log" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http=$(free_port) udp=$(free_port) tcp=$(free_port)

seq 1 50 | sed 's/^/185.220.102./' > "$tmp/exits.txt"
mkdir -p "$tmp/state"
cat > "$tmp/torwatch.yaml" <<YML
listen: 127.0.0.1:$http
state_dir: $tmp/state
sources:
  - { name: exits, type: plain, url: $tmp/exits.txt, list: tor-exits, interval: 10m, min_entries: 1 }
inputs:
  - { name: flood-udp, type: syslog_udp, listen: "127.0.0.1:$udp", format: auto, max_message: $MAX_MESSAGE }
  - { name: flood-tcp, type: syslog_tcp, listen: "127.0.0.1:$tcp", format: auto, max_message: $MAX_MESSAGE }
YML
"$bin" run --config "$tmp/torwatch.yaml" >"$tmp/torwatch.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "127.0.0.1:$http/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$http/readyz" >/dev/null || fail "torwatch not ready"
rss_before=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")

snmp_rcvbuf() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"] }' /proc/net/snmp; }
rcvbuf_before=$(snmp_rcvbuf)
echo "== flood: ${FLOOD_SECONDS}s, $UDP_THREADS udp sender(s), $TCP_CONNS tcp connection(s), torwatch pid $pid"
"$out/examples/flood" --udp "127.0.0.1:$udp" --tcp "127.0.0.1:$tcp" --http "127.0.0.1:$http" --pid "$pid" \
    --seconds "$FLOOD_SECONDS" --udp-threads "$UDP_THREADS" --tcp-conns "$TCP_CONNS" --probe-ms 50 \
    --max-message "$MAX_MESSAGE" > "$tmp/flood.out" || fail "flood sender: $(cat "$tmp/flood.out")"
f() { awk -v k="$1" '$1 == k {print $2}' "$tmp/flood.out"; }

# metric NAME INPUT [LABEL]: the sum of NAME's samples for INPUT (and LABEL, e.g. reason="oversize")
metric() {
    awk -v n="$1" -v i="input=\"$2\"" -v l="${3:-}" \
        'index($1, n "{") == 1 && index($1, i) && (l == "" || index($1, l)) {s += $2} END {printf "%.0f\n", s}' \
        "$tmp/metrics.txt"
}
snapshot() {
    curl -sf "127.0.0.1:$http/metrics" > "$tmp/metrics.txt" || fail "/metrics after the flood"
    local v=()
    for input in flood-udp flood-tcp; do
        v+=("$(metric torwatch_input_lines_total "$input")" "$(metric torwatch_input_parsed_total "$input")"
            "$(metric torwatch_input_parse_errors_total "$input")"
            "$(metric torwatch_input_dropped_total "$input" 'reason="queue_full"')"
            "$(metric torwatch_input_dropped_total "$input" 'reason="oversize"')"
            "$(metric torwatch_input_socket_drops_total "$input")")
    done
    echo "${v[*]}"
}
# Settled: two scrapes 1.5 s apart agree (the socket drop counter is read every second).
last= settled=
for _ in $(seq 40); do
    now=$(snapshot)
    [ "$now" = "$last" ] && { settled=1; break; }
    last=$now
    sleep 1.5
done
[ -n "$settled" ] || fail "counters still moving 60 s after the flood: $now"
kill -0 "$pid" 2>/dev/null || fail "torwatch died"
read -r u_lines u_parsed u_errors u_qfull u_over u_sock t_lines t_parsed t_errors t_qfull t_over t_sock <<< "$now"
port_hex=$(printf '%04X' "$udp")
k_drops=$(awk -v a="0100007F:$port_hex" '$2 == a {print $NF}' /proc/net/udp)
rcvbuf_delta=$(( $(snmp_rcvbuf) - rcvbuf_before ))
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")

secs=$(f seconds)
rate() { awk -v n="$1" -v s="$secs" 'BEGIN {printf "%.0f", n / s}'; }
u_sent=$(f udp_sent) t_sent=$(f tcp_sent)
echo "udp: sent $u_sent ($(rate "$u_sent")/s), read $u_lines, parsed $u_parsed ($(rate "$u_parsed")/s)," \
    "parse errors $u_errors, dropped: queue_full $u_qfull oversize $u_over socket $u_sock" \
    "(kernel: socket drops $k_drops, Udp RcvbufErrors +$rcvbuf_delta)"
echo "tcp: sent $t_sent ($(rate "$t_sent")/s), read $t_lines, parsed $t_parsed ($(rate "$t_parsed")/s)," \
    "parse errors $t_errors, dropped: oversize $t_over queue_full $t_qfull"
echo "probes: $(f probes) requests, $(f probe_failures) failed; latency p50 $(f probe_p50_ms) ms," \
    "p99 $(f probe_p99_ms) ms, max $(f probe_max_ms) ms"
echo "memory: VmRSS before $((rss_before / 1024)) MiB, max sampled $(( $(f rss_max_kib) / 1024 )) MiB," \
    "VmHWM $((hwm / 1024)) MiB"

check() { # check WHAT LEFT RIGHT
    [ "$2" = "$3" ] || fail "$1: $2 != $3"
}
u_unaccounted=$((u_sent - u_lines - u_over - u_sock))
t_unaccounted=$((t_sent - t_lines - t_over))
echo "unaccounted: udp $u_unaccounted, tcp $t_unaccounted"
[ "$u_sent" -gt 0 ] && [ "$t_sent" -gt 0 ] || fail "nothing was sent"
check "udp: sent = lines + oversize + socket drops" "$u_sent" "$((u_lines + u_over + u_sock))"
check "udp: lines = parsed + parse errors + queue_full" "$u_lines" "$((u_parsed + u_errors + u_qfull))"
check "udp: socket drops metric = kernel drops column" "$u_sock" "$k_drops"
check "tcp: sent = lines + oversize" "$t_sent" "$((t_lines + t_over))"
check "tcp: lines = parsed + parse errors" "$t_lines" "$((t_parsed + t_errors))"
check "tcp: parsed = netfilter lines sent" "$t_parsed" "$(f tcp_netfilter)"
check "tcp: parse errors = garbage sent" "$t_errors" "$(f tcp_garbage)"
check "tcp: oversize dropped = oversize sent" "$t_over" "$(f tcp_oversize)"
check "tcp: nothing dropped for a full queue" "$t_qfull" 0
[ "$(f probes)" -gt 0 ] || fail "no probe ran"
check "probes failed" "$(f probe_failures)" 0
[ -z "$PROBE_LIMIT_MS" ] || awk -v m="$(f probe_max_ms)" -v l="$PROBE_LIMIT_MS" 'BEGIN {exit !(m <= l)}' ||
    fail "a probe took $(f probe_max_ms) ms (limit $PROBE_LIMIT_MS ms)"
[ "$hwm" -le $((RSS_LIMIT_MIB * 1024)) ] || fail "VmHWM $((hwm / 1024)) MiB over $RSS_LIMIT_MIB MiB"
echo "flood: ok"
