#!/usr/bin/env bash
# Requests per second of torwatch's EDL endpoint against nginx serving the same body as a static file
# (with a pre-compressed .gz under gzip_static), measured with wrk on loopback. Prints a table; never fails on
# the numbers. Besides req/s it prints each server's CPU time per request, which a busy machine disturbs less.
#
#   bench/edl_vs_nginx.sh              # 5 s per run, 1/16/64 connections, best of 3 alternating rounds
#   DURATION=10s CONNS="16 64" bench/edl_vs_nginx.sh
#   TORWATCH=target/release/torwatch bench/edl_vs_nginx.sh   # skip the build
#
# Needs: cargo, nginx (nginx-light), wrk, curl, gzip.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
CONNS=${CONNS:-"1 16 64"}
ENTRIES=${ENTRIES:-2000}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}

for tool in nginx wrk curl gzip; do
    command -v "$tool" >/dev/null || { echo "edl_vs_nginx: $tool is not installed" >&2; exit 2; }
done
if [[ -z ${TORWATCH:-} ]]; then
    cargo build --release --quiet
    TORWATCH=${CARGO_TARGET_DIR:-target}/release/torwatch
fi

work=$(mktemp -d)
chmod 755 "$work" # nginx workers may run as another user
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() { # url
    for _ in $(seq 1 200); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "edl_vs_nginx: $1 never answered" >&2
    exit 1
}

# The list: ENTRIES addresses in the ranges real exits live in, a few networks among them.
awk -v n="$ENTRIES" 'BEGIN { for (i = 0; i < n; i++) printf "185.%d.%d.%d\n", 220 + int(i / 62500), int(i / 250) % 250, i % 250 + 1 }' \
    >"$work/exits.txt"

tw_port=$(free_port)
cat >"$work/torwatch.yaml" <<EOF
listen: 127.0.0.1:$tw_port
state_dir: $work/state
sources:
  - name: bench
    type: plain
    list: tor-exits
    url: $work/exits.txt
    interval: 1h
inputs: []
EOF
TORWATCH_LOG=warn "$TORWATCH" run --config "$work/torwatch.yaml" >"$work/torwatch.log" 2>&1 &
tw_pid=$!
pids+=("$tw_pid")
tw_url="http://127.0.0.1:$tw_port/lists/tor-exits.txt"
wait_for "$tw_url"

# nginx serves exactly what torwatch serves.
mkdir -p "$work/www" "$work/nginx"
curl -fsS -o "$work/www/tor-exits.txt" "$tw_url"
gzip -9 -k "$work/www/tor-exits.txt"
ng_port=$(free_port)
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    types { text/plain txt; }
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$ng_port;
        root $work/www;
        location / { gzip_static on; etag on; }
    }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
ng_pid=$!
pids+=("$ng_pid")
ng_url="http://127.0.0.1:$ng_port/tor-exits.txt"
wait_for "$ng_url"

cmp -s <(curl -fsS "$tw_url") <(curl -fsS "$ng_url") || { echo "edl_vs_nginx: bodies differ" >&2; exit 1; }
echo "list: $ENTRIES addresses, $(wc -c <"$work/www/tor-exits.txt") bytes, gzip $(wc -c <"$work/www/tor-exits.txt.gz") bytes"
echo "torwatch $("$TORWATCH" --version 2>/dev/null || echo '?'), $(nginx -v 2>&1), wrk -t$THREADS -d$DURATION, $(nproc) cores"

# CPU time (clock ticks) of a process and its children: req/s on a shared machine is noisy, CPU per request less so.
ticks() { # pid
    local total=0 p
    for p in "$1" $(ps -o pid= --ppid "$1"); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)

# Prints "req/s µs-of-server-CPU-per-request" for one wrk run.
measure() { # pid url conns [header]
    local t=$((THREADS < $3 ? THREADS : $3))
    local args=(-t"$t" -c"$3" -d"$DURATION")
    [[ -n ${4:-} ]] && args+=(-H "$4")
    local before after out
    before=$(ticks "$1")
    out=$(wrk "${args[@]}" "$2")
    after=$(ticks "$1")
    awk -v out="$out" -v cpu=$((after - before)) -v hz="$hz" 'BEGIN {
        n = split(out, l, "\n")
        for (i = 1; i <= n; i++) {
            if (l[i] ~ /requests in/) { split(l[i], w, " "); reqs = w[1] }
            if (l[i] ~ /^Requests\/sec:/) { split(l[i], w, " "); rps = w[2] }
        }
        printf "%d %.1f", rps, (reqs > 0 ? cpu / hz * 1e6 / reqs : 0)
    }'
}

best() { # runs the pair ROUNDS times, alternating; keeps each side's best req/s and its CPU per request
    local tw_best="0 0" ng_best="0 0" r t n
    for r in $(seq 1 "$ROUNDS"); do
        t=$(measure "$tw_pid" "$tw_url" "$@")
        n=$(measure "$ng_pid" "$ng_url" "$@")
        [[ ${t%% *} -gt ${tw_best%% *} ]] && tw_best=$t
        [[ ${n%% *} -gt ${ng_best%% *} ]] && ng_best=$n
    done
    echo "$tw_best $ng_best"
}

printf '\n%-8s %5s | %9s %9s %6s | %11s %11s\n' encoding conns "torwatch" "nginx" ratio "tw us/req" "ngx us/req"
for enc in identity gzip; do
    header=""
    [[ $enc == gzip ]] && header="Accept-Encoding: gzip"
    for c in $CONNS; do
        read -r t tc n nc <<<"$(best "$c" "$header")"
        printf '%-8s %5d | %9d %9d %6.2f | %11.1f %11.1f\n' "$enc" "$c" "$t" "$n" \
            "$(awk -v t="$t" -v n="$n" 'BEGIN { print (n > 0 ? t / n : 0) }')" "$tc" "$nc"
    done
done
