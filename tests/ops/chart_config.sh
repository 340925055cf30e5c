#!/usr/bin/env bash
# The configs the Helm chart renders are valid for torwatch itself: `torwatch check-config` on the ConfigMap of
# the default values, of tests/ops/fixtures/helm-all-values.yaml and of each fleet mode's fixture (a leader,
# followers as a Deployment, followers as a DaemonSet; their credential files written from the rendered
# Secret into a temporary directory standing for the Secret's mount, a fresh self-signed pair (openssl) for the
# fixture's placeholder TLS files). Also the repository's config/torwatch.yaml.
# The binary: $TORWATCH_BIN, else `cargo build --bin torwatch`. Needs python3 (with venv), cargo unless
# TORWATCH_BIN is set, openssl; helm and a venv come from tests/ops/tools.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
bin=${TORWATCH_BIN:-}
if [ -z "$bin" ]; then
    command -v cargo >/dev/null || { echo "FAIL: cargo not found and TORWATCH_BIN not set" >&2; exit 1; }
    cargo build --quiet --bin torwatch
    bin=${CARGO_TARGET_DIR:-$repo/target}/debug/torwatch
fi
[ -x "$bin" ] || { echo "FAIL: no torwatch binary at $bin" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME=$tmp/helm/cache HELM_CONFIG_HOME=$tmp/helm/config HELM_DATA_HOME=$tmp/helm/data
# shellcheck source=tests/ops/tools.sh
. tests/ops/tools.sh
helm=$(ops_helm)
venv=$(ops_venv)

echo "== torwatch check-config config/torwatch.yaml"
"$bin" check-config --config config/torwatch.yaml

for set in default all leader follower daemonset; do
    args=()
    case $set in
        all) args=(-f tests/ops/fixtures/helm-all-values.yaml --api-versions monitoring.coreos.com/v1) ;;
        leader | follower | daemonset) args=(-f "tests/ops/fixtures/helm-$set-values.yaml") ;;
    esac
    "$helm" template t helm/torwatch "${args[@]+"${args[@]}"}" > "$tmp/$set.yaml"
    mkdir -p "$tmp/$set-credentials"
    "$venv/bin/python" - "$tmp/$set.yaml" "$tmp/$set-credentials" "$tmp/$set-config.yaml" <<'PY'
import base64, os, sys, yaml
rendered, creds, out = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
dep = next(d for d in docs if d["kind"] in ("Deployment", "DaemonSet"))
mounts = {m["name"]: m["mountPath"] for m in dep["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "t-torwatch")
text = config["data"]["torwatch.yaml"]
for d in docs:
    if d["kind"] == "Secret":
        for key, value in d["data"].items():
            with open(os.path.join(creds, key), "wb") as f:
                f.write(base64.b64decode(value))
if "credentials" in mounts:
    text = text.replace(mounts["credentials"] + "/", creds + "/")
open(out, "w").write(text)
PY
    # The fixture's TLS key pair is a placeholder; check-config loads the pair as run does: a real one stands in.
    if [ -f "$tmp/$set-credentials/tls.crt" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=torwatch -days 1 \
            -keyout "$tmp/$set-credentials/tls.key" -out "$tmp/$set-credentials/tls.crt" 2>/dev/null
    fi
    echo "== torwatch check-config on the chart's $set config"
    "$bin" check-config --config "$tmp/$set-config.yaml"
done
echo "chart_config: all checks passed"
