"""Each service, started with the environment the chart gives its container,
answers the chart's probes on the chart's metrics port.

Only the connection strings differ from a cluster (the machine's PostgreSQL,
Mosquitto and the Kafka mock), the same substitution a deployment makes.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest

from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from tests.helm.conftest import Rendered, env_of, pod_spec
from tests.services import Services, wait_for

pytestmark = pytest.mark.e2e

COMPONENTS = {"bridge": "StatefulSet", "streams": "StatefulSet", "sink": "Deployment", "alerts": "Deployment"}


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def _container(rendered: Rendered, component: str) -> dict[str, Any]:
    return pod_spec(rendered.get(COMPONENTS[component], f"rpm-{component}"))["containers"][0]


def _env_for(component: str, container: dict[str, Any], tmp_path: Path, metrics_port: int,
             db_dsn: str, mqtt_url: str, mqtt_v5: bool, bootstrap: str, prefix: str) -> dict[str, str]:
    """The container's literal env from the chart, with this machine's connections."""
    env = {k: v for k, v in env_of(container).items() if isinstance(v, str)}
    instance_var = "RPM_WORKER_INSTANCE" if component == "streams" else f"RPM_{component.upper()}_INSTANCE"
    env.update({
        "RPM_DATABASE_URL": db_dsn,
        "RPM_KAFKA_BOOTSTRAP": bootstrap,
        "RPM_TOPIC_PREFIX": prefix,
        "RPM_PARTITIONS": "4",  # the topic_prefix fixture's topics
        "RPM_METRICS_PORT": str(metrics_port),
        instance_var: f"{prefix}{component}-0",  # the pod name, in a cluster
    })
    if component == "bridge":
        env.update({"RPM_MQTT_URL": mqtt_url, "RPM_MQTT_V5": str(mqtt_v5).lower()})
    if component == "streams":
        env["RPM_DATA_DIR"] = str(tmp_path / "streams")
    if component == "alerts":
        env["RPM_HTTP_PORT"] = str(free_port())
    return env


def test_services_answer_the_charts_probes(
    tmp_path: Path, production_render: Rendered, db_dsn: str, db: psycopg.Connection,
    mqtt_url: str, mqtt_v5: bool, kafka_cluster: MockKafka, topic_prefix: str,
) -> None:
    ports = {c: free_port() for c in COMPONENTS}
    running: list[Services] = []
    try:
        for component, port in ports.items():
            c = _container(production_render, component)
            # Production values give the bridge broker credentials from a
            # Secret; the test broker allows anonymous clients.
            env = _env_for(component, c, tmp_path, port, db_dsn, mqtt_url, mqtt_v5, kafka_cluster.bootstrap,
                           topic_prefix)
            svc = Services(env, tmp_path)
            svc.start(component, *c["args"])
            running.append(svc)

        for svc, (component, port) in zip(running, ports.items(), strict=True):
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _get(f"{base}/healthz")[0] == 200, 60, f"{component} /healthz", svc)
            wait_for(lambda: _get(f"{base}/readyz")[0] == 200, 60, f"{component} /readyz", svc)
            status, body = _get(f"{base}/metrics")
            assert status == 200 and "rpm_" in body, component
        # The alarm gauges are set by a poller thread: its first pass may come just after readiness.
        unacked = 'rpm_alerts_unacknowledged{priority="high"} 0.0'

        def polled() -> str | None:
            body = _get(f"http://127.0.0.1:{ports['alerts']}/metrics")[1]
            return body if unacked in body else None

        alerts_metrics = wait_for(polled, 30, "the alarm gauges' first poll")
        assert unacked in alerts_metrics
        _, bridge_metrics = _get(f"http://127.0.0.1:{ports['bridge']}/metrics")
        assert "rpm_ingest_mqtt_connected 1.0" in bridge_metrics
    finally:
        for svc in running:
            svc.close()
