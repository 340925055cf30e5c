#!/usr/bin/env bash
# Replays every raw firewall/access-log sample line of ../shared/samples/logs through a real torwatch (a file input
# read from the beginning), with an exit list made of half of the sources those lines name, then lints a full
# scrape with `promtool check metrics` and checks the counters add up: lines = parsed + parse errors + skipped
# records (every sample document holds one flow, so each line gives one outcome), and Tor hits were counted. Needs ../shared (or $TORWATCH_SHARED), promtool, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${TORWATCH_SHARED:-$PWD/../shared}
logs="$shared/samples/logs"
[ -d "$logs" ] || { echo "FAIL: no samples at $logs" >&2; exit 1; }
for tool in promtool curl python3; do command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }; done
bin=${TORWATCH_BIN:-}
if [ -z "$bin" ]; then cargo build --quiet --bin torwatch; bin=${CARGO_TARGET_DIR:-$PWD/target}/debug/torwatch; fi
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# Every raw sample line (not the expectation files), blank lines left out.
find "$logs" -type f \( -name '*.log' -o -name '*.jsonl' -o -name '*.txt' \) ! -name '*expected*' -print0 \
    | sort -z | xargs -0 awk 'length' > "$tmp/all.log"
lines=$(wc -l < "$tmp/all.log")
# Half of the distinct source addresses become the "exit list", so matches happen in many formats.
"$bin" explain --json "$tmp/all.log" | python3 -c '
import json, sys
srcs = sorted({json.loads(l).get("src_ip") for l in sys.stdin} - {None})
print("\n".join(srcs[::2]))' > "$tmp/exits.txt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/torwatch.yaml" <<YML
listen: 127.0.0.1:$port
state_dir: $tmp/state
sources:
  - { name: samples, type: plain, url: $tmp/exits.txt, list: tor-exits, interval: 1h, min_entries: 1 }
inputs:
  - { name: samples, type: file, paths: ["$tmp/replay.log"], start_at: beginning }
YML
"$bin" run --config "$tmp/torwatch.yaml" > "$tmp/torwatch.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$port/readyz" >/dev/null || { echo "FAIL: torwatch not ready"; cat "$tmp/torwatch.log"; exit 1; }
cp "$tmp/all.log" "$tmp/replay.log"
metric() { curl -sf "127.0.0.1:$port/metrics" | python3 -c "
import sys
total = 0
for l in sys.stdin:
    if l.startswith('$1{') or l.startswith('$1 '):
        total += float(l.rsplit(' ', 1)[1])
print(int(total))"; }
for _ in $(seq 100); do [ "$(metric torwatch_input_lines_total)" -ge "$lines" ] && break; sleep 0.2; done
sleep 1
curl -sf -H 'Accept: text/plain; version=0.0.4' "127.0.0.1:$port/metrics" > "$tmp/scrape.txt"
read_lines=$(metric torwatch_input_lines_total); parsed=$(metric torwatch_input_parsed_total)
errors=$(metric torwatch_input_parse_errors_total); hits=$(metric torwatch_tor_hits_total)
skipped=$(metric torwatch_input_skipped_records_total)
echo "replayed $lines sample lines: read $read_lines, parsed $parsed, parse errors $errors, skipped $skipped," \
    "Tor hits $hits"
[ "$read_lines" -eq "$lines" ] || { echo "FAIL: read $read_lines of $lines lines" >&2; exit 1; }
[ $((parsed + errors + skipped)) -eq "$read_lines" ] || { echo "FAIL: parsed + errors + skipped != lines" >&2; exit 1; }
[ "$hits" -gt 0 ] || { echo "FAIL: no Tor hits counted" >&2; exit 1; }
promtool check metrics < "$tmp/scrape.txt"
echo "promtool check metrics: ok ($(grep -vc '^#' "$tmp/scrape.txt") samples)"
