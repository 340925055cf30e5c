#!/usr/bin/env bash
# Prints every PromQL expression of the given Grafana dashboards, one per line, ready to send to Prometheus:
# panel targets (rows included) and `label_values(metric, label)` variable queries (as `count by (label) (metric)`).
# Grafana's variables are replaced by concrete values: $__rate_interval=5m, $__range=1h, $__interval=1m,
# $__range_s=3600, any other variable (job, instance, input...) by `.*` (they are only used in =~ matchers).
# Usage: tests/ops/extract_exprs.sh dashboards/*.json
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DASHBOARD.json..." >&2; exit 2; }
command -v python3 >/dev/null || { echo "FAIL: python3 not found" >&2; exit 1; }
python3 - "$@" <<'PY'
import json, re, sys

BUILTIN = {"__rate_interval": "5m", "__range": "1h", "__interval": "1m", "__range_s": "3600",
           "__interval_ms": "60000", "__range_ms": "3600000"}
VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def substitute(expr):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return BUILTIN.get(name, ".*")
    return " ".join(VAR.sub(repl, expr).split())


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


seen = []
for path in sys.argv[1:]:
    board = json.load(open(path))
    for v in board.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\s*\)\s*", q or "") if v.get("type") == "query" else None
        if m:
            seen.append(f"count by ({m.group(2)}) ({m.group(1)})")
    for p in panels(board.get("panels", [])):
        for t in p.get("targets", []):
            seen.append(t.get("expr", ""))
out = []
for e in seen:
    e = substitute(e)
    if e and e not in out:
        out.append(e)
print("\n".join(out))
PY
