#!/usr/bin/env bash
# Structural checks of the Grafana dashboards (no Grafana server runs here) and a PromQL syntax check of every
# query through promtool. Needs python3, promtool (apt: prometheus). The queries' results are checked against a
# real Prometheus by tests/ops/promql_e2e.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in python3 promtool diff; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== dashboards/*.json are what dashboards/generate.py writes"
python3 dashboards/generate.py "$tmp"
for f in "$tmp"/*.json; do
    diff -u "dashboards/$(basename "$f")" "$f" || { echo "FAIL: dashboards/$(basename "$f") is stale: run python3 dashboards/generate.py" >&2; exit 1; }
done

echo "== structure"
python3 - dashboards/tor-traffic.json dashboards/torwatch-health.json dashboards/tor-fleet.json <<'PY'
import json, re, sys

DS = {"type": "prometheus", "uid": "${datasource}"}
EXPECTED_UIDS = {"dashboards/tor-traffic.json": "torwatch-tor-traffic",
                 "dashboards/torwatch-health.json": "torwatch-health",
                 "dashboards/tor-fleet.json": "torwatch-fleet"}
# the fleet dashboard reads recording rules (level:metric:operations), which must be recorded by the fleet rules
RECORDED = set(re.findall(r"^\s*- record: (\S+)$", open("rules/torwatch.fleet.rules.yml").read(), re.M))
contract = open("METRICS.md").read()
known = set(re.findall(r"`(torwatch_\w+)`", contract))
histograms = {m for m in known if re.search(rf"`{m}` \| histogram", contract)}
bad, uids, checked = [], set(), 0


def fail(path, msg):
    bad.append(f"{path}: {msg}")


def walk(node, where):
    """Every datasource reference anywhere must be the variable."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource" and v != DS:
                fail(where, f"datasource {json.dumps(v)} is not {json.dumps(DS)}")
            walk(v, where)
    elif isinstance(node, list):
        for v in node:
            walk(v, where)


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


for path in sys.argv[1:]:
    try:
        board = json.load(open(path))
    except ValueError as e:
        fail(path, f"invalid JSON: {e}")
        continue
    if not isinstance(board.get("schemaVersion"), int) or board["schemaVersion"] < 39:
        fail(path, f"schemaVersion {board.get('schemaVersion')} < 39")
    uid = board.get("uid")
    if uid != EXPECTED_UIDS.get(path):
        fail(path, f"uid {uid!r} is not the stable {EXPECTED_UIDS.get(path)!r}")
    if uid in uids:
        fail(path, f"uid {uid!r} used twice")
    uids.add(uid)
    variables = board.get("templating", {}).get("list", [])
    dsvars = [v for v in variables if v.get("name") == "datasource"]
    if len(dsvars) != 1 or dsvars[0].get("type") != "datasource" or dsvars[0].get("query") != "prometheus":
        fail(path, "no `datasource` variable of type datasource with query prometheus")
    for v in variables:
        if v.get("type") == "query" and v.get("datasource") != DS:
            fail(path, f"variable {v.get('name')}: datasource is not the variable")
    # a hard-coded uid: any "uid" inside any "datasource" object other than ${datasource}
    text = json.dumps(board)
    for m in re.finditer(r'"datasource": \{[^}]*"uid": "([^"]*)"', text):
        if m.group(1) != "${datasource}":
            fail(path, f"hard-coded datasource uid {m.group(1)!r}")
    walk(board, path)
    ids = []
    for p in panels(board.get("panels", [])):
        pid, title = p.get("id"), p.get("title")
        ids.append(pid)
        where = f"{path} panel {pid} {title!r}"
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "hwxy") or g["x"] + g["w"] > 24:
            fail(where, f"bad gridPos {g}")
        if p.get("datasource") != DS:
            fail(where, "panel datasource is not the variable")
        if p.get("type") == "row":
            continue
        targets = p.get("targets") or []
        if not targets:
            fail(where, "no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs):
            fail(where, f"duplicate refIds {refs}")
        for t in targets:
            checked += 1
            expr = t.get("expr", "")
            if not expr.strip():
                fail(where, f"target {t.get('refId')} has no expr")
            if t.get("datasource") != DS:
                fail(where, f"target {t.get('refId')} datasource is not the variable")
            for rng in re.findall(r"\b(?:rate|irate)\([^\[]*\[([^\]]*)\]", expr):
                if rng != "$__rate_interval":
                    fail(where, f"rate over [{rng}], not [$__rate_interval]")
            for name in re.findall(r"[a-z_]+:\w+:\w+", expr):
                if name not in RECORDED:
                    fail(where, f"{name} is not recorded by rules/torwatch.fleet.rules.yml")
            if path.endswith("tor-fleet.json") and re.search(r"\$(instance|job|input)\b", expr):
                fail(where, "the fleet dashboard depends on a job, instance or input choice")
            for name in re.findall(r"\btorwatch_\w+", re.sub(r"[a-z_]+:\w+:\w+", "", expr)):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if name not in known and base not in histograms:
                    fail(where, f"metric {name} is not in METRICS.md")
    if len(ids) != len(set(ids)) or None in ids:
        fail(path, f"panel ids not unique: {ids}")
    print(f"ok {path}: uid {uid}, schemaVersion {board.get('schemaVersion')}, {len(ids)} panels")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
if bad:
    sys.exit(1)
print(f"ok: {checked} targets, each with an expr, the datasource variable, metrics from METRICS.md")
PY

echo "== every query parses (promtool check rules on the queries as recording rules)"
tests/ops/extract_exprs.sh dashboards/*.json > "$tmp/exprs.txt"
python3 - "$tmp/exprs.txt" > "$tmp/exprs.rules.yml" <<'PY'
import json, sys
exprs = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
print("groups:\n  - name: dashboard_queries\n    rules:")
for i, e in enumerate(exprs):
    print(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(e)}")
PY
n=$(grep -c . "$tmp/exprs.txt")
[ "$n" -gt 20 ] || { echo "FAIL: only $n queries extracted" >&2; exit 1; }
promtool check rules "$tmp/exprs.rules.yml"
echo "dashboards: all checks passed ($n distinct queries)"
