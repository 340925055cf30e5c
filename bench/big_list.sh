#!/usr/bin/env bash
# A big plain list through the real service: generates ENTRIES public IPv4 hosts (default 1,000,000) as a local
# plain feed, starts a release torwatch on it and reports the time until the list is served and its file written,
# the memory after load (VmRSS and the peak VmHWM from /proc/PID/status, per entry), the state file's size and the
# time one save took; then restarts it on the saved state and reports the time until the list is served again and
# the memory after that load. Prints figures, never fails on speed.
#   bench/big_list.sh [ENTRIES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
entries=${1:-1000000}
bin=${TORWATCH_BIN:-$root/target/release/torwatch}
[ -x "$bin" ] || (cd "$root" && cargo build --release --quiet --bin torwatch)
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

python3 - "$entries" "$tmp/feed.txt" <<'PY'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(1)
# First octets never drawn: this-network, private, shared, loopback, link-local, documentation, benchmarking.
reserved = {0, 10, 100, 127, 169, 172, 192, 198, 203}
seen = set()
with open(path, "w") as f:
    while len(seen) < n:
        first = rng.randint(1, 223)
        if first in reserved:
            continue
        a = first << 24 | rng.getrandbits(24)
        if a in seen:
            continue
        seen.add(a)
        f.write("%d.%d.%d.%d\n" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255))
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/torwatch.yaml" <<YML
listen: 127.0.0.1:$port
state_dir: $tmp/state
sources:
  - { name: big, type: plain, url: $tmp/feed.txt, interval: 1h, max_body: 64MiB, max_cover: { ipv4: 1 } }
inputs: []
publish:
  - { path: $tmp/big.txt, format: txt, list: big }
YML

now() { date +%s.%N; }
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
served() { curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/lists/big.txt" 2>/dev/null || true; }
metric() { curl -s "127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
wait_served() {
    for _ in $(seq 6000); do [ "$(served)" = 200 ] && return; sleep 0.05; done
    echo "never served"; cat "$tmp/torwatch.log"; exit 1
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(now)
"$bin" run --config "$tmp/torwatch.yaml" > "$tmp/torwatch.log" 2>&1 &
pid=$!
wait_served
t_served=$(now)
while [ ! -s "$tmp/big.txt" ]; do sleep 0.05; done
t_file=$(now)
for _ in $(seq 600); do [ "$(metric 'torwatch_state_writes_total{result="ok"}')" != 0 ] && break; sleep 0.1; done
sleep 1
rss=$(status VmRSS); hwm=$(status VmHWM)
save=$(metric torwatch_state_save_duration_seconds)
lines=$(wc -l < "$tmp/big.txt")
size=$(du -b "$tmp/state" | tail -1 | cut -f1)
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

start2=$(now)
"$bin" run --config "$tmp/torwatch.yaml" > "$tmp/torwatch2.log" 2>&1 &
pid=$!
wait_served
t_served2=$(now)
sleep 1
rss2=$(status VmRSS); hwm2=$(status VmHWM)

awk -v n="$entries" -v lines="$lines" -v a="$start" -v b="$t_served" -v c="$t_file" -v rss="$rss" -v hwm="$hwm" \
    -v size="$size" -v save="$save" -v a2="$start2" -v b2="$t_served2" -v rss2="$rss2" -v hwm2="$hwm2" 'BEGIN {
    printf "entries: %d (published file: %d lines)\n", n, lines
    printf "fetch to served: %.2f s, to file written: %.2f s (from process start)\n", b - a, c - a
    printf "after load: VmRSS %.1f MB (%.0f bytes/entry), peak VmHWM %.1f MB (%.0f bytes/entry)\n",
        rss / 1024, rss * 1024 / n, hwm / 1024, hwm * 1024 / n
    printf "state directory: %.1f MB (%.1f bytes/entry), last save took %.3f s\n", size / 1e6, size / n, save
    printf "restart on the saved state: served after %.2f s; VmRSS %.1f MB, peak VmHWM %.1f MB\n",
        b2 - a2, rss2 / 1024, hwm2 / 1024
}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
