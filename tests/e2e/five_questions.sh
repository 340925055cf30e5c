#!/usr/bin/env bash
# The five questions, live: a real torwatch tails a netfilter log and an access log while they are written, a real
# Prometheus scrapes it, and PromQL answers must equal the generator's exact answers (bench/gen_netfilter.py):
# distinct exits in 24 h, hits per exit, hits per country, hits per probed port, HTTP responses to Tor by code.
# Needs prometheus, curl, python3. Loopback only; starts and stops its own processes.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in prometheus curl python3; do command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }; done
. tests/harness.sh
torwatch_bin
http=$(free_port) prom=$(free_port)

python3 bench/gen_netfilter.py "$tmp/gen" --lines 50000 --exits 400 --access-lines 3000 --seed 11 >/dev/null
gunzip -c "$tmp/gen/access.log.gz" > "$tmp/gen/access.log"
: > "$tmp/netfilter.log"
: > "$tmp/access.log"
cat > "$tmp/torwatch.yaml" <<YML
listen: 127.0.0.1:$http
state_dir: $tmp/state
sources:
  - { name: onionoo, type: onionoo, url: $tmp/gen/exits.onionoo.json, interval: 1h, min_entries: 1 }
inputs:
  - { name: kernel, type: file, paths: ["$tmp/netfilter.log"], start_at: beginning, poll: 100ms }
  - { name: web, type: file, paths: ["$tmp/access.log"], start_at: beginning, poll: 100ms }
YML
"$bin" run --config "$tmp/torwatch.yaml" > "$tmp/torwatch.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "127.0.0.1:$http/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$http/readyz" >/dev/null || { echo "FAIL: torwatch not ready" >&2; cat "$tmp/torwatch.log" >&2; exit 1; }

cat > "$tmp/prom.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: torwatch
    static_configs: [ { targets: ["127.0.0.1:$http"] } ]
YML
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/prom" --web.listen-address="127.0.0.1:$prom" \
    > "$tmp/prom.log" 2>&1 &
pids+=($!)

# Write the logs while torwatch tails them: in chunks, with pauses.
python3 - "$tmp/gen/netfilter.log" "$tmp/netfilter.log" "$tmp/gen/access.log" "$tmp/access.log" <<'PY'
import sys, time
pairs = [(sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])]
for src, dst in pairs:
    lines = open(src, "rb").read().splitlines(keepends=True)
    with open(dst, "ab") as out:
        for i in range(0, len(lines), 5000):
            out.writelines(lines[i:i + 5000])
            out.flush()
            time.sleep(0.1)
PY
total=$(( $(wc -l < "$tmp/gen/netfilter.log") + $(wc -l < "$tmp/gen/access.log") ))
q() { curl -sf "127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1"; }
for _ in $(seq 150); do
    got=$(q 'sum(torwatch_input_lines_total)' | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)' 2>/dev/null || echo 0)
    [ "$got" -ge "$total" ] && break
    sleep 0.5
done
echo "Prometheus sees $got of $total lines"
[ "$got" -ge "$total" ] || { echo "FAIL: lines did not arrive" >&2; tail "$tmp/torwatch.log" >&2; exit 1; }
sleep 2

python3 - "$tmp/gen/expected.json" "127.0.0.1:$prom" <<'PY'
import json, sys, urllib.parse, urllib.request
expected = json.load(open(sys.argv[1]))
base = "http://" + sys.argv[2] + "/api/v1/query?query="
def query(q):
    with urllib.request.urlopen(base + urllib.parse.quote(q)) as r:
        data = json.load(r)
    assert data["status"] == "success", data
    return data["data"]["result"]
def by(q, label):
    return {s["metric"].get(label, ""): int(float(s["value"][1])) for s in query(q)}
failures = []
def check(name, got, want):
    if got != want:
        diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)} if isinstance(got, dict) else (got, want)
        failures.append(name)
        print(f"FAIL {name}: {str(diff)[:400]}")
    else:
        print(f"ok   {name}: {len(got) if isinstance(got, dict) else got}")

# 1. distinct exits in the last 24 h
check("distinct exits (torwatch_tor_distinct_exits_24h)", int(float(query("torwatch_tor_distinct_exits_24h")[0]["value"][1])), expected["distinct_exits"])
# 2. hits per exit node
check("hits per exit", by("sum by (exit) (torwatch_tor_hits_by_exit_total)", "exit"), expected["by_exit"])
# 3. countries
check("hits per country", by("sum by (country) (torwatch_tor_hits_by_country_total)", "country"), expected["by_country"])
# 4. probed ports: configured ports exactly, and every hit with a port in some series
ports = by('sum by (port) (torwatch_tor_hits_by_port_total{direction="inbound"})', "port")
configured = {"21","22","23","25","53","80","110","143","443","445","993","995","1433","3306","3389","5060","5432","5900","6379","8080","8443"}
check("hits per configured port", {p: n for p, n in ports.items() if p in configured}, {p: n for p, n in expected["by_port"].items() if p in configured})
check("hits over all port series", sum(ports.values()), sum(expected["by_port"].values()))
# 5. HTTP responses to Tor clients
check("HTTP responses by code", by("sum by (code) (torwatch_tor_http_responses_total)", "code"), expected["http_status"])
check("Tor hits (inbound)", int(float(query('sum(torwatch_tor_hits_total{direction="inbound"})')[0]["value"][1])), expected["tor_hits"])
sys.exit(1 if failures else 0)
PY
echo "five questions: all answers match"
