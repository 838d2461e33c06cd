"""Alert candidates and device status from Kafka -> alarm engine in PostgreSQL -> live console push.

Offsets are committed after the database commit. A redelivered record is a
no-op: each condition remembers the newest evaluation it applied, and an
alarm's id is the id of the candidate that began its condition, so neither
the alarm nor its notifications (deduplicated in the outbox) repeat.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import psycopg
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

from alerts import device_status, live, processing
from alerts.broadcast import Broadcaster
from alerts.metrics import AlertMetrics
from alerts.notification_plan import ChannelsEnabled
from alerts.settings import AlertSettings
from alerts.suppression import Evaluation
from runtime.db_retry import run_with_retry
from runtime.health import Health
from storage import registry
from wire import topics
from wire.messages import AlertCandidate, DeviceStatus

log = logging.getLogger(__name__)


class Registry:
    """Device -> patient at a time, reloaded every few seconds (device status names devices, not patients)."""

    def __init__(self, refresh_s: float) -> None:
        self.refresh_s = refresh_s
        self._snap: registry.AssignmentSnapshot | None = None
        self._loaded = 0.0

    def patient_at(self, conn: psycopg.Connection, device_id: str, t: datetime) -> str | None:
        if self._snap is None or time.monotonic() - self._loaded > self.refresh_s:
            self._snap, self._loaded = registry.load_snapshot(conn), time.monotonic()
        return self._snap.patient_at(device_id, t)


def to_evaluations(
    recs: list[ConsumerRecord], names: dict[str, str], s: AlertSettings, conn: psycopg.Connection, reg: Registry,
    metrics: AlertMetrics,
) -> list[tuple[Evaluation, datetime]]:
    """Parse records into (evaluation, detected_at); unparseable records are counted and skipped."""
    out: list[tuple[Evaluation, datetime]] = []
    for rec in recs:
        try:
            if rec.topic == names[topics.ALERT_CANDIDATES]:
                c = AlertCandidate.model_validate_json(rec.value)
                out.append((Evaluation.from_candidate(c, s.artifact_share), c.detected_at))
                continue
            status = DeviceStatus.model_validate_json(rec.value)
        except ValueError:
            metrics.bad.inc()
            continue
        received = datetime.fromtimestamp(rec.timestamp / 1000, UTC)
        patient = reg.patient_at(conn, status.device_id, status.at or received)
        if patient is None:
            continue  # not assigned to anyone: nobody to alarm for
        out += [(e, received) for e in device_status.evaluations(status, patient, received, s.low_battery_pct)]
    return out


def consume(
    s: AlertSettings, channels: ChannelsEnabled, broadcaster: Broadcaster, metrics: AlertMetrics, hc: Health,
    stop: threading.Event,
) -> None:
    dsn = s.database_url.get_secret_value()
    all_names = topics.kafka_topics(s.topic_prefix)
    names = {k: all_names[k].name for k in (topics.ALERT_CANDIDATES, topics.DEVICE_STATUS)}
    consumer = KafkaConsumer(
        *names.values(),
        bootstrap_servers=s.kafka_bootstrap.split(","),
        api_version=(2, 3, 0),
        group_id=f"{s.topic_prefix}rpm-alerts",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        # Candidates are few and every millisecond is alarm latency: do not let
        # the broker hold a fetch for the default 500 ms waiting for more.
        fetch_max_wait_ms=20,
    )
    hc.set("kafka", True)
    reg = Registry(s.registry_refresh_s)
    conn: psycopg.Connection | None = None
    while not stop.is_set():
        hc.beat()
        polled = consumer.poll(timeout_ms=200)
        recs = [r for batch in polled.values() for r in batch]
        if recs:
            def op(c: psycopg.Connection) -> int:
                if not c.autocommit:
                    c.autocommit = True
                n = 0
                for ev, detected in to_evaluations(recs, names, s, c, reg, metrics):
                    try:
                        with c.transaction():
                            out = processing.handle_evaluation(c, ev, datetime.now(UTC), channels, detected)
                    except psycopg.Error:
                        raise  # the database: retried as a whole by run_with_retry
                    except Exception:
                        # A record the engine cannot handle must not stop every other
                        # patient's alarms (nor crash-loop the service): counted, logged.
                        log.exception("evaluation failed", extra={"rule": ev.rule, "candidate_id": ev.candidate_id})
                        metrics.bad.inc()
                        continue
                    if out is None:
                        metrics.bad.inc()  # a rule outside wire.rules
                        continue
                    # Pushed as soon as it is committed, not after the whole batch:
                    # every millisecond here is alarm latency. A replay after a
                    # failure is recognised as such and pushes nothing again.
                    live.announce(c, [out], broadcaster, metrics)
                    n += 1
                return n

            # On a database outage the whole batch is retried: evaluations that
            # committed before the failure are recognised as replays.
            conn, _ = run_with_retry(dsn, conn, op, hc, stop)
        if stop.is_set():
            break
        if polled:
            consumer.commit()
    consumer.close(autocommit=False)
    if conn is not None:
        conn.close()
