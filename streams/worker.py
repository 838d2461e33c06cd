"""Faust worker: the thin driver around streams.engine.

One agent consumes two co-partitioned topics: packed reading batches
(wire.packed: many device messages per record, grouped so that a patient
always lands on the same partition) and tick records. A timer on each worker sends a tick carrying its
wall-clock time to every ticks partition it owns; the agent handles tick n
like any record of partition n, so wall-clock work (closing windows of quiet
sensors, signal loss, daily glucose metrics) runs in a stream event and may
write the table, and a replay after a crash sees the same tick time.

Delivery: outputs are sent before the state that records them (History
before Live, same changelog partition). After a crash, records after the
last committed offset are replayed over the recovered state: readings
already counted are dropped as duplicates, closed windows stay closed, and
a candidate whose emission did not reach the changelog is re-sent with the
same deterministic id.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from faust.transport.drivers import aiokafka as fk
from faust.types import TP
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from runtime import gc_tuning, health, heartbeat
from streams import engine
from streams.batch import Batch
from streams.candidates import Outputs
from streams.clock import PartitionInput, input_watermark_ms
from streams.decode import decode_packed
from streams.settings import StreamSettings
from streams.state import Live
from streams.table_state import StateStore
from wire import topics
from wire.derived import ScoreBatch, WindowFeatures

log = logging.getLogger(__name__)
RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.batches = Counter("rpm_streams_batches", "reading batches processed", registry=registry)
        self.readings = Counter("rpm_streams_readings", "readings that entered a window", registry=registry)
        self.duplicate_batches = Counter("rpm_streams_duplicate_batches", "re-delivered device messages",
                                         registry=registry)
        self.ticks = Counter("rpm_streams_ticks", "tick records processed", registry=registry)
        self.candidates = Counter("rpm_streams_candidates", "alert candidates emitted", ["rule", "status"],
                                  registry=registry)
        self.bad = Counter("rpm_streams_bad_records", "records that failed to parse", registry=registry)
        self.failed = Counter("rpm_streams_failed_batches", "batches or ticks the core raised on (skipped, logged)",
                              ["stage"], registry=registry)
        self.state_bytes = Counter("rpm_streams_state_bytes", "bytes written to the state changelog",
                                   registry=registry)
        self.lag_ms = Gauge("rpm_streams_input_lag_ms", "wall time minus the input watermark at the last tick",
                            registry=registry)
        self.seconds = Histogram("rpm_streams_record_seconds", "processing time per record", registry=registry,
                                 buckets=(0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0))


class _PromptFetchThread(fk.AIOKafkaConsumerThread):
    # faust-streaming hard-codes fetch_max_wait_ms=1500 for the worker's consumer; the
    # librdkafka mock (and a broker whose fetch.min.bytes is not yet met) then holds an
    # empty fetch that long, which was most of the publish-to-alarm latency (rpm bench e2e).
    fetch_max_wait_ms = 50

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms  # no public setting
        return consumer


class _PromptFetchConsumer(fk.Consumer):
    def _new_consumer_thread(self) -> fk.AIOKafkaConsumerThread:
        return _PromptFetchThread(self, loop=self.loop, beacon=self.beacon)


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
        # Outputs and changelog writes are many small records: without a
        # linger aiokafka sends a produce request (a socket write) per record,
        # which cost more than the stream core itself (py-spy, rpm bench streams).
        producer_linger=s.producer_linger_s,
        producer_max_batch_size=1024 * 1024,
    )
    app.transport.Consumer = _PromptFetchConsumer  # type: ignore[misc]  # faust's documented override point
    cfg = s.core()
    ticks_name = names[topics.STREAM_TICKS]
    # Packed readings (wire.packed): many device messages per record, Faust's cost is per record.
    source = app.topic(names[topics.READINGS_PACKED], ticks_name, partitions=s.partitions, **RAW)  # type: ignore[arg-type]
    ticks = app.topic(ticks_name, partitions=s.partitions, **RAW)  # type: ignore[arg-type]
    features = app.topic(names[topics.FEATURES], partitions=s.partitions, **RAW)  # type: ignore[arg-type]
    scores = app.topic(names[topics.SCORES], partitions=s.partitions, **RAW)  # type: ignore[arg-type]
    cands = app.topic(names[topics.ALERT_CANDIDATES], partitions=s.partitions, **RAW)  # type: ignore[arg-type]
    raw: faust.Schema = faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    # app.Table is typed as the abstract TableT; it returns a faust.Table.
    store = StateStore(app.Table(topics.STREAM_TABLES[0], default=None, schema=raw, key_type=bytes,  # type: ignore[arg-type]
                                 value_type=bytes, partitions=s.partitions))
    m = Metrics(registry)
    inputs: dict[int, PartitionInput] = {}  # readings partition -> how far it was processed
    readings_name = names[topics.READINGS_PACKED]

    async def publish(pid: str, out: Outputs, live: Live) -> None:
        key = pid.encode()
        if out.windows:
            late = sum(v.late for v in live.vitals.values())
            dups = sum(v.duplicates for v in live.vitals.values())
            await features.send(key=key, value=WindowFeatures(
                patient_id=pid, windows=tuple(out.windows), late_total=late, duplicates_total=dups,
            ).model_dump_json().encode())
        if out.scores:
            await scores.send(key=key, value=ScoreBatch(patient_id=pid, scores=tuple(out.scores))
                              .model_dump_json().encode())
        for c in out.candidates:
            await cands.send(key=key, value=c.model_dump_json().encode())
            m.candidates.labels(c.rule, c.status.value).inc()

    async def on_packed(partition: int, offset: int, value: bytes) -> None:
        try:
            batches, bad = decode_packed(value)
        except ValueError:
            m.bad.inc()
            log.error("unparseable packed readings record", extra={"partition": partition})
            return
        if bad:
            m.bad.inc(bad)
            log.error("invalid reading batches in a packed record", extra={"partition": partition, "bad": bad})
        p_in = inputs.setdefault(partition, PartitionInput())
        for batch in batches:
            await on_batch(partition, offset, batch, p_in)

    async def on_batch(partition: int, offset: int, batch: Batch, p_in: PartitionInput) -> None:
        pid = batch.patient_id
        live, hist = store.get(pid)
        p_in.processed(offset, batch.received_ms)
        try:
            out = engine.process(live, hist, batch, partition, cfg)
        except Exception:
            # A bug on one batch must not stop the agent, and with it every other
            # patient's alarms (Faust would restart it on the same record, forever).
            # The sink stores the readings regardless; the batch is counted and logged.
            m.failed.labels("batch").inc()
            log.exception("batch could not be processed; skipped", extra={"partition": partition, "offset": offset})
            return
        await publish(pid, out, live)
        store.mark(pid, partition, live_dirty=out.live_dirty, hist_dirty=out.hist_dirty)
        m.batches.inc()
        m.readings.inc(out.accepted)
        m.duplicate_batches.inc(out.duplicate_batch)

    async def on_tick(partition: int, value: bytes) -> None:
        try:
            now_ms = int(orjson.loads(value)["at_ms"])
        except (ValueError, KeyError, TypeError):
            m.bad.inc()
            return
        m.ticks.inc()
        # Lag-aware: act on how far this partition's readings were processed, not on the raw wall time.
        p_in = inputs.setdefault(partition, PartitionInput())
        try:
            highwater: int | None = app.consumer.highwater(TP(readings_name, partition))
        except (KeyError, AttributeError, AssertionError):
            highwater = None
        wall_ms = input_watermark_ms(now_ms, highwater, p_in)
        m.lag_ms.set(now_ms - wall_ms)
        for pid in list(store.patients(partition)):
            live, hist = store.get(pid)
            try:
                out = engine.tick(pid, live, hist, wall_ms, cfg)
            except Exception:
                m.failed.labels("tick").inc()
                log.exception("tick could not be processed for a patient; skipped", extra={"partition": partition})
                continue
            refresh = s.state_refresh_s > 0 and store.stale(pid, s.state_refresh_s)
            await publish(pid, out, live)
            store.mark(pid, partition, live_dirty=out.live_dirty or refresh, hist_dirty=out.hist_dirty or refresh)

    # Input records processed since the last state flush: acknowledged (so
    # committable) only once the changelog holds the state that counts them.
    held: list[faust.EventT] = []
    flushed_at = [time.monotonic()]
    flushing: list[asyncio.Task[None]] = []  # the flush in progress, if any

    async def write_and_ack(events: list[faust.EventT]) -> None:
        try:
            m.state_bytes.inc(await store.flush_in_chunks())
        except Exception as e:
            # The states are marked changed again and these records wait for the next flush.
            log.error("state flush failed; retried with the next one", extra={"error": repr(e)})
            held[:0] = events
            return
        for ev in events:  # every one of them was processed before the flush began
            ev.ack()

    def flush() -> None:
        """Start writing the changed states beside the stream (one flush at a time)."""
        if flushing and not flushing[0].done():
            return  # still writing the previous one: these records wait for the next
        events = held[:]
        held.clear()
        flushed_at[0] = time.monotonic()
        flushing[:] = [asyncio.ensure_future(write_and_ack(events))]

    @app.agent(source)
    async def work(stream: faust.StreamT) -> None:
        async for event in stream.noack().events():  # type: ignore[attr-defined]  # Stream has noack, StreamT lacks it
            hc.beat()
            msg = event.message
            started = time.perf_counter()
            if msg.topic == ticks_name:
                await on_tick(msg.partition, msg.value)
            else:
                await on_packed(msg.partition, msg.offset, msg.value)
            held.append(event)
            if time.monotonic() - flushed_at[0] >= s.state_flush_s:
                flush()
            m.seconds.observe(time.perf_counter() - started)

    @app.timer(interval=max(0.05, s.state_flush_s))
    async def flush_quiet() -> None:
        # A quiet stream still gets its last records' state written and acknowledged.
        if held and time.monotonic() - flushed_at[0] >= s.state_flush_s:
            flush()

    @app.timer(interval=s.wall_close_s)
    async def send_ticks() -> None:
        hc.beat()
        at_ms = int(datetime.now(UTC).timestamp() * 1000)
        owned = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == ticks_name)
        for p in owned:
            await ticks.send(value=orjson.dumps({"at_ms": at_ms, "worker": s.worker_instance}), partition=p)

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
    gc_tuning.for_throughput()
    worker = faust.Worker(app, loglevel=s.log_level.lower().replace("warning", "warn"), quiet=True,
                          redirect_stdouts=False)
    # Agents and timers start only after table recovery: liveness follows the event loop instead.
    health.beat_from_loop(worker.loop, hc)
    try:
        worker.execute_from_commandline()
    finally:
        stop.set()
    return 0
