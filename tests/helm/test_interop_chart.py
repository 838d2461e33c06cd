"""The chart's interop listeners (rpm hl7, rpm nightscout): off by default, complete when enabled."""

from __future__ import annotations

import helm_python

from cli.main import build_parser
from tests.helm.conftest import Rendered, env_of, pod_spec, render

ON = {"hl7": {"enabled": True}, "nightscout": {"enabled": True},
      "networkPolicy": {"hl7From": [{"ipBlock": {"cidr": "10.30.0.0/16"}}]}}


def test_listeners_are_off_by_default(default_render: Rendered) -> None:
    names = {o["metadata"]["name"] for o in default_render.objects}
    assert not {"rpm-hl7", "rpm-nightscout"} & names


def test_enabled_listeners_have_deployment_service_policy_and_budget(chart: helm_python.Chart) -> None:
    r = render(chart, ON)
    parser = build_parser()
    for component, port_name, port in (("hl7", "mllp", 2575), ("nightscout", "http", 1337)):
        dep = r.get("Deployment", f"rpm-{component}")
        c = pod_spec(dep)["containers"][0]
        assert callable(parser.parse_args(c["args"]).func) and c["args"] == [component]
        assert {"name": port_name, "containerPort": port, "protocol": "TCP"} in c["ports"]
        env = env_of(c)
        assert env[f"RPM_{component.upper()}_PORT"] == str(port)
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        svc = r.get("Service", f"rpm-{component}")
        assert svc["spec"]["ports"][0] == {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}
        r.get("Service", f"rpm-{component}-metrics")
        r.get("PodDisruptionBudget", f"rpm-{component}")
        pol = r.get("NetworkPolicy", f"rpm-{component}")
        assert {p["port"] for rule in pol["spec"]["egress"] for p in rule["ports"]} == {53, 9092, 5432}
        assert {rule["ports"][0]["port"] for rule in pol["spec"]["ingress"]} == {"metrics", port_name}
    mllp = next(x for x in r.get("NetworkPolicy", "rpm-hl7")["spec"]["ingress"] if x["ports"][0]["port"] == "mllp")
    assert mllp["from"] == [{"ipBlock": {"cidr": "10.30.0.0/16"}}]


def test_strict_lint_passes_with_listeners_on() -> None:
    from tests.helm.conftest import CHART, NAMESPACE

    report = helm_python.lint(CHART, ON, strict=True, namespace=NAMESPACE)
    assert [m for m in report["messages"] if m["severity"] >= 2] == [] and report["errors"] == []
