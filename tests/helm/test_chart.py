"""The chart lints strictly, renders, and every workload is safe to run."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python
import pytest
import yaml

from cli.main import build_parser
from tests.helm.conftest import CHART, NAMESPACE, Rendered, env_of, pod_spec, render

PRODUCT_COMPONENTS = ("bridge", "streams", "sink", "alerts")


def _lint_errors(values: dict[str, Any] | None) -> list[dict[str, Any]]:
    report = helm_python.lint(CHART, values, strict=True, namespace=NAMESPACE)
    # Severity 2 = warning, 3 = error; strict mode fails on both.
    return [m for m in report["messages"] if m["severity"] >= 2] + [{"error": e} for e in report["errors"]]


def test_strict_lint_passes_with_default_values() -> None:
    assert _lint_errors(None) == []


def test_strict_lint_passes_with_production_values(production_values: dict[str, Any]) -> None:
    assert _lint_errors(production_values) == []


def test_default_render_has_every_component(default_render: Rendered) -> None:
    kinds = {(o["kind"], o["metadata"]["name"]) for o in default_render.objects}
    assert {
        ("StatefulSet", "rpm-bridge"),
        ("StatefulSet", "rpm-streams"),
        ("Deployment", "rpm-sink"),
        ("Deployment", "rpm-alerts"),
        ("Service", "rpm-console"),
        ("Job", "rpm-migrations"),
        ("Job", "rpm-topics"),
        ("ConfigMap", "rpm-dashboards"),
    } <= kinds
    # Off by default: they need a broker Secret, an ingress host or the Prometheus Operator.
    assert not default_render.of_kind("Ingress", "ServiceMonitor", "PrometheusRule")
    assert not [o for o in default_render.objects if o["metadata"]["name"] == "rpm-mosquitto"]


def test_production_render_has_optional_parts(production_render: Rendered) -> None:
    ingress = production_render.get("Ingress", "rpm-console")
    assert ingress["spec"]["tls"] == [{"secretName": "rpm-console-tls", "hosts": ["canhbao.benhvien.example.vn"]}]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "rpm-console"
    production_render.get("ServiceMonitor", "rpm")
    production_render.get("PrometheusRule", "rpm")
    production_render.get("StatefulSet", "rpm-mosquitto")


@pytest.mark.parametrize("which", ["default", "production"])
def test_every_workload_has_resources_probes_and_security_context(
    which: str, default_render: Rendered, production_render: Rendered
) -> None:
    rendered = default_render if which == "default" else production_render
    workloads = rendered.workloads()
    assert len(workloads) >= 6
    for w in workloads:
        spec = pod_spec(w)
        where = f"{w['kind']}/{w['metadata']['name']}"
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        for c in spec["containers"]:
            res = c["resources"]
            assert res["requests"]["cpu"] and res["requests"]["memory"] and res["limits"]["memory"], where
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["runAsNonRoot"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            if w["kind"] == "Job":
                continue
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert probe in c, f"{where}: no {probe}"


def test_probes_split_liveness_from_readiness(production_render: Rendered) -> None:
    """Liveness = the process loop (/healthz), readiness = dependencies (/readyz), never the console's /healthz."""
    for component in PRODUCT_COMPONENTS:
        w = [o for o in production_render.workloads() if o["metadata"]["name"] == f"rpm-{component}"][0]
        c = pod_spec(w)["containers"][0]
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        # The stream workers are "started" once their tables are recovered (ready).
        startup = "/readyz" if component == "streams" else "/healthz"
        assert c["startupProbe"]["httpGet"] == {"path": startup, "port": "metrics"}
        assert env_of(c)["RPM_METRICS_PORT"] == "9400"
    streams = pod_spec(production_render.get("StatefulSet", "rpm-streams"))["containers"][0]["startupProbe"]
    # Table recovery from the changelogs may take long: the values give it 30 minutes.
    assert streams["periodSeconds"] * streams["failureThreshold"] >= 1800


def test_streams_keep_table_state_on_a_volume_per_replica(production_render: Rendered) -> None:
    sts = production_render.get("StatefulSet", "rpm-streams")
    c = pod_spec(sts)["containers"][0]
    data_dir = env_of(c)["RPM_DATA_DIR"]
    assert {"name": "data", "mountPath": data_dir} in c["volumeMounts"]
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert sts["spec"]["replicas"] == 6


def test_bridge_instances_are_stable_pod_names_sharing_a_subscription(production_render: Rendered) -> None:
    sts = production_render.get("StatefulSet", "rpm-bridge")
    env = env_of(pod_spec(sts)["containers"][0])
    assert env["RPM_BRIDGE_INSTANCE"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["RPM_MQTT_SHARED_GROUP"] == "rpm-bridge"
    assert env["RPM_MQTT_URL"] == "mqtt://rpm-mosquitto:1883"
    assert env["RPM_MQTT_PASSWORD"] == {"secretKeyRef": {"name": "rpm-mqtt-bridge", "key": "password"}}
    assert sts["spec"]["replicas"] == 3


def test_every_rpm_subcommand_the_chart_calls_exists(default_render: Rendered, production_render: Rendered) -> None:
    parser = build_parser()
    called = set()
    for rendered in (default_render, production_render):
        for w in rendered.workloads():
            for c in pod_spec(w)["containers"]:
                if "iomt-rpm" not in c["image"]:
                    continue  # Mosquitto
                # No command: the image's ENTRYPOINT ["rpm"] runs (tests/helm/test_dockerfile.py).
                assert "command" not in c
                args = parser.parse_args(c["args"])  # exits (fails the test) on an unknown subcommand or option
                assert callable(args.func)
                words = []
                for a in c["args"]:
                    if a.startswith("-"):
                        break
                    words.append(a)
                called.add(" ".join(words))
    assert called == {"bridge", "streams", "sink", "alerts", "db migrate", "topics create"}


def test_image_digest_wins_over_tag(production_render: Rendered, default_render: Rendered) -> None:
    for w in production_render.of_kind("Deployment", "Job"):
        assert pod_spec(w)["containers"][0]["image"].endswith("@sha256:" + "0123456789abcdef" * 4)
    # Default: the chart's appVersion.
    assert pod_spec(default_render.get("Deployment", "rpm-sink"))["containers"][0]["image"] == "ghcr.io/example/iomt-rpm:0.1.0"


def test_env_precedence_and_no_duplicate_names(chart: helm_python.Chart) -> None:
    values = {
        "config": {"logLevel": "INFO", "env": {"RPM_LOG_LEVEL": "WARNING", "RPM_FOO": 1}},
        "sink": {"env": {"RPM_LOG_LEVEL": "DEBUG", "RPM_SINK_MAX_RECORDS": 1000000},
                 "extraEnv": [{"name": "RPM_SECRET_THING", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]},
    }
    r = render(chart, values)
    sink = pod_spec(r.get("Deployment", "rpm-sink"))["containers"][0]
    names = [e["name"] for e in sink["env"]]
    assert len(names) == len(set(names))
    env = env_of(sink)
    assert env["RPM_LOG_LEVEL"] == "DEBUG"  # component env > config.env > chart default
    assert env["RPM_SINK_MAX_RECORDS"] == "1000000"  # never "1e+06"
    assert env["RPM_FOO"] == "1"
    assert env["RPM_SECRET_THING"] == {"secretKeyRef": {"name": "s", "key": "k"}}
    bridge = env_of(pod_spec(r.get("StatefulSet", "rpm-bridge"))["containers"][0])
    assert bridge["RPM_LOG_LEVEL"] == "WARNING"


def test_extra_env_may_not_shadow_a_chart_variable(chart: helm_python.Chart) -> None:
    with pytest.raises(helm_python.HelmRenderError, match="RPM_KAFKA_BOOTSTRAP is already set"):
        render(chart, {"sink": {"extraEnv": [{"name": "RPM_KAFKA_BOOTSTRAP", "value": "x:1"}]}})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"bridge": {"replicas": "two"}}, "/bridge/replicas"),
        ({"bridge": {"replicaz": 2}}, "additional properties 'replicaz' not allowed"),
        ({"nonsense": True}, "additional properties 'nonsense' not allowed"),
        ({"streams": {"resources": {"requests": {"cpu": ["1"]}}}}, "/streams/resources/requests/cpu"),
        ({"config": {"partitions": 0}}, "/config/partitions"),
        ({"config": {"logLevel": "verbose"}}, "/config/logLevel"),
        ({"kafka": {"bootstrapServers": "kafka"}}, "/kafka/bootstrapServers"),
        ({"database": {"url": "mysql://x"}}, "/database/url"),
        ({"image": {"digest": "latest"}}, "/image/digest"),
        ({"sink": {"env": {"lowercase": "x"}}}, "lowercase"),
        ({"sink": {"probes": {"liveness": {"periodSeconds": 0}}}}, "/sink/probes/liveness/periodSeconds"),
    ],
)
def test_schema_rejects_bad_values_and_unknown_keys(
    chart: helm_python.Chart, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(message)):
        render(chart, values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"streams": {"replicas": 9}}, r"streams.replicas \(9\) exceeds config.partitions \(8\)"),
        ({"database": {"existingSecret": ""}}, "database.existingSecret"),
        ({"mqtt": {"url": ""}}, "the bridge needs a broker"),
        ({"mqtt": {"url": ""}, "mosquitto": {"enabled": True}}, "mosquitto.existingSecret"),
        ({"mqtt": {"sharedGroup": ""}}, "needs mqtt.sharedGroup"),
        ({"alerts": {"ingress": {"enabled": True, "hosts": []}}}, "alerts.ingress.hosts"),
    ],
)
def test_render_rejects_inconsistent_values(chart: helm_python.Chart, values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=message):
        render(chart, values)


def test_pod_names_fit_the_instance_id_limit(chart: helm_python.Chart) -> None:
    """Pod names become RPM_*_INSTANCE (at most 40 characters, the bridge's MQTT client id)."""
    with pytest.raises(helm_python.HelmRenderError, match="over the 40 the instance id allows"):
        render(chart, release="benh-vien-cho-ray-thanh-pho-hcm")
    r = render(chart, {"fullnameOverride": "rpm-hcm"}, release="benh-vien-cho-ray-thanh-pho-hcm")
    assert r.get("Deployment", "rpm-hcm-alerts")


def test_hooks_run_topics_then_migrations_before_install_and_upgrade(chart: helm_python.Chart) -> None:
    r = render(chart, {"database": {"url": "postgresql://rpm:pw@db:5432/rpm"}})

    def weight(o: dict[str, Any]) -> int:
        ann = o["metadata"]["annotations"]
        assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
        return int(ann["helm.sh/hook-weight"])

    secret = r.get("Secret", "rpm-database")
    topics, migrations = r.get("Job", "rpm-topics"), r.get("Job", "rpm-migrations")
    policies = [p for p in r.of_kind("NetworkPolicy") if "helm.sh/hook" in p["metadata"].get("annotations", {})]
    assert {p["metadata"]["name"] for p in policies} == {"rpm-topics", "rpm-migrations"}
    # The Secret and the Jobs' policies exist before the Jobs; topics before migrations.
    assert weight(secret) < weight(topics) < weight(migrations)
    assert all(weight(p) < weight(topics) for p in policies)
    assert pod_spec(migrations)["containers"][0]["args"] == ["db", "migrate"]
    assert env_of(pod_spec(migrations)["containers"][0])["RPM_DATABASE_URL"] == {
        "secretKeyRef": {"name": "rpm-database", "key": "url"}
    }
    # A chart-created Secret restarts the pods when it changes.
    assert "checksum/database" in r.get("Deployment", "rpm-sink")["spec"]["template"]["metadata"]["annotations"]


def _egress_ports(policy: dict[str, Any]) -> set[int]:
    return {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}


def test_network_policies_allow_only_the_data_path(production_render: Rendered) -> None:
    pol = {p["metadata"]["name"]: p for p in production_render.of_kind("NetworkPolicy")}
    assert set(pol) == {f"rpm-{c}" for c in (*PRODUCT_COMPONENTS, "topics", "migrations", "mosquitto")}
    for p in pol.values():
        assert p["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert _egress_ports(pol["rpm-bridge"]) == {53, 9092, 5432, 1883}
    assert _egress_ports(pol["rpm-streams"]) == {53, 9092, 5432}
    assert _egress_ports(pol["rpm-sink"]) == {53, 9092, 5432}
    assert _egress_ports(pol["rpm-topics"]) == {53, 9092}
    assert _egress_ports(pol["rpm-migrations"]) == {53, 5432}
    assert pol["rpm-mosquitto"]["spec"]["egress"] == []
    # Kafka egress only towards the Strimzi cluster's pods.
    kafka_rule = [r for r in pol["rpm-streams"]["spec"]["egress"] if r["ports"][0]["port"] == 9092][0]
    assert kafka_rule["to"][0]["podSelector"]["matchLabels"] == {"strimzi.io/cluster": "rpm-kafka"}
    # The bridge reaches the chart's broker pod; the broker admits devices' network and the bridge.
    mqtt_rule = [r for r in pol["rpm-bridge"]["spec"]["egress"] if r["ports"][0]["port"] == 1883][0]
    assert mqtt_rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "mosquitto"
    broker_from = pol["rpm-mosquitto"]["spec"]["ingress"][0]["from"]
    assert {"ipBlock": {"cidr": "10.20.0.0/16"}} in broker_from
    assert any(f.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "bridge"
               for f in broker_from)
    # Only the console takes HTTP, only from the ingress controller.
    alerts_in = pol["rpm-alerts"]["spec"]["ingress"]
    assert {r["ports"][0]["port"] for r in alerts_in} == {"metrics", "http"}
    http = [r for r in alerts_in if r["ports"][0]["port"] == "http"][0]
    assert http["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]


def test_disruption_budgets_cover_every_component(production_render: Rendered) -> None:
    pdbs = {p["metadata"]["name"]: p for p in production_render.of_kind("PodDisruptionBudget")}
    assert set(pdbs) == {f"rpm-{c}" for c in PRODUCT_COMPONENTS}
    for name, p in pdbs.items():
        assert p["spec"]["maxUnavailable"] == 1
        assert p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == name.removeprefix("rpm-")


def test_mosquitto_requires_authentication_and_persists_sessions(production_render: Rendered) -> None:
    conf = production_render.get("ConfigMap", "rpm-mosquitto")["data"]["mosquitto.conf"]
    lines = {line.strip() for line in conf.splitlines()}
    assert {"allow_anonymous false", "password_file /mosquitto/secret/passwd", "acl_file /mosquitto/secret/acl",
            "persistence true", "max_queued_messages 1000000", "listener 8883"} <= lines
    sts = production_render.get("StatefulSet", "rpm-mosquitto")
    secret = [v for v in pod_spec(sts)["volumes"] if v["name"] == "secret"][0]["secret"]
    assert secret["secretName"] == "rpm-mosquitto-auth"
    assert {i["key"] for i in secret["items"]} == {"passwd", "acl"}


def test_every_value_is_typed_and_described_in_the_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    defs = schema["$defs"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        return defs[node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node

    def walk(value: Any, node: dict[str, Any], path: str) -> None:
        assert node.get("description") or resolve(node).get("description"), f"{path}: no description"
        node = resolve(node)
        if isinstance(value, dict) and "properties" in node:
            assert node.get("additionalProperties") is False, f"{path}: unknown keys would be accepted"
            for k, v in value.items():
                assert k in node["properties"], f"{path}.{k}: not in the schema"
                walk(v, node["properties"][k], f"{path}.{k}")

    for key, value in values.items():
        walk(value, schema["properties"][key], key)
    assert schema["additionalProperties"] is False


def test_every_value_is_commented_in_values_yaml() -> None:
    """Top-level and first-level keys carry a comment: directly above them, or
    above a run of sibling keys (no blank line between) that it documents together.
    Deeper keys are explained by their parent's comment."""
    lines = (CHART / "values.yaml").read_text(encoding="utf-8").splitlines()
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    undocumented = []
    top = ""
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.strip()
        if indent > 2 or not stripped or stripped.startswith(("#", "-")) or ":" not in stripped:
            continue
        if indent == 0:
            top = stripped.split(":")[0]
        elif "properties" not in schema["properties"][top]:
            continue  # inside a free-form Kubernetes object (a security context)
        j = i - 1
        while j >= 0 and lines[j].strip() and not lines[j].strip().startswith("#"):
            above = lines[j]
            if len(above) - len(above.lstrip(" ")) < indent:
                break  # reached the parent key: no comment for this run
            j -= 1
        if j < 0 or not lines[j].strip().startswith("#"):
            undocumented.append(f"{i + 1}: {stripped}")
    assert undocumented == []
