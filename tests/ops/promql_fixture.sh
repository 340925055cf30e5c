#!/usr/bin/env bash
# Runs tests/ops/promql_e2e.sh --require-data against a real Prometheus that scrapes a static exposition served
# over loopback (tests/ops/fixtures/metrics.txt: every metric of METRICS.md with its labels, @NOW@ replaced by the
# time). Proves the dashboards' queries return data for metrics shaped as the contract says, and that the alert
# rules evaluate cleanly and stay quiet on healthy data (the fleet's recording rules too), before a live torwatch
# is scraped.
# Needs prometheus, promtool (apt: prometheus), python3, curl, jq. Starts and stops its own processes.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in prometheus promtool python3 curl jq; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done
repo=$PWD
fixture=tests/ops/fixtures/metrics.txt
. tests/harness.sh

echo "== fixture covers METRICS.md and passes promtool check metrics"
mkdir -p "$tmp/www"
sed "s/@NOW@/$(date +%s)/" "$fixture" > "$tmp/www/metrics"   # timestamps: now
promtool check metrics < "$tmp/www/metrics"
missing=0
# shellcheck disable=SC2016 # backquotes are Markdown here
for m in $(grep -oE '^\| `torwatch_[a-z0-9_]+`' METRICS.md | tr -d '|` '); do
    grep -qE "^$m(_bucket)?[{ ]" "$fixture" || { echo "FAIL: $m missing from $fixture" >&2; missing=1; }
done
[ "$missing" -eq 0 ]

web=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$web" >"$tmp/http.log" 2>&1 &
pids+=($!)
prom_port=$(free_port)
cat > "$tmp/prom.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $repo/rules/torwatch.rules.yml
  - $repo/rules/torwatch.fleet.rules.yml
scrape_configs:
  - job_name: torwatch
    static_configs:
      - targets: ["127.0.0.1:$web"]
YML
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prom.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$prom_port"
echo "== $(prometheus --version 2>&1 | head -1) on $url scraping 127.0.0.1:$web"
for _ in $(seq 60); do
    n=$(curl -sfG "$url/api/v1/query" --data-urlencode 'query=count_over_time(torwatch_list_loaded[1m])' 2>/dev/null |
        jq -r '.data.result[0].value[1] // 0' 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 3 ] && break
    sleep 1
done
[ "${n:-0}" -ge 3 ] || { echo "FAIL: prometheus did not scrape the fixture" >&2; tail -20 "$tmp/prom.log" >&2; exit 1; }
tests/ops/promql_e2e.sh "$url" --require-data

echo "== the alert rules evaluate without error on the same data, and none fires"
for _ in $(seq 20); do
    rules=$(curl -sf "$url/api/v1/rules")
    jq -e '[.data.groups[].rules[] | select(.health == "unknown")] | length == 0' <<<"$rules" >/dev/null && break
    sleep 1
done
alerts=$(grep -c -- '- alert:' rules/torwatch.rules.yml)
records=$(grep -c -- '- record:' rules/torwatch.fleet.rules.yml)
jq -e --argjson n "$alerts" '[.data.groups[].rules[] | select(.type == "alerting")] | length == $n' <<<"$rules" \
    >/dev/null || { echo "FAIL: not all $alerts alert rules loaded" >&2; exit 1; }
jq -e --argjson n "$records" '[.data.groups[].rules[] | select(.type == "recording")] | length == $n' <<<"$rules" \
    >/dev/null || { echo "FAIL: not all $records fleet recording rules loaded" >&2; exit 1; }
jq -r '.data.groups[].rules[] | "\(.health) \(.state) \(.name) \(.lastError // "")"' <<<"$rules"
jq -e '[.data.groups[].rules[] | select(.health != "ok" or (.type == "alerting" and .state != "inactive"))] | length == 0' \
    <<<"$rules" >/dev/null ||
    { echo "FAIL: a rule is unhealthy or not inactive" >&2; exit 1; }

echo "== promql_e2e.sh itself fails on a query error and on an empty result"
# shellcheck disable=SC2016 # Grafana variables, not shell ones
printf '%s\n' '{"panels":[{"id":1,"type":"stat","targets":[{"refId":"A","expr":"sum(rate(torwatch_input_lines_total[$__rate_interval])"}]}]}' \
    > "$tmp/broken.json"
# shellcheck disable=SC2016
printf '%s\n' '{"panels":[{"id":1,"type":"stat","targets":[{"refId":"A","expr":"torwatch_no_such_metric{input=~\"$input\"}"}]}]}' \
    > "$tmp/empty.json"
if tests/ops/promql_e2e.sh "$url" "$tmp/broken.json" >/dev/null; then echo "FAIL: a broken query passed" >&2; exit 1; fi
if tests/ops/promql_e2e.sh "$url" --require-data "$tmp/empty.json" >/dev/null; then
    echo "FAIL: an empty result passed --require-data" >&2; exit 1
fi
tests/ops/promql_e2e.sh "$url" --require-data --allow-empty no_such_metric "$tmp/empty.json" >/dev/null ||
    { echo "FAIL: --allow-empty did not allow" >&2; exit 1; }
tests/ops/promql_e2e.sh "$url" "$tmp/empty.json" >/dev/null || { echo "FAIL: empty result without --require-data" >&2; exit 1; }
echo "promql_fixture: all checks passed"
