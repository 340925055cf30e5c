#!/usr/bin/env bash
# Runs every dashboard query (tests/ops/extract_exprs.sh) against a real Prometheus through /api/v1/query.
# Fails if any query errors; with --require-data also if any returns no series, except those matching an
# --allow-empty REGEX (grep -E on the query text; repeatable), e.g. for counters the run cannot produce.
# Usage: tests/ops/promql_e2e.sh PROM_URL [--require-data] [--allow-empty REGEX]... [DASHBOARD.json...]
# Needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/../.."
usage() { echo "usage: $0 PROM_URL [--require-data] [--allow-empty REGEX]... [DASHBOARD.json...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
prom=${1%/}
shift
require=0
allow=()
boards=()
while [ $# -gt 0 ]; do
    case $1 in
        --require-data) require=1 ;;
        --allow-empty) [ $# -ge 2 ] || usage; allow+=("$2"); shift ;;
        -*) usage ;;
        *) boards+=("$1") ;;
    esac
    shift
done
[ ${#boards[@]} -gt 0 ] || boards=(dashboards/*.json)
for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done

exprs=$(tests/ops/extract_exprs.sh "${boards[@]}")
[ -n "$exprs" ] || { echo "FAIL: no queries extracted from ${boards[*]}" >&2; exit 1; }
failed=0 total=0 empty=0
while IFS= read -r expr; do
    total=$((total + 1))
    body=$(curl -sS -G --max-time 30 --data-urlencode "query=$expr" "$prom/api/v1/query") || {
        echo "FAIL (request) $expr"; failed=$((failed + 1)); continue; }
    status=$(jq -r '.status // "none"' <<<"$body" 2>/dev/null || echo "not-json")
    if [ "$status" != success ]; then
        echo "FAIL (error: $(jq -r '.error // empty' <<<"$body" 2>/dev/null || echo "$body")) $expr"
        failed=$((failed + 1))
        continue
    fi
    n=$(jq '.data.result | if type == "array" then length else 1 end' <<<"$body")
    if [ "$n" -eq 0 ]; then
        empty=$((empty + 1))
        allowed=0
        for re in "${allow[@]+"${allow[@]}"}"; do
            if grep -qE -- "$re" <<<"$expr"; then allowed=1; fi
        done
        if [ "$require" -eq 1 ] && [ "$allowed" -eq 0 ]; then
            echo "FAIL (no data) $expr"
            failed=$((failed + 1))
            continue
        fi
        echo "ok   (empty$([ "$allowed" -eq 1 ] && echo ', allowed')) $expr"
        continue
    fi
    echo "ok   ($n series) $expr"
done <<<"$exprs"
echo "promql_e2e: $total queries against $prom, $empty empty, $failed failed"
[ "$failed" -eq 0 ]
