"""Alert candidates from Kafka -> alerts in PostgreSQL -> live console push.

Offsets are committed after the database commit; raising is idempotent by
candidate id, so a redelivered candidate neither duplicates the alert nor
notifies twice.
"""

from __future__ import annotations

import json
import logging
import threading

import psycopg
from kafka import KafkaConsumer
from prometheus_client import CollectorRegistry, Counter

from alerts import store
from alerts.broadcast import Broadcaster
from alerts.settings import AlertSettings
from runtime.db_retry import run_with_retry
from runtime.health import Health
from wire import topics
from wire.messages import AlertCandidate, Priority

log = logging.getLogger(__name__)


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        raised = Counter("rpm_alerts_raised", "alerts raised", ["priority"], registry=registry)
        self.raised = {p: raised.labels(p.value) for p in Priority}
        self.repeats = Counter("rpm_alerts_candidate_repeats", "candidates already raised", registry=registry)
        self.bad = Counter("rpm_alerts_bad_records", "records that failed to parse", registry=registry)


def _raise(conn: psycopg.Connection, c: AlertCandidate) -> bool:
    # Autocommit, so raise_alert's transaction commits: on an implicit transaction left open by the
    # list_alerts read below it would only be a savepoint, and every later alert would stay uncommitted.
    if not conn.autocommit:
        conn.autocommit = True
    return store.raise_alert(conn, c)


def consume(
    s: AlertSettings, broadcaster: Broadcaster, metrics: AlertMetrics, hc: Health, stop: threading.Event
) -> None:
    dsn = s.database_url.get_secret_value()
    consumer = KafkaConsumer(
        topics.kafka_topics(s.topic_prefix)[topics.ALERT_CANDIDATES].name,
        bootstrap_servers=s.kafka_bootstrap.split(","),
        api_version=(2, 3, 0),
        group_id=f"{s.topic_prefix}rpm-alerts",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
    )
    hc.set("kafka", True)
    conn: psycopg.Connection | None = None
    while not stop.is_set():
        hc.beat()
        polled = consumer.poll(timeout_ms=200)
        cands = []
        for recs in polled.values():
            for rec in recs:
                try:
                    cands.append(AlertCandidate.model_validate_json(rec.value))
                except ValueError:
                    metrics.bad.inc()
        fresh: list[AlertCandidate] = []
        if cands:
            conn, raised = run_with_retry(dsn, conn, lambda c: [x for x in cands if _raise(c, x)], hc, stop)
            fresh = raised or []
        if stop.is_set():
            break
        if polled:
            consumer.commit()
        metrics.repeats.inc(len(cands) - len(fresh))
        for c in fresh:
            metrics.raised[c.priority].inc()
            assert conn is not None
            view = store.list_alerts(conn, limit=1, alert_id=c.id)
            if view:
                broadcaster.publish(json.dumps(view[0].to_json()))
            log.info("alert raised", extra={"alert_id": c.id, "rule": c.rule, "priority": c.priority.value})
    consumer.close(autocommit=False)
    if conn is not None:
        conn.close()
