"""Alert candidates and device status from Kafka -> alarm engine in PostgreSQL -> live console push.

Offsets are committed after the database commit. A redelivered record is a
no-op: each condition remembers the newest evaluation it applied, and an
alarm's id is the id of the candidate that began its condition, so neither
the alarm nor its notifications (deduplicated in the outbox) repeat. A
batch is decided per patient on a few connections at once
(``alerts.parallel``), each patient's evaluations in order.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import confluent_kafka as ck
import psycopg

from alerts import device_status, live, processing
from alerts.broadcast import Broadcaster
from alerts.metrics import AlertMetrics
from alerts.notification_plan import ChannelsEnabled
from alerts.parallel import ConnectionPool, by_patient, run_groups
from alerts.settings import AlertSettings
from alerts.suppression import Evaluation
from runtime import kafka_batch
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


Parsed = tuple[Evaluation, datetime] | tuple[DeviceStatus, datetime]


def parse(recs: list[ck.Message], names: dict[str, str], s: AlertSettings, metrics: AlertMetrics) -> list[Parsed]:
    """Records as evaluations (candidates) or device status, with their time; unparseable ones counted, skipped."""
    out: list[Parsed] = []
    for rec in recs:
        value = rec.value()
        try:
            if value is None:
                raise ValueError("record without a value")
            if rec.topic() == names[topics.ALERT_CANDIDATES]:
                c = AlertCandidate.model_validate_json(value)
                out.append((Evaluation.from_candidate(c, s.artifact_share), c.detected_at))
            else:
                received = datetime.fromtimestamp(rec.timestamp()[1] / 1000, UTC)
                out.append((DeviceStatus.model_validate_json(value), received))
        except ValueError:
            metrics.bad.inc()
    return out


def make_consumer(s: AlertSettings, topic_names: list[str]) -> ck.Consumer:
    """librdkafka's consumer: its fetch loop runs in C threads. kafka-python's, polling the broker
    every 20 ms for low latency, took 14-16 % of a core in Python with nothing to consume."""
    consumer = ck.Consumer({
        "bootstrap.servers": s.kafka_bootstrap,
        "group.id": topics.consumer_group(s.topic_prefix, topics.ALERTS_GROUP),
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1_000,
        # Candidates are few and every millisecond is alarm latency: do not let
        # the broker hold a fetch for the default 500 ms waiting for more.
        "fetch.wait.max.ms": 20,
        "log_level": 3,
    })
    consumer.subscribe(topic_names)
    return consumer


def to_evaluations(
    parsed: list[Parsed], s: AlertSettings, conn: psycopg.Connection, reg: Registry
) -> list[tuple[Evaluation, datetime]]:
    """Device status becomes evaluations of the patient the device is assigned to (then: none if nobody)."""
    out: list[tuple[Evaluation, datetime]] = []
    for item, at in parsed:
        if isinstance(item, Evaluation):
            out.append((item, at))
            continue
        patient = reg.patient_at(conn, item.device_id, item.at or at)
        if patient is not None:
            out += [(e, at) for e in device_status.evaluations(item, patient, at, s.low_battery_pct)]
    return out


def consume(
    s: AlertSettings, channels: ChannelsEnabled, broadcaster: Broadcaster, metrics: AlertMetrics, hc: Health,
    stop: threading.Event,
) -> None:
    dsn = s.database_url.get_secret_value()
    all_names = topics.kafka_topics(s.topic_prefix)
    names = {k: all_names[k].name for k in (topics.ALERT_CANDIDATES, topics.DEVICE_STATUS)}
    consumer = make_consumer(s, list(names.values()))
    hc.set("kafka", True)
    reg = Registry(s.registry_refresh_s)
    pool = ConnectionPool(dsn, s.decision_workers)
    executor = ThreadPoolExecutor(s.decision_workers, thread_name_prefix="alarm-decide")

    def decide(c: psycopg.Connection, group: list[tuple[Evaluation, datetime]]) -> int:
        n = 0
        for ev, detected in group:
            try:
                with c.transaction():
                    out = processing.handle_evaluation(c, ev, datetime.now(UTC), channels, detected)
            except psycopg.Error:
                raise  # the database: the batch is retried (decided evaluations are recognised as replays)
            except Exception:
                # A record the engine cannot handle must not stop every other
                # patient's alarms (nor crash-loop the service): counted, logged.
                log.exception("evaluation failed", extra={"rule": ev.rule, "candidate_id": ev.candidate_id})
                metrics.bad.inc()
                continue
            if out is None:
                metrics.bad.inc()  # a rule outside wire.rules
                continue
            # Pushed as soon as it is committed: every millisecond here is alarm latency.
            live.announce(c, [out], broadcaster, metrics)
            n += 1
        return n

    while not stop.is_set():
        hc.beat()
        polled = kafka_batch.ready(consumer, 500, 0.2)
        records = [r for r in polled if r.error() is None]
        for r in polled:
            if r.error() is not None:
                log.warning("kafka consumer error", extra={"error": str(r.error())})
        parsed = parse(records, names, s, metrics)
        backoff = 0.2
        while parsed and not stop.is_set():
            try:
                evals = pool.run(functools.partial(to_evaluations, parsed, s, reg=reg))
                run_groups(pool, executor, by_patient(evals), decide)
                hc.set("database", True)
                break
            except psycopg.Error as e:
                hc.set("database", False, str(e)[:200])
                log.warning("database operation failed, retrying", extra={"error": str(e)[:200], "backoff_s": backoff})
                hc.beat()  # retrying is alive: a database outage must not fail the liveness probe
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        if stop.is_set():
            break
        if records:
            try:
                consumer.commit(asynchronous=False)
            except ck.KafkaException as e:
                # Typically a rebalance: the records come back and are recognised as replays.
                log.warning("offset commit failed; records will be redelivered", extra={"error": str(e)[:200]})
    consumer.close()
    executor.shutdown(wait=True)
    pool.close()
