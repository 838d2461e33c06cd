"""Faust worker: the thin driver around streams.hr_window.

Readings arrive one ReadingBatch per record, keyed by patient id; per-patient
window state lives in a Faust table (changelog-backed, so a restarted worker
recovers it). Candidates have deterministic ids, so one re-emitted after a
restart or by the wall-clock timer is recognised downstream as the same.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import faust
from prometheus_client import CollectorRegistry, Counter

from runtime import health, heartbeat
from streams import hr_window
from streams.settings import StreamSettings
from wire import topics
from wire.messages import AlertCandidate, ReadingBatch

log = logging.getLogger(__name__)


class RecentIds:
    """Bounded set of recently emitted candidate ids (timer and agent may derive the same one)."""

    def __init__(self, size: int) -> None:
        self._ids: dict[str, None] = {}
        self._size = size

    def add(self, id_: str) -> bool:
        if id_ in self._ids:
            return False
        self._ids[id_] = None
        if len(self._ids) > self._size:
            del self._ids[next(iter(self._ids))]
        return True


def create_app(s: StreamSettings, registry: CollectorRegistry, hc: health.Health) -> faust.App:
    names = {k: t.name for k, t in topics.kafka_topics(s.topic_prefix, s.partitions).items()}
    app = faust.App(
        topics.stream_app_id(s.topic_prefix),
        broker=[f"kafka://{hp.strip()}" for hp in s.kafka_bootstrap.split(",")],
        # Topics are provisioned from wire.topics (the mock cluster and many
        # managed clusters refuse CreateTopics from applications).
        topic_allow_declare=False,
        topic_disable_leader=True,
        topic_partitions=s.partitions,
        store="memory://",
        datadir=s.data_dir,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10,
        broker_heartbeat_interval=1,
        stream_wait_empty=False,
    )
    limits = hr_window.HrLimits(s.hr_high, s.hr_low, timedelta(seconds=s.allowed_lateness_s))
    readings_topic = app.topic(names[topics.READINGS], key_type=bytes, value_type=bytes,
                               key_serializer="raw", value_serializer="raw", partitions=s.partitions)
    candidates_topic = app.topic(names[topics.ALERT_CANDIDATES], key_type=bytes, value_type=bytes,
                                 key_serializer="raw", value_serializer="raw", partitions=s.partitions)
    raw = faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    table = app.Table(topics.STREAM_TABLES[0], default=None, schema=raw, partitions=s.partitions)
    batches = Counter("rpm_streams_batches", "reading batches processed", registry=registry)
    emitted = Counter("rpm_streams_candidates", "alert candidates emitted", registry=registry)
    bad = Counter("rpm_streams_bad_records", "records that failed to parse", registry=registry)

    recent = RecentIds(50_000)

    async def emit(cands: list[AlertCandidate]) -> None:
        for c in cands:
            if not recent.add(c.id):
                continue
            await candidates_topic.send(key=c.patient_id.encode(), value=c.model_dump_json().encode())
            emitted.inc()

    @app.agent(readings_topic)
    async def windows(stream: faust.StreamT) -> None:
        async for key, value in stream.items():
            hc.beat()
            try:
                batch = ReadingBatch.model_validate_json(value)
            except ValueError:
                bad.inc()
                log.error("unparseable readings record", extra={"key": key})
                continue
            raw = table.get(key)
            state = hr_window.HrState.model_validate_json(raw) if raw else hr_window.HrState()
            state = hr_window.add(state, batch.readings)
            newest = max(r.t for r in batch.readings)
            state, closed = hr_window.close_due(state, newest, limits)
            table[key] = state.model_dump_json().encode()
            await emit(hr_window.candidates(batch.patient_id, closed, limits, datetime.now(UTC)))
            batches.inc()

    @app.timer(interval=s.wall_close_s)
    async def wall_clock_close() -> None:
        # Faust tables can only be written from a stream event, so the timer
        # emits without writing; the next event for the patient closes the
        # same windows in state and re-derives the same candidate ids.
        hc.beat()
        now = datetime.now(UTC)
        for key, raw in list(table.items()):
            if not raw:
                continue
            state = hr_window.HrState.model_validate_json(raw)
            _, closed = hr_window.close_due(state, now, limits)
            await emit(hr_window.candidates(key.decode(), closed, limits, now))

    @app.task
    async def mark_ready() -> None:
        hc.set("kafka", True)

    return app


def run(s: StreamSettings) -> int:
    from runtime import logs

    logs.setup("streams", s.log_level)
    registry = CollectorRegistry()
    hc = health.Health()
    if s.metrics_port:
        health.serve(s.metrics_port, registry, hc)
    stop = threading.Event()
    heartbeat.start(s.database_url.get_secret_value(), "streams", s.worker_instance, hc.snapshot, stop)
    app = create_app(s, registry, hc)
    worker = faust.Worker(app, loglevel=s.log_level.lower().replace("warning", "warn"), quiet=True,
                          redirect_stdouts=False)
    # Agents and timers start only after table recovery: liveness follows the event loop instead.
    health.beat_from_loop(worker.loop, hc)
    try:
        worker.execute_from_commandline()
    finally:
        stop.set()
    return 0
