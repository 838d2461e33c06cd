"""Alerts and dashboards query metrics the code really exports; alarm metrics read the database correctly."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry

from alerts import alarm_metrics
from embedded.ports import free_port
from runtime import health
from tests.helm.conftest import CHART, REPO, Rendered
from wire import topics
from wire.messages import AlertCandidate, Priority

PACKAGES = ("ingest", "streams", "storage", "alerts", "runtime")
# Exported by Kafka Exporter (Strimzi's kafkaExporter), not by this code.
EXTERNAL = {"kafka_consumergroup_lag"}


def exported_series() -> set[str]:
    """Series names the code exposes, from every metric constructor in its packages."""
    pattern = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"(rpm_[a-z0-9_]+)\"")
    suffixes = {"Counter": ("_total",), "Gauge": ("",), "Histogram": ("_bucket", "_sum", "_count"),
                "Summary": ("_sum", "_count")}
    names = set()
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            for kind, name in pattern.findall(path.read_text(encoding="utf-8")):
                names.update(name + s for s in suffixes[kind])
    return names


def referenced(exprs: list[str]) -> set[str]:
    return {m for e in exprs for m in re.findall(r"\b((?:rpm|kafka)_[a-z0-9_]+)\b", e)}


def rule_exprs(rendered: Rendered) -> dict[str, str]:
    rule = rendered.get("PrometheusRule", "rpm")
    return {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}


def dashboard() -> dict[str, Any]:
    return json.loads((CHART / "files" / "dashboards" / "rpm-overview.json").read_text(encoding="utf-8"))


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def test_metric_scan_finds_the_services_metrics() -> None:
    names = exported_series()
    assert {"rpm_ingest_readings_forwarded_total", "rpm_sink_db_errors_total", "rpm_alerts_raised_total",
            "rpm_ingest_kafka_latency_seconds_bucket", "rpm_ingest_mqtt_connected"} <= names


def test_operator_alerts_cover_the_data_path(production_render: Rendered) -> None:
    exprs = rule_exprs(production_render)
    assert {"RpmBridgeNotForwarding", "RpmConsumerLagGrowing", "RpmSinkFailing", "RpmStreamsSkippingBatches",
            "RpmHighPriorityAlarmNotAcknowledged"} <= set(exprs)
    missing = referenced(list(exprs.values())) - exported_series() - EXTERNAL
    assert missing == set(), f"alert rules query metrics nobody exports: {missing}"


def test_lag_alert_matches_the_services_consumer_groups(production_render: Rendered) -> None:
    expr = rule_exprs(production_render)["RpmConsumerLagGrowing"]
    regex = re.search(r'consumergroup=~"([^"]+)"', expr).group(1).replace("\\\\", "\\")  # type: ignore[union-attr]
    # The group ids as the services build them (storage.sink, alerts.consumer use wire.topics.consumer_group).
    groups = {topics.stream_app_id("hcm."), topics.consumer_group("hcm.", topics.SINK_GROUP),
              topics.consumer_group("hcm.", topics.ALERTS_GROUP)}
    assert groups == {"hcm.rpm-streams", "hcm.rpm-sink", "hcm.rpm-alerts"}
    assert all(re.fullmatch(regex, g) for g in groups)
    assert not re.fullmatch(regex, "hcmXrpm-sink"), "the prefix's dot must be literal"


def test_rules_select_this_release_only(production_render: Rendered) -> None:
    for name, expr in rule_exprs(production_render).items():
        if "kafka_consumergroup_lag" in expr:
            continue  # the exporter's series carry the Kafka namespace; selected by group name
        assert 'namespace="ward"' in expr, name


def test_dashboard_shows_what_operators_need() -> None:
    exprs = dashboard_exprs()
    missing = referenced(exprs) - exported_series() - EXTERNAL
    assert missing == set(), f"dashboard panels query metrics nobody exports: {missing}"
    used = referenced(exprs)
    for need in ("rpm_ingest_messages_received_total",  # ingest rate
                 "kafka_consumergroup_lag",  # lag
                 "rpm_alerts_end_to_end_seconds_bucket",  # end-to-end latency
                 "rpm_alerts_raised_total",  # alarms by priority
                 "rpm_alerts_time_to_acknowledge_seconds_bucket"):  # time to acknowledge
        assert need in used, need
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_configmap_ships_the_json_verbatim(default_render: Rendered) -> None:
    cm = default_render.get("ConfigMap", "rpm-dashboards")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["rpm-overview.json"]) == dashboard()


def test_service_monitor_scrapes_every_metrics_service(production_render: Rendered) -> None:
    sm = production_render.get("ServiceMonitor", "rpm")
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selected = [s for s in production_render.of_kind("Service")
                if all(s["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items())]
    assert {s["metadata"]["name"] for s in selected} == {f"rpm-{c}-metrics" for c in ("bridge", "streams", "sink", "alerts")}
    for s in selected:
        assert [p["name"] for p in s["spec"]["ports"]] == [sm["spec"]["endpoints"][0]["port"]]


# ------------------------------------------------ alarm metrics, real PostgreSQL


def _candidate(patient: str, priority: Priority, window_end: datetime) -> AlertCandidate:
    start = window_end - timedelta(seconds=60)
    return AlertCandidate(
        id=AlertCandidate.make_id(patient, "heart_rate_high", start), patient_id=patient, rule="heart_rate_high",
        priority=priority, value=150.0, threshold=130.0, window_start=start, window_end=window_end,
        detected_at=window_end, message="HR high",
    )


def _insert_alert(db: psycopg.Connection, c: AlertCandidate) -> bool:
    """An alert row as the lifecycle leaves it after raising (the gauges read only the table)."""
    row = db.execute(
        "INSERT INTO alerts (id, patient_id, rule, priority, value, threshold, message, window_start, window_end,"
        " detected_at, last_value) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING RETURNING id",
        (c.id, c.patient_id, c.rule, c.priority.value, c.value, c.threshold, c.message, c.window_start,
         c.window_end, c.detected_at, c.value),
    ).fetchone()
    db.execute("INSERT INTO alert_events (alert_id, event, actor) VALUES (%s, 'raised', 'system')", (c.id,))
    return row is not None


def _sample(reg: CollectorRegistry, name: str, priority: str) -> float:
    value = reg.get_sample_value(name, {"priority": priority})
    assert value is not None, name
    return value


def test_alarm_metrics_count_unacknowledged_and_time_events(db: psycopg.Connection) -> None:
    reg = CollectorRegistry()
    m = alarm_metrics.AlarmMetrics(reg)
    now = datetime.now(UTC)
    old = _candidate("P1", Priority.HIGH, now - timedelta(minutes=5))
    assert _insert_alert(db, old)
    # Raised 5 minutes ago (its window ended 4 s earlier).
    db.execute("UPDATE alerts SET raised_at = now() - interval '300 seconds' WHERE id = %s", (old.id,))
    m.poll(db)  # first poll: gauges only; history is not replayed into histograms
    assert _sample(reg, "rpm_alerts_unacknowledged", "high") == 1
    assert _sample(reg, "rpm_alerts_unacknowledged", "medium") == 0
    assert 299 <= _sample(reg, "rpm_alerts_oldest_unacknowledged_seconds", "high") < 320
    assert _sample(reg, "rpm_alerts_oldest_unacknowledged_seconds", "low") == 0
    assert _sample(reg, "rpm_alerts_end_to_end_seconds_count", "high") == 0

    fresh = _candidate("P2", Priority.MEDIUM, now - timedelta(seconds=12))
    assert _insert_alert(db, fresh)
    # The alert lifecycle acknowledges the old alarm (state + event).
    db.execute("UPDATE alerts SET state = 'acknowledged' WHERE id = %s", (old.id,))
    db.execute("INSERT INTO alert_events (alert_id, event, actor) VALUES (%s, 'acknowledged', 'nurse-lan')", (old.id,))
    m.poll(db)
    assert _sample(reg, "rpm_alerts_unacknowledged", "high") == 0
    assert _sample(reg, "rpm_alerts_oldest_unacknowledged_seconds", "high") == 0
    assert _sample(reg, "rpm_alerts_unacknowledged", "medium") == 1
    assert _sample(reg, "rpm_alerts_time_to_acknowledge_seconds_count", "high") == 1
    assert 299 <= _sample(reg, "rpm_alerts_time_to_acknowledge_seconds_sum", "high") < 320
    assert _sample(reg, "rpm_alerts_end_to_end_seconds_count", "medium") == 1
    assert 11 <= _sample(reg, "rpm_alerts_end_to_end_seconds_sum", "medium") < 30
    m.poll(db)  # nothing new: nothing observed twice
    assert _sample(reg, "rpm_alerts_end_to_end_seconds_count", "medium") == 1


def test_alarm_metrics_poller_survives_a_database_outage(db_dsn: str) -> None:
    reg = CollectorRegistry()
    stop = threading.Event()
    bad = alarm_metrics.AlarmMetrics(reg)
    t = alarm_metrics.start("postgresql://127.0.0.1:1/none?connect_timeout=1", bad, stop, every_s=0.05)
    deadline = time.monotonic() + 10
    while (reg.get_sample_value("rpm_alerts_metrics_poll_errors_total") or 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(timeout=5)
    assert (reg.get_sample_value("rpm_alerts_metrics_poll_errors_total") or 0) >= 2
    assert not t.is_alive()


def test_alarm_metrics_are_served_on_the_metrics_port(db: psycopg.Connection) -> None:
    """What the ServiceMonitor scrapes and the probes call: /metrics, /healthz, /readyz on one port."""
    reg = CollectorRegistry()
    m = alarm_metrics.AlarmMetrics(reg)
    assert _insert_alert(db, _candidate("P3", Priority.HIGH, datetime.now(UTC)))
    m.poll(db)
    hc = health.Health()
    hc.set("kafka", True)
    port = free_port()
    server = health.serve(port, reg, hc, host="127.0.0.1")
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert 'rpm_alerts_unacknowledged{priority="high"} 1.0' in body
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).status == 200
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).status == 200
    finally:
        server.shutdown()
