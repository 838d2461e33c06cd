"""`rpm sink`: Kafka readings, waveform snippets, window features and scores -> PostgreSQL, at least once,
idempotent.

Offsets are committed only after the database transaction committed. A
database outage stops consumption (the batch in hand is retried with
backoff, on a new connection); nothing is skipped and a replay adds no rows.
synchronous_commit stays on: an offset may only be committed for rows that
would survive a database crash.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field

import psycopg
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Histogram

from runtime import gc_tuning, health, heartbeat, logs
from runtime.signals import stop_event
from storage import derived, fastparse, maintain, readings, waveforms
from storage.settings import SinkSettings
from wire import topics
from wire.derived import ScoreBatch, WindowFeatures
from wire.messages import ReadingBatch

log = logging.getLogger(__name__)


class SinkMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.rows = Counter("rpm_sink_rows_inserted", "new reading rows", registry=registry)
        self.dupes = Counter("rpm_sink_rows_duplicate", "readings already stored (replays)", registry=registry)
        self.bad = Counter("rpm_sink_bad_records", "records that failed to parse", registry=registry)
        self.db_errors = Counter("rpm_sink_db_errors", "failed write attempts (retried)", registry=registry)
        self.commit_failures = Counter(
            "rpm_sink_commit_failures", "offset commits refused after a rebalance (records redelivered)",
            registry=registry,
        )
        self.write_s = Histogram("rpm_sink_write_seconds", "time to write one batch", registry=registry)
        self.derived = Counter("rpm_sink_derived_rows_inserted", "new feature/score rows", ["table"],
                               registry=registry)
        self.waveforms = Counter("rpm_sink_waveform_snippets_inserted", "new raw waveform snippets",
                                 registry=registry)
        self.waveform_dupes = Counter("rpm_sink_waveform_snippets_duplicate", "snippets already stored (replays)",
                                      registry=registry)
        # invalid: refused by the wire model (the rest of its record is kept);
        # rejected: refused by the database (the rest of the batch is kept).
        self.waveform_bad = Counter("rpm_sink_waveform_snippets_bad", "snippets not stored, by reason", ["reason"],
                                    registry=registry)


@dataclass(frozen=True, slots=True)
class Batch:
    """What one poll brought, ready to write in one transaction."""

    readings: list[readings.ReadingRow] = field(default_factory=list)
    derived: list[derived.Row] = field(default_factory=list)
    waveforms: list[waveforms.SnippetRow] = field(default_factory=list)


def make_consumer(s: SinkSettings) -> KafkaConsumer:
    names = topics.kafka_topics(s.topic_prefix)
    return KafkaConsumer(
        *(names[t].name for t in (topics.READINGS_PACKED, topics.FEATURES, topics.SCORES)),
        bootstrap_servers=s.kafka_bootstrap.split(","),
        api_version=(2, 3, 0),
        group_id=topics.consumer_group(s.topic_prefix, topics.SINK_GROUP),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=s.sink_max_records,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
    )


class Writer:
    """Owns the sink's database connection; writes a batch until it is committed."""

    def __init__(self, dsn: str, application_name: str, m: SinkMetrics, hc: health.Health,
                 stop: threading.Event) -> None:
        self.dsn, self.application_name = dsn, application_name
        self.m, self.hc, self.stop = m, hc, stop
        self.conn: psycopg.Connection | None = None

    def write(self, batch: Batch) -> bool:
        """True once committed; False if stopped first (then nothing may be acknowledged)."""
        backoff = 0.2
        while not self.stop.is_set():
            self.hc.beat()  # alive while retrying; readiness reports the database
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg.connect(self.dsn, connect_timeout=5,
                                                application_name=self.application_name)
                with self.m.write_s.time(), self.conn.transaction():
                    inserted = readings.write(self.conn, batch.readings)
                    new_derived = derived.write(self.conn, batch.derived)
                    waves = waveforms.write(self.conn, batch.waveforms)
                self.m.rows.inc(inserted)
                self.m.waveforms.inc(waves.inserted)
                self.m.waveform_dupes.inc(waves.duplicate)
                self.m.waveform_bad.labels("rejected").inc(waves.rejected)
                self.m.dupes.inc(len(batch.readings) - inserted)
                for table, n in new_derived.items():
                    self.m.derived.labels(table).inc(n)
                self.hc.set("database", True)
                return True
            except psycopg.Error as e:
                # Whether the COMMIT reached the server is unknown when the
                # connection dies during it: writing again is safe either way.
                self.m.db_errors.inc()
                self.hc.set("database", False, str(e)[:200])
                log.warning("database write failed, retrying", extra={"error": str(e)[:200], "backoff_s": backoff})
                self.close()
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        return False

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def write_with_retry(
    dsn: str, conn: psycopg.Connection | None, batches: list[ReadingBatch], m: SinkMetrics, hc: health.Health,
    stop: threading.Event,
) -> psycopg.Connection | None:
    """Write ``batches`` until committed or stopped; returns the connection to reuse (one-shot Writer)."""
    w = Writer(dsn, "rpm-sink", m, hc, stop)
    w.conn = conn
    w.write(Batch(readings.rows_from(batches)))
    return w.conn


def parse_batch(value: bytes, m: SinkMetrics, waves: list[waveforms.SnippetRow] | None = None,
                ) -> list[readings.ReadingRow]:
    """One ReadingBatch record: the canonical fast path, else the model; its waveform snippets (model
    path only: the fast path takes no snippets) go to ``waves``."""
    try:
        return fastparse.rows(value)
    except fastparse.NotCanonical:
        pass
    try:
        batch = ReadingBatch.model_validate_json(value)
    except ValueError:
        salvaged = waveforms.salvage(value)
        if salvaged is None:
            # The bridge validated it already: this is a producer bug, counted
            # and logged; blocking the partition on it would stop every patient.
            m.bad.inc()
            log.error("unparseable readings batch", extra={"bytes": len(value)})
            return []
        batch, dropped = salvaged
        m.waveform_bad.labels("invalid").inc(dropped)
        log.error("invalid waveform snippets dropped, rest of the batch kept", extra={"snippets": dropped})
    if waves is not None:
        waves += _snippet_rows(batch, m)
    return readings.rows_from([batch])


def _snippet_rows(batch: ReadingBatch, m: SinkMetrics) -> list[waveforms.SnippetRow]:
    out: list[waveforms.SnippetRow] = []
    for s in batch.waveforms:
        try:
            out.append(waveforms.row_from(batch, s))
        except ValueError:
            m.waveform_bad.labels("invalid").inc()
            log.error("waveform snippet could not be encoded", extra={"device": batch.device_id})
    return out


def parse(values: list[bytes], m: SinkMetrics, waves: list[waveforms.SnippetRow] | None = None,
          ) -> list[readings.ReadingRow]:
    """Packed readings records (wire.packed) -> rows (snippets to ``waves``); a bad batch costs only itself."""
    out: list[readings.ReadingRow] = []
    for value in values:
        try:
            out += fastparse.packed_rows(value)
            continue
        except fastparse.NotCanonical:
            pass
        try:
            batches = fastparse.packed_batches(value)
        except ValueError:
            m.bad.inc()
            log.error("unparseable packed readings record", extra={"bytes": len(value)})
            continue
        for b in batches:
            out += parse_batch(b, m, waves)
    return out


def parse_derived(kind: str, values: list[bytes], m: SinkMetrics) -> list[derived.Row]:
    """Feature and score records (low volume: the full models validate them)."""
    out: list[derived.Row] = []
    for value in values:
        try:
            if kind == topics.FEATURES:
                out += derived.rows_from_features(WindowFeatures.model_validate_json(value))
            else:
                out += derived.rows_from_scores(ScoreBatch.model_validate_json(value))
        except ValueError:
            m.bad.inc()
            log.error("unparseable derived record", extra={"topic": kind, "bytes": len(value)})
    return out


def to_batch(polled: dict[TopicPartition, list[ConsumerRecord]], prefix: str, m: SinkMetrics) -> Batch:
    by_kind: dict[str, list[bytes]] = {}
    for tp, records in polled.items():
        by_kind.setdefault(tp.topic.removeprefix(prefix), []).extend(r.value for r in records)
    waves: list[waveforms.SnippetRow] = []
    rows = parse(by_kind.pop(topics.READINGS_PACKED, []), m, waves)
    extra = [row for kind, values in by_kind.items() for row in parse_derived(kind, values, m)]
    return Batch(rows, extra, waves)


Offsets = dict[TopicPartition, OffsetAndMetadata]


def next_offsets(polled: dict[TopicPartition, list[ConsumerRecord]]) -> Offsets:
    return {tp: OffsetAndMetadata(recs[-1].offset + 1, "", -1) for tp, recs in polled.items() if recs}


class Pipeline:
    """Parse the next batch while the database writes the previous one.

    The sink is one Python thread of parsing plus a database round trip per
    batch; overlapping the two roughly halves the wall time per row. One
    writer thread keeps batches in order, and offsets are committed (by the
    polling thread: the consumer is not thread-safe) only for batches whose
    transaction committed.
    """

    def __init__(self, consumer: KafkaConsumer, writer: Writer, s: SinkSettings, m: SinkMetrics) -> None:
        self.consumer, self.writer, self.s, self.m = consumer, writer, s, m
        self._todo: queue.Queue[tuple[Batch, Offsets] | None] = queue.Queue(maxsize=1)
        self._done: queue.Queue[tuple[Offsets, bool]] = queue.Queue()
        self._thread = threading.Thread(target=self._write_loop, name="sink-writer", daemon=True)
        self._thread.start()

    def _write_loop(self) -> None:
        while (item := self._todo.get()) is not None:
            rows, offsets = item
            self._done.put((offsets, self.writer.write(rows)))

    def step(self) -> int:
        """Commit finished batches, poll once, hand the parsed batch to the writer; returns records polled."""
        self.commit_finished()
        polled = self.consumer.poll(timeout_ms=self.s.sink_poll_ms, max_records=self.s.sink_max_records)
        n = sum(len(records) for records in polled.values())
        if n:
            item = (to_batch(polled, self.s.topic_prefix, self.m), next_offsets(polled))
            while not self.writer.stop.is_set():
                try:
                    self._todo.put(item, timeout=0.5)
                    break
                except queue.Full:
                    self.commit_finished()  # the writer is busy: keep acknowledging what it finished
        return n

    def commit_finished(self) -> None:
        while True:
            try:
                offsets, ok = self._done.get_nowait()
            except queue.Empty:
                return
            if not ok:
                continue  # stopped before commit: never acknowledged, redelivered later
            try:
                self.consumer.commit(offsets)
            except (CommitFailedError, KafkaError) as e:
                # Typically a rebalance during a long outage; the records come
                # back and the natural key turns them into no-ops.
                self.m.commit_failures.inc()
                log.warning("offset commit failed; records will be redelivered", extra={"error": str(e)[:200]})

    def close(self) -> None:
        """Finish the batch in hand (unless stopping), commit what committed, stop the writer."""
        self._todo.put(None)
        self._thread.join()
        self.commit_finished()


def run(s: SinkSettings) -> int:
    logs.setup("sink", s.log_level)
    registry = CollectorRegistry()
    hc = health.Health()
    m = SinkMetrics(registry)
    stop = stop_event()
    if s.metrics_port:
        health.serve(s.metrics_port, registry, hc)
    dsn = s.database_url.get_secret_value()
    app_name = f"rpm-sink:{s.sink_instance}"
    heartbeat.start(dsn, "sink", s.sink_instance, hc.snapshot, stop)
    if s.maintain_interval_s > 0:
        maintain.start_thread(dsn, s.policy(), stop, s.maintain_interval_s, f"{app_name}:maintain")
    consumer = make_consumer(s)
    hc.set("kafka", True)
    hc.set("database", True)
    writer = Writer(dsn, app_name, m, hc, stop)
    pipeline = Pipeline(consumer, writer, s, m)
    gc_tuning.for_throughput()
    log.info("sink started")
    while not stop.is_set():
        hc.beat()
        pipeline.step()
    pipeline.close()
    consumer.close(autocommit=False)
    writer.close()
    log.info("sink stopped")
    return 0
