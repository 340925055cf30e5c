#!/usr/bin/env bash
# Logins from Tor, end to end: a real torwatch reads an sshd log and a Cisco ASA AnyConnect / WebVPN log with failed
# logins and one successful login each from listed exits (and logins from addresses that are no exit), a real
# Prometheus scrapes it and evaluates rules/torwatch.rules.yml. Then:
#   - torwatch_tor_hits_total{kind="auth"} holds exactly the logins from exits, by input and action;
#   - the "Tor exits trying to log in" panels of dashboards/tor-traffic.json, their own queries, return the exact
#     counts (evaluated at the instant of the last scrape, where increase() has nothing to extrapolate);
#   - the status page in headless Chromium shows them (tests/browser/logins.mjs);
#   - TorwatchTorLoginSucceeded fires on the live data for both inputs, and in its promtool test.
# Needs prometheus, promtool, curl, jq, python3, node, npm, chromium. Loopback only; starts and stops its own
# processes. The binary: $TORWATCH_BIN, else `cargo build --bin torwatch`.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
for tool in prometheus promtool curl jq python3 node npm; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "FAIL: chromium not found at $chromium" >&2; exit 1; }
. tests/harness.sh
torwatch_bin
http=$(free_port) prom=$(free_port)

# Two listed exits; 198.51.100.9 and 203.0.113.9 are not listed.
a=185.220.102.30 b=185.220.102.31
printf '%s\n%s\n' "$a" "$b" > "$tmp/exits.txt"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat > "$tmp/sshd.log" <<LOG
$now bastion sshd[4242]: Failed password for root from $a port 40001 ssh2
$now bastion sshd[4243]: Failed password for invalid user admin from $b port 40002 ssh2
$now bastion sshd[4242]: Connection closed by authenticating user root $a port 40001 [preauth]
$now bastion sshd[4244]: Failed password for root from 203.0.113.9 port 40003 ssh2
$now bastion sshd[4245]: Accepted publickey for deploy from $a port 40004 ssh2: ED25519 SHA256:Xk3v0d4sJ1hFqvQ3l5nB0Zr1mJpW6n8R8b0Qe4YdKQk
$now bastion sshd[4246]: Accepted password for alice from 198.51.100.9 port 40005 ssh2
$now bastion sshd[612]: Server listening on 0.0.0.0 port 22.
LOG
cat > "$tmp/asa.log" <<LOG
$now asa-1 %ASA-6-716039: Group <VPN> User <bob> IP <$b> Authentication: rejected, Session Type: WebVPN.
$now asa-1 %ASA-6-716039: Group <VPN> User <bob> IP <$a> Authentication: rejected, Session Type: WebVPN.
$now asa-1 %ASA-6-716039: Group <VPN> User <carol> IP <203.0.113.9> Authentication: rejected, Session Type: WebVPN.
$now asa-1 %ASA-6-716038: Group <VPN> User <bob> IP <$b> Authentication: successful, Session Type: WebVPN.
$now asa-1 %ASA-6-113039: Group <VPN> User <bob> IP <$b> AnyConnect parent session started.
$now asa-1 %ASA-4-722051: Group <VPN> User <bob> IP <$b> IPv4 Address <10.8.0.5> IPv6 address <::> assigned to session
LOG
lines=$(( $(wc -l < "$tmp/sshd.log") + $(wc -l < "$tmp/asa.log") ))
cat > "$tmp/torwatch.yaml" <<YML
listen: 127.0.0.1:$http
state_dir: $tmp/state
sources:
  - { name: exits, type: plain, url: $tmp/exits.txt, list: tor-exits, interval: 1h, min_entries: 1 }
inputs:
  - { name: sshd, type: file, paths: ["$tmp/sshd.log"], format: auto, start_at: beginning, poll: 100ms }
  - { name: asa, type: file, paths: ["$tmp/asa.log"], format: auto, start_at: beginning, poll: 100ms }
YML
cat > "$tmp/prom.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ["$repo/rules/torwatch.rules.yml"]
scrape_configs:
  - job_name: torwatch
    static_configs: [{ targets: ["127.0.0.1:$http"] }]
YML
# Prometheus first, so that it sees every series of torwatch at 0 before the hits it counts.
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/data" --web.listen-address="127.0.0.1:$prom" \
    >"$tmp/prom.log" 2>&1 &
pids+=($!)
"$bin" run --config "$tmp/torwatch.yaml" >"$tmp/torwatch.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$prom"
q() { curl -sfG "$url/api/v1/query" --data-urlencode "query=$1"; }
for _ in $(seq 120); do
    got=$(q 'sum(torwatch_input_lines_total)' | jq -r '.data.result[0].value[1] // 0' 2>/dev/null || echo 0)
    [ "${got%.*}" -ge "$lines" ] && break
    sleep 0.5
done
[ "${got%.*}" -ge "$lines" ] || { echo "FAIL: Prometheus saw ${got:-0} of $lines lines" >&2; tail "$tmp/torwatch.log" >&2; exit 1; }
echo "== torwatch read $lines lines; Prometheus scrapes 127.0.0.1:$http"
sleep 4 # the counts that waited for their series' first scrape at 0, scraped

python3 - "$url" "$repo/dashboards/tor-traffic.json" <<'PY'
import json, re, sys, urllib.parse, urllib.request
base, board = sys.argv[1], json.load(open(sys.argv[2]))

def query(expr, at=None):
    when = f"&time={at}" if at else ""
    with urllib.request.urlopen(f"{base}/api/v1/query?query={urllib.parse.quote(expr)}{when}") as r:
        data = json.load(r)
    assert data["status"] == "success", data
    return data["data"]["result"]

# Evaluated at the instant of the last scrape, increase() has nothing to extrapolate past the last sample (nor
# before the first: a series starts at 0), so the panels must give the exact counts.
scraped = query("timestamp(torwatch_build_info)")[0]["value"][1]

def values(expr, *labels):
    return {tuple(s["metric"].get(l, "") for l in labels): float(s["value"][1]) for s in query(expr, scraped)}

def panel(title):
    """The panel's own query, Grafana's variables filled in as for the whole range ($__range: 1h)."""
    found = [p for p in board["panels"] if p.get("title") == title]
    assert len(found) == 1, f"no panel {title!r}"
    expr = found[0]["targets"][0]["expr"]
    expr = expr.replace("$__range", "1h").replace("$__rate_interval", "1m")
    return re.sub(r"\$\w+", ".*", expr)

failures = []
def check(what, got, want):
    print(f"{'ok  ' if got == want else 'FAIL'} {what}: {got}" + ("" if got == want else f", want {want}"))
    if got != want:
        failures.append(what)

# The raw counter: logins from the two exits only (not 203.0.113.9 nor 198.51.100.9).
check('torwatch_tor_hits_total{kind="auth"} by input and action',
      values('sum by (input, action) (torwatch_tor_hits_total{kind="auth",direction="inbound"})', "input", "action"),
      {("sshd", "fail"): 3, ("sshd", "allow"): 1, ("asa", "fail"): 2, ("asa", "allow"): 1, ("asa", "unknown"): 2})
# The dashboard's panels, by their own queries.
check("panel Successful logins from Tor in range",
      values(panel("Successful logins from Tor in range")), {(): 2})
check("panel Failed logins from Tor in range",
      values(panel("Failed logins from Tor in range")), {(): 5})
check("panel Login attempts from Tor in range",
      values(panel("Login attempts from Tor in range")), {(): 9})
check("panel Login attempts by target service",
      values(panel("Login attempts by target service"), "service"), {("ssh",): 4, ("vpn",): 5})
check("panel Login attempts by result",
      values(panel("Login attempts by result"), "action"), {("fail",): 5, ("allow",): 2, ("unknown",): 2})
check("panel Login attempts by service and result",
      values(panel("Login attempts by service and result"), "service", "action"),
      {("ssh", "fail"): 3, ("ssh", "allow"): 1, ("vpn", "fail"): 2, ("vpn", "allow"): 1, ("vpn", "unknown"): 2})
kinds = values(panel("Tor hits by kind"), "kind")
check("panel Tor hits by kind (auth)", kinds.get(("auth",)), 9)
sys.exit(1 if failures else 0)
PY

echo "== TorwatchTorLoginSucceeded on the live data"
for _ in $(seq 30); do
    firing=$(curl -sf "$url/api/v1/alerts" |
        jq -r '[.data.alerts[] | select(.labels.alertname == "TorwatchTorLoginSucceeded" and .state == "firing") | .labels.input] | sort | join(",")')
    [ "$firing" = "asa,sshd" ] && break
    sleep 1
done
[ "$firing" = "asa,sshd" ] || { echo "FAIL: TorwatchTorLoginSucceeded firing for [$firing], want asa,sshd" >&2; exit 1; }
echo "ok   firing for inputs $firing"
echo "== TorwatchTorLoginSucceeded in its promtool test"
promtool test rules rules/torwatch.rules.test.yml

echo "== the status page in headless Chromium"
(
    cd tests/browser
    if [ ! -f node_modules/playwright-core/package.json ]; then
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts >/dev/null
    fi
    mkdir -p "${CARGO_TARGET_DIR:-$repo/target}"
    STATUS_URL="http://127.0.0.1:$http/" CHROMIUM="$chromium" OUT_DIR="${CARGO_TARGET_DIR:-$repo/target}" \
        EXPECT='{"total": 9, "succeeded": 2, "rows": {"ssh": [3, 1, 0], "vpn": [2, 1, 2]}}' node logins.mjs
)
echo "logins: all checks passed"
