#!/usr/bin/env bash
# A fleet on loopback: one leader fetches the exit list from a fake Tor upstream (a local HTTP server on port 0
# serving the generator's Onionoo document, logging each request's User-Agent) and requires a bearer token for its
# lists; two followers take tor-exits and tor-relays from it (sources of type torwatch). Each of the three tails a
# different third of one generated log (netfilter and access log; exits appear in several thirds). A real Prometheus
# scrapes all three with rules/torwatch.fleet.rules.yml loaded. Then:
#  - the fleet's recording rules and every panel of dashboards/tor-fleet.json equal the exact answers over the whole
#    log (bench/gen_netfilter.py's expected.json), per-instance panels the exact answers of each third;
#  - the fake upstream saw requests from the leader only;
#  - lookup and scan --state-dir answer on a follower as on the leader;
#  - with the leader stopped, the followers keep serving the same list, report the failing leader and, after their
#    stale_after, the stale list on /readyz (still 200); when it comes back (same port, same state), they catch up.
# Tolerance: none. Every series in this run is born inside the rules' 24-hour window, where the rules take a series'
# largest value (max_over_time), not increase(): no extrapolation is involved, so the answers must be exact.
# Needs prometheus, curl, python3. Loopback only; starts and stops its own processes.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
for tool in prometheus curl python3; do command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }; done
bin=${TORWATCH_BIN:-}
if [ -z "$bin" ]; then cargo build --quiet --bin torwatch; bin=${CARGO_TARGET_DIR:-$PWD/target}/debug/torwatch; fi
tmp=$(mktemp -d)
declare -A pid=()
cleanup() {
    for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fail() { echo "FAIL: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -5 "$f" >&2; done; exit 1; }

echo "== a generated log, split in thirds"
python3 bench/gen_netfilter.py "$tmp/gen" --lines 30000 --exits 300 --access-lines 3000 --seed 25 >/dev/null
gunzip -c "$tmp/gen/access.log.gz" > "$tmp/gen/access.log"
python3 - "$tmp/gen" <<'PY'
import ipaddress, json, os, re, sys
gen = sys.argv[1]
exits = {ipaddress.ip_address(l.strip()) for l in open(os.path.join(gen, "exits.txt")) if l.strip() and l[0] != "#"}
src = re.compile(r" SRC=(\S+)")
per = [set(), set(), set()]
for kind in ("netfilter", "access"):
    lines = open(os.path.join(gen, f"{kind}.log")).read().splitlines(keepends=True)
    n = len(lines)
    for third in range(3):
        part = lines[third * n // 3:(third + 1) * n // 3]
        open(os.path.join(gen, f"{kind}.{third}.log"), "w").writelines(part)
        for line in part:
            m = src.search(line) if kind == "netfilter" else re.match(r"(\S+) ", line)
            try:
                ip = ipaddress.ip_address(m.group(1)) if m else None
            except ValueError:
                ip = None
            if ip in exits:
                per[third].add(ip)
expected = json.load(open(os.path.join(gen, "expected.json")))
whole = set().union(*per)
assert len(whole) == expected["distinct_exits"], (len(whole), expected["distinct_exits"])
shared = sum(1 for ip in whole if sum(ip in p for p in per) >= 2)
assert shared > 0, "no exit appears in two thirds"
json.dump([len(p) for p in per], open(os.path.join(gen, "distinct_per_third.json"), "w"))
print(f"{expected['distinct_exits']} distinct exits, per third {[len(p) for p in per]}, {shared} in two or more thirds")
PY

echo "== the fake Tor upstream"
cat > "$tmp/upstream.py" <<'PY'
import http.server, sys
root, portfile, logfile = sys.argv[1:]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(logfile, "a") as log:
            log.write(f"{self.path}\t{self.headers.get('User-Agent', '')}\n")
        if self.path != "/onionoo":
            self.send_error(404)
            return
        body = open(root + "/exits.onionoo.json", "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
open(portfile, "w").write(str(server.server_address[1]))
server.serve_forever()
PY
: > "$tmp/upstream.requests"
python3 "$tmp/upstream.py" "$tmp/gen" "$tmp/upstream.port" "$tmp/upstream.requests" > "$tmp/upstream.log" 2>&1 &
pid[upstream]=$!
for _ in $(seq 50); do [ -s "$tmp/upstream.port" ] && break; sleep 0.1; done
upstream="http://127.0.0.1:$(cat "$tmp/upstream.port")"

echo "== leader and two followers"
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
printf '%s\n' "$token" > "$tmp/token"
declare -A port=()
for name in leader a b; do port[$name]=$(free_port); : > "$tmp/kernel.$name.log"; : > "$tmp/web.$name.log"; done
inputs() {
    cat <<YML
inputs:
  - { name: kernel, type: file, paths: ["$tmp/kernel.$1.log"], start_at: beginning, poll: 100ms }
  - { name: web, type: file, paths: ["$tmp/web.$1.log"], start_at: beginning, poll: 100ms }
YML
}
cat > "$tmp/leader.yaml" <<YML
listen: 127.0.0.1:${port[leader]}
state_dir: $tmp/state.leader
user_agent: torwatch-fleet-leader
sources:
  - { name: onionoo, type: onionoo, url: "$upstream/onionoo", interval: 1h, min_entries: 1 }
http:
  lists:
    auth: { type: bearer, token_file: $tmp/token }
$(inputs leader)
YML
for f in a b; do
    cat > "$tmp/follower-$f.yaml" <<YML
listen: 127.0.0.1:${port[$f]}
state_dir: $tmp/state.$f
user_agent: torwatch-fleet-follower-$f
stale_after: 5s
sources:
  - { name: leader, type: torwatch, url: "http://127.0.0.1:${port[leader]}", interval: 1s, token_file: $tmp/token }
  - { name: leader-relays, type: torwatch, url: "http://127.0.0.1:${port[leader]}", list: tor-relays, interval: 1s, token_file: $tmp/token }
$(inputs "$f")
YML
done
start() { # NAME CONFIG
    "$bin" run --config "$2" >> "$tmp/torwatch.$1.log" 2>&1 &
    pid[$1]=$!
}
ready() { # NAME: waits until its lists are loaded
    for _ in $(seq 100); do curl -sf "127.0.0.1:${port[$1]}/readyz" >/dev/null && return 0; sleep 0.2; done
    fail "torwatch $1 not ready"
}
start leader "$tmp/leader.yaml"
ready leader
start a "$tmp/follower-a.yaml"
start b "$tmp/follower-b.yaml"
ready a
ready b

prom=$(free_port)
cat > "$tmp/prom.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ["$repo/rules/torwatch.fleet.rules.yml"]
scrape_configs:
  - job_name: torwatch
    static_configs: [ { targets: ["127.0.0.1:${port[leader]}", "127.0.0.1:${port[a]}", "127.0.0.1:${port[b]}"] } ]
YML
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/prom" --web.listen-address="127.0.0.1:$prom" \
    > "$tmp/prometheus.log" 2>&1 &
pid[prometheus]=$!
q() { curl -sf "127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1"; }
value() { q "$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)' 2>/dev/null || echo 0; }
for _ in $(seq 60); do [ "$(value 'count(up == 1)')" -eq 3 ] && break; sleep 0.5; done
[ "$(value 'count(up == 1)')" -eq 3 ] || fail "Prometheus does not scrape all three"

echo "== each instance tails its third while it is written"
python3 - "$tmp" <<'PY'
import sys, time
tmp = sys.argv[1]
for third, name in enumerate(["leader", "a", "b"]):
    for kind, target in (("netfilter", "kernel"), ("access", "web")):
        lines = open(f"{tmp}/gen/{kind}.{third}.log", "rb").read().splitlines(keepends=True)
        with open(f"{tmp}/{target}.{name}.log", "ab") as out:
            for i in range(0, len(lines), 2500):
                out.writelines(lines[i:i + 2500])
                out.flush()
                time.sleep(0.05)
PY
total=$(( $(wc -l < "$tmp/gen/netfilter.log") + $(wc -l < "$tmp/gen/access.log") ))
for _ in $(seq 120); do
    got=$(value 'sum(torwatch_input_lines_total)')
    [ "$got" -ge "$total" ] && break
    sleep 0.5
done
echo "Prometheus sees $got of $total lines"
[ "$got" -ge "$total" ] || fail "lines did not arrive"
# A hit is exposed once a scrape has shown its series at 0: wait until the raw counters hold every inbound hit,
# then for a rule evaluation after that scrape.
hits=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tor_hits"])' "$tmp/gen/expected.json")
for _ in $(seq 60); do
    [ "$(value 'sum(torwatch_tor_hits_total{direction="inbound"})')" -ge "$hits" ] && break
    sleep 0.5
done
sleep 3

echo "== the fleet's recording rules and panels equal the exact answers"
python3 - "$tmp/gen" "127.0.0.1:$prom" dashboards/tor-fleet.json "127.0.0.1:${port[leader]}" <<'PY'
import json, sys, urllib.parse, urllib.request
gen, prom, board_path, leader = sys.argv[1:]
expected = json.load(open(gen + "/expected.json"))
per_third = json.load(open(gen + "/distinct_per_third.json"))
CONFIGURED = {"21", "22", "23", "25", "53", "80", "110", "143", "443", "445", "993", "995", "1433", "3306", "3389",
              "5060", "5432", "5900", "6379", "8080", "8443"}


def query(q):
    with urllib.request.urlopen(f"http://{prom}/api/v1/query?query=" + urllib.parse.quote(q)) as r:
        data = json.load(r)
    assert data["status"] == "success", data
    return data["data"]["result"]


def by(result, label):
    return {s["metric"].get(label, ""): round(float(s["value"][1]), 6) for s in result}


def scalar(result):
    assert len(result) == 1, result
    return round(float(result[0]["value"][1]), 6)


failures = []


def check(name, got, want):
    if got != want:
        if isinstance(got, dict):
            diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
        else:
            diff = (got, want)
        failures.append(name)
        print(f"FAIL {name}: {str(diff)[:500]}")
    else:
        print(f"ok   {name}: {len(got) if isinstance(got, dict) else got}")


http_errors = {c: n for c, n in expected["http_status"].items() if c[0] in "45"}
raw_outbound = scalar(query('sum(torwatch_tor_hits_total{direction="outbound"})') or [{"value": [0, "0"]}])
print(f"(outbound hits, no generator answer: the instances' raw counters say {raw_outbound})")

# The recording rules
check("fleet:torwatch_tor_distinct_exits:count24h", scalar(query("fleet:torwatch_tor_distinct_exits:count24h")),
      expected["distinct_exits"])
check("exit:torwatch_tor_hits_by_exit:increase24h", by(query("exit:torwatch_tor_hits_by_exit:increase24h"), "exit"),
      expected["by_exit"])
check("country:torwatch_tor_hits_by_country:increase24h",
      by(query("country:torwatch_tor_hits_by_country:increase24h"), "country"), expected["by_country"])
ports = by(query('direction_port:torwatch_tor_hits_by_port:increase24h{direction="inbound"}'), "port")
check("direction_port:…{direction=inbound}, configured ports", {p: n for p, n in ports.items() if p in CONFIGURED},
      {p: n for p, n in expected["by_port"].items() if p in CONFIGURED})
check("direction_port:…{direction=inbound}, all port series", sum(ports.values()), sum(expected["by_port"].values()))
check("code:torwatch_tor_http_responses:increase24h", by(query("code:torwatch_tor_http_responses:increase24h"), "code"),
      expected["http_status"])
check("kind:torwatch_tor_hits:increase24h, inbound",
      round(sum(float(s["value"][1]) for s in query('kind:torwatch_tor_hits:increase24h{direction="inbound"}')), 6),
      expected["tor_hits"])
check("fleet:torwatch_instances:count", scalar(query("fleet:torwatch_instances:count")), 3)

# Every panel of the fleet dashboard, with its own queries
board = json.load(open(board_path))
with urllib.request.urlopen(f"http://{leader}/readyz") as r:
    leader_entries = json.load(r)["lists"]["tor-exits"]["entries"]
seen_panels = 0
for panel in board["panels"]:
    for t in panel.get("targets", []):
        title, expr = panel["title"], t["expr"]
        result = query(expr)
        seen_panels += 1
        name = f"panel {title!r} {t['refId']}"
        if title.startswith("Distinct exits, fleet"):
            check(name, scalar(result), expected["distinct_exits"])
        elif title.startswith("Inbound Tor hits"):
            check(name, scalar(result), expected["tor_hits"])
        elif title.startswith("Outbound to Tor relays"):
            check(name, scalar(result), raw_outbound)
        elif title == "Instances":
            check(name, scalar(result), 3)
        elif title.startswith("Top exit nodes"):
            got = by(result, "exit")
            floor = sorted(expected["by_exit"].values(), reverse=True)[19]
            check(name, got, {e: expected["by_exit"][e] for e in got})
            check(name + " is a top 20", (len(got), all(v >= floor for v in got.values())), (20, True))
        elif title.startswith("Top countries"):
            check(name, by(result, "country"), expected["by_country"])
        elif title.startswith("Probed destination ports"):
            got = by(result, "port")
            check(name, {p: n for p, n in got.items() if p in CONFIGURED},
                  {p: n for p, n in expected["by_port"].items() if p in CONFIGURED and p in got})
        elif title.startswith("HTTP errors"):
            check(name, by(result, "code"), http_errors)
        elif title.startswith("Tor hits by kind"):
            inbound = sum(float(s["value"][1]) for s in result if s["metric"]["direction"] == "inbound")
            check(name + ", inbound", round(inbound, 6), expected["tor_hits"])
        elif title.startswith("Distinct exits: fleet and per instance") and t["refId"] == "A":
            check(name, scalar(result), expected["distinct_exits"])
        elif title.startswith("Distinct exits: fleet and per instance"):
            check(name, sorted(by(result, "instance").values()), sorted(per_third))
        elif title.startswith("tor-exits entries per instance"):
            check(name, sorted(by(result, "instance").values()), [leader_entries] * 3)
        elif title.startswith("tor-exits age per instance"):
            ages = by(result, "instance").values()
            check(name + " (all fresh, under 60 s)", (len(ages), all(0 <= a < 60 for a in ages)), (3, True))
        else:
            failures.append(name)
            print(f"FAIL {name}: no expected answer for this panel")
print(f"{seen_panels} panel queries checked")
sys.exit(1 if failures else 0)
PY

echo "== the fake upstream saw requests from the leader only"
python3 - "$tmp/upstream.requests" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
agents = {ua for _, ua in rows}
print(f"{len(rows)} requests, user agents {sorted(agents)}")
sys.exit(0 if rows and agents == {"torwatch-fleet-leader"} else "FAIL: requests from others than the leader")
PY

echo "== lookup and scan --state-dir on a follower answer as on the leader"
# The generated log's own times lie before the leader's first fetch, when no list covers them: for the scan at
# each event's time, its RFC 3339 lines are stamped with the present.
python3 - "$tmp/gen/netfilter.log" "$tmp/recent.log" <<'PY'
import datetime, sys
now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        if line[:1].isdigit():
            out.write(now + line[line.index(" "):])
PY
mapfile -t probes < <(grep -v "^#" "$tmp/gen/exits.txt" | head -3; echo 9.9.9.9)
at=$(date +%s)
for ip in "${probes[@]}"; do
    l=$("$bin" lookup "$ip" --json --at "$at" --config "$tmp/leader.yaml" || true)
    f=$("$bin" lookup "$ip" --json --at "$at" --config "$tmp/follower-a.yaml" || true)
    [ "$l" = "$f" ] || fail "lookup $ip: leader $l, follower $f"
done
for extra in "" --at-time-of-event; do
    l=$("$bin" scan --json --state-dir "$tmp/state.leader" $extra "$tmp/recent.log")
    f=$("$bin" scan --json --state-dir "$tmp/state.b" $extra "$tmp/recent.log")
    [ "$l" = "$f" ] || fail "scan --state-dir $extra differs between leader and follower"
    hits=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tor_hits"])' "$l")
    [ "$hits" -gt 0 ] || fail "scan --state-dir $extra found no Tor hits"
done
echo "ok: lookup of ${#probes[@]} addresses and scan (current list, and at each event's time) agree"

echo "== the leader stops: the followers keep the same list, report the failing leader, and stale after stale_after"
get() { curl -sf "127.0.0.1:${port[$1]}$2"; }
leader_failing() { # FOLLOWER: /readyz is ready and shows the leader source's connect_error
    get "$1" /readyz | python3 -c '
import json, sys
r = json.load(sys.stdin)
leader = next(s for s in r["sources"] if s["name"] == "leader")
sys.exit(0 if r["ready"] and leader["last_result"] == "connect_error" else 1)'
}
leader_up() { # FOLLOWER 0|1: waits until the follower's leader source is down (0) or up (1)
    for _ in $(seq 50); do
        get "$1" /metrics | grep -q "^torwatch_source_up{source=\"leader\"} $2" && return 0
        sleep 0.2
    done
    return 1
}
before_a=$(get a /lists/tor-exits.json) before_b=$(get b /lists/tor-exits.json)
kill "${pid[leader]}"; wait "${pid[leader]}" 2>/dev/null || true; unset 'pid[leader]'
for f in a b; do
    leader_up "$f" 0 || fail "follower $f does not report the leader down"
    for _ in $(seq 50); do leader_failing "$f" && break; sleep 0.2; done
    leader_failing "$f" || fail "follower $f: /readyz does not show the leader failing"
done
for f in a b; do
    stale=
    for _ in $(seq 100); do
        stale=$(get "$f" /readyz | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(next((p for p in r["problems"] if p.startswith("list tor-exits is stale")), ""))')
        [ -n "$stale" ] && break
        sleep 0.2
    done
    [ -n "$stale" ] || fail "follower $f does not report tor-exits stale"
    # reported only once the last confirmation is older than stale_after (5 s), and still ready (200)
    age=$(sed -E 's/.*last confirmed ([0-9]+)s ago.*/\1/' <<<"$stale")
    [ "$age" -gt 5 ] || fail "follower $f reports stale after ${age}s: $stale"
    code=$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:${port[$f]}/readyz")
    [ "$code" = 200 ] || fail "follower $f: /readyz $code while serving its last good list"
    echo "follower $f: $stale"
done
[ "$(get a /lists/tor-exits.json)" = "$before_a" ] && [ "$(get b /lists/tor-exits.json)" = "$before_b" ] ||
    fail "a follower's list changed while the leader was down"
echo "ok: both followers serve the same list, ready, leader source down (connect_error), stale after stale_after"

echo "== the leader returns: the followers catch up"
start leader "$tmp/leader.yaml"
ready leader
fresh() { # FOLLOWER: /readyz lists no stale list
    get "$1" /readyz | python3 -c '
import json, sys
problems = json.load(sys.stdin)["problems"]
sys.exit(1 if [p for p in problems if "is stale" in p] else 0)'
}
for f in a b; do
    leader_up "$f" 1 || fail "follower $f did not catch up"
    for _ in $(seq 50); do fresh "$f" && break; sleep 0.2; done
    fresh "$f" || fail "follower $f still reports a stale list"
done
lead=$(curl -sf -H "Authorization: Bearer $token" "127.0.0.1:${port[leader]}/lists/tor-exits.json" |
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["entries"]))')
for f in a b; do
    got=$(get "$f" /lists/tor-exits.json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["entries"]))')
    [ "$got" = "$lead" ] || fail "follower $f's entries differ from the leader's"
done
echo "ok: both followers follow the leader again, their entries equal to its"
echo "fleet: all checks passed"
