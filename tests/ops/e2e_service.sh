#!/usr/bin/env bash
# End to end: a real torwatch (a local plain exit list, syslog UDP/TCP and file inputs, a published file) fed
# real syslog messages by logger (firewall drops, logins over sshd and an ASA VPN, one oversized, one garbage; then
# a SIGHUP reload), scraped by a real Prometheus that also loads rules/torwatch.rules.yml and the fleet's
# recording rules (rules/torwatch.fleet.rules.yml). Then: promtool check metrics on the scrape, every dashboard
# query with --require-data (tests/ops/promql_e2e.sh), every rule healthy and TorwatchNotLoaded quiet.
# Usage: tests/ops/e2e_service.sh [--allow-empty REGEX]...   (passed to promql_e2e.sh)
# The binary: $TORWATCH_BIN, else `cargo build --bin torwatch`. Needs prometheus, promtool, logger, curl, jq,
# python3. Loopback only; starts and stops its own processes.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
for tool in prometheus promtool logger curl jq python3; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done
. tests/harness.sh
torwatch_bin
http=$(free_port) udp=$(free_port) tcp=$(free_port) prom_port=$(free_port)

# documentation addresses as the "Tor" lists
printf '185.220.102.10\n185.220.102.11\n2a0b:f4c2::10\n' > "$tmp/exits.txt"
printf '185.220.103.20\n185.220.102.10\n' > "$tmp/relays.txt"
: > "$tmp/access.log"
mkdir -p "$tmp/state"
cat > "$tmp/torwatch.yaml" <<YML
listen: 127.0.0.1:$http
state_dir: $tmp/state
sources:
  - { name: exits, type: plain, url: $tmp/exits.txt, list: tor-exits, interval: 10s, min_entries: 1 }
  - { name: relays, type: plain, url: $tmp/relays.txt, list: tor-relays, interval: 10s, min_entries: 1 }
inputs:
  - { name: fw-udp, type: syslog_udp, listen: "127.0.0.1:$udp", format: auto, max_message: 1KiB }
  - { name: fw-tcp, type: syslog_tcp, listen: "127.0.0.1:$tcp", format: auto }
  - { name: web, type: file, paths: ["$tmp/access.log"], format: auto, start_at: beginning }
publish:
  - { path: $tmp/state/tor-exits.txt, format: txt, list: tor-exits, apply: [/bin/true] }
YML
"$bin" check-config --config "$tmp/torwatch.yaml"
"$bin" run --config "$tmp/torwatch.yaml" >"$tmp/torwatch.log" 2>&1 &
pids+=($!)
for _ in $(seq 30); do curl -sf "127.0.0.1:$http/readyz" >/dev/null && break; sleep 1; done
curl -sf "127.0.0.1:$http/readyz" >/dev/null || { echo "FAIL: torwatch not ready" >&2; tail "$tmp/torwatch.log" >&2; exit 1; }
echo "== torwatch $("$bin" --version) ready on 127.0.0.1:$http"

nf() { # a netfilter drop line: SRC DST DPT
    echo "kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00:00:00:00:00 SRC=$1 DST=$2 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=40000 DPT=$3 WINDOW=64240 RES=0x00 SYN URGP=0"
}
send() {
    logger --server 127.0.0.1 --port "$udp" --udp --rfc3164 "$(nf 185.220.102.10 10.0.0.5 22)"
    logger --server 127.0.0.1 --port "$udp" --udp --rfc3164 "$(nf 185.220.102.11 10.0.0.5 3389)"
    logger --server 127.0.0.1 --port "$tcp" --tcp --octet-count --rfc5424 "$(nf 2a0b:f4c2::10 2001:db8:1::5 443)" ||
        { echo "FAIL: torwatch does not listen on its syslog_tcp input 127.0.0.1:$tcp" >&2; exit 1; }
    logger --server 127.0.0.1 --port "$udp" --udp --rfc3164 "$(nf 10.0.0.7 185.220.103.20 9001)"
    # logins from the exits: an sshd failure and success, an ASA WebVPN rejection
    logger --server 127.0.0.1 --port "$udp" --udp --rfc3164 -t sshd "Failed password for root from 185.220.102.10 port 40022 ssh2"
    logger --server 127.0.0.1 --port "$udp" --udp --rfc3164 -t sshd "Accepted password for alice from 185.220.102.11 port 40023 ssh2"
    logger --server 127.0.0.1 --port "$tcp" --tcp --octet-count --rfc5424 -t asa \
        "%ASA-6-716039: Group <VPN> User <bob> IP <185.220.102.10> Authentication: rejected, Session Type: WebVPN."
    logger --server 127.0.0.1 --port "$udp" --udp --rfc3164 "this is not a firewall log line"
    logger --server 127.0.0.1 --port "$udp" --udp --rfc3164 --size 4096 "$(nf 185.220.102.10 10.0.0.5 80) $(printf 'x%.0s' $(seq 2000))"
    echo '185.220.102.10 - - [29/Nov/2026:03:00:00 +0000] "GET /admin HTTP/1.1" 404 153 "-" "curl/8"' >> "$tmp/access.log"
    echo '185.220.102.11 - - [29/Nov/2026:03:00:01 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8"' >> "$tmp/access.log"
}
send

cat > "$tmp/prom.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ["$repo/rules/torwatch.rules.yml", "$repo/rules/torwatch.fleet.rules.yml"]
scrape_configs:
  - job_name: torwatch
    static_configs: [{ targets: ["127.0.0.1:$http"] }]
YML
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prom.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$prom_port"
for _ in $(seq 60); do
    n=$(curl -sfG "$url/api/v1/query" --data-urlencode 'query=count_over_time(torwatch_list_loaded[1m])' 2>/dev/null |
        jq -r '.data.result[0].value[1] // 0' 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 3 ] && break
    sleep 1
done
[ "${n:-0}" -ge 3 ] || { echo "FAIL: prometheus did not scrape torwatch" >&2; tail "$tmp/prom.log" >&2; exit 1; }
send # again, so that rates see an increase between scrapes
kill -HUP "${pids[0]}" # a config reload
sleep 3
kill -0 "${pids[0]}" 2>/dev/null || { echo "FAIL: torwatch exited on SIGHUP (the systemd unit's ExecReload)" >&2; exit 1; }

echo "== promtool check metrics (classic text format)"
curl -sf -H 'Accept: text/plain; version=0.0.4' "127.0.0.1:$http/metrics" > "$tmp/scrape.txt"
promtool check metrics < "$tmp/scrape.txt"

# Kernel socket drops cannot be caused on purpose here without flooding the host.
tests/ops/promql_e2e.sh "$url" --require-data --allow-empty torwatch_input_socket_drops_total "$@"

echo "== alert rules on live data"
for _ in $(seq 20); do
    rules=$(curl -sf "$url/api/v1/rules")
    jq -e '[.data.groups[].rules[] | select(.health == "unknown")] | length == 0' <<<"$rules" >/dev/null && break
    sleep 1
done
jq -r '.data.groups[].rules[] | "\(.health) \(.state) \(.name) \(.lastError // "")"' <<<"$rules"
jq -e '[.data.groups[].rules[] | select(.health != "ok")] | length == 0' <<<"$rules" >/dev/null ||
    { echo "FAIL: an alert rule does not evaluate" >&2; exit 1; }
jq -e '[.data.groups[].rules[] | select(.name == "TorwatchNotLoaded" and .state != "inactive")] | length == 0' \
    <<<"$rules" >/dev/null || { echo "FAIL: TorwatchNotLoaded is not quiet on a loaded list" >&2; exit 1; }
echo "e2e_service: all checks passed"
