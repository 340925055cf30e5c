#!/usr/bin/env bash
# Checks the alert rules: promtool check rules (syntax, PromQL, templates) and promtool test rules (each alert
# fires when it should and stays quiet when it should not). Needs promtool (apt: prometheus).
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v promtool >/dev/null || { echo "FAIL: promtool not found (apt-get install prometheus)" >&2; exit 1; }
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL: python3 without PyYAML (apt-get install python3-yaml)" >&2; exit 1; }
echo "== $(promtool --version 2>&1 | head -1)"

echo "== promtool check rules rules/torwatch.rules.yml"
promtool check rules rules/torwatch.rules.yml

echo "== promtool test rules rules/torwatch.rules.test.yml"
promtool test rules rules/torwatch.rules.test.yml

# every alert named in the rules has a firing case and a quiet case in the tests
python3 - <<'PY'
import sys, yaml
rules = yaml.safe_load(open("rules/torwatch.rules.yml"))
tests = yaml.safe_load(open("rules/torwatch.rules.test.yml"))
alerts = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
fired, quiet = set(), set()
for t in tests["tests"]:
    for c in t.get("alert_rule_test", []):
        (fired if c.get("exp_alerts") else quiet).add(c["alertname"])
bad = []
for a in alerts:
    rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == a)
    if "severity" not in rule.get("labels", {}):
        bad.append(f"{a}: no severity label")
    for k in ("summary", "description"):
        if k not in rule.get("annotations", {}):
            bad.append(f"{a}: no {k} annotation")
    if a not in fired:
        bad.append(f"{a}: no test case where it fires")
    if a not in quiet:
        bad.append(f"{a}: no test case where it stays quiet")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
if bad:
    sys.exit(1)
print(f"ok: {len(alerts)} alerts, each with severity, summary, description, a firing and a quiet test case")
PY
echo "rules: all checks passed"
