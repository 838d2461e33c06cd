"""`rpm sink`: Kafka readings -> PostgreSQL, at least once, idempotent.

Offsets are committed only after the database transaction committed. A
database outage stops consumption (the batch in hand is retried with
backoff); nothing is skipped and a replay adds no rows.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from kafka import KafkaConsumer
from prometheus_client import CollectorRegistry, Counter, Histogram

from runtime import health, heartbeat, logs
from runtime.signals import stop_event
from storage import readings
from storage.settings import SinkSettings
from wire import topics
from wire.messages import ReadingBatch

log = logging.getLogger(__name__)


class SinkMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.rows = Counter("rpm_sink_rows_inserted", "new reading rows", registry=registry)
        self.dupes = Counter("rpm_sink_rows_duplicate", "readings already stored (replays)", registry=registry)
        self.bad = Counter("rpm_sink_bad_records", "records that failed to parse", registry=registry)
        self.db_errors = Counter("rpm_sink_db_errors", "failed write attempts (retried)", registry=registry)
        self.write_s = Histogram("rpm_sink_write_seconds", "time to write one batch", registry=registry)


def make_consumer(s: SinkSettings) -> KafkaConsumer:
    return KafkaConsumer(
        topics.kafka_topics(s.topic_prefix)[topics.READINGS].name,
        bootstrap_servers=s.kafka_bootstrap.split(","),
        api_version=(2, 3, 0),
        group_id=f"{s.topic_prefix}rpm-sink",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=s.sink_max_records,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
    )


def write_with_retry(
    dsn: str, conn: psycopg.Connection | None, batches: list[ReadingBatch], m: SinkMetrics, hc: health.Health,
    stop: threading.Event,
) -> psycopg.Connection | None:
    """Write until committed (or stopped); returns the connection to reuse."""
    rows = readings.rows_from(batches)
    backoff = 0.2
    while not stop.is_set():
        try:
            if conn is None or conn.closed:
                conn = psycopg.connect(dsn, connect_timeout=5)
            with m.write_s.time(), conn.transaction():
                inserted = readings.write(conn, rows)
            m.rows.inc(inserted)
            m.dupes.inc(len(rows) - inserted)
            hc.set("database", True)
            return conn
        except psycopg.Error as e:
            m.db_errors.inc()
            hc.set("database", False, str(e)[:200])
            log.warning("database write failed, retrying", extra={"error": str(e)[:200], "backoff_s": backoff})
            hc.beat()  # retrying is alive: a database outage must not restart the sink
            if conn is not None:
                conn.close()
            conn = None
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)
    return conn


def run(s: SinkSettings) -> int:
    logs.setup("sink", s.log_level)
    registry = CollectorRegistry()
    hc = health.Health()
    m = SinkMetrics(registry)
    stop = stop_event()
    if s.metrics_port:
        health.serve(s.metrics_port, registry, hc)
    dsn = s.database_url.get_secret_value()
    heartbeat.start(dsn, "sink", s.sink_instance, hc.snapshot, stop)
    consumer = make_consumer(s)
    hc.set("kafka", True)
    hc.set("database", True)
    conn: psycopg.Connection | None = None
    log.info("sink started")
    while not stop.is_set():
        hc.beat()
        polled = consumer.poll(timeout_ms=s.sink_poll_ms, max_records=s.sink_max_records)
        if not polled:
            continue
        batches: list[ReadingBatch] = []
        for records in polled.values():
            for rec in records:
                try:
                    batches.append(ReadingBatch.model_validate_json(rec.value))
                except ValueError:
                    m.bad.inc()
                    log.error("unparseable readings record", extra={"offset": rec.offset})
        conn = write_with_retry(dsn, conn, batches, m, hc, stop)
        if stop.is_set():
            break  # not committed: redelivered to the next sink
        consumer.commit()
    consumer.close(autocommit=False)
    if conn is not None:
        conn.close()
    log.info("sink stopped")
    return 0
